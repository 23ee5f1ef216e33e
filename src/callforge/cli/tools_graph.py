"""`callforge tools graph`: which of these tools feed which, in numbers, and as a DOT file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from callforge.cli.options import out_file
from callforge.core import ConfigError

if TYPE_CHECKING:
    from callforge.tools import GraphStats


def register_graph(app: typer.Typer) -> None:
    """Add the `graph` command to the `tools` group."""
    app.command("graph")(graph)


def graph(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Tool sources: OpenAI tools JSON, BFCL JSON/JSONL, pool files, Python modules (.py, read in "
            "the sandbox), OpenAPI specs, MCP configs, 'mcp:COMMAND' or MCP URLs."
        ),
    ],
    threshold: Annotated[float, typer.Option(help="Keep data edges scoring at least this (0..1).")] = 0.6,
    dot: Annotated[Path | None, typer.Option("--dot", callback=out_file, help="Write the graph here in Graphviz DOT.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stats as JSON instead of tables.")
    ] = False,
    top: Annotated[int, typer.Option(help="How many hub tools to list.")] = 10,
    hub_limit: Annotated[
        str,
        typer.Option(help="Damp parameters that more than this many tools feed: a number, 'auto' or 'off'."),
    ] = "auto",
    embeddings: Annotated[
        str | None,
        typer.Option(
            help="Compare field names with this local sentence-transformers model folder (needs the package)."
        ),
    ] = None,
    format: Annotated[str, typer.Option("--format", "-f", help="auto, openai or bfcl.")] = "auto",
    language: Annotated[
        str | None, typer.Option(help="BFCL only: python, java or javascript (default: detected).")
    ] = None,
    prefix: Annotated[bool, typer.Option("--prefix", help="Name MCP tools <server>__<tool>.")] = False,
) -> None:
    """Build the tool graph of these sources and print its stats; `--dot` writes it for Graphviz.

    Sources are read as `tools show` reads them: an MCP server is started (or reached) and its
    tools listed, an OpenAPI spec's operations become tools. Data edges say which tool's result
    can fill which tool's parameter; tools of one file (or one declared domain, such as an MCP
    server or an OpenAPI tag) share a domain. The stats show whether generation's nested scenarios have
    chains, fans and DAGs to draw from, and which tools are hubs (see docs/generate.md).
    """
    from callforge.cli.sources import load_source
    from callforge.tools import ToolGraph, graph_stats, to_dot

    for src in sources:
        if not src.lower().startswith(("mcp:", "http://", "https://")) and not Path(src).is_file():
            raise ConfigError(
                f"{src}: no such file; give tool files (.json, .jsonl, .py), OpenAPI specs, MCP configs, "
                "'mcp:COMMAND' or an MCP server's URL"
            )
    specs = [spec for src in sources for spec in load_source(src, format, language, prefix=prefix)]
    similarity = None
    if embeddings is not None:
        from callforge.tools import sentence_transformer_similarity

        similarity = sentence_transformer_similarity(embeddings)
    built = ToolGraph.build(
        specs, threshold=threshold, similarity=similarity, hub_limit=_hub_limit(hub_limit)
    )
    stats = graph_stats(built, top=top)
    if dot is not None:
        dot.write_text(to_dot(built), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(stats.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    _print(stats)
    if dot is not None:
        typer.echo(f"wrote {dot} (render: dot -Tsvg {dot} -o {dot.with_suffix('.svg')})")


def _hub_limit(text: str) -> int | Literal["auto"] | None:
    if text == "auto":
        return "auto"
    if text in ("off", "none", "0"):
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--hub-limit {text!r}: use a number of tools, 'auto' or 'off'") from None


def _print(stats: GraphStats) -> None:
    from rich.console import Console
    from rich.table import Table

    capped = set(stats.capped)

    def shown(field: str, value: int) -> str:
        return f"{value}+" if field in capped else str(value)

    isolated = ", ".join(stats.isolated[:6]) + (" …" if len(stats.isolated) > 6 else "")
    damping = "off" if stats.hub_limit is None else f"more than {stats.hub_limit} feeders"
    table = Table(
        title=f"tool graph: {stats.tools} tools (threshold {stats.threshold}, hub damping {damping})"
    )
    table.add_column("stat")
    table.add_column("value", justify="right")
    table.add_column("what it means", style="dim")
    rows = [
        ("data edges", str(stats.data_edges), "an output of one tool can fill a parameter of another"),
        ("domain edges", str(stats.domain_edges), "pairs of tools in one domain"),
        ("domains", str(stats.domains), "file stems, declared domains or name nouns"),
        (
            "components",
            str(stats.components),
            f"weakly connected over data edges; largest {stats.largest_component}",
        ),
        ("roots", str(stats.roots), "feed others, fed by none"),
        ("no data edges", str(len(stats.isolated)), isolated),
        ("longest chain", shown("longest_chain", stats.longest_chain), "tools on the longest simple path"),
        ("chains (2–3 tools)", shown("chains", stats.chains), "what the chain sampler draws from"),
        ("fan-outs (1 → 2)", str(stats.fan_outs), "one result feeding two tools"),
        ("fan-ins (2 → 1)", str(stats.fan_ins), "two results feeding one tool"),
        ("DAGs (3–5 tools)", shown("dags", stats.dags), "tool sets with a fork or a join"),
    ]
    for row in rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    if stats.hubs:
        hubs = Table(title=f"top {len(stats.hubs)} hub tools")
        for column in ("tool", "domain", "feeds", "fed by"):
            hubs.add_column(column, justify="right" if column in ("feeds", "fed by") else "left")
        for hub in stats.hubs:
            hubs.add_row(hub.name, hub.domain, str(hub.feeds), str(hub.fed_by))
        console.print(hubs)
