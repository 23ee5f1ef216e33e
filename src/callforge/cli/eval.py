"""`callforge eval`: score model outputs on a suite, BFCL-exact or semantic."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from callforge.cli.render import print_report
from callforge.core import ConfigError


class SuiteName(StrEnum):
    """Suites `eval` can read."""

    BFCL = "bfcl"


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def eval_command(
    results: Annotated[
        Path, typer.Option("--results", "-r", help='BFCL result file or folder: JSON lines {"id", "result"}.')
    ],
    data: Annotated[
        Path, typer.Option("--data", "-d", help="BFCL data folder (BFCL_v4_*.json + possible_answer/).")
    ],
    suite: Annotated[SuiteName, typer.Option(help="Suite format of --data.")] = SuiteName.BFCL,
    style: Annotated[
        str, typer.Option(help="prompting: outputs are Python call lists; fc: native tool calls.")
    ] = "prompting",
    mode: Annotated[
        str, typer.Option(help="bfcl: exactly BFCL's checker; semantic: callforge's fairer rules.")
    ] = "bfcl",
    categories: Annotated[
        list[str] | None,
        typer.Option(
            "--categories",
            "-c",
            help="Categories to score (comma-separated or repeated); default: all in --results.",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for scores.json and failures/<category>.jsonl.")
    ] = Path("scores"),
    allow_duplicate_ids: Annotated[
        bool, typer.Option(help="Score every line even when an id repeats (several samples per entry).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Score BFCL-format model outputs and print per-category and BFCL summary scores."""
    from callforge.evaluate import evaluate
    from callforge.evaluate.check import Mode, Style

    try:
        style_value, mode_value = Style(style), Mode(mode)
    except ValueError:
        raise ConfigError(
            f"--style must be one of {[s.value for s in Style]} and --mode one of {[m.value for m in Mode]}; "
            f"got --style {style!r} --mode {mode!r}"
        ) from None
    try:
        from callforge.evaluate.category import Category

        selected = [Category.parse(c) for c in _split(categories) or []] or None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("score", total=None)
        report = evaluate(
            data=data,
            results=results,
            style=style_value,
            mode=mode_value,
            categories=selected,
            out=out,
            allow_duplicate_ids=allow_duplicate_ids,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    print_report(report)


def register(app: typer.Typer) -> None:
    """Add the verb to the app."""
    app.command("eval")(eval_command)
