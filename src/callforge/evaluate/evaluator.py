"""`score()`: score a file of model outputs against a suite and write the report files."""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from callforge.core import Case, Categories, Category, CategoryKind, DataError, Verdict, configured
from callforge.evaluate.check import Mode, Style, make_scorer
from callforge.evaluate.multi_turn import MultiTurnEntry, check_end_state, check_multi_turn, load_multi_turn
from callforge.evaluate.results import read_results
from callforge.evaluate.scores import CategoryScore, GroupScore, group_scores
from callforge.formats import bfcl_data_dir, bfcl_files, load_bfcl_suite

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Judged:
    """One scored output: the case, the raw output and the verdict."""

    case: Case
    output: Any
    verdict: Verdict


@dataclass(frozen=True)
class EvalReport:
    """Everything an evaluation produced: per-category and group scores, and every judged output."""

    mode: Mode
    style: Style
    categories: dict[Category, CategoryScore]
    groups: dict[str, GroupScore]
    judged: list[Judged] = field(repr=False)
    unknown_ids: list[str] = field(default_factory=list)
    out_dir: Path | None = None

    def failures(self, category: Category | None = None) -> list[Judged]:
        """The judged outputs that failed, optionally of one category."""
        return [
            j
            for j in self.judged
            if not j.verdict.ok and (category is None or j.case.category == category.value)
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape written to scores.json."""
        return {
            "suite": "bfcl",
            "mode": self.mode.value,
            "style": self.style.value,
            "categories": {
                c.value: {
                    "accuracy": s.accuracy,
                    "correct": s.correct,
                    "total": s.total,
                    "size": s.size,
                    "errors": dict(s.errors),
                }
                for c, s in self.categories.items()
            },
            "groups": {
                name: {"accuracy": g.accuracy, "complete": g.complete, "missing": list(g.missing)}
                for name, g in self.groups.items()
            },
            "unknown_ids": self.unknown_ids,
        }


def _category_of_id(case_id: str) -> str:
    """BFCL ids are `<category>_<n>` or `<category>_<n>-<a>-<b>`."""
    return case_id.rsplit("_", 1)[0]


class ScoreConfig(BaseModel):
    """What to score: saved outputs, the suite they answer, the mode and style, where the report goes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    results: Path
    """A BFCL result file, a folder of them, or a live run's folder (its `results` stream)."""
    data: Path | None = None
    """The BFCL data folder (default: $CALLFORGE_BFCL_DATA, or an installed bfcl-eval's data)."""
    style: Style = Style.PROMPTING
    mode: Mode = Mode.BFCL
    categories: Categories = None
    """Default: the categories the results cover."""
    out: Path | None = None
    allow_duplicate_ids: bool = False
    ids: frozenset[str] | None = None
    """Score only these cases (a `limit` run in a folder that holds more results)."""



def score(config: ScoreConfig | None = None, /, *, progress: Progress | None = None, **fields: Any) -> EvalReport:
    """Score BFCL-format outputs against a BFCL data folder (give a ScoreConfig or its fields).

    Multi-turn results (a list of turns of steps per entry) are run on the entry's environment
    (BFCL's simulators need bfcl-eval): mode `bfcl` judges them with BFCL's per-turn rules
    (`check_multi_turn`), mode `semantic` by where the episode ends (`check_end_state`).

    With `out`, writes `scores.json` and one `failures/<category>.jsonl` per category (id, error
    type, message, decoded output, expected), so a failing entry can be inspected without
    re-running anything.
    """
    config = configured(ScoreConfig, config, fields)
    data = bfcl_data_dir(config.data)
    results = config.results
    if (results / "results").is_dir():
        results = results / "results"  # a live run's folder (of any version): its results stream
    categories, out, ids = config.categories, config.out, config.ids
    mode, style, allow_duplicate_ids = config.mode, config.style, config.allow_duplicate_ids
    try:
        rows = read_results(results, allow_duplicate_ids=allow_duplicate_ids)
    except UnicodeDecodeError as exc:
        raise DataError(f"{_undecodable(results)}: not UTF-8 text ({exc.reason}); result files are JSON lines in UTF-8") from None
    if not rows:
        raise DataError(
            f"no results in {str(results)!r}: nothing to score; a result file holds one "
            '{"id": ..., "result": ...} JSON object per line, as BFCL writes them'
        )
    files = bfcl_files(Path(data))
    if categories is None:
        present = {_category_of_id(r.id) for r in rows}
        selected = [c for c in Category if c in files and c.value in present]
    else:
        selected = list(categories)
    single = [c for c in selected if c.kind is not CategoryKind.MULTI_TURN]
    cases = {case.id: case for case in load_bfcl_suite(data, single)} if single else {}
    entries = {e.id: e for e in load_multi_turn(data, [c for c in selected if c not in single])}
    cases.update((e.id, _case_of(e)) for e in entries.values())
    selected_names = {c.value for c in selected}

    scorer = make_scorer(mode, style)
    judged: list[Judged] = []
    unknown: list[str] = []
    wanted = []
    known = {c.value for c in Category}
    for r in rows:
        _require_text(r.output, r.where)
        if r.id in cases:
            if ids is None or r.id in ids:
                wanted.append(r)
        elif (name := _category_of_id(r.id)) in selected_names or name not in known:
            unknown.append(r.id)  # ids of other, unselected BFCL categories are simply out of scope
    total = len(wanted)
    # The suite is long-lived; keep the collector from rescanning it while thousands of outputs are
    # scored, and give the caller's process its collector back afterwards.
    gc.freeze()
    try:
        for done, r in enumerate(wanted, 1):
            case = cases[r.id]
            entry = entries.get(r.id)
            if entry is not None:
                verdict = (check_multi_turn if mode is Mode.BFCL else check_end_state)(entry, r.output, style=style)
            else:
                verdict = scorer.score(case, r.output)
            judged.append(Judged(case, r.output, verdict))
            if progress is not None and (done % 500 == 0 or done == total):
                progress(done, total)
    finally:
        gc.unfreeze()

    sizes = _sizes(files, cases.values())
    category_scores = _category_scores(selected, judged, sizes)
    report = EvalReport(
        mode=mode,
        style=style,
        categories=category_scores,
        groups=group_scores(category_scores, sizes),
        judged=judged,
        unknown_ids=unknown,
        out_dir=Path(out) if out is not None else None,
    )
    if out is not None:
        write_report(report, Path(out))
    return report


def _case_of(entry: MultiTurnEntry) -> Case:
    """A multi-turn entry as the Case a report lists: its id, category and user turns (its truth is run, not matched)."""
    messages = tuple(m for turn in entry.turns for m in turn)
    return Case(id=entry.id, category=entry.category, messages=messages)


def _undecodable(path: Path) -> str:
    """`file:line` of the first bytes under `path` that are not UTF-8 (the error path only: it re-reads)."""
    from callforge.evaluate.results import result_files

    for file in result_files(path):
        with file.open("rb") as fh:
            for number, line in enumerate(fh, 1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return f"{file}:{number}"
    return str(path)


def _require_text(output: Any, where: str) -> None:
    """Refuse a result holding a lone surrogate (U+D800 to U+DFFF alone): valid JSON, but no text a model wrote."""
    if isinstance(output, str):
        if output.isascii():
            return
        try:
            output.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DataError(
                f"{where}: the result holds a lone surrogate ({output[exc.start]!r}), which is not text; "
                "fix or drop that line"
            ) from None
    elif isinstance(output, list):
        for item in output:
            _require_text(item, where)
    elif isinstance(output, dict):
        for key, value in output.items():
            _require_text(key, where)
            _require_text(value, where)


def _sizes(files: dict[Category, Path], cases: Iterable[Case]) -> dict[Category, int]:
    sizes: dict[Category, int] = Counter(Category(c.category) for c in cases)
    for category, path in files.items():
        if category not in sizes:
            with path.open(encoding="utf-8") as fh:
                sizes[category] = sum(1 for line in fh if line.strip())
    return sizes


def _category_scores(
    selected: list[Category], judged: list[Judged], sizes: dict[Category, int]
) -> dict[Category, CategoryScore]:
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    errors: dict[str, Counter[str]] = {}
    for j in judged:
        name = j.case.category
        total[name] += 1
        if j.verdict.ok:
            correct[name] += 1
        else:
            errors.setdefault(name, Counter())[_error_label(j.verdict)] += 1
    return {
        c: CategoryScore(c, correct[c.value], total[c.value], sizes.get(c, 0), dict(errors.get(c.value, {})))
        for c in selected
    }


def _error_label(verdict: Verdict) -> str:
    error_type = verdict.evidence.get("bfcl_error_type")
    return str(error_type) if error_type else verdict.code


def write_report(report: EvalReport, out: Path) -> None:
    """Write scores.json and the per-category failure files into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    failures_dir = out / "failures"
    failures_dir.mkdir(exist_ok=True)
    by_category: dict[str, list[Judged]] = {c.value: [] for c in report.categories}
    for j in report.judged:
        if not j.verdict.ok:
            by_category.setdefault(j.case.category, []).append(j)
    for name, failed in by_category.items():
        path = failures_dir / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for j in failed:
                row = {
                    "id": j.case.id,
                    "code": j.verdict.code,
                    "error_type": j.verdict.evidence.get("bfcl_error_type"),
                    "message": j.verdict.message,
                    "output": j.output,
                    "decoded": j.verdict.evidence.get("decoded"),
                    "expected": [{e.name: e.arguments} for e in j.case.expected],
                }
                fh.write(json.dumps(row, ensure_ascii=False, default=repr) + "\n")
