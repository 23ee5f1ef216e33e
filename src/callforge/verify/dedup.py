"""Duplicate removal: the same dialog twice teaches nothing, a near copy teaches the model to parrot.

Two tests, both on what a model learns from: the tools offered, the user text and the calls.
`dedup.exact` is the same user text (normalised) with the same calls (canonical JSON, argument
order ignored) among the same offered tools; `dedup.near` is user text whose word 3-gram Jaccard
similarity with an accepted dialog's reaches the threshold (0.8 by default) while calling the
same tools from the same offer; `dedup.same_calls` (off unless `max_same_calls` is set, as
generation does) is one more dialog making exactly the same calls than allowed. Near copies are found with
MinHash and banded LSH (64 hashes, 16 bands, keyed by the tools too), then confirmed on the exact Jaccard.

The work per dialog is bounded, so the cost grows linearly with the set, even on templated text,
where every dialog shares most words with every other and lands in the same few buckets: a bucket
keeps only its newest `BUCKET_KEEP` members, so a check confirms at most 16 x `BUCKET_KEEP`
candidates. A near copy of an older dialog is still found through the buckets its own words (the
template's fillers) fall into, which stay small; ordinary data never fills a bucket, so there
nothing changes. `Deduper.stats` counts the work.

As a stage it runs last: only dialogs every other stage accepted are remembered, so a rejected
dialog never blocks a later good one.
"""

from __future__ import annotations

import hashlib
import random
from array import array
from collections import defaultdict
from dataclasses import dataclass

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
BUCKET_KEEP = 32
"""The members one LSH bucket keeps, the newest: only templated text ever fills one (see the module doc)."""
_ROW_CACHE = 1 << 14
"""Shingles whose 64 hash values are kept (templated text repeats most of its shingles): about 10 MB."""
_rows: dict[int, array[int]] = {}


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
    if not shingles:
        return [0] * _HASHES
    rows = []
    for shingle in shingles:
        row = _rows.get(shingle)
        if row is None:
            if len(_rows) >= _ROW_CACHE:
                _rows.clear()
            row = _rows[shingle] = array("Q", [(a * shingle + b) % _PRIME for a, b in _COEFFS])
        rows.append(row)
    return list(map(min, zip(*rows, strict=True)))


@dataclass
class DedupStats:
    """The work a Deduper did, so a test can hold it to linear growth without timing anything."""

    checked: int = 0
    """Dialogs that reached the near-copy search."""
    scanned: int = 0
    """Bucket members looked at (at most 16 x `BUCKET_KEEP` per check)."""
    compared: int = 0
    """Exact Jaccard computations (at most 16 x `BUCKET_KEEP` per check)."""


class Deduper:
    """Remembers accepted dialogs and says whether a new one repeats one of them."""

    def __init__(self, threshold: float = 0.8, *, max_same_calls: int | None = None) -> None:
        """`threshold`: the user-text Jaccard similarity (word 3-grams) at which two dialogs are near copies.

        `max_same_calls`: how many accepted dialogs may make exactly the same calls (canonical call
        signature), however differently worded; None for no limit. Generation sets it, because a
        model that plans the same values again produces paraphrases of one lesson, not new ones.
        """
        from callforge.core import ConfigError

        if not 0 < threshold <= 1:
            raise ConfigError(f"dedup threshold must be in (0, 1], got {threshold}")
        if max_same_calls is not None and max_same_calls < 1:
            raise ConfigError(f"max_same_calls must be at least 1, got {max_same_calls}")
        self.threshold = threshold
        self.max_same_calls = max_same_calls
        self._calls: dict[str, list[str]] = defaultdict(list)
        self._exact: dict[str, str] = {}
        self._shingles: dict[str, tuple[set[int], str]] = {}
        self._bands: dict[tuple[str, int, tuple[int, ...]], list[str]] = defaultdict(list)
        self.stats = DedupStats()

    def __len__(self) -> int:
        return len(self._shingles)

    def check(self, dialog: Dialog) -> Verdict | None:
        """A failing verdict when `dialog` repeats a remembered one, else None."""
        return self._check(_Fingerprint.of(dialog))

    def add(self, dialog: Dialog, id: str) -> None:
        """Remember an accepted dialog."""
        self._add(_Fingerprint.of(dialog), id)

    def check_and_add(self, dialog: Dialog, id: str) -> Verdict | None:
        """`check`, and `add` when it passes, fingerprinting the dialog once."""
        fingerprint = _Fingerprint.of(dialog)
        found = self._check(fingerprint)
        if found is None:
            self._add(fingerprint, id)
        return found

    def _check(self, fingerprint: _Fingerprint) -> Verdict | None:
        first = self._exact.get(fingerprint.key)
        if first is not None:
            return Verdict.failed("dedup.exact", f"repeats dialog {first!r}: the same request and calls", duplicate_of=first)
        same = self._calls.get(fingerprint.calls, []) if fingerprint.calls else []
        if self.max_same_calls is not None and len(same) >= self.max_same_calls:
            return Verdict.failed(
                "dedup.same_calls",
                f"makes exactly the calls of {len(same)} accepted dialog(s) ({', '.join(map(repr, same[:3]))}); "
                f"at most {self.max_same_calls} may",
                duplicate_of=same[0],
            )
        stats = self.stats
        stats.checked += 1
        seen: dict[str, None] = {}
        for band in fingerprint.bands:
            bucket = self._bands.get(band, ())
            stats.scanned += len(bucket)
            for key in bucket:
                seen.setdefault(key, None)
        shingles = fingerprint.shingles
        for key in seen:
            other, other_tools = self._shingles[key]
            if other_tools != fingerprint.tools:  # an id remembered again with other tools
                continue
            stats.compared += 1
            similarity = len(shingles & other) / len(shingles | other) if shingles | other else 1.0
            if similarity >= self.threshold:
                return Verdict.failed(
                    "dedup.near",
                    f"nearly repeats dialog {key!r}: user text {similarity:.0%} alike, calls to the same tools",
                    duplicate_of=key,
                    similarity=round(similarity, 3),
                )
        return None

    def _add(self, fingerprint: _Fingerprint, id: str) -> None:
        self._exact.setdefault(fingerprint.key, id)
        if fingerprint.calls:
            self._calls[fingerprint.calls].append(id)
        self._shingles[id] = (fingerprint.shingles, fingerprint.tools)
        for band in fingerprint.bands:
            bucket = self._bands[band]
            bucket.append(id)
            if len(bucket) > BUCKET_KEEP:
                del bucket[0]  # a bucket this full holds one template's siblings; the newest stand for it


@dataclass(frozen=True, slots=True)
class _Fingerprint:
    """What dedup compares, computed once per dialog: the exact key, the shingles, the LSH bands.

    A band key starts with the tools, so only dialogs calling the same tools from the same offer
    (the only ones that can be near copies) share a bucket.
    """

    key: str
    calls: str
    tools: str
    shingles: set[int]
    bands: tuple[tuple[str, int, tuple[int, ...]], ...]

    @classmethod
    def of(cls, dialog: Dialog) -> _Fingerprint:
        text, tools = user_text(dialog), _tool_names(dialog)
        shingles = _shingles(text)
        signature = _minhash(shingles)
        bands = tuple((tools, b, tuple(signature[b * _ROWS : (b + 1) * _ROWS])) for b in range(_BANDS))
        calls = call_signature(dialog)
        return cls(text + "\0" + calls + "\0" + tools, calls, tools, shingles, bands)


def _tool_names(dialog: Dialog) -> str:
    """The tools called and, after `|`, the tools offered: choosing among other tools is another lesson."""
    called = ",".join(sorted(c.name for m in dialog.messages for c in m.tool_calls))
    return called + "|" + ",".join(sorted(t.name for t in dialog.tools))


class DedupStage:
    """Duplicate removal as the cascade's last stage; `remember` feeds it what earlier runs accepted."""

    name = "dedup"

    def __init__(self, threshold: float = 0.8, *, max_same_calls: int | None = None) -> None:
        """Reject exact repeats, near copies at `threshold` user-text similarity, and (optionally) call repeats."""
        self.deduper = Deduper(threshold, max_same_calls=max_same_calls)

    def remember(self, dialog: Dialog, id: str) -> None:
        """Register a dialog accepted before (a resumed run), so its copies are still caught."""
        self.deduper.add(dialog, id)

    async def check(self, dialog: Dialog) -> StageResult:
        """Reject a repeat; otherwise remember the dialog (this stage runs last, so it is accepted)."""
        found = self.deduper.check_and_add(dialog, dialog.meta.id or str(len(self.deduper)))
        return StageResult(stage=self.name, verdicts=(found,) if found is not None else ())
