"""Plans: the calls a scenario must produce, with their argument values, fixed before any text is written.

A plan is what makes generated data checkable. The user turn is written from it, the assistant
answers from that text alone, and the cascade's plan rule compares the calls made with the calls
planned (back-translation). Values that come from an earlier call's result are resolved by running
that call first, so a nested plan is only ever built on outputs the tool really returns.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from callforge.core import Scenario, ToolCall, ToolSpec

_STEP = re.compile(r"([^.\[\]]+)|\[\]")


class PlannedCall(BaseModel):
    """One call of the plan.

    `refs` maps a parameter to the output path that fills it (`"flights[].flight_id"`, read from an
    earlier call's result in the turn; the plan does not name which call), so the user text need not
    state that value. `fails` marks a call the generator makes wrong on purpose (error recovery): it
    is scripted, not asked of the assistant, and must fail when executed.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any]
    refs: dict[str, str] = {}
    fails: bool = False


class Turn(BaseModel):
    """What one user turn asks for: steps of calls (calls in one step go out together, in parallel).

    `missing` lists required parameters the request deliberately leaves out (clarify); `offtopic`
    says the request must fit none of the offered tools (no_call); `revisions` makes the user change
    their mind about a value within the message.
    """

    model_config = ConfigDict(frozen=True)

    steps: tuple[tuple[PlannedCall, ...], ...] = ()
    missing: tuple[str, ...] = ()
    offtopic: bool = False
    revisions: dict[str, Any] = {}
    """Values the user first asks for and then takes back in the same message (parameter -> the value
    dropped); the planned value is the one they settle on, and the one the calls must use."""
    withheld: tuple[str, ...] = ()
    """Tools not offered during this turn (BFCL's miss_func): a request that needs one cannot be done yet."""
    unlocked: tuple[str, ...] = ()
    """Tools the user announces as newly available at the start of this turn."""
    pasted: tuple[str, ...] = ()
    """A long-context turn's pasted text (before, after) that the user's message is placed inside."""

    @property
    def calls(self) -> tuple[PlannedCall, ...]:
        """Every call of the turn, in order."""
        return tuple(call for step in self.steps for call in step)

    @property
    def blocked(self) -> bool:
        """Whether the turn asks for a call of a tool it does not offer: the assistant can only say so."""
        return any(call.name in self.withheld for call in self.calls)


class Plan(BaseModel):
    """A scenario's plan: kind, the tools it offers, and one Turn per user message."""

    model_config = ConfigDict(frozen=True)

    kind: Scenario
    tools: tuple[ToolSpec, ...]
    turns: tuple[Turn, ...]

    def expected(self) -> tuple[ToolCall, ...]:
        """The calls the assistant must make, as `Provenance.plan` stores them.

        Scripted failures are left out (the generator made them), and so are the calls of a turn
        with a missing value (the assistant must ask for it, not make the call) or a withheld tool
        (the assistant must say it cannot do that yet).
        """
        return tuple(
            ToolCall(name=call.name, arguments=call.arguments)
            for turn in self.turns
            if not turn.missing and not turn.blocked
            for call in turn.calls
            if not call.fails
        )


def resolve(output: Any, path: str) -> Any:
    """The value at `path` (`flights[].flight_id`, `[].id`, `$`) in a tool output; the first item of arrays.

    Raises:
        LookupError: The output has no such field (an empty list, a missing key).
    """
    if path in ("", "$"):
        return output
    value = output
    if isinstance(value, str) and value[:1] in ("{", "["):
        # A tool whose harness renders results as JSON text (BFCL's simulators, many REST tools).
        with contextlib.suppress(orjson.JSONDecodeError):
            value = orjson.loads(value)
    for match in _STEP.finditer(path):
        key = match.group(1)
        if key is None:
            if not isinstance(value, list) or not value:
                raise LookupError(f"{path}: expected a non-empty list, got {'an empty list' if value == [] else _kind(value)}")
            value = value[0]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            raise LookupError(f"{path}: no field {key!r} in {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object with " + (", ".join(sorted(value)[:6]) or "no fields")
    return type(value).__name__
