"""Failing variants of a verified step: the "rejected" side of a preference pair when no model erred.

Each operator makes one mistake small models really make (a required argument dropped, a value
of the wrong type or outside its enum, an invented value, an invented tool, a call of a parallel
step left out). A variant counts only when the rule layer rejects it at that step, so every pair
carries the verifier's own failure code, never a label the mutation assumed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callforge.core import Dialog, Message, ToolCall, ToolSpec, Verdict

Mutation = Callable[[Message, dict[str, ToolSpec], random.Random], Message | None]

_DECOYS = ("Springfield", "ACME-0000", "Zanzibar", "Mxyzptlk", "2031-02-29T25:61")
"""String values no user asked for: they must not be traceable to the dialog's text."""


def _call_step(message: Message, index: int, call: ToolCall) -> Message:
    calls = list(message.tool_calls)
    calls[index] = call
    return message.model_copy(update={"tool_calls": tuple(calls)})


def _pick(message: Message, rng: random.Random, ok: Callable[[ToolCall], list[str]]) -> tuple[int, str] | None:
    options = [(i, name) for i, call in enumerate(message.tool_calls) for name in ok(call)]
    return rng.choice(options) if options else None


def drop_required(message: Message, tools: dict[str, ToolSpec], rng: random.Random) -> Message | None:
    """Leave out a required argument the call gave."""

    def names(call: ToolCall) -> list[str]:
        tool = tools.get(call.name)
        return [n for n in (tool.required if tool else ()) if n in call.arguments]

    found = _pick(message, rng, names)
    if found is None:
        return None
    i, name = found
    call = message.tool_calls[i]
    arguments = {k: v for k, v in call.arguments.items() if k != name}
    return _call_step(message, i, call.model_copy(update={"arguments": arguments}))


def wrong_type(message: Message, tools: dict[str, ToolSpec], rng: random.Random) -> Message | None:
    """Give an argument a value of another JSON type (a number as text, text as a number)."""
    found = _pick(message, rng, lambda call: [n for n, v in call.arguments.items() if _retyped(v) is not None])
    if found is None:
        return None
    i, name = found
    call = message.tool_calls[i]
    return _call_step(message, i, call.model_copy(update={"arguments": {**call.arguments, name: _retyped(call.arguments[name])}}))


def _retyped(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 42 if not value.isdigit() else [value]
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return None


def outside_enum(message: Message, tools: dict[str, ToolSpec], rng: random.Random) -> Message | None:
    """Use a value the parameter's enum does not allow."""

    def names(call: ToolCall) -> list[str]:
        tool = tools.get(call.name)
        props = tool.properties if tool else {}
        return [n for n in call.arguments if isinstance(props.get(n), dict) and isinstance(props[n].get("enum"), list)]

    found = _pick(message, rng, names)
    if found is None:
        return None
    i, name = found
    call = message.tool_calls[i]
    allowed = tools[call.name].properties[name]["enum"]
    value = f"{allowed[0]}_other" if allowed and isinstance(allowed[0], str) else "other"
    return _call_step(message, i, call.model_copy(update={"arguments": {**call.arguments, name: value}}))


def invented_value(message: Message, tools: dict[str, ToolSpec], rng: random.Random) -> Message | None:
    """Replace a text value with one the user never gave (a hallucinated argument)."""
    found = _pick(message, rng, lambda call: [n for n, v in call.arguments.items() if isinstance(v, str) and v])
    if found is None:
        return None
    i, name = found
    call = message.tool_calls[i]
    decoy = next(d for d in rng.sample(_DECOYS, len(_DECOYS)) if d != call.arguments[name])
    return _call_step(message, i, call.model_copy(update={"arguments": {**call.arguments, name: decoy}}))


def invented_tool(message: Message, tools: dict[str, ToolSpec], rng: random.Random) -> Message | None:
    """Call a tool that is not offered, named like the right one."""
    i = rng.randrange(len(message.tool_calls))
    call = message.tool_calls[i]
    name = next(n for n in (f"{call.name}_v2", f"{call.name}_info", f"get_{call.name}") if n not in tools)
    return _call_step(message, i, call.model_copy(update={"name": name}))


def missing_call(message: Message, tools: dict[str, ToolSpec], rng: random.Random) -> Message | None:
    """Leave out one call of a parallel step."""
    if len(message.tool_calls) < 2:
        return None
    i = rng.randrange(len(message.tool_calls))
    return message.model_copy(update={"tool_calls": message.tool_calls[:i] + message.tool_calls[i + 1 :]})


MUTATIONS: dict[str, Mutation] = {
    "drop_required": drop_required,
    "wrong_type": wrong_type,
    "outside_enum": outside_enum,
    "invented_value": invented_value,
    "invented_tool": invented_tool,
    "missing_call": missing_call,
}
"""Every operator by its stable name (the `mutation` field of a pair)."""


@dataclass(frozen=True)
class Variant:
    """A failing version of step `index`: the message, the operator and what the rules found."""

    index: int
    message: Message
    mutation: str
    verdicts: tuple[Verdict, ...]

    @property
    def code(self) -> str:
        """The first failure code: the pair's label."""
        return self.verdicts[0].code


def failing_variant(dialog: Dialog, index: int, *, key: str = "") -> Variant | None:
    """A variant of the step at `index` that the rules reject there, or None when no operator yields one.

    Operators are tried in an order seeded by the dialog id, the step and `key`, so the same data
    always gives the same pairs.
    """
    from callforge.verify import RuleStage

    step = dialog.messages[index]
    tools = {t.name: t for t in dialog.tools}
    seed = int.from_bytes(hashlib.sha256(f"{dialog.meta.id or ''}:{index}:{key}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    order = list(MUTATIONS)
    rng.shuffle(order)
    rules = RuleStage()
    for name in order:
        changed = MUTATIONS[name](step, tools, rng)
        if changed is None or changed == step:
            continue
        kept = {c.id for c in changed.tool_calls}
        messages = [
            m
            for m in dialog.messages
            if not (m.role == "tool" and m.tool_call_id in {c.id for c in step.tool_calls} - kept)
        ]
        messages[index] = changed  # only tool messages after the step were dropped
        verdicts = tuple(
            v
            for v in rules.run(dialog.model_copy(update={"messages": tuple(messages)}))
            if v.evidence.get("message_index") == index or v.code.startswith("scenario.")
        )
        if verdicts:
            return Variant(index, changed, name, verdicts)
    return None
