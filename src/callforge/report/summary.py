"""What a report shows, as frozen records read from run folders: a dialog run's funnel and spend, an evaluation's scores.

A *dialog run* is any folder a job that keeps or rejects dialogs wrote (generate, verify, refine,
select): its records are read back as `Checked` (callforge.verify) through the run store's one
reader, so the funnel, the yield per kind, the rejection codes and the spend per role are derived
from the records themselves, as the manifest's own accounting is. An *evaluation* is what
`callforge eval run` wrote (scores in both modes under scores/bfcl and scores/semantic, the replies
in results/) or `callforge eval score` wrote (one mode's scores.json and failures/).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callforge.core import DataError
from callforge.run import MANIFEST, RunFolder, is_run_folder, read_jsonl
from callforge.verify import Checked, DifficultyHistogram, difficulty_histogram, funnel_of

MODES = ("bfcl", "semantic")
GENERATE = "generate"
"""The stage name of a generation attempt that failed before the cascade (plan rejected, play failed)."""


@dataclass(frozen=True)
class StageRow:
    """One stage of the funnel: how many dialogs reached it and what it did with them."""

    stage: str
    entered: int
    passed: int
    failed: int
    skipped: int
    unsure: int


@dataclass(frozen=True)
class KindRow:
    """Attempts and accepted dialogs of one scenario kind."""

    kind: str
    attempts: int
    accepted: int

    @property
    def yield_(self) -> float:
        """Accepted per attempt (0 when nothing was tried)."""
        return self.accepted / self.attempts if self.attempts else 0.0


@dataclass(frozen=True)
class CodeRow:
    """A rejection code, how many dialogs it rejected, and the first of them as an example."""

    code: str
    dialogs: int
    stage: str
    example_id: str
    example_message: str
    example_user: str


@dataclass(frozen=True)
class RoleRow:
    """What one role (planner, user, assistant, judge, tool) spent over the whole run."""

    role: str
    requests: int
    cached: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def cost(self, price: Price | None) -> float | None:
        """Dollars at `price`, or None when no price was given."""
        if price is None:
            return None
        return (self.prompt_tokens * price.prompt + self.completion_tokens * price.completion) / 1e6


@dataclass(frozen=True)
class Price:
    """US dollars per million prompt and completion tokens (the model's list price), to turn tokens into cost."""

    prompt: float
    completion: float

    @classmethod
    def parse(cls, text: str) -> Price:
        """`"0.15:0.60"` (prompt:completion) or one number for both."""
        parts = text.split(":")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise DataError(f"price {text!r}: give dollars per million tokens as PROMPT:COMPLETION, e.g. 0.15:0.60") from None
        if len(values) not in (1, 2) or any(v < 0 for v in values):
            raise DataError(f"price {text!r}: give dollars per million tokens as PROMPT:COMPLETION, e.g. 0.15:0.60")
        return cls(values[0], values[-1])


@dataclass(frozen=True)
class Timing:
    """Where the time went: wall time per session, and the time the records spent per phase (plan, play, verify)."""

    status: str
    wall_s: float
    sessions: tuple[tuple[int, str, int, float], ...]
    """(session, started, items, wall seconds), oldest first."""
    phases: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class DialogRun:
    """A run that keeps or rejects dialogs, summarised for the report."""

    path: Path
    job: str
    model: str
    total: int
    accepted: int
    stages: tuple[StageRow, ...]
    kinds: tuple[KindRow, ...]
    codes: tuple[CodeRow, ...]
    roles: tuple[RoleRow, ...]
    timing: Timing
    difficulty: DifficultyHistogram | None = None
    """How the accepted dialogs spread over easy, medium and hard (None: none was accepted)."""

    @property
    def rejected(self) -> int:
        """Dialogs some stage rejected."""
        return self.total - self.accepted

    @property
    def tokens(self) -> int:
        """Every token the records were charged."""
        return sum(r.tokens for r in self.roles)

    @property
    def name(self) -> str:
        """How the report names this run."""
        return self.path.name


@dataclass(frozen=True)
class CategoryRow:
    """One category's score in one mode."""

    category: str
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """Share of scored entries judged correct."""
        return self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class Failure:
    """One failing entry of an evaluation in one mode."""

    id: str
    category: str
    code: str
    message: str


@dataclass(frozen=True)
class ModeScores:
    """An evaluation's scores in one mode (bfcl or semantic): per category, BFCL's groups, and what failed."""

    mode: str
    style: str
    categories: tuple[CategoryRow, ...]
    groups: tuple[tuple[str, float, bool], ...]
    """(group, accuracy, complete) as BFCL's summary gives them."""
    failures: tuple[Failure, ...]

    def accuracy(self, category: str) -> float | None:
        """A category's accuracy, or None when this evaluation did not score it."""
        return next((c.accuracy for c in self.categories if c.category == category), None)

    def overall(self) -> float:
        """Correct over scored, every category together (BFCL's weighted groups are in `groups`)."""
        total = sum(c.total for c in self.categories)
        return sum(c.correct for c in self.categories) / total if total else 0.0


@dataclass(frozen=True)
class Disagreement:
    """An entry the two modes judge differently: one passes it, the other fails it (with its code and message)."""

    id: str
    category: str
    bfcl: Failure | None
    semantic: Failure | None


@dataclass(frozen=True)
class Evaluation:
    """An evaluation folder summarised for the report: a model's scores in the modes the folder holds."""

    path: Path
    model: str
    style: str
    modes: tuple[ModeScores, ...]
    disagreements: tuple[Disagreement, ...]
    cases: int
    prompt_tokens: int
    completion_tokens: int
    wall_s: float

    def mode(self, name: str) -> ModeScores | None:
        """The scores in one mode, when the folder has them."""
        return next((m for m in self.modes if m.mode == name), None)

    @property
    def name(self) -> str:
        """How the report names this evaluation: its folder and model."""
        return f"{self.path.name} ({self.model})" if self.model else self.path.name


Summary = DialogRun | Evaluation


def read_summary(path: str | Path) -> Summary:
    """Read what a report shows from a run or evaluation folder, whichever `path` is."""
    where = Path(path)
    if is_evaluation(where):
        return read_evaluation(where)
    if is_run_folder(where):
        return read_dialog_run(where)
    raise DataError(
        f"{where}: neither a run folder (manifest.json, accepted/, rejected/) nor an evaluation folder "
        "(scores/ or scores.json); give a folder that callforge generate, verify or eval wrote"
    )


def is_evaluation(path: Path) -> bool:
    """Whether `path` is a folder `callforge eval run` or `eval score` wrote."""
    if (path / "scores.json").is_file() or (path / "scores").is_dir():
        return True
    if (path / MANIFEST).is_file():
        return bool(RunFolder.of(path, streams=()).manifest().get("job") == "eval")
    return False


def read_records(path: Path) -> Iterable[Checked]:
    """Every judged record of a dialog run, accepted ones first, as `Checked`, under the run store's reading policy."""
    folder = RunFolder.of(path)
    for stream in ("accepted", "rejected"):
        for line in folder.lines(stream):
            yield Checked.model_validate(line.value)


def read_dialog_run(path: Path) -> DialogRun:
    """Summarise a generation or verification folder from its records and manifest."""
    folder = RunFolder.of(path)
    manifest = folder.manifest()
    funnel = funnel_of(folder, [])
    kinds: dict[str, list[int]] = {}
    codes: Counter[str] = Counter()
    examples: dict[str, tuple[str, str, str, str]] = {}
    roles: dict[str, list[float]] = {}
    phases: dict[str, float] = {}
    kept = []
    for record in read_records(path):
        meta = record.dialog.meta
        if record.ok:
            kept.append(record.dialog)
        kind = kinds.setdefault(str(meta.scenario or meta.category or "unknown"), [0, 0])
        kind[0] += 1
        kind[1] += record.ok
        failures = [(s.stage, v) for s in record.stages for v in s.failures]
        for code in dict.fromkeys(v.code for _, v in failures):
            codes[code] += 1
        for stage, verdict in failures:
            examples.setdefault(verdict.code, (stage, record.id, verdict.message, _first_user(record)))
        if meta.usage is not None:
            for role, spent in meta.usage.roles.items():
                row = roles.setdefault(role, [0, 0, 0, 0, 0.0])
                for n, value in enumerate(
                    (spent.requests, spent.cached, spent.prompt_tokens, spent.completion_tokens, spent.seconds)
                ):
                    row[n] += value
            for phase, seconds in meta.usage.phases.items():
                phases[phase] = phases.get(phase, 0.0) + seconds
    stages = tuple(
        StageRow(c.stage, c.entered, c.passed, c.failed, c.skipped, c.unsure)
        for c in (funnel.counts[name] for name in funnel.stages)
        if c.stage != GENERATE
    )
    if GENERATE in funnel.counts:
        # Generation records carry a `generate` stage only when planning or playing failed: every
        # attempt entered it, and the cascade's stages saw only the ones it passed.
        failed = funnel.counts[GENERATE].failed
        stages = (StageRow(GENERATE, funnel.total, funnel.total - failed, failed, 0, 0), *stages)
    return DialogRun(
        path=path,
        job=folder.job or "verify",
        model=_model_of(manifest),
        total=funnel.total,
        accepted=funnel.accepted,
        stages=stages,
        kinds=tuple(KindRow(k, v[0], v[1]) for k, v in sorted(kinds.items())),
        codes=tuple(
            CodeRow(code, n, *examples[code]) for code, n in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        roles=tuple(
            RoleRow(role, int(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4])) for role, r in sorted(roles.items())
        ),
        timing=_timing(manifest, phases),
        difficulty=difficulty_histogram(kept) if kept else None,
    )


def read_evaluation(path: Path) -> Evaluation:
    """Summarise an evaluation folder: scores per mode, the entries the modes disagree on, what the replies cost."""
    config: Mapping[str, Any] = {}
    manifest: Mapping[str, Any] = {}
    if (path / MANIFEST).is_file():
        manifest = RunFolder.of(path, streams=()).manifest()
        config = manifest.get("config") or {}
    if (path / "scores").is_dir():
        found = [(mode, path / "scores" / mode) for mode in MODES if (path / "scores" / mode / "scores.json").is_file()]
    else:
        found = [("", path)]
    modes = tuple(_mode_scores(folder, mode) for mode, folder in found)
    if not modes:
        raise DataError(f"{path}: an evaluation folder without scores (no scores/bfcl/scores.json); run callforge eval again")
    ids, prompt, completion = _results(path)
    return Evaluation(
        path=path,
        model=str(config.get("model") or ""),
        style=modes[0].style,
        modes=modes,
        disagreements=_disagreements(modes, ids),
        cases=len(ids) or sum(c.total for c in modes[0].categories),
        prompt_tokens=prompt,
        completion_tokens=completion,
        wall_s=float(manifest.get("wall_s") or 0.0),
    )


def _mode_scores(folder: Path, mode: str) -> ModeScores:
    where = folder / "scores.json"
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: not readable as callforge scores ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"{where}: not callforge scores (expected a JSON object)")
    categories = tuple(
        CategoryRow(str(name), int(c.get("correct", 0)), int(c.get("total", 0)))
        for name, c in (data.get("categories") or {}).items()
    )
    groups = tuple(
        (str(name), float(g.get("accuracy", 0.0)), bool(g.get("complete", False)))
        for name, g in (data.get("groups") or {}).items()
    )
    failures: list[Failure] = []
    for shard in sorted((folder / "failures").glob("*.jsonl")):
        for line in read_jsonl(shard, what="failure"):
            row = line.value
            failures.append(Failure(str(row["id"]), shard.stem, str(row.get("code", "")), str(row.get("message", ""))))
    return ModeScores(str(data.get("mode") or mode), str(data.get("style") or ""), categories, groups, tuple(failures))


def _results(path: Path) -> tuple[list[tuple[str, str]], int, int]:
    """(id, category) of every reply a live evaluation holds, and the tokens they took."""
    if not (path / MANIFEST).is_file():
        return [], 0, 0
    ids: list[tuple[str, str]] = []
    prompt = completion = 0
    for row in RunFolder.of(path, streams=("results",)).records("results"):
        ids.append((str(row["id"]), str(row.get("category") or "")))
        prompt += int(row.get("input_token_count") or 0)
        completion += int(row.get("output_token_count") or 0)
    return ids, prompt, completion


def _disagreements(modes: tuple[ModeScores, ...], ids: list[tuple[str, str]]) -> tuple[Disagreement, ...]:
    bfcl = next((m for m in modes if m.mode == "bfcl"), None)
    semantic = next((m for m in modes if m.mode == "semantic"), None)
    if bfcl is None or semantic is None:
        return ()
    failed_b = {f.id: f for f in bfcl.failures}
    failed_s = {f.id: f for f in semantic.failures}
    categories = dict(ids) | {f.id: f.category for f in (*bfcl.failures, *semantic.failures)}
    return tuple(
        Disagreement(id, categories.get(id, ""), failed_b.get(id), failed_s.get(id))
        for id in sorted(set(failed_b) ^ set(failed_s))
    )


def _first_user(record: Checked) -> str:
    text = next((m.content for m in record.dialog.messages if m.role == "user" and m.content), "")
    return text if len(text) <= 300 else text[:299] + "…"


def _model_of(manifest: Mapping[str, Any]) -> str:
    config = manifest.get("config")
    return str(config.get("model") or "") if isinstance(config, dict) else ""


def _timing(manifest: Mapping[str, Any], phases: dict[str, float]) -> Timing:
    sessions = tuple(
        (int(s.get("session", n)), str(s.get("started", "")), int(s.get("items", 0)), float(s.get("wall_s", 0.0)))
        for n, s in enumerate(manifest.get("sessions") or (), 1)
        if isinstance(s, dict)
    )
    return Timing(
        status=str(manifest.get("status") or ""),
        wall_s=float(manifest.get("wall_s") or sum(s[3] for s in sessions)),
        sessions=sessions,
        phases=tuple(sorted(phases.items())),
    )
