"""Injected faults: which requests fail, and how.

A `Fault` pairs a kind (what goes wrong) with a selector (which requests): explicit request
indices, the first N requests, or a seeded probability. Selection depends only on the request's
index (0-based, in arrival order), never on timing, so a faulty run is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

from callforge.llm.fake.policy import FakeServerError

FaultKind: TypeAlias = Literal["429", "500", "503", "hang", "malformed", "bad_args", "drop"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

# What each kind does, for the CLI's help and the docs' table.
FAULT_HELP: dict[str, str] = {
    "429": "HTTP 429 with retry-after (seconds) and retry-after-ms headers",
    "500": "HTTP 500 with an OpenAI error body",
    "503": "HTTP 503 with an OpenAI error body (retry-after only when retry_after is set)",
    "hang": "read the request, never answer; close after hang_s (default: when the server stops)",
    "malformed": "HTTP 200 whose JSON body is cut in half",
    "bad_args": "HTTP 200 whose first tool call has an `arguments` string that is not valid JSON",
    "drop": "close the connection without sending a response",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One kind of failure and the requests it hits (first matching fault wins).

    Attributes:
        kind: what goes wrong; see `FAULT_HELP`.
        at: request indices (0-based, arrival order) that get the fault.
        first: the first N requests get the fault ("first 2 requests get 429").
        probability: each request gets the fault with this chance, drawn from `seed` and the index
            so a run is reproducible regardless of concurrency.
        seed: seed of the probability draw.
        retry_after_s: the retry-after a 429 (default 1 s) or 503 (default none) announces.
        hang_s: how long a hung request stays open before the connection is closed; None = until
            the server stops.
    """

    kind: FaultKind
    at: Collection[int] = frozenset()
    first: int = 0
    probability: float = 0.0
    seed: int = 0
    retry_after_s: float | None = None
    hang_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FakeServerError(
                f"callforge fake server: unknown fault kind {self.kind!r}; use one of {', '.join(FAULT_KINDS)}"
            )
        if not isinstance(self.at, frozenset):
            object.__setattr__(self, "at", frozenset(self.at))
        if not 0.0 <= self.probability <= 1.0:
            raise FakeServerError(
                f"callforge fake server: fault probability {self.probability} is not in [0, 1]"
            )

    def hits(self, index: int) -> bool:
        """Whether request number `index` gets this fault."""
        if index in self.at or index < self.first:
            return True
        if self.probability <= 0.0:
            return False
        return random.Random(self.seed * 1_000_003 + index).random() < self.probability

    @property
    def retry_after(self) -> float | None:
        """The retry-after to announce: the configured one, or 1 s for a 429."""
        if self.retry_after_s is None and self.kind == "429":
            return 1.0
        return self.retry_after_s

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """A fault from the CLI form `KIND@WHEN`, e.g. `429@0,1`, `500@first=2`, `drop@p=0.1,seed=7`.

        WHEN is a comma-separated list: bare integers are request indices; `first=N`, `p=F`,
        `seed=N`, `retry_after=F` and `hang=F` set the fields of the same meaning.
        """
        kind, _, when = spec.partition("@")
        if not when:
            raise FakeServerError(
                f"callforge fake server: fault {spec!r} has no '@WHEN' (e.g. {kind or '429'}@0,1)"
            )
        at: set[int] = set()
        options: dict[str, float] = {}
        for token in (t.strip() for t in when.split(",")):
            key, eq, value = token.partition("=")
            try:
                if not eq:
                    at.add(int(token))
                elif key in ("first", "p", "seed", "retry_after", "hang"):
                    options[key] = float(value)
                else:
                    raise FakeServerError(f"unknown option {key!r}")
            except (ValueError, FakeServerError) as exc:
                raise FakeServerError(
                    f"callforge fake server: bad fault spec {spec!r} at {token!r}: {exc}; "
                    "expected KIND@I,J,... or KIND@first=N or KIND@p=F,seed=N (+ retry_after=S, hang=S)"
                ) from None
        return cls(
            kind=kind,  # type: ignore[arg-type]  # validated in __post_init__
            at=frozenset(at),
            first=int(options.get("first", 0)),
            probability=options.get("p", 0.0),
            seed=int(options.get("seed", 0)),
            retry_after_s=options.get("retry_after"),
            hang_s=options.get("hang"),
        )


FaultsLike: TypeAlias = Iterable[Fault | str] | Fault | str | None


def as_faults(faults: FaultsLike) -> tuple[Fault, ...]:
    """Faults from `Fault`s or CLI-form strings (one, or several in priority order)."""
    if isinstance(faults, Fault | str):
        faults = [faults]
    return tuple(f if isinstance(f, Fault) else Fault.parse(f) for f in faults or ())


def pick(faults: Sequence[Fault], index: int) -> Fault | None:
    """The first fault that hits request `index`, or None."""
    for fault in faults:
        if fault.hits(index):
            return fault
    return None
