"""`callforge tools ...`: look at tool specifications the way every stage will see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.cli.options import (
    BaseUrl,
    MaxAliasNodes,
    MaxDepth,
    MaxInputMb,
    MaxRefHops,
    Ray,
    config_from,
    out_file,
    positive,
)
from callforge.cli.sources import load_source

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
    sources: Annotated[list[str], typer.Argument(help="Tool sources: files, OpenAPI specs, MCP configs, 'mcp:COMMAND' or MCP URLs, pool files.")],
    format: Annotated[str, typer.Option("--format", "-f", help="JSON tool files only: auto, openai or bfcl.")] = "auto",
    language: Annotated[
        str | None, typer.Option(help="BFCL only: python, java or javascript (default: detected).")
    ] = None,
    prefix: Annotated[bool, typer.Option("--prefix", help="Name MCP tools <server>__<tool>.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print OpenAI `tools` JSON instead of a table.")
    ] = False,
    max_input_mb: MaxInputMb = None,
    max_depth: MaxDepth = None,
    max_alias_nodes: MaxAliasNodes = None,
    max_ref_hops: MaxRefHops = None,
) -> None:
    """Load tool sources, validate them, and list the tools (errors name file, tool and JSON path).

    A Python module's public functions become tools from their type hints and docstrings; the
    module is imported in the sandbox (see docs/sandbox.md), because importing runs its code.
    OpenAPI operations and MCP server tools show where they run (method and path, or server).
    """
    from rich.console import Console
    from rich.table import Table

    specs = [spec for src in sources for spec in load_source(src, format, language, prefix=prefix)]
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
        table.add_row(spec.name, _source_label(spec), params, spec.description)
    Console().print(table)


def _source_label(spec: Any) -> str:
    label = spec.source if spec.dialect in ("json_schema", spec.source) else f"{spec.source} ({spec.dialect})"
    binding = spec.binding
    if binding is not None and binding.kind == "http":
        label += f"\n{binding.method.upper()} {binding.path}"
    elif binding is not None and binding.kind == "mcp":
        label += f"\nserver {binding.server.name}"
    if spec.domain:
        label += f"\ndomain {spec.domain}"
    return str(label)


@tools_app.command("import")
def import_command(
    sources: Annotated[list[str], typer.Argument(help="Tool sources: OpenAPI/Swagger specs, MCP configs, 'mcp:COMMAND', MCP URLs, .py modules, JSON tool files.")],
    out: Annotated[Path, typer.Option("--out", "-o", callback=out_file, help="Pool file to write (JSON; keeps bindings and domains).")],
    prefix: Annotated[bool, typer.Option("--prefix", help="Name MCP tools <server>__<tool> (needed when servers share tool names).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", callback=positive, help="Seconds an MCP server may take to start and list its tools.")] = 30.0,
    validate: Annotated[
        str, typer.Option("--validate", help="OpenAPI specs: schema (official JSON Schema), full (+ semantic checks) or off.")
    ] = "schema",
    max_input_mb: MaxInputMb = None,
    max_depth: MaxDepth = None,
    max_alias_nodes: MaxAliasNodes = None,
    max_ref_hops: MaxRefHops = None,
) -> None:
    """Import tools from every source into one pool file that `generate --tools` and `tools show` read.

    The pool keeps what each tool needs to run for real: the HTTP method, path, parameter
    locations and auth scheme of an OpenAPI operation, the command or URL of an MCP server.
    Secrets are not written: API credentials and MCP server environment values are read from the
    environment when a call runs (see docs/tools.md).
    """
    from callforge.execute import read_sources
    from callforge.tools import save_pool

    found = read_sources(sources, prefix=prefix, timeout=timeout, validate=_validate(validate))
    save_pool(out, found.tools)
    counts: dict[str, int] = {}
    for kind in found.kinds.values():
        counts[kind] = counts.get(kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
    typer.echo(f"wrote {len(found.tools)} tools ({summary}) to {out}")
    if found.mcp_env:
        names = sorted({k for env in found.mcp_env.values() for k in env})
        typer.echo(
            f"note: the MCP config's environment values ({', '.join(names)}) were not written; "
            "export them before running the tools from this pool",
            err=True,
        )


@tools_app.command("synth")
def synth_command(
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="APIs to synthesize.")] = 50,
    out: Annotated[Path, typer.Option("--out", "-o", callback=out_file, help="Pool file to write.")] = Path("pool.json"),
    domains: Annotated[
        str | None, typer.Option("--domains", help="Comma-separated domains (default: the 30 built-in seed domains).")
    ] = None,
    expand: Annotated[int, typer.Option("--expand", min=0, help="Domains the model adds to the list.")] = 0,
    evolve_rate: Annotated[
        float, typer.Option("--evolve-rate", min=0.0, max=1.0, help="Share of APIs given one evolution pass.")
    ] = 0.3,
    similarity: Annotated[
        float, typer.Option("--similarity", min=0.01, max=1.0, help="Name+description word overlap that counts as a duplicate.")
    ] = 0.6,
    model: Annotated[str, typer.Option("--model", "-m", help="Model that drafts the APIs (1.5B: callforge[local-large]).")] = "local:qwen2.5-coder-1.5b",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same model -> same pool.")] = 0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight.")] = 4,
    base_url: BaseUrl = None,
    api_key: Annotated[str | None, typer.Option("--api-key", help="API key for openai:<model> specs.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ray: Ray = None,
) -> None:
    """Synthesize an API pool (ToolACE-style): domains -> functionalities -> drafted, evolved, validated, deduplicated APIs.

    The run (manifest, one record per draft, the request cache) is the folder OUT.run beside the
    pool file: re-running a killed synthesis with the same options continues where it stopped.
    Synthesized tools have no code; `generate` plays them with the simulated engine.
    """
    options = dict(locals())
    from callforge.cli.progress import log_lines, progress_bar, resumable
    from callforge.run import executor_of
    from callforge.tools import SynthConfig, synthesize_pool

    named = tuple(d.strip() for d in domains.split(",") if d.strip()) if domains else None
    config = config_from(SynthConfig, options, domains=named)
    logged = log_lines("synth", disable=quiet or as_json)

    def show(kept: int, total: int) -> None:
        bar.update(task, completed=kept)
        logged(f"{kept}/{n} APIs kept")

    hint = "re-run the same command to continue where it stopped (the drafts so far are kept beside the pool file)"
    with resumable("tools synth", hint), progress_bar("synth", disable=quiet or as_json) as bar:
        task = bar.add_task("synth", total=n)
        pool = synthesize_pool(config, progress=show, executor=executor_of(ray))
    report = pool.report
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    typer.echo(
        f"wrote {report.kept} APIs ({report.kept}/{report.requested} requested) over {len(report.domains)} domains to {out}\n"
        f"drafts {report.drafts}, schema-valid {report.valid} ({report.schema_validity:.1%}), "
        f"duplicates removed {sum(report.duplicates.values())}, evolved {sum(report.evolved.values())}\n"
        f"invalid: {_counts(report.invalid)}\nduplicates: {_counts(report.duplicates)}\n"
        f"features: {_counts(report.features)}\n"
        f"{report.requests} requests ({report.cached_requests} cached), "
        f"{report.prompt_tokens + report.completion_tokens:,} tokens, {report.seconds:.0f} s"
    )


def _validate(value: str) -> Any:
    choices = {"schema": True, "full": "full", "off": False}
    if value not in choices:
        from callforge.core import ConfigError

        raise ConfigError(f"--validate {value!r}: use schema, full or off")
    return choices[value]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def register(app: typer.Typer) -> None:
    """Add the `tools` group to the app."""
    from callforge.cli.tools_graph import register_graph

    register_graph(tools_app)
    app.add_typer(tools_app, name="tools")
