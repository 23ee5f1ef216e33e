"""Duplicate removal: the same dialog twice teaches nothing, a near copy teaches the model to parrot.

Two tests, both on what a model learns from: the tools offered, the user text and the calls.
`dedup.exact` is the same user text (normalised) with the same calls (canonical JSON, argument
order ignored) among the same offered tools; `dedup.near` is user text whose word 3-gram Jaccard
similarity with an accepted dialog's reaches the threshold (0.8 by default) while calling the
same tools from the same offer. Near copies are found with
MinHash and banded LSH (64 hashes, 16 bands), then confirmed on the exact Jaccard, so the cost
stays flat as the set grows.

As a stage it runs last: only dialogs every other stage accepted are remembered, so a rejected
dialog never blocks a later good one.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict

import orjson

from callforge.core import Dialog, Verdict
from callforge.verify.record import StageResult
from callforge.verify.rules.normalize import words

_PRIME = (1 << 61) - 1
_HASHES = 64
_BANDS = 16
_ROWS = _HASHES // _BANDS
_rng = random.Random(20261128)  # fixed: the same text hashes the same in every run and process
_COEFFS = [(_rng.randrange(1, _PRIME), _rng.randrange(0, _PRIME)) for _ in range(_HASHES)]


def user_text(dialog: Dialog) -> str:
    """The normalised user text of a dialog (its words, lower-cased, single-spaced)."""
    return " ".join(w for m in dialog.messages if m.role == "user" and m.content for w in words(m.content))


def call_signature(dialog: Dialog) -> str:
    """Canonical JSON of every call (name and arguments), order-free within the dialog."""
    calls = sorted(
        orjson.dumps([c.name, c.arguments], option=orjson.OPT_SORT_KEYS).decode()
        for m in dialog.messages
        for c in m.tool_calls
    )
    return "|".join(calls)


def _shingles(text: str) -> set[int]:
    tokens = text.split()
    grams = [" ".join(tokens[i : i + 3]) for i in range(max(1, len(tokens) - 2))] if tokens else []
    return {int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams}


def _minhash(shingles: set[int]) -> list[int]:
    return [min(((a * s + b) % _PRIME) for s in shingles) for a, b in _COEFFS] if shingles else [0] * _HASHES


class Deduper:
    """Remembers accepted dialogs and says whether a new one repeats one of them."""

    def __init__(self, threshold: float = 0.8) -> None:
        """`threshold`: the user-text Jaccard similarity (word 3-grams) at which two dialogs are near copies."""
        if not 0 < threshold <= 1:
            from callforge.core import ConfigError

            raise ConfigError(f"dedup threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._exact: dict[str, str] = {}
        self._shingles: dict[str, tuple[set[int], str]] = {}
        self._bands: dict[tuple[int, tuple[int, ...]], list[str]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._shingles)

    def check(self, dialog: Dialog) -> Verdict | None:
        """A failing verdict when `dialog` repeats a remembered one, else None."""
        text, calls = user_text(dialog), call_signature(dialog)
        first = self._exact.get(text + "\0" + calls + "\0" + _tool_names(dialog))
        if first is not None:
            return Verdict.failed("dedup.exact", f"repeats dialog {first!r}: the same request and calls", duplicate_of=first)
        shingles = _shingles(text)
        tools = _tool_names(dialog)
        for key in self._candidates(shingles):
            other, other_tools = self._shingles[key]
            if other_tools != tools:
                continue
            similarity = len(shingles & other) / len(shingles | other) if shingles | other else 1.0
            if similarity >= self.threshold:
                return Verdict.failed(
                    "dedup.near",
                    f"nearly repeats dialog {key!r}: user text {similarity:.0%} alike, calls to the same tools",
                    duplicate_of=key,
                    similarity=round(similarity, 3),
                )
        return None

    def add(self, dialog: Dialog, id: str) -> None:
        """Remember an accepted dialog."""
        text, calls = user_text(dialog), call_signature(dialog)
        self._exact.setdefault(text + "\0" + calls + "\0" + _tool_names(dialog), id)
        shingles = _shingles(text)
        self._shingles[id] = (shingles, _tool_names(dialog))
        signature = _minhash(shingles)
        for band in range(_BANDS):
            self._bands[(band, tuple(signature[band * _ROWS : (band + 1) * _ROWS]))].append(id)

    def _candidates(self, shingles: set[int]) -> list[str]:
        signature = _minhash(shingles)
        seen: dict[str, None] = {}
        for band in range(_BANDS):
            for key in self._bands.get((band, tuple(signature[band * _ROWS : (band + 1) * _ROWS])), ()):
                seen.setdefault(key, None)
        return list(seen)


def _tool_names(dialog: Dialog) -> str:
    """The tools called and, after `|`, the tools offered: choosing among other tools is another lesson."""
    called = ",".join(sorted(c.name for m in dialog.messages for c in m.tool_calls))
    return called + "|" + ",".join(sorted(t.name for t in dialog.tools))


class DedupStage:
    """Duplicate removal as the cascade's last stage; `remember` feeds it what earlier runs accepted."""

    name = "dedup"

    def __init__(self, threshold: float = 0.8) -> None:
        """Reject exact repeats and near copies at `threshold` user-text similarity."""
        self.deduper = Deduper(threshold)

    def remember(self, dialog: Dialog, id: str) -> None:
        """Register a dialog accepted before (a resumed run), so its copies are still caught."""
        self.deduper.add(dialog, id)

    async def check(self, dialog: Dialog) -> StageResult:
        """Reject a repeat; otherwise remember the dialog (this stage runs last, so it is accepted)."""
        found = self.deduper.check(dialog)
        if found is not None:
            return StageResult(stage=self.name, verdicts=(found,))
        self.deduper.add(dialog, str(dialog.meta.get("id", len(self.deduper))))
        return StageResult(stage=self.name)
