"""The progress bar of jobs that count towards a target (generate, tools synth): one look for all of them."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)


def progress_bar(label: str, *, disable: bool, info: bool = False) -> Progress:
    """Spinner, label, bar, n/N and elapsed time; `info` adds a free text field (`task.fields["info"]`)."""
    columns: list[ProgressColumn] = [
        SpinnerColumn(),
        TextColumn(f"[bold]{label}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if info:
        columns.append(TextColumn("{task.fields[info]}"))
    return Progress(*columns, disable=disable, transient=True)
