"""`callforge difficulty`: the difficulty histogram of an existing run, selection or dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from callforge.cli.options import AsJson


def difficulty_command(
    src: Annotated[
        Path,
        typer.Argument(
            help="A run folder (its accepted dialogs; a select run: every judged dialog, with the target's accuracy) "
            "or a dataset file callforge reads."
        ),
    ],
    as_json: AsJson = False,
) -> None:
    """Print how many dialogs are easy, medium and hard (measured; see docs/generate.md, "Difficulty").

    A `callforge select` folder adds the target model's accuracy per level: the level nearest 50%
    is the one `generate --focus SELECTION --difficulty auto` aims at.
    """
    from callforge.export import source_histogram

    histogram = source_histogram(src)
    if as_json:
        import json

        typer.echo(json.dumps(histogram.to_dict(), indent=2))
        return
    typer.echo(f"{histogram.dialogs} dialogs in {src}, mean difficulty score {histogram.mean_score:.2f}")
    widest = max((row.dialogs for row in histogram.rows), default=0) or 1
    for row in histogram.rows:
        bar = "#" * round(30 * row.dialogs / widest)
        line = f"  {row.level:<6} {row.dialogs:>5}  {bar}"
        if row.accuracy is not None:
            line += f"  (target accuracy {100 * row.accuracy:.0f}% of {row.steps} steps)"
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add the `difficulty` verb to the app."""
    app.command("difficulty")(difficulty_command)
