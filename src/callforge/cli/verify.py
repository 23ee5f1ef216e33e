"""`callforge verify`: audit any tool-calling dataset with the cascade and print the funnel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.core import ConfigError

STAGES = ("rules", "exec", "judge", "dedup")


def verify_command(
    data: Annotated[Path, typer.Argument(help="Dataset file or folder (BFCL data folder, JSONL, JSON).")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="auto, callforge, openai, xlam, toolace, bfcl or sharegpt.")
    ] = "auto",
    stages: Annotated[
        str, typer.Option("--stages", help="Comma-separated stages, in cascade order: rules,exec,judge,dedup.")
    ] = "rules",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output folder (default: verified/<data name>).")
    ] = None,
    skip_rules: Annotated[str, typer.Option("--skip-rules", help="Rules to leave out, e.g. grounding,answer.")] = "",
    exec_engine: Annotated[
        str | None,
        typer.Option("--exec", help="Execution engine: python:FILE.py (tool functions, sandboxed) or simulated[:MODEL]."),
    ] = None,
    compare_outputs: Annotated[
        bool, typer.Option("--compare-outputs", help="Also fail calls whose recorded tool output differs from a re-run.")
    ] = False,
    judge: Annotated[str, typer.Option("--judge", help="Judge model spec (judge stage).")] = "local:qwen2.5-coder-0.5b",
    votes: Annotated[int, typer.Option("--votes", min=1, help="Judge votes per dialog (majority decides).")] = 1,
    dedup_threshold: Annotated[
        float, typer.Option("--dedup-threshold", help="Dedup: user-text similarity that counts as a near copy.")
    ] = 0.8,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Endpoint for openai:<model> specs.")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", help="API key for openai:<model> specs.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Dialogs judged at once (exec/judge).")] = 8,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Judge only the first N dialogs.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not cache judge answers and tool outputs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the funnel as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Verify a dataset: rules, sandboxed execution, an LLM judge; write accepted/rejected records and a funnel.

    Accepted and rejected dialogs go to OUT/accepted.jsonl and OUT/rejected.jsonl (rejected ones keep
    every verdict); re-running the same command resumes where a killed run stopped.
    """
    from callforge.verify import verify
    from callforge.verify.api import VerifyProgress

    chosen = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STAGES]
    if unknown or not chosen:
        raise ConfigError(
            f"--stages: unknown stage(s) {', '.join(unknown) or '(none given)'}; choose from rules,exec,judge,dedup"
        )
    folder = out or Path("verified") / re.sub(r"[^A-Za-z0-9._-]+", "-", data.stem or data.name)
    pipeline = _stages(
        chosen,
        skip_rules=[s.strip() for s in skip_rules.split(",") if s.strip()],
        exec_engine=exec_engine,
        compare_outputs=compare_outputs,
        judge=judge,
        votes=votes,
        dedup_threshold=dedup_threshold,
        base_url=base_url,
        api_key=api_key,
        cache_dir=None if no_cache else folder,
    )
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]verify[/bold]"),
        TextColumn("{task.completed} dialogs"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        disable=quiet or as_json,
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=None, info="")

        def show(state: VerifyProgress) -> None:
            info = f"{state.accepted} accepted · {state.rejected} rejected · {state.rate:,.0f}/s"
            if state.resumed:
                info += f" · {state.resumed} resumed"
            if state.errors:
                info += f" · [red]{state.errors} errors[/red]"
            bar.update(task, completed=state.done, info=info)

        report = verify(data, pipeline, format=format, out=folder, limit=limit, concurrency=concurrency, progress=show)
    if as_json:
        import orjson

        typer.echo(orjson.dumps(report.funnel.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print_funnel(report)


def _stages(
    chosen: list[str],
    *,
    skip_rules: list[str],
    exec_engine: str | None,
    compare_outputs: bool,
    judge: str,
    votes: int,
    dedup_threshold: float,
    base_url: str | None,
    api_key: str | None,
    cache_dir: Path | None,
) -> list[Any]:
    from callforge.verify.rules import RuleStage

    order = [s for s in STAGES if s in chosen]
    if order != chosen:
        raise ConfigError(f"--stages must keep cascade order (rules,exec,judge,dedup), got {','.join(chosen)}")
    pipeline: list[Any] = []
    if "rules" in chosen:
        pipeline.append(RuleStage(skip=skip_rules))
    elif skip_rules:
        raise ConfigError("--skip-rules needs the rules stage in --stages")
    llm_cache = cache_dir / "llm-cache.sqlite" if cache_dir else None
    if "exec" in chosen:
        pipeline.append(_exec_stage(exec_engine, compare_outputs, base_url, api_key, llm_cache, cache_dir))
    elif exec_engine:
        raise ConfigError("--exec needs the exec stage: add it to --stages, e.g. --stages rules,exec")
    if "judge" in chosen:
        from callforge.llm.registry import make_backend
        from callforge.verify.judge import LLMJudge

        backend = make_backend(judge, base_url=base_url, api_key=api_key, cache=llm_cache)
        pipeline.append(LLMJudge(backend, votes=votes))
    if "dedup" in chosen:
        from callforge.verify.dedup import DedupStage

        pipeline.append(DedupStage(dedup_threshold))
    return pipeline


def _exec_stage(
    spec: str | None,
    compare_outputs: bool,
    base_url: str | None,
    api_key: str | None,
    llm_cache: Path | None,
    cache_dir: Path | None,
) -> Any:
    from callforge.execute import CachedEngine, PythonEngine, SimulatedEngine
    from callforge.verify.execution import ExecutionStage

    if not spec:
        raise ConfigError(
            "the exec stage needs an engine: --exec python:tools.py (your tool functions, run sandboxed) "
            "or --exec simulated (a model plays the tools; --exec simulated:openai:<model> to pick it)"
        )
    kind, _, rest = spec.partition(":")
    engine: Any
    if kind == "python":
        if not rest:
            raise ConfigError("--exec python:FILE.py: name the Python file that defines the tool functions")
        engine = PythonEngine(rest)
    elif kind == "simulated":
        from callforge.llm.registry import make_backend

        engine = SimulatedEngine(
            make_backend(rest or "local:qwen2.5-coder-0.5b", base_url=base_url, api_key=api_key, cache=llm_cache)
        )
    else:
        raise ConfigError(f"--exec {spec!r}: the engines are python:FILE.py and simulated[:MODEL]")
    if cache_dir is not None:
        engine = CachedEngine(engine, cache_dir / "exec-cache.sqlite")
    return ExecutionStage(engine, compare_outputs=compare_outputs)


def print_funnel(report: Any) -> None:
    """The funnel as two tables: pass rate per stage, then the commonest rejection reasons."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    funnel = report.funnel
    table = Table(title=f"verify: {funnel.total} dialogs, {funnel.accepted} accepted ({_pct(funnel.accepted, funnel.total)})")
    for column in ("stage", "entered", "passed", "failed", "skipped", "pass rate"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name in funnel.stages:
        count = funnel.counts[name]
        table.add_row(
            name,
            str(count.entered),
            str(count.passed),
            str(count.failed),
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
        console.print(f"accepted: {report.accepted_path}   rejected: {report.rejected_path}   funnel: {report.out / 'funnel.json'}")
    state = report.progress
    line = f"{state.done} judged in {report.wall_s:.1f} s"
    if state.resumed:
        line += f", {state.resumed} already done (resumed)"
    if state.errors:
        line += f", {state.errors} failed for a reason outside the data (see errors.jsonl; re-run to retry)"
    console.print(line)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def register(app: typer.Typer) -> None:
    """Add the verb to the app."""
    app.command("verify")(verify_command)
