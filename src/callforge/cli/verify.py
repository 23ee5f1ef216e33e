"""`callforge verify`: audit any tool-calling dataset with the cascade and print the funnel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.cli.exits import left_undone
from callforge.cli.options import (
    ApiKey,
    BaseUrl,
    JudgeMode,
    MaxAliasNodes,
    MaxDepth,
    MaxInputMb,
    MaxRecordMb,
    MaxRefHops,
    Quiet,
    Ray,
    Votes,
    config_from,
    out_dir,
)
from callforge.cli.progress import job_bar
from callforge.cli.report import report_hint


def verify_command(
    data: Annotated[Path, typer.Argument(help="Dataset file or folder (BFCL data folder, a Run folder, JSONL, JSON).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="auto, callforge, openai, xlam, toolace, bfcl, sharegpt, hermes, glaive, apigen_mt or when2call.")
    ] = "auto",
    stages: Annotated[
        str, typer.Option("--stages", help="Comma-separated stages, in cascade order: rules,exec,judge,dedup.")
    ] = "rules",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", callback=out_dir, help="Run folder (default: verified/<data name>).")
    ] = None,
    skip_rules: Annotated[str, typer.Option("--skip-rules", help="Rules to leave out, e.g. grounding,answer.")] = "",
    exec: Annotated[
        str | None,
        typer.Option(
            "--exec",
            help="Execution engine: python:FILE.py (tool functions, sandboxed), simulated[:MODEL], "
            "rest:SPEC[@URL] (OpenAPI operations, by tool name) or mcp:COMMAND|URL|CONFIG (MCP tools, by "
            "name).",
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="rest:/mcp: engines: send only GET/HEAD/OPTIONS and MCP tools declared read-only; simulate "
            "the other calls' responses, never send.",
        ),
    ] = False,
    compare_outputs: Annotated[
        bool, typer.Option("--compare-outputs", help="Also fail calls whose recorded tool output differs from a re-run.")
    ] = False,
    judge: Annotated[str, typer.Option("--judge", help="Judge model spec (judge stage).")] = "local:qwen2.5-coder-0.5b",
    votes: Votes = 1,
    judge_mode: JudgeMode = "reference",
    dedup_threshold: Annotated[
        float, typer.Option("--dedup-threshold", help="Dedup: user-text similarity that counts as a near copy.")
    ] = 0.8,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Dialogs judged at once (exec/judge).")] = 8,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Judge only the first N dialogs.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not cache judge answers and tool outputs.")] = False,
    labels: Annotated[
        Path | None,
        typer.Option("--labels", help="Labels file (callforge browse writes RUN/labels.jsonl): dialogs marked bad are rejected, code label.bad."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the funnel as JSON.")] = False,
    ray: Ray = None,
    quiet: Quiet = False,
    max_input_mb: MaxInputMb = None,
    max_record_mb: MaxRecordMb = None,
    max_depth: MaxDepth = None,
    max_alias_nodes: MaxAliasNodes = None,
    max_ref_hops: MaxRefHops = None,
) -> None:
    """Verify a dataset: rules, sandboxed execution, an LLM judge; write accepted/rejected records and a funnel.

    Accepted and rejected dialogs go to OUT/accepted/ and OUT/rejected/ (rejected ones keep every
    verdict); re-running the same command resumes where a killed run stopped.
    """
    options = dict(locals())
    from callforge.run import executor_of
    from callforge.verify import CascadeSpec, VerifyConfig, verify

    cascade = config_from(CascadeSpec, options, stages=_split(stages), skip_rules=_split(skip_rules))
    default_out = Path("verified") / re.sub(r"[^A-Za-z0-9._-]+", "-", data.stem or data.name)
    config = config_from(VerifyConfig, options, cascade=cascade, out=out or default_out, cache=not no_cache)
    with job_bar("verify", disable=quiet or as_json) as show:
        report = verify(config, progress=show, executor=executor_of(ray))
    if as_json:
        import orjson

        funnel = {**report.funnel.to_dict(), "unjudged": len(report.unjudged)}
        typer.echo(orjson.dumps(funnel, option=orjson.OPT_INDENT_2).decode())
    else:
        print_funnel(report)
        if "judge" in cascade.stages:
            print_judge_figures(cascade.judge, cascade.judge_mode)
    typer.echo(report_hint(report.out), err=True)
    end_of_verify(report)


def end_of_verify(report: Any) -> None:
    """Status 3 when some dialogs have no verdict (a stage failed outside the data), 4 when none has one."""
    unjudged = len(report.unjudged)
    if unjudged:
        first_id, first_error = next(iter(report.unjudged.items()))
        where = f" (see {report.out / 'errors.jsonl'})" if report.out is not None else ""
        left_undone(
            unjudged,
            unjudged + report.funnel.total,
            f"{unjudged} of {unjudged + report.funnel.total} dialogs unjudged: a stage failed for a reason outside "
            f"the data{where}, e.g. {first_id}: {first_error}; run the same command again to retry them",
        )


def _split(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def print_funnel(report: Any) -> None:
    """The funnel as two tables: pass rate per stage, then the commonest rejection reasons."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    funnel = report.funnel
    unsure = f", {funnel.unsure} of them unsure" if funnel.unsure else ""
    table = Table(
        title=f"verify: {funnel.total} dialogs, {funnel.accepted} accepted ({_pct(funnel.accepted, funnel.total)}){unsure}"
    )
    for column in ("stage", "entered", "passed", "failed", "unsure", "skipped", "pass rate"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name in funnel.stages:
        count = funnel.counts[name]
        table.add_row(
            name,
            str(count.entered),
            str(count.passed),
            str(count.failed),
            str(count.unsure),
            str(count.skipped),
            _pct(count.entered - count.failed, count.entered),
        )
    console.print(table)
    top = funnel.top_codes(10)
    if top:
        reasons = Table(title="top rejection reasons (dialogs per code)")
        reasons.add_column("code")
        reasons.add_column("dialogs", justify="right")
        reasons.add_column("example", overflow="fold")
        for code, n in top:
            reasons.add_row(code, str(n), funnel.example(code))
        console.print(reasons)
    if report.out is not None:
        console.print(f"accepted: {report.accepted_path}/   rejected: {report.rejected_path}/   funnel: {report.out / 'funnel.json'}")
    state = report.progress
    line = f"{state.done - state.errors} judged in {report.wall_s:.1f} s"
    if state.resumed:
        line += f", {state.resumed} already done (resumed)"
    if state.errors:
        line += f", {state.errors} failed for a reason outside the data (see errors.jsonl; re-run to retry)"
    console.print(line)


def print_judge_figures(judge: str, questions: str = "reference") -> None:
    """How far the judge can be trusted: its figures on the calibration set, or how to measure them."""
    from rich.console import Console

    from callforge.verify import measured_figures

    console = Console()
    figures = measured_figures(judge, questions)
    if figures is None:
        asked = "" if questions == "reference" else f" --judge-mode {questions}"
        console.print(
            f"judge {judge} is not calibrated: `callforge calibrate --judge {judge}{asked}` measures its recall "
            "and false rejects"
        )
        return
    whole, alone = figures.cascade, figures.stages.get("judge")
    line = (
        f"judge {judge}, measured {figures.measured_on} on {figures.cases} labelled dialogs: rules + judge reject "
        f"{_pct(whole.defects_rejected, whole.defects)} of defects and {_pct(whole.good_rejected, whole.good)} of good dialogs"
    )
    if alone is not None:
        line += (
            f"; the judge rejects {_pct(alone.defects_rejected, alone.defects)} of the defects the rules pass "
            f"and {_pct(alone.good_rejected, alone.good)} of the good dialogs"
        )
    console.print(line + " (`callforge calibrate` re-measures)")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def register(app: typer.Typer) -> None:
    """Add the verb to the app."""
    app.command("verify")(verify_command)
