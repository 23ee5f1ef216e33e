"""The exit statuses of every `callforge` command: one table (docs/cli.md), kept stable for scripts and CI.

A run that finished but left items unscored, unjudged or lost must not look like a clean one
(status 0), and one that could do nothing at all (every request failed) must not look like a flag
typo (status 2). The verbs end through `partial` and `nothing` so each says what was left and
how to go on in one line on stderr, then exits with its own status.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn

import typer


class Exit(IntEnum):
    """Exit statuses; the numbers are public (docs/cli.md) and never change meaning."""

    OK = 0
    """Everything asked for was done."""
    PIPE = 1
    """The output was closed early (`callforge ... | head`); typer's own status for a broken pipe."""
    USAGE = 2
    """The command could not run as given: a bad flag value, a bad input file, a refused configuration."""
    PARTIAL = 3
    """The run finished, but some items are unscored, unjudged or lost (the line on stderr counts them)."""
    NOTHING = 4
    """The run could do nothing: every request failed, the endpoint stayed down, nothing could be scored."""
    SECRETS = 5
    """`scan` (or `export`) found a known secret in the run; nothing was exported (docs/secrets.md)."""
    BUG = 70
    """An internal error (a bug in callforge): a crash report was written (EX_SOFTWARE)."""
    INTERRUPTED = 130
    """Ctrl-C or SIGTERM; what was finished is kept and the same command continues."""


def partial(message: str) -> NoReturn:
    """End a run that left some items undone: `message` (what and how many, how to go on) on stderr, status 3."""
    typer.echo(f"incomplete: {message}", err=True)
    raise typer.Exit(Exit.PARTIAL)


def nothing(message: str) -> NoReturn:
    """End a run that could do nothing at all: `message` on stderr, status 4."""
    typer.echo(f"failed: {message}", err=True)
    raise typer.Exit(Exit.NOTHING)


def left_undone(undone: int, total: int, message: str) -> None:
    """Status 4 when all `total` items are undone, 3 when some are, nothing when none; `message` says what."""
    if undone <= 0:
        return
    if undone >= total:
        nothing(message)
    partial(message)
