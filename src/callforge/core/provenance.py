"""Provenance: what a Dialog carries about where it came from, typed, so packages agree on it by construction.

Every stage reads and writes the same fields (scenario, seed, plan, masked calls, read errors,
usage ...) through this one record instead of string keys of a dict. Keys it does not know (a
dataset's own fields, a plugin's notes) live in `extra`, and on disk the record is one flat JSON
object as before: `extra`'s keys sit beside the named fields, fields left at their defaults are
left out, and records written by earlier versions (`injected_errors`, `wrong_calls`,
`bfcl_category`, scenario synonyms such as `simple`) read back into the same fields.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from callforge.core.category import Category
from callforge.core.difficulty import Difficulty, TargetAccuracy
from callforge.core.message import ToolCall


class Scenario(StrEnum):
    """The scenario kind a dialog declares: what its calls must look like (see docs/generate.md)."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    PARALLEL = "parallel"
    PARALLEL_MULTIPLE = "parallel_multiple"
    NESTED = "nested"
    NO_CALL = "no_call"
    CLARIFY = "clarify"
    MULTI_TURN = "multi_turn"
    ERROR_RECOVERY = "error_recovery"

    @classmethod
    def parse(cls, name: str) -> Scenario:
        """The kind `name` stands for, synonyms included (BFCL's `simple`, `irrelevance`; `dependent`).

        Raises:
            ValueError: `name` is no scenario kind; the message lists them.
        """
        found = _SYNONYMS.get(name.strip().lower())
        if found is None:
            try:
                return cls(name)
            except ValueError:
                raise ValueError(
                    f"unknown scenario kind {name!r}; the kinds are {', '.join(s.value for s in cls)}"
                ) from None
        return found

    @property
    def one_call(self) -> bool:
        """The kind makes exactly one call (single, multiple)."""
        return self in (Scenario.SINGLE, Scenario.MULTIPLE)

    @property
    def parallel(self) -> bool:
        """The kind makes at least two calls in one assistant message."""
        return self in (Scenario.PARALLEL, Scenario.PARALLEL_MULTIPLE)


_SYNONYMS: dict[str, Scenario] = {
    "simple": Scenario.SINGLE,
    "dependent": Scenario.NESTED,
    "irrelevance": Scenario.NO_CALL,
    "relevance_no_call": Scenario.NO_CALL,
}


class MaskReason(StrEnum):
    """Why a call is in a dialog although it must not be learned as a good call."""

    INJECTED = "injected"
    """A generator made the call fail on purpose (error recovery): the lesson is the recovery after it."""
    CORRECTED = "corrected"
    """A model's rejected call that a refinement corrected: shown as context, never a target."""


class MaskedCall(BaseModel):
    """One call (by id) to keep out of training targets, and why."""

    model_config = ConfigDict(frozen=True)

    id: str
    reason: MaskReason


class ReadError(BaseModel):
    """Something a dataset reader could not read in a record; verification turns each into a verdict."""

    model_config = ConfigDict(frozen=True, extra="allow")

    code: str
    message: str
    message_index: int | None = None


class Voice(BaseModel):
    """The persona and writing style the user role was given."""

    model_config = ConfigDict(frozen=True)

    persona: str
    style: str


class RoleSpend(BaseModel):
    """What one role (planner, user, assistant, judge, simulator, tool) cost one dialog."""

    model_config = ConfigDict(frozen=True)

    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached_prompt_tokens: int = 0
    """Of `prompt_tokens`, those the server reused from its prompt cache (not processed again)."""


class Spend(BaseModel):
    """Model and tool usage of one dialog, by role, and wall time by phase (plan, play, verify)."""

    model_config = ConfigDict(frozen=True)

    roles: dict[str, RoleSpend] = Field(default_factory=dict)
    phases: dict[str, float] = Field(default_factory=dict)

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens over every role."""
        return sum(r.prompt_tokens + r.completion_tokens for r in self.roles.values())


class EpisodeTrace(BaseModel):
    """A multi-turn episode over a stateful environment: where its world comes from, what it had to reach, how it went.

    `environment` is the environment as a task file names it (`{"python": "bank.py", "class": ...}`
    or `{"service": "shop.yaml"}`); `truth` the blueprint's calls per user turn, proven from the
    initial state; `end_state` the state they leave (`{owner: {attribute: value}}`, None when it is
    not JSON). A rejected episode names `diverged_turn`, the first user turn after which the
    episode's state differs from the blueprint's (None: the states agree turn by turn, so something
    else failed).
    """

    model_config = ConfigDict(frozen=True)

    environment: dict[str, Any]
    truth: tuple[tuple[ToolCall, ...], ...] = ()
    end_state: dict[str, Any] | None = None
    diverged_turn: int | None = None
    twist: str | None = None
    """What makes the episode harder than a plain request per turn (`missing`, `change_mind`, `error`, `late_tool`)."""
    late_tools: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Tools offered only from a later user turn on (turn index -> names, BFCL's `missed_function`)."""


_LEGACY_MASKS = {"injected_errors": MaskReason.INJECTED, "wrong_calls": MaskReason.CORRECTED}


class Provenance(BaseModel):
    """Where a dialog came from and what later stages must know about it (the `Dialog.meta` record).

    Readers set `id`, `source` and, for what they cannot read, `read_errors`; the generator adds
    the scenario, seed, sampler, voice, plan and usage; refinement adds `refined_from` and
    `feedback`. `masked` names calls that must never become training targets, with the reason.
    """

    model_config = ConfigDict(frozen=True)

    id: str | None = None
    source: str | None = None
    scenario: Scenario | None = None
    category: Category | None = None
    """The BFCL category a dialog was read from (BFCL data, `callforge export --format bfcl` output)."""
    seed: int | None = None
    sampler: str | None = None
    voice: Voice | None = None
    plan: tuple[ToolCall, ...] | None = None
    """The calls the assistant must make, as the planner fixed them (None: no plan was made)."""
    missing: tuple[str, ...] = ()
    """Clarify: the argument values the user leaves out and the assistant must ask for."""
    masked: tuple[MaskedCall, ...] = ()
    replays: tuple[str, ...] = ()
    """Why earlier plays of the same plan were rejected (one code per replay)."""
    refined_from: str | None = None
    feedback: tuple[str, ...] = ()
    """The verifier codes a refinement's wrong step got, first one first."""
    read_errors: tuple[ReadError, ...] = ()
    raw: Any = None
    """A record no reader could make sense of, kept as it was."""
    usage: Spend | None = None
    episode: EpisodeTrace | None = None
    """A multi-turn episode over a stateful environment (`generate --env`): its blueprint and how it ended."""
    difficulty: Difficulty | None = None
    """The dialog's measured difficulty (`callforge.verify.measure_difficulty`): stored on the dialogs
    `generate` accepts and `select` judges; other data is measured when read (`dialog_difficulty`)."""
    target: TargetAccuracy | None = None
    """What a target model got right on this dialog's steps (`callforge select`)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Every key no field above names: a dataset's own fields, a plugin's notes."""

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        known: dict[str, Any] = {}
        extra: dict[str, Any] = dict(data.get("extra") or {})
        masked: list[Any] = list(data.get("masked") or ())
        for key, value in data.items():
            if key in ("extra", "masked"):
                continue
            if key in _LEGACY_MASKS:
                reason = _LEGACY_MASKS[key]
                masked.extend({"id": str(i), "reason": reason} for i in value or ())
            elif key == "bfcl_category":
                known.setdefault("category", value)
            elif key == "scenario" and isinstance(value, str):
                try:
                    known["scenario"] = Scenario.parse(value)
                except ValueError:
                    extra["declared_scenario"] = value
            elif key in fields:
                known[key] = value
            else:
                extra[key] = value
        if masked:
            known["masked"] = masked
        if extra:
            known["extra"] = extra
        return known

    @model_serializer(mode="wrap")
    def _write(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        full: dict[str, Any] = handler(self)
        fields = type(self).model_fields
        out: dict[str, Any] = {}
        for key, value in full.items():
            if key == "extra" or value is None:
                continue
            if isinstance(value, list | tuple | dict) and not value and fields[key].default is not None:
                continue  # an empty collection at its default; an empty plan (call nothing) is kept
            out[key] = value
        for key, value in (full.get("extra") or {}).items():
            out.setdefault(key, value)
        return out

    def masked_ids(self, reason: MaskReason | None = None) -> frozenset[str]:
        """Ids of the masked calls (of one `reason`, or all): what export, rules and selection leave out."""
        return frozenset(m.id for m in self.masked if reason is None or m.reason is reason)
