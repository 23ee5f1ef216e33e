"""`callforge refine` and `callforge select`: learning signal from a run (trajectories, hard examples)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.cli.exits import left_undone
from callforge.cli.options import ApiKey, AsJson, BaseUrl, Quiet, config_from, http_url, out_dir


def refine_command(
    run: Annotated[Path, typer.Argument(help="A generation run folder: its rejected dialogs are refined.")],
    out: Annotated[Path, typer.Option("--out", "-o", callback=out_dir, help="Run folder for the trajectories (accepted) and failed corrections.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Assistant model (default: the run's).")] = None,
    tools: Annotated[list[str] | None, typer.Option("--tools", "-t", help="Tool sources (default: the run's).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Read at most this many rejected records.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a refinement in --out.")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    rest_base_url: Annotated[str | None, typer.Option("--rest-base-url", callback=http_url, help="Server for OpenAPI tools.")] = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Redo each rejected dialog's failing step with the verifier's feedback; keep the verified "wrong -> feedback -> right".

    Export the result with `callforge export OUT --format openai` (the wrong step masked) or
    `--format dpo` (one preference pair per trajectory).
    """
    options = dict(locals())
    from callforge.cli.progress import job_bar
    from callforge.learn import RefineConfig, refine

    config = config_from(RefineConfig, options, tools=tuple(tools) if tools else None)
    with job_bar("refine", disable=quiet or as_json, resume="run the same command with --resume to continue") as show:
        report = refine(config, progress=show)
    if as_json:
        typer.echo(json.dumps(asdict(report), default=str, indent=2))
        return
    typer.echo(
        f"refined {report.refined} of {report.attempted} refinable rejected dialogs ({report.read} read) into {report.out}"
    )
    if report.codes:
        typer.echo("  corrected: " + ", ".join(f"{c} {n}" for c, n in report.codes.items()))
    if report.still_failing:
        typer.echo("  still failing: " + ", ".join(f"{c} {n}" for c, n in report.still_failing.items()))
    if report.skipped:
        typer.echo("  not refinable: " + ", ".join(f"{c} {n}" for c, n in sorted(report.skipped.items())))


def select_command(
    src: Annotated[Path, typer.Argument(help="Candidate dialogs: a run folder (its accepted dialogs) or a dataset file.")],
    out: Annotated[Path, typer.Option("--out", "-o", callback=out_dir, help="Run folder: the kept dialogs (accepted) and the solved ones (rejected).")],
    model: Annotated[str, typer.Option("--model", "-m", help="The target model, the one to be trained.")] = "local:qwen2.5-coder-0.5b",
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Try at most this many dialogs.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a selection in --out.")] = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Keep the dialogs the target model still gets wrong (ToolACE-R's model-aware selection)."""
    options = dict(locals())
    from callforge.cli.progress import job_bar
    from callforge.learn import SelectConfig, select

    config = config_from(SelectConfig, options)
    with job_bar("select", disable=quiet or as_json, resume="run the same command with --resume to continue") as show:
        report = select(config, progress=show)
    if as_json:
        levels = report.levels.to_dict() if report.levels is not None else None
        typer.echo(json.dumps({**asdict(report), "levels": levels}, default=str, indent=2))
    else:
        print_selection(report)
    left_undone(
        report.errors,
        report.errors + report.evaluated,
        f"{report.errors} of {report.errors + report.evaluated} dialogs lost to endpoint errors (see "
        f"{report.out / 'errors.jsonl'}); run the same command with --resume to retry them",
    )


def print_selection(report: Any) -> None:
    """What was kept, the model's failure codes, and what was lost."""
    typer.echo(
        f"kept {report.kept} of {report.evaluated} dialogs that {report.model} gets wrong "
        f"({report.steps_wrong} of {report.steps} steps wrong; {report.solved} solved) in {report.out}"
    )
    if report.codes:
        typer.echo("  its failures: " + ", ".join(f"{c} {n}" for c, n in report.codes.items()))
    if report.levels is not None and report.levels.dialogs:
        shown = [
            f"{row.level} {100 * row.accuracy:.0f}% of {row.steps} steps ({row.dialogs} dialogs)"
            for row in report.levels.rows
            if row.accuracy is not None
        ]
        if shown:
            typer.echo("  its accuracy by difficulty: " + " · ".join(shown))
    if report.errors:
        typer.echo(f"  {report.errors} dialogs lost to endpoint errors; --resume retries them")


def register(app: typer.Typer) -> None:
    """Add the `refine` and `select` verbs to the app."""
    app.command("refine")(refine_command)
    app.command("select")(select_command)
