"""Progress for every job: one bar look, and a periodic line when the output goes to a log file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

if TYPE_CHECKING:
    from callforge.run import JobProgress


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


@contextmanager
def job_bar(label: str, *, disable: bool, total: int | None = None) -> Iterator[Callable[[JobProgress], None]]:
    """A live line for a runner job: items done, records per stream, rate, resumed and lost items.

    Yields the callback to pass as `progress=`. When the output is not a terminal (a log file),
    rich draws nothing; a line is printed to stderr every 30 s instead, so long runs still report.
    """
    console = Console(stderr=True)
    live = console.is_terminal
    last = [time.monotonic()]
    with progress_bar(label, disable=disable or not live, info=True) as bar:
        task = bar.add_task(label, total=total, info="")

        def show(state: JobProgress) -> None:
            text = describe_progress(state)
            bar.update(task, completed=state.done, total=state.total, info=text)
            if not live and not disable and time.monotonic() - last[0] >= 30:
                last[0] = time.monotonic()
                console.print(f"{label}: {state.done} done · {text}", markup=False, highlight=False)

        yield show


def describe_progress(state: JobProgress) -> str:
    """Records per stream, rate, resumed and lost items, as one short line."""
    parts = [f"{count} {stream}" for stream, count in sorted(state.streams.items())]
    parts.append(f"{state.rate:,.1f}/s")
    if state.resumed:
        parts.append(f"{state.resumed} resumed")
    if state.errors:
        parts.append(f"{state.errors} errors (errors.jsonl)")
    return " · ".join(parts)
