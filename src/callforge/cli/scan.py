"""`callforge scan RUN`: find known secrets in a run folder before it is shared or exported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from callforge.cli.exits import Exit
from callforge.run import redact_run, scan_run


def register(app: typer.Typer) -> None:
    """Add the `scan` verb."""
    app.command("scan")(scan)


def scan(
    run: Annotated[Path, typer.Argument(help="The run folder (what generate, verify or eval wrote with --out).")],
    secret_env: Annotated[
        list[str] | None,
        typer.Option("--secret-env", help="One more environment variable whose value is a secret (repeatable)."),
    ] = None,
    redact: Annotated[
        bool,
        typer.Option("--redact", help="Mask what is found in the text files and delete the caches that hold it."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Look for known secrets (credential env values, API keys, URL passwords) in every file of RUN.

    Exit status 0 when the run is clean, 5 when a secret was found (and not --redact'ed away).
    Findings name the file, the line and where the secret came from, never its value.
    """
    report = scan_run(run, env_names=secret_env or ())
    if as_json:
        findings = [{"path": str(f.path), "line": f.line, "source": f.source} for f in report.findings]
        typer.echo(json.dumps({"files": report.files, "clean": report.clean, "findings": findings}, indent=2))
    else:
        typer.echo(report.summary())
    if report.clean:
        return
    if redact:
        touched = redact_run(report)
        for path in touched:
            action = "removed (a cache, rebuilt on the next run)" if not path.exists() else "masked"
            typer.echo(f"  {path}: {action}", err=True)
        again = scan_run(run, env_names=secret_env or ())
        if again.clean:
            typer.echo(f"{run}: clean now", err=True)
            return
        typer.echo(again.summary(), err=True)
    else:
        typer.echo(f"fix: callforge scan {run} --redact (or remove those files); then export", err=True)
    raise typer.Exit(Exit.SECRETS)
