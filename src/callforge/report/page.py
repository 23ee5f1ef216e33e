"""`write_report`: one self-contained HTML page over run and evaluation folders, charts inline as SVG.

The page is a jinja2 template with autoescaping on, so every text that comes from data (a
dialog's words, a rejection message, a tool name) is escaped once, in one place; only the SVG
charts (drawn by matplotlib, which escapes its own text) are inserted as markup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from callforge.report.charts import hbars
from callforge.report.summary import DialogRun, Evaluation, ModeScores, Price, Summary, read_summary

CSS = """
:root { --fg:#1d2330; --muted:#5b6473; --line:#dde1e7; --bg:#f7f8fa; --accent:#4c72b0; --bad:#c44e52; --good:#2e7d4f; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 16px 28px 8px; }
h1 { margin: 0; font-size: 22px; } h2 { margin: 0 0 4px; font-size: 19px; } h3 { margin: 22px 0 6px; font-size: 15px; }
.sub, .path, .note { color: var(--muted); margin: 4px 0; } .path { font-family: ui-monospace, monospace; font-size: 12px; }
nav ul { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 6px 16px; }
nav a { color: var(--accent); text-decoration: none; }
main { padding: 12px 28px 40px; max-width: 1100px; }
section.run { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.tag { font-size: 11px; background: #e8edf6; color: var(--accent); border-radius: 10px; padding: 2px 8px; vertical-align: middle; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 20px; } .card span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f1f3f6; font-weight: 600; } td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; } code { font-size: 12px; }
.ex-id { font-family: ui-monospace, monospace; font-size: 11px; color: var(--muted); }
.ex-msg { max-width: 560px; white-space: pre-wrap; overflow-wrap: anywhere; }
.ex-user { color: var(--muted); font-style: italic; max-width: 560px; white-space: pre-wrap; overflow-wrap: anywhere; }
.fail { color: var(--bad); font-weight: 600; } .pass { color: var(--good); font-weight: 600; } .na, .mode { color: var(--muted); font-weight: 400; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
"""
TOP_CODES = 12
TOP_FAILURES = 25


@dataclass(frozen=True)
class Item:
    """One folder as the page shows it: its summary and which section template it uses."""

    kind: str
    run: Summary

    @property
    def name(self) -> str:
        """The folder's name in the page's navigation."""
        return self.run.name


def render_report(
    summaries: Sequence[Summary], *, title: str = "callforge report", price: Price | None = None
) -> str:
    """The page as text, so a caller can serve it, store it or test it without a file."""
    from callforge import __version__

    items = [Item("dialogs" if isinstance(s, DialogRun) else "evaluation", s) for s in summaries]
    dialogs = [s for s in summaries if isinstance(s, DialogRun)]
    evals = [s for s in summaries if isinstance(s, Evaluation)]
    columns = [(e, m) for e in evals for m in e.modes] if len(evals) > 1 else []
    categories = list(dict.fromkeys(c.category for _, m in columns for c in m.categories))
    charts: dict[int | str, dict[str, str] | str] = {n: _charts(s) for n, s in enumerate(summaries, 1)}
    if len(dialogs) > 1:
        charts["compare_dialogs"] = hbars(
            "Yield per run", [r.name for r in dialogs], [("yield", [r.accepted / r.total if r.total else 0 for r in dialogs])],
            percent=True,
        )
    if columns:
        charts["compare_evals"] = hbars(
            "Accuracy per category, side by side",
            categories,
            [(f"{e.name} · {m.mode}", [m.accuracy(c) or 0.0 for c in categories]) for e, m in columns],
            percent=True,
        )
    return _template().render(
        title=title,
        version=__version__,
        css=CSS,
        runs=items,
        charts=charts,
        price=price,
        top=TOP_CODES,
        top_failures=TOP_FAILURES,
        compare_dialogs=dialogs if len(dialogs) > 1 else [],
        compare_evals=evals if len(evals) > 1 else [],
        compare_columns=columns,
        compare_categories=categories,
        pct=_pct,
        num=_num,
        secs=_secs,
        group=_group,
        total_cost=lambda r: sum(role.cost(price) or 0.0 for role in r.roles),
    )


def write_report(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    title: str | None = None,
    price: Price | None = None,
) -> Path:
    """Read each run or evaluation folder and write one self-contained HTML page to `out`; returns its path."""
    summaries = [read_summary(Path(p)) for p in paths]
    name = title or ("callforge report · " + ", ".join(s.name for s in summaries))
    page = render_report(summaries, title=name, price=price)
    where = Path(out)
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = where.with_name(f".{where.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, where)
    return where


def _charts(summary: Summary) -> dict[str, str]:
    if isinstance(summary, DialogRun):
        charts = {
            "funnel": hbars(
                "Funnel: dialogs per stage",
                ["attempts", *(s.stage for s in summary.stages), "accepted"],
                [
                    ("entered", [summary.total, *(s.entered for s in summary.stages), summary.accepted]),
                    ("passed", [summary.total, *(s.entered - s.failed for s in summary.stages), summary.accepted]),
                ],
            ),
            "kinds": hbars(
                "Yield per scenario kind",
                [k.kind for k in summary.kinds],
                [("attempts", [k.attempts for k in summary.kinds]), ("accepted", [k.accepted for k in summary.kinds])],
            )
            if summary.kinds
            else "",
        }
        difficulty = summary.difficulty
        charts["difficulty"] = (
            hbars(
                "Accepted dialogs per difficulty level",
                [str(r.level) for r in difficulty.rows],
                [("dialogs", [r.dialogs for r in difficulty.rows])],
            )
            if difficulty is not None
            else ""
        )
        charts["roles"] = (
            hbars(
                "Tokens per role",
                [r.role for r in summary.roles],
                [("prompt", [r.prompt_tokens for r in summary.roles]), ("completion", [r.completion_tokens for r in summary.roles])],
                stacked=True,
            )
            if summary.tokens
            else ""
        )
        return charts
    first = summary.modes[0]
    names = [c.category for c in first.categories]
    return {
        "categories": hbars(
            "Accuracy per category",
            names,
            [(m.mode, [m.accuracy(c) or 0.0 for c in names]) for m in summary.modes],
            percent=True,
        )
        if names
        else ""
    }


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("callforge.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.jinja")


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _num(value: float) -> str:
    return f"{value:,.0f}"


def _secs(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _group(scores: ModeScores, name: str) -> tuple[str, float, bool] | None:
    return next((g for g in scores.groups if g[0] == name), None)
