"""`callforge tools ...`: look at tool specifications the way every stage will see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

tools_app = typer.Typer(help="Load and inspect tool specifications.", no_args_is_help=True)


def _type_label(schema: object) -> str:
    if not isinstance(schema, dict):
        return "any"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array<{_type_label(schema.get('items'))}>"
    if "enum" in schema:
        return f"{kind}{{{','.join(map(str, schema['enum']))}}}"
    return str(kind)


@tools_app.command("show")
def show(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Tool files: OpenAI tools JSON, BFCL JSON/JSONL, or Python modules (.py, read in the sandbox)."),
    ],
    format: Annotated[str, typer.Option("--format", "-f", help="auto, openai or bfcl.")] = "auto",
    language: Annotated[
        str | None, typer.Option(help="BFCL only: python, java or javascript (default: detected).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print OpenAI `tools` JSON instead of a table.")
    ] = False,
) -> None:
    """Load tool files, validate them, and list the tools (errors name file, tool and JSON path).

    A Python module's public functions become tools from their type hints and docstrings; the
    module is imported in the sandbox (see docs/sandbox.md), because importing runs its code.
    """
    from rich.console import Console
    from rich.table import Table

    specs = [spec for path in paths for spec in _load(path, format, language)]
    if as_json:
        typer.echo(json.dumps([s.to_openai() for s in specs], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(specs)} tools")
    table.add_column("name")
    table.add_column("source")
    table.add_column("parameters (* = required)")
    table.add_column("description", max_width=50)
    for spec in specs:
        required = set(spec.required)
        params = ", ".join(
            f"{name}{'*' if name in required else ''}: {_type_label(schema)}"
            for name, schema in spec.properties.items()
        )
        source = (
            spec.source if spec.dialect in ("json_schema", spec.source) else f"{spec.source} ({spec.dialect})"
        )
        table.add_row(spec.name, source, params, spec.description)
    Console().print(table)


def _load(path: Path, format: str, language: str | None) -> list[Any]:
    """JSON tool files load here; a Python module is imported only inside the sandbox, never in-process."""
    if path.suffix == ".py":
        from callforge.verify.execute import PythonEngine

        return list(PythonEngine(path).describe())
    from callforge.tools import load_tools

    return load_tools(path, format=format, language=language)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    """Add the `tools` group to the app."""
    app.add_typer(tools_app, name="tools")
