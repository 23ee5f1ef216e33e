"""Terminal rendering of reports with rich; kept apart from the verbs so they stay thin."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from callforge.evaluate import CODES_BY_BFCL_ERROR_TYPE, MULTI_TURN_ERROR_TYPES, EvalReport, LiveReport, Mode


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def print_report(report: EvalReport, console: Console | None = None) -> None:
    """A table per category, then BFCL's group scores and weighted overall, missing groups marked."""
    console = console or Console()
    table = Table(title=f"callforge eval · mode={report.mode.value} · style={report.style.value}")
    table.add_column("category")
    table.add_column("correct", justify="right")
    table.add_column("scored", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("top failure (code)", overflow="fold")
    for category, score in report.categories.items():
        top = Counter(score.errors).most_common(1)
        partial = "" if score.total in (0, score.size) else f" (of {score.size})"
        table.add_row(
            category.value,
            str(score.correct),
            f"{score.total}{partial}",
            _pct(score.accuracy) if score.total else "N/A",
            f"{_code(top[0][0])} ×{top[0][1]}" if top else "",
        )
    console.print(table)

    console.print(_groups_table(report))
    if report.unknown_ids:
        console.print(
            f"[yellow]{len(report.unknown_ids)} result ids are not in the suite and were skipped, "
            f"e.g. {report.unknown_ids[:3]}[/yellow]"
        )
    if report.out_dir is not None:
        console.print(f"scores: {report.out_dir / 'scores.json'}; failures: {report.out_dir / 'failures'}/")


def _groups_table(report: EvalReport) -> Table:
    """BFCL's summary: its groups and the overall with BFCL's weights; agentic is not run, so it has no row."""
    groups = Table(
        title=f"BFCL summary · mode={report.mode.value} (a category not evaluated counts as 0; agentic, 40% of "
        "BFCL's overall, is not run: docs/multi-turn.md)"
    )
    groups.add_column("group")
    groups.add_column("score", justify="right")
    groups.add_column("missing")
    for name, group in report.groups.items():
        shown = _pct(group.accuracy) + ("" if group.complete else " (N/A)")
        missing = ", ".join(group.missing[:6]) + (" …" if len(group.missing) > 6 else "")
        groups.add_row(name, shown, missing)
    return groups


def _code(error_type: str) -> str:
    """A BFCL error type as callforge's verdict code, for the "top failure" column."""
    return CODES_BY_BFCL_ERROR_TYPE.get(error_type) or _MULTI_TURN_CODES.get(error_type, error_type)


_MULTI_TURN_CODES = {error_type: code for code, error_type in MULTI_TURN_ERROR_TYPES.items()}


def print_live_report(report: LiveReport, console: Console | None = None) -> None:
    """One table with both modes side by side, then what the run cost and where its files are."""
    console = console or Console()
    bfcl, semantic = report.scores[Mode.BFCL], report.scores[Mode.SEMANTIC]
    table = Table(title=f"callforge eval · {report.model} · style={report.style.value}")
    table.add_column("category")
    table.add_column("scored", justify="right")
    table.add_column("bfcl", justify="right")
    table.add_column("semantic", justify="right")
    table.add_column("top failure (bfcl code)", overflow="fold")
    for category, score in bfcl.categories.items():
        other = semantic.categories.get(category)
        top = Counter(score.errors).most_common(1)
        table.add_row(
            category.value,
            str(score.total),
            _pct(score.accuracy) if score.total else "N/A",
            _pct(other.accuracy) if other is not None and other.total else "N/A",
            f"{_code(top[0][0])} ×{top[0][1]}" if top else "",
        )
    console.print(table)
    if len(bfcl.categories) > 1:
        console.print(_groups_table(bfcl))
    usage = report.usage
    rate = usage.completion_tokens / report.wall_s if report.wall_s > 0 else 0.0
    console.print(
        f"ran {report.sent} cases, resumed {report.resumed}, in {report.wall_s:.1f} s; "
        f"tokens: {usage.prompt_tokens} prompt, {usage.completion_tokens} generated ({rate:.1f}/s)"
    )
    if report.sent:  # this run's own cost per entry (resumed entries cost nothing now), to compare strategies
        console.print(
            f"per entry: {usage.total_tokens / report.sent:.1f} tokens ({usage.prompt_tokens / report.sent:.1f} prompt, "
            f"{usage.completion_tokens / report.sent:.1f} generated), {report.wall_s / report.sent:.3f} s wall"
        )
    if report.failed:
        first_id, first_error = report.failed[0]
        console.print(
            f"[red]{len(report.failed)} cases have no result (e.g. {first_id}: {first_error}); "
            "run the same command again to retry them[/red]"
        )
    console.print(
        f"results: {report.results_dir}/  scores: {report.out / 'scores' / 'bfcl'}/, {report.out / 'scores' / 'semantic'}/"
    )


def print_pass_hat(report: LiveReport, console: Console | None = None) -> None:
    """pass^k per category over the run's trials (tau-bench): the chance that k tries of a case all succeed."""
    console = console or Console()
    for mode, table in report.pass_hat.items():
        if not table:
            continue
        n = len(report.trials)
        shown = Table(title=f"pass^k over {n} trials · mode={mode.value}")
        shown.add_column("category")
        for k in range(1, n + 1):
            shown.add_column(f"pass^{k}", justify="right")
        for category, values in table.items():
            shown.add_row(category.value, *(_pct(values[k]) for k in range(1, n + 1)))
        console.print(shown)
