"""The `callforge` command: a thin typer app, one module per verb, each calling a public function."""

from __future__ import annotations

import errno
import sys
from typing import NoReturn

import typer

from callforge.core import CallforgeError

app = typer.Typer(
    name="callforge",
    help="Turn tool specifications into function-calling models that work, and prove it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from callforge import __version__

        print(f"callforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Turn tool specifications into function-calling models that work, and prove it."""


def _register() -> None:
    from callforge.cli import agent as agent_verb
    from callforge.cli import calibrate as calibrate_verb
    from callforge.cli import difficulty as difficulty_verb
    from callforge.cli import eval as eval_verb
    from callforge.cli import export as export_verb
    from callforge.cli import generate as generate_verb
    from callforge.cli import learn as learn_verb
    from callforge.cli import report as report_verb
    from callforge.cli import reward as reward_verb
    from callforge.cli import scan as scan_verb
    from callforge.cli import tools as tools_verb
    from callforge.cli import train as train_verb
    from callforge.cli import verify as verify_verb

    agent_verb.register(app)
    calibrate_verb.register(app)
    difficulty_verb.register(app)
    eval_verb.register(app)
    export_verb.register(app)
    generate_verb.register(app)
    learn_verb.register(app)
    report_verb.register(app)
    reward_verb.register(app)
    scan_verb.register(app)
    tools_verb.register(app)
    train_verb.register(app)
    verify_verb.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: every way a run ends becomes a documented exit status (docs/cli.md).

    Our own errors are one clear line, in flags (status 2; 4 when a job gave up on a dead
    endpoint); a file-system refusal names the file (2); Ctrl-C is 130; anything else is a bug:
    its traceback goes to a crash report file, never to the terminal, and the status is 70.
    """
    from callforge.cli.exits import Exit
    from callforge.cli.options import optional_values

    args = optional_values(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=args)
    except CallforgeError as exc:
        from callforge.cli.flags import to_flags
        from callforge.run import RunAborted, SecretsFound

        print(f"error: {to_flags(str(exc), app)}", file=sys.stderr)
        if isinstance(exc, SecretsFound):
            sys.exit(Exit.SECRETS)
        sys.exit(Exit.NOTHING if isinstance(exc, RunAborted) else Exit.USAGE)
    except KeyboardInterrupt:
        print("callforge: interrupted", file=sys.stderr)
        sys.exit(Exit.INTERRUPTED)
    except OSError as exc:
        if not _refused_by_the_file_system(exc):
            _crash(exc, args)
        print(f"error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        sys.exit(Exit.USAGE)
    except Exception as exc:
        _crash(exc, args)


_FILE_SYSTEM_REFUSALS = (errno.EACCES, errno.EPERM, errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.ENOSPC, errno.EROFS)


def _refused_by_the_file_system(exc: OSError) -> bool:
    """A permission, space or file-kind refusal about a named file: the user's setup to fix, not a bug."""
    return exc.errno in _FILE_SYSTEM_REFUSALS and exc.filename is not None


def _crash(exc: BaseException, args: list[str]) -> NoReturn:
    from callforge.cli.crash import crash_line, write_crash_report
    from callforge.cli.exits import Exit

    try:
        report = write_crash_report(exc, args)
    except Exception:  # the report is a courtesy; the line and the status must still come out
        report = None
    print(crash_line(exc, args, report), file=sys.stderr)
    sys.exit(Exit.BUG)
