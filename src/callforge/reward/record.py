"""The records a reward hands out: one component's score with its reason, and a completion as read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callforge.core import ToolCall


class RewardResult(BaseModel):
    """One component's judgement of one completion: the score, a stable namespaced code and the evidence.

    `score` is in [0, 1], or None where the component does not apply to the row (no executor, no
    environment, no reference call to run); TRL's GRPO trainer reads None as "no reward from this
    function" and leaves it out of the sum. Whether a component applies depends on the dataset row
    only, never on the completion, so a completion cannot opt out of a component it would fail.
    `code` is `<component>.<reason>` (`format.prose`, `exact.arg.value`, `execution.result_mismatch`),
    stable across versions like a Verdict's; `detail` is for people; `parts` holds a mix's
    components.
    """

    model_config = ConfigDict(frozen=True)

    component: str
    score: float | None
    code: str
    detail: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)
    parts: tuple[RewardResult, ...] = ()

    @property
    def applies(self) -> bool:
        """Whether the component judged this row (a None score means it did not)."""
        return self.score is not None

    @property
    def ok(self) -> bool:
        """Full reward."""
        return self.score is not None and self.score >= 1.0


Shape = Literal["calls", "plain", "empty", "too_long", "prose", "broken", "bad_input"]
"""What a completion turned out to be: calls only, a plain answer, or one of the ways of being neither."""


class Decoded(BaseModel):
    """A completion as every component reads it, decoded once with callforge's tool-call parser.

    `calls` are the calls read (also for a `prose` or `broken` completion, as evidence; the
    components judge only a `calls` or `plain` one). `convention` names how the calls were written
    (`hermes`, `python`, `json`, `fenced`, `llama3`, `messages` for a chat message's `tool_calls`,
    `none`); `source` is the text they were read from, which the BFCL-exact scorer decodes again
    with its own decoder when it is a Python call list; `text` is what is left besides the calls.
    """

    model_config = ConfigDict(frozen=True)

    shape: Shape
    calls: tuple[ToolCall, ...] = ()
    convention: str = "none"
    source: str = ""
    text: str = ""
    detail: str = ""
    length: int = 0
