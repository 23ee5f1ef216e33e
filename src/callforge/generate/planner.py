"""The planner role: invent argument values for a plan's calls, then prove them by running the calls.

Values come from a model under a JSON schema (one request fills every call of a plan), so they are
schema-valid by construction. Each planned call is then executed on the engine: a value the tool
rejects ends the attempt before any text is written, and a nested call's argument is read from the
real output of the call before it. Nothing downstream is ever built on a call that cannot succeed.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from callforge.core import CallforgeError, Dialog, ToolCall, ToolSpec
from callforge.execute import Engine, Observation, error_payload
from callforge.llm import Backend, strip_fence
from callforge.tools import validator_for


class GenerationFailure(CallforgeError):
    """One attempt cannot become a dialog; `code` (`gen.*`) is recorded on the rejected record."""

    def __init__(self, code: str, message: str, *, partial: Dialog | None = None, **evidence: Any) -> None:
        super().__init__(message)
        self.code = code
        self.evidence = evidence
        self.partial = partial


@dataclass(frozen=True)
class Slot:
    """One call to fill: the tool, and parameters the plan fills otherwise (from an earlier output)."""

    tool: ToolSpec
    exclude: frozenset[str] = frozenset()


_SYSTEM = (
    "You design test cases for an AI assistant that calls tools. For each call slot you are given, "
    "invent the arguments a real person would plausibly need: specific, realistic and varied values "
    "(real place names, names, amounts, dates near today), never placeholders such as 'string', "
    "'example' or 'foo'. Use only values a person could say or type in a chat message. Different "
    "slots should ask for different things. Answer with the JSON object only."
)


class Planner:
    """Fills call slots with values (one constrained model request) and runs calls on the engine."""

    def __init__(self, backend: Backend, engine: Engine, *, today: str, temperature: float = 0.9) -> None:
        """Plan with `backend`; `today` anchors dates so a run is reproducible."""
        self.backend = backend
        self.engine = engine
        self.today = today
        self.temperature = temperature

    def schema(self, slots: Sequence[Slot], optional: bool | None = None) -> dict[str, Any]:
        """The JSON schema of the answer: one property per slot, each the tool's parameters minus exclusions.

        A tool's own `$defs` (OpenAPI tools keep recursive types there) move to the root, renamed per
        slot, because a `#/$defs/...` reference inside `call_1` is read from the root of this schema.
        `optional` is the difficulty knob's: False leaves optional parameters out, True requires them all.
        """
        properties: dict[str, Any] = {}
        defs: dict[str, Any] = {}
        for i, slot in enumerate(slots):
            key = f"call_{i + 1}"
            properties[key] = _hoisted(_optional(_without(slot.tool.parameters, slot.exclude), optional), key, defs)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }
        if defs:
            schema["$defs"] = defs
        return schema

    def prompt(
        self, slots: Sequence[Slot], persona: str, topic: str, feedback: str = "", world: str = "", hint: str = ""
    ) -> str:
        """The request text: who asks, what the slots are, today's date, the world acted on, and why the last values failed."""
        lines = [f"Today is {self.today}. The person: {persona}.", f"Theme for this case: {topic}."]
        if world:
            lines.append(world)
        if hint:
            lines.append(hint)
        lines += ["", "Call slots:"]
        for i, slot in enumerate(slots):
            params = _without(slot.tool.parameters, slot.exclude)
            lines.append(f"- call_{i + 1}: {slot.tool.name}: {first_sentence(slot.tool.description)}")
            lines.append("  parameters: " + orjson.dumps(params).decode())
        if feedback:
            lines += ["", f"Your previous values were rejected by the tool: {feedback}", "Choose values the tool accepts."]
        return "\n".join(lines)

    async def arguments(
        self,
        slots: Sequence[Slot],
        *,
        persona: str,
        topic: str,
        seed: int,
        feedback: str = "",
        world: str = "",
        optional: bool | None = None,
        hint: str = "",
    ) -> list[dict[str, Any]]:
        """Argument values for every slot, schema-checked; a GenerationFailure when the model gives none.

        `feedback` is the tool's complaint about the previous values: tools say what they accept
        ("the latest trading day is 2025-12-31"), and a second try that reads it usually succeeds.
        `optional` and `hint` come from the difficulty knob (see `Planner.schema`, `generate.steer`).
        """
        schema = self.schema(slots, optional)
        try:
            answer = await self._values(
                slots, schema, persona=persona, topic=topic, seed=seed, feedback=feedback, world=world, hint=hint
            )
        except GenerationFailure as failure:
            # Constrained decoding keeps the answer JSON, but llama.cpp's grammars cannot hold every
            # bound (a `number`'s minimum/maximum): one more try that is told what broke.
            answer = await self._values(
                slots, schema, persona=persona, topic=topic, seed=seed + 1, feedback=str(failure), world=world, hint=hint
            )
        return [dict(answer[f"call_{i + 1}"]) for i in range(len(slots))]

    async def _values(
        self,
        slots: Sequence[Slot],
        schema: dict[str, Any],
        *,
        persona: str,
        topic: str,
        seed: int,
        feedback: str,
        world: str = "",
        hint: str = "",
    ) -> Any:
        from callforge.core import Message

        completion = await self.backend.complete(
            [Message(role="system", content=_SYSTEM), Message(role="user", content=self.prompt(slots, persona, topic, feedback, world, hint))],
            temperature=self.temperature,
            max_tokens=96 + 96 * len(slots),
            seed=seed,
            json_schema=schema,
        )
        try:
            answer = orjson.loads(strip_fence(completion.text))
        except orjson.JSONDecodeError:
            raise GenerationFailure(
                "gen.plan_values", f"the planner's answer is not JSON: {completion.text[:160]!r}"
            ) from None
        issues = validator_for(schema)(answer)
        if issues:
            where = "/".join(str(p) for p in issues[0].path)
            raise GenerationFailure(
                "gen.plan_values",
                f"the planner's values break the tools' schemas: {where + ': ' if where else ''}{issues[0].message}",
                values=answer,
            )
        return answer

    async def prove(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Run a planned call; a GenerationFailure when the tool rejects it or reports an error."""
        observation = await self.engine.execute(call, tool)
        if not observation.ok:
            raise GenerationFailure(
                "gen.plan_rejected",
                f"{call.name} rejects the planned values: {observation.verdict.message}",
                arguments=call.arguments,
            )
        reason = error_payload(observation.output)
        if reason is not None:
            raise GenerationFailure(
                "gen.plan_rejected", f"{call.name} reports an error for the planned values: {reason}", arguments=call.arguments
            )
        return observation


def _without(parameters: dict[str, Any], exclude: frozenset[str]) -> dict[str, Any]:
    schema: dict[str, Any] = copy.deepcopy(parameters) if parameters else {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    props = schema.setdefault("properties", {})
    for name in exclude:
        props.pop(name, None)
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r not in exclude]
    schema["additionalProperties"] = False
    return dict(schema)


def _optional(schema: dict[str, Any], optional: bool | None) -> dict[str, Any]:
    """`schema` with its optional properties left out (False), all required (True), or as it is (None)."""
    if optional is None:
        return schema
    props = schema.get("properties") or {}
    required = [r for r in schema.get("required") or () if r in props]
    if optional:
        return {**schema, "required": list(dict.fromkeys([*required, *props]))}
    return {**schema, "properties": {k: v for k, v in props.items() if k in required}, "required": required}


def _hoisted(parameters: dict[str, Any], key: str, defs: dict[str, Any]) -> dict[str, Any]:
    """`parameters` with its `$defs`/`definitions` moved into `defs` as `<key>__<name>`, references rewritten."""
    own = {**(parameters.pop("definitions", None) or {}), **(parameters.pop("$defs", None) or {})}
    if not own:
        return parameters
    renamed = {name: f"{key}__{name}" for name in own}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
                name = ref.split("/", 2)[2]
                if name in renamed:
                    node = {**node, "$ref": f"#/$defs/{renamed[name]}"}
            return {k: rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    for name, body in own.items():
        defs[renamed[name]] = rewrite(body)
    rewritten: dict[str, Any] = rewrite(parameters)
    return rewritten


def first_sentence(text: str, limit: int = 240) -> str:
    """A tool description's first paragraph on one line, cut at `limit` characters: enough for a prompt."""
    head = (text or "").strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    return head if len(head) <= limit else head[: limit - 3] + "..."
