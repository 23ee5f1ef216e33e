"""The `callforge` command: a thin typer app, one module per verb, each calling a public function."""

from __future__ import annotations

import sys

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
    from callforge.cli import calibrate as calibrate_verb
    from callforge.cli import eval as eval_verb
    from callforge.cli import export as export_verb
    from callforge.cli import generate as generate_verb
    from callforge.cli import learn as learn_verb
    from callforge.cli import tools as tools_verb
    from callforge.cli import train as train_verb
    from callforge.cli import verify as verify_verb

    calibrate_verb.register(app)
    eval_verb.register(app)
    export_verb.register(app)
    generate_verb.register(app)
    learn_verb.register(app)
    tools_verb.register(app)
    train_verb.register(app)
    verify_verb.register(app)


_register()


def main() -> None:
    """Entry point of the console script: our errors become one clear line, in flags, and exit status 2."""
    try:
        app()
    except CallforgeError as exc:
        from callforge.cli.flags import to_flags

        print(f"error: {to_flags(str(exc), app)}", file=sys.stderr)
        sys.exit(2)
