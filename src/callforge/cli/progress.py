"""Progress for every job: one bar look, and a periodic line when the output goes to a log file."""

from __future__ import annotations

import signal
import threading
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


def log_lines(label: str, *, disable: bool, every_s: float = 30.0) -> Callable[[str], None]:
    """A callback that prints `label: text` to stderr at most every `every_s` seconds, only when stderr is no terminal.

    A bar draws nothing into a log file; this line is what a long job redirected to one shows
    instead. The first call prints at once, so the log says the job started.
    """
    console = Console(stderr=True)
    quiet = disable or console.is_terminal
    last = [float("-inf")]

    def say(text: str) -> None:
        if not quiet and time.monotonic() - last[0] >= every_s:
            last[0] = time.monotonic()
            console.print(f"{label}: {text}", highlight=False)

    return say


@contextmanager
def resumable(what: str, hint: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM ends the job with a word on how to continue, instead of a traceback or silence.

    SIGTERM (a `kill`, a CI timeout) is turned into the same interrupt as Ctrl-C while the job
    runs; the job's files already hold everything finished, so `hint` says how to go on.
    """
    import typer

    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if main:
        signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        Console(stderr=True).print(f"{what} interrupted; {hint}", markup=False, highlight=False)
        raise typer.Exit(130) from None
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextmanager
def job_bar(
    label: str, *, disable: bool, total: int | None = None, resume: str | None = None
) -> Iterator[Callable[[JobProgress], None]]:
    """A live line for a runner job: items done, records per stream, rate, resumed and lost items.

    Yields the callback to pass as `progress=`. When the output is not a terminal (a log file),
    rich draws nothing; a line is printed to stderr every 30 s instead, so long runs still report.
    `resume` is what an interrupted job prints about going on (see `resumable`).
    """
    console = Console(stderr=True)
    live = console.is_terminal
    last = [time.monotonic()]
    hint = resume or "re-run the same command to continue where it stopped"
    with resumable(label, hint), progress_bar(label, disable=disable or not live, info=True) as bar:
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
