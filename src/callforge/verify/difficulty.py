"""Measure how hard a dialog is from the dialog and its tools alone (no model, no run), and count a set of them.

`measure_difficulty(dialog)` counts what a model must get right (calls, how deep they nest, how
many go out at once, look-alike tools offered, arguments and optional ones, user turns, values it
must infer) and folds the counts into a score in [0, 1] and a level (`callforge.core.LEVEL_CUTS`).
Values are read with the grounding rule's own walk and text normalisation: a value is fed when an
earlier tool output states it, implicit when the user's text does not state it as written (a
capital for "the Portuguese capital", a date for "next Friday": what the rule's knowledge accepts
but a model must infer), and the values the rule exempts (enum choices, defaults, booleans) are
the model's own choice, counted as parameters only. Weights, caps and cut points are in
docs/generate.md ("Difficulty").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from callforge.core import Dialog, Difficulty, DifficultyFeatures, Level, level_of
from callforge.tools import name_similarity
from callforge.verify.rules.base import DialogView
from callforge.verify.rules.grounding import unstated
from callforge.verify.rules.normalize import Haystack, numbers_in, words

WEIGHTS: Mapping[str, tuple[float, float]] = {
    "calls": (0.15, 4),
    "depth": (0.20, 3),
    "width": (0.10, 2),
    "distractors": (0.10, 4),
    "similarity": (0.10, 1),
    "parameters": (0.10, 8),
    "optional": (0.05, 3),
    "turns": (0.10, 2),
    "implicit": (0.10, 3),
}
"""Per feature: (weight, cap). The score is the weighted sum of min(feature, cap) / cap, where width and
turns count from their plain value (width above 1, turns above 1); the weights sum to 1."""

Similarity = Callable[[str, str], float]
"""Two tool names in, their similarity in [0, 1] out: `callforge.tools.name_similarity` (lexical, the
default) or an `EmbeddingSimilarity` from `callforge.tools`."""


def measure_difficulty(dialog: Dialog, *, similarity: Similarity = name_similarity) -> Difficulty:
    """The dialog's features, score and level: how hard it is to get every call of it right.

    Why from the dialog alone: data read from elsewhere (xLAM, ToolACE, BFCL) has no plan, and a
    curriculum or a difficulty histogram must treat every dialog alike.
    """
    features = difficulty_features(dialog, similarity=similarity)
    score = difficulty_score(features)
    return Difficulty(features=features, score=score, level=level_of(score))


def dialog_difficulty(dialog: Dialog) -> Difficulty:
    """The difficulty a dialog carries (`generate` and `select` store it), else measured now."""
    return dialog.meta.difficulty or measure_difficulty(dialog)


def difficulty_score(features: DifficultyFeatures) -> float:
    """Fold the features into [0, 1] by `WEIGHTS`: each feature saturates at its cap, so no one dominates."""
    values = features.model_dump()
    values["width"] = max(0, features.width - 1)
    values["turns"] = max(0, features.turns - 1)
    total = sum(weight * min(float(values[name]), cap) / cap for name, (weight, cap) in WEIGHTS.items())
    return round(min(1.0, max(0.0, total)), 4)


def difficulty_features(dialog: Dialog, *, similarity: Similarity = name_similarity) -> DifficultyFeatures:
    """Count the features of `Difficulty` (see `DifficultyFeatures` for what each one is)."""
    view = DialogView.of(dialog)
    messages = dialog.messages
    sites = view.calls
    site_of = {id(site.call): n for n, site in enumerate(sites)}
    producers = _producers(dialog, {site.call.id: n for n, site in enumerate(sites) if site.call.id}, site_of)
    told: dict[int, tuple[str, set[float]]] = {}
    outputs: list[
        tuple[int, Haystack, int | None]
    ] = []  # (message index, its text, the call that produced it)
    depth: list[int] = []
    implicit = parameters = optional = 0
    for n, site in enumerate(sites):
        index = site.message_index
        if index not in told:
            told[index] = _user_text(messages[:index])
        seen = [(h, p) for i, h, p in _outputs_before(messages, index, producers, outputs) if i < index]
        tool = view.tools.get(site.call.name)
        properties = tool.properties if tool is not None else {}
        required = set(tool.required) if tool is not None else set()
        fed_by: list[int] = []
        for key, value in site.call.arguments.items():
            parameters += 1
            optional += key not in required and tool is not None
            schema = properties.get(key)
            for _, leaf in unstated(value, schema if isinstance(schema, dict) else {}, _NOTHING, key):
                if _literal(told[index], leaf):
                    continue
                sources = [p for h, p in seen if _states(h, leaf)]
                if sources:
                    fed_by.extend(depth[p] if p is not None and p < n else 0 for p in sources)
                else:
                    implicit += 1
        depth.append(1 + max(fed_by) if fed_by else 0)
    called = {site.call.name for site in sites}
    injected = dialog.masked_calls()
    called |= {c.name for m in messages for c in m.tool_calls if c.id in injected}
    offered = [t.name for t in dialog.tools if t.name not in called]
    nearest = max((similarity(d, c) for d in offered for c in sorted(called)), default=0.0)
    widths = [sum(1 for s in sites if s.message_index == i) for i in {s.message_index for s in sites}]
    return DifficultyFeatures(
        calls=len(sites),
        depth=max(depth, default=0),
        width=max(widths, default=0),
        distractors=len(offered),
        similarity=round(min(1.0, max(0.0, nearest)), 4),
        parameters=parameters,
        optional=optional,
        turns=sum(1 for m in messages if m.role == "user"),
        implicit=implicit,
    )


def _user_text(messages: Iterable[Any]) -> tuple[str, set[float]]:
    """What the user (and the system prompt) wrote, as folded words and the numbers it states: no aliases added."""
    text = "\n".join(m.content for m in messages if m.role in ("user", "system") and m.content)
    tokens = words(text)
    return " " + " ".join(tokens) + " ", numbers_in(text, tokens)


def _producers(dialog: Dialog, by_id: dict[str, int], site_of: dict[int, int]) -> dict[int, int | None]:
    """Per tool message index, the call (its index among the view's calls) whose output it is."""
    out: dict[int, int | None] = {}
    pending: list[int | None] = []
    for i, message in enumerate(dialog.messages):
        if message.role == "assistant":
            pending = [site_of.get(id(c)) for c in message.tool_calls]
        elif message.role == "tool":
            found = by_id.get(message.tool_call_id or "")
            if found is None and pending:
                found = pending[0]
            if pending:
                pending = pending[1:]
            out[i] = found
    return out


def _outputs_before(
    messages: Any,
    index: int,
    producers: dict[int, int | None],
    outputs: list[tuple[int, Haystack, int | None]],
) -> list[tuple[int, Haystack, int | None]]:
    """Each tool output before message `index` as its own text, built once and kept in `outputs`."""
    done = {i for i, _, _ in outputs}
    for i in range(index):
        if i in producers and i not in done and messages[i].content:
            haystack = Haystack()
            haystack.add(messages[i].content)
            outputs.append((i, haystack, producers[i]))
    return outputs


_NOTHING = Haystack()
"""States nothing: `unstated` against it lists every leaf value a model must choose (exempt ones left out)."""


def _literal(told: tuple[str, set[float]], value: Any) -> bool:
    """The user's text states `value` as written (no capital for its country, no date for "tomorrow")."""
    text, numbers = told
    if isinstance(value, str):
        tokens = words(value)
        return not tokens or " " + " ".join(tokens) + " " in text
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) in numbers
    return False


def _states(haystack: Haystack, value: Any) -> bool:
    if isinstance(value, str):
        return haystack.has_string(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return haystack.has_number(float(value))
    return False


class LevelRow(BaseModel):
    """One level of a histogram: its dialogs, their mean score and, where a target model was asked, its steps."""

    model_config = ConfigDict(frozen=True)

    level: Level
    dialogs: int = Field(default=0, ge=0)
    mean_score: float = 0.0
    steps: int = Field(default=0, ge=0)
    correct: int = Field(default=0, ge=0)

    @property
    def accuracy(self) -> float | None:
        """The target model's accuracy on this level's steps (None: it was not asked on any)."""
        return self.correct / self.steps if self.steps else None


class DifficultyHistogram(BaseModel):
    """How a set of dialogs spreads over the levels: what `generate` reports and `callforge difficulty` prints."""

    model_config = ConfigDict(frozen=True)

    rows: tuple[LevelRow, ...]
    """Easy, medium, hard, in that order (a level with no dialog has a row of zeros)."""
    dialogs: int = 0
    mean_score: float = 0.0

    def count(self, level: Level | str) -> int:
        """Dialogs at `level`."""
        return next(r.dialogs for r in self.rows if r.level == Level(level))

    def to_dict(self) -> dict[str, Any]:
        """The JSON a report keeps: counts per level, the mean score, and accuracy where a target was asked."""
        out: dict[str, Any] = {str(r.level): r.dialogs for r in self.rows}
        out["mean_score"] = self.mean_score
        accuracy = {str(r.level): round(a, 4) for r in self.rows if (a := r.accuracy) is not None}
        if accuracy:
            out["target_accuracy"] = accuracy
        return out


def difficulty_histogram(dialogs: Iterable[Dialog | Difficulty]) -> DifficultyHistogram:
    """Count dialogs (or measured difficulties) per level; a dialog's stored difficulty is used, else measured.

    A dialog `select` judged also adds its target model's steps to its level, so the histogram
    shows where the model is at 50%: the level `generate --difficulty auto` aims at.
    """
    counts = {level: [0, 0.0, 0, 0] for level in Level}
    for item in dialogs:
        found = item if isinstance(item, Difficulty) else dialog_difficulty(item)
        row = counts[found.level]
        row[0] += 1
        row[1] += found.score
        target = None if isinstance(item, Difficulty) else item.meta.target
        if target is not None:
            row[2] += target.steps
            row[3] += target.correct
    total = sum(int(r[0]) for r in counts.values())
    rows = tuple(
        LevelRow(
            level=level,
            dialogs=int(r[0]),
            mean_score=round(r[1] / r[0], 4) if r[0] else 0.0,
            steps=int(r[2]),
            correct=int(r[3]),
        )
        for level, r in counts.items()
    )
    mean = round(sum(r[1] for r in counts.values()) / total, 4) if total else 0.0
    return DifficultyHistogram(rows=rows, dialogs=total, mean_score=mean)
