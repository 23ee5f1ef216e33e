"""`callforge report RUN...` (one self-contained HTML page) and `callforge browse RUN` (read, filter and label dialogs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer


def report_hint(out: Path | None) -> str:
    """The command that turns a finished job's folder into a report page, printed at the end of the job."""
    return f"report: callforge report {out}   (writes {Path(str(out)) / 'report.html'}; callforge browse {out} shows the dialogs)"


def report(
    runs: Annotated[
        list[Path], typer.Argument(help="Run folders (generate, verify) and evaluation folders (eval run, eval score).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The HTML file to write (default: FIRST_RUN/report.html).")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The page's title.")] = None,
    price: Annotated[
        str | None,
        typer.Option("--price", help="Dollars per million tokens as PROMPT:COMPLETION (e.g. 0.15:0.60), to show cost per role."),
    ] = None,
) -> None:
    """Write one self-contained HTML page (charts inline, no server, no network) over runs and evaluations.

    A generation or verification run shows its funnel, yield per scenario kind, top rejection codes
    with an example each, tokens and cost per role and timing; an evaluation shows scores per
    category in both modes and where bfcl and semantic disagree; several folders are also shown
    side by side.
    """
    from callforge.report import Price, write_report

    target = out or runs[0] / "report.html"
    path = write_report(runs, target, title=title, price=Price.parse(price) if price else None)
    typer.echo(f"report: {path} ({path.stat().st_size / 1024:.0f} KB; open it in any browser)")


def browse(
    run: Annotated[Path, typer.Argument(help="A run folder (generate, verify, refine): its accepted and rejected dialogs.")],
    static: Annotated[
        Path | None,
        typer.Option("--static", help="Write a static page to this file instead of serving (labels are downloaded, not saved)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: a free one).")] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default web browser.")] = False,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="The labels file (default: RUN/labels.jsonl).")
    ] = None,
) -> None:
    """Read a run's dialogs in a browser: filter them, open one, mark it bad.

    Serves a page on 127.0.0.1 until Ctrl-C; "Mark bad" appends to RUN/labels.jsonl, and
    `callforge verify RUN --labels RUN/labels.jsonl --out NEW` rejects those dialogs (code label.bad).
    """
    from callforge.report import serve_browser, write_browser

    if static is not None:
        path = write_browser(run, static, labels=labels)
        typer.echo(f"browser: {path} (static: Mark bad keeps labels in the page; Download labels.jsonl saves them)")
        return
    server = serve_browser(run, port=port, labels=labels)
    typer.echo(f"browsing {run} at {server.url} (labels go to {server.labels_path}); Ctrl-C to stop")
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def register(app: typer.Typer) -> None:
    """Add the `report` and `browse` verbs."""
    app.command("report")(report)
    app.command("browse")(browse)
