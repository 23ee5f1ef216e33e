"""`callforge export`: a Run's accepted dialogs (or a dataset) in a trainer's format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export_command(
    src: Annotated[Path, typer.Argument(help="A run folder (its accepted dialogs) or a dataset file callforge reads.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write data.jsonl (and dataset_info.json) into.")],
    format: Annotated[str, typer.Option("--format", "-f", help="openai (messages + tools, TRL/OpenAI), sharegpt (LLaMA-Factory) or bfcl (an eval set for callforge eval).")] = "openai",
    keep_injected: Annotated[
        bool, typer.Option("--keep-injected", help="sharegpt: keep error-recovery dialogs although their wrong call cannot be masked.")
    ] = False,
) -> None:
    """Export dialogs for training; every format reads back (`callforge verify OUT/data.jsonl`) into the same dialogs.

    In `openai`, a call made wrong on purpose (error recovery) is masked with `"weight": 0`;
    `sharegpt` cannot mask a turn, so those dialogs are skipped unless --keep-injected.
    """
    from callforge.export import export

    report = export(src, out, format=format, keep_injected=keep_injected)
    line = f"wrote {report.written} dialogs ({report.format}) to {report.path if report.categories else ', '.join(str(f) for f in report.files)}"
    if report.categories:
        line += " as " + ", ".join(f"{c} {n}" for c, n in report.categories.items())
    if report.skipped:
        line += "; left out " + ", ".join(f"{n} {reason}" for reason, n in report.skipped.items())
    if report.skipped_injected:
        line += f"; skipped {report.skipped_injected} with an unmaskable injected wrong call (--keep-injected keeps them)"
    typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add the `export` verb to the app."""
    app.command("export")(export_command)
