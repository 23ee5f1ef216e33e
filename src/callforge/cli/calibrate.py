"""`callforge calibrate`: measure a cascade (and its judge) on the labelled calibration set."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.cli.options import ApiKey, BaseUrl, JudgeMode, Limit, Quiet, Votes, config_from, out_file

_DEFAULT_STAGES = "rules,judge"


def calibrate_command(
    judge: Annotated[str, typer.Option("--judge", help="Judge model spec.")] = "local:qwen2.5-coder-0.5b",
    stages: Annotated[
        str, typer.Option("--stages", help="Cascade to measure: rules, or rules,judge (the judge sees what rules pass).")
    ] = _DEFAULT_STAGES,
    votes: Votes = 1,
    judge_mode: JudgeMode = "reference",
    cases: Annotated[
        Path | None, typer.Option("--cases", help="Your own labelled set (JSONL, same shape); default: the shipped set.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", callback=out_file, help="Outcomes file, one line per case; a re-run resumes from it (default: calibration/<judge>.jsonl)."),
    ] = None,
    save: Annotated[
        Path | None, typer.Option("--save", callback=out_file, help="Also merge the figures into this JSON table, keyed by judge spec.")
    ] = None,
    per_kind: Annotated[
        int | None,
        typer.Option("--per-kind", min=1, help="Only N defects of each kind and their good twins (a judge on a CPU is slow)."),
    ] = None,
    limit: Limit = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    quiet: Quiet = False,
) -> None:
    """Measure recall on defects and false rejects on good dialogs, per stage, on labelled dialogs.

    The shipped set holds hand-written dialogs, half good and half with one known defect each
    (misread and swapped values, missed calls, useless answers ...). Run it for any judge model
    before trusting that judge with your data.
    """
    from rich.console import Console

    from callforge.cli.progress import progress_bar
    from callforge.verify import (
        CascadeSpec,
        CaseOutcome,
        build_cascade,
        calibrate,
        calibration_cases,
        save_figures,
        stratified,
    )

    spec = config_from(CascadeSpec, {"judge": judge, "votes": votes, "judge_mode": judge_mode}, stages=[s.strip() for s in stages.split(",") if s.strip()])
    model = judge if "judge" in spec.stages else None
    chosen = calibration_cases(cases)
    chosen = stratified(chosen, per_kind) if per_kind else chosen
    chosen = chosen[:limit] if limit else chosen
    name = model if spec.judge_mode == "reference" or model is None else f"{model}-{spec.judge_mode}"
    target = out or Path("calibration") / (re.sub(r"[^A-Za-z0-9._-]+", "-", name or "rules") + ".jsonl")
    target.parent.mkdir(parents=True, exist_ok=True)
    done = [CaseOutcome.model_validate_json(line) for line in _lines(target)]

    async def run() -> Any:
        cascade = build_cascade(spec, base_url=base_url, api_key=api_key)
        try:
            with progress_bar("calibrate", disable=quiet or as_json) as bar, target.open("a", encoding="utf-8") as sink:
                task = bar.add_task("calibrate", total=len(chosen), completed=len(done))
                logged = Console(stderr=True)
                count, last = [len(done)], [time.monotonic()]

                def record(outcome: CaseOutcome) -> None:
                    sink.write(outcome.model_dump_json() + "\n")
                    sink.flush()
                    bar.advance(task)
                    count[0] += 1
                    if not logged.is_terminal and not quiet and time.monotonic() - last[0] >= 30:
                        last[0] = time.monotonic()  # a log file gets a line every 30 s instead of a bar
                        logged.print(f"calibrate: {count[0]}/{len(chosen)} done", markup=False, highlight=False)

                return await calibrate(
                    cascade, chosen, done=done, on_outcome=record, model=model, questions=spec.judge_mode
                )
        finally:
            await cascade.aclose()

    figures = asyncio.run(run())
    if save is not None:
        save_figures(figures, save)
    if as_json:
        typer.echo(figures.model_dump_json(indent=2))
    else:
        print_figures(figures)
        typer.echo(f"outcomes: {target}" + (f"   figures saved to {save}" if save else ""))


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def print_figures(figures: Any) -> None:
    """Per stage and for the whole cascade: what it saw, recall, false rejects, precision; then per defect kind."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"calibration: {figures.cases} labelled dialogs" + (f", judge {figures.model}" if figures.model else "")
    table = Table(title=title)
    for column in ("stage", "false rejects (good)", "recall (defects)", "precision", "unsure g/d"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    rows = [*figures.stages.items(), ("cascade", figures.cascade)]
    for name, rates in rows:
        table.add_row(
            name,
            _rate(rates.good_rejected, rates.good),
            _rate(rates.defects_rejected, rates.defects),
            f"{100 * rates.precision:.1f}%" if rates.precision is not None else "-",
            f"{rates.good_unsure}/{rates.defects_unsure}",
        )
    console.print(table)
    console.print("each stage counts the dialogs that reached it; the judge sees only what the rules passed")
    kinds = Table(title="defects caught by the whole cascade, per kind")
    kinds.add_column("kind")
    kinds.add_column("caught", justify="right")
    for kind, (caught, n) in figures.kinds.items():
        kinds.add_row(kind, _rate(caught, n))
    console.print(kinds)
    console.print(f"{figures.seconds_per_case:.2f} s and {figures.tokens_per_case:,.0f} tokens per dialog")


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} {100 * part / whole:.1f}%" if whole else "-"


def register(app: typer.Typer) -> None:
    """Add the verb to the app."""
    app.command("calibrate")(calibrate_command)
