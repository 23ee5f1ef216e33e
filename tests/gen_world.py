"""A rule-based fake model that plays every generation role for tests (planner, user, assistant).

It is deliberately simple and transparent: the planner picks values from a small table, the user
writes the planned values (single words in this world) as `key value` groups separated by ` | `, and the assistant reads those
groups back into calls (taking ids from earlier tool outputs). Good enough to drive every scenario
kind through the real pipeline (sandboxed tools, the cascade, the Run folder) without a model.

The shipped `fake:world` model (`callforge.llm.fake.world`) does the same for users, on any tools.
This one stays because tests pin its exact quirks: a city the tool does not know on every seventh
seed (so replanning from the tool's error is exercised), `broken_user`, and a value table small
enough to assert on.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from callforge.core import ToolCall, ToolSpec
from callforge.llm.scripted import FunctionBackend, Request

CITIES = ("Paris", "Lisbon", "Tokyo", "Lima")


def world_backend(*, model: str = "world", broken_user: bool = False) -> FunctionBackend:
    """The fake; `broken_user=True` makes the user role drop every value (so the plan check fails)."""

    def respond(request: Request) -> Any:
        schema = request.options.json_schema or {}
        props = schema.get("properties") or {}
        if "call_1" in props:
            return _plan(props, request.options.seed or 0, request)
        if "message" in props:
            return _user(request, broken_user)
        return _assistant(request)

    return FunctionBackend(respond, model=model)


def _plan(props: dict[str, Any], seed: int, request: Request) -> str:
    prompt = request.messages[-1].content or ""
    out = {}
    for i, (slot, schema) in enumerate(sorted(props.items())):
        values: dict[str, Any] = {}
        for name, prop in (schema.get("properties") or {}).items():
            if "enum" in prop:
                values[name] = prop["enum"][(seed + i) % len(prop["enum"])]
            elif prop.get("type") == "integer":
                values[name] = 2 + (seed + i) % 5
            elif prop.get("type") == "number":
                values[name] = 1.5 + i
            elif name == "city":
                # a rejected try names the cities the tool knows; the table starts with one it does not
                values[name] = CITIES[(seed + i) % 4] if "rejected" in prompt or seed % 7 else "Atlantis"
            else:
                values[name] = f"v{seed % 97}-{i}"
        out[slot] = values
    return orjson.dumps(out).decode()


def _user(request: Request, broken: bool) -> str:
    prompt = request.messages[-1].content or ""
    if "can only do these things" in prompt:
        return orjson.dumps({"message": "What should I pack for a rainy week in the mountains?"}).decode()
    forgot = re.search(r"you forgot to say the ([\w ]+?)\.", prompt)
    gone = forgot.group(1).replace(" ", "_") if forgot else None
    groups = []
    for values in re.findall(r"^- [^(\n]*\(([^)]*)\)", prompt, flags=re.M):
        pairs = [(p.rsplit(" ", 1)[0].replace(" ", "_"), p.rsplit(" ", 1)[1]) for p in values.split(", ")]
        groups.append(", ".join(f"{k} {v}" for k, v in pairs if k != gone and not broken))
    return orjson.dumps({"message": "Please help: " + " | ".join(groups)}).decode()


def _assistant(request: Request) -> Any:
    messages = request.messages
    tools = {t.name: t for t in request.tools}
    last_user = max(i for i, m in enumerate(messages) if m.role == "user")
    text = messages[last_user].content or ""
    groups = [_pairs(g) for g in text.removeprefix("Please help: ").split(" | ")] if "Please help:" in text else []
    after = messages[last_user + 1 :]
    results = {m.tool_call_id: _json(m.content) for m in messages if m.role == "tool"}
    outputs = [o for o in results.values() if not (isinstance(o, dict) and "error" in o)]
    made = [c for m in after if m.role == "assistant" for c in m.tool_calls]
    done = [c for c in made if c.id in results and results[c.id] in outputs]
    calls: list[ToolCall] = []
    for pairs in groups:
        tool = _match(pairs, tools, outputs)
        if tool is None:
            continue
        arguments = _typed(pairs, tool)
        for name in tool.required:
            if name not in arguments:
                arguments[name] = _find(outputs, name)
        if not any(c.name == tool.name and c.arguments == arguments for c in [*done, *calls]):
            calls.append(ToolCall(name=tool.name, arguments=arguments))
    if calls:
        return calls
    if not groups:
        return "Pack a rain jacket, waterproof boots and a warm layer."
    if not made:
        return f"Could you tell me the {_missing(groups, tools).replace('_', ' ')}?"
    return "Here is what I found: " + "; ".join(_told(_json(m.content)) for m in after if m.role == "tool")


def _told(value: Any, key: str = "") -> str:
    """A tool output as a sentence part (`temperature 21, condition sunny`): what an answer tells, not raw JSON."""
    if isinstance(value, dict):
        return ", ".join(_told(v, k) for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_told(v, key) for v in value[:5])
    return f"{key.replace('_', ' ')} {value}".strip()


def _json(text: str | None) -> Any:
    try:
        return orjson.loads(text or "null")
    except orjson.JSONDecodeError:
        return text


def _pairs(group: str) -> dict[str, str]:
    out = {}
    for part in group.split(", "):
        if " " in part.strip():
            key, value = part.strip().split(" ", 1)
            out[key] = value
    return out


def _match(pairs: dict[str, str], tools: dict[str, ToolSpec], outputs: list[Any]) -> ToolSpec | None:
    """The smallest tool taking these keys whose other required values are in earlier outputs."""
    fits = [
        t
        for t in tools.values()
        if pairs and set(pairs) <= set(t.properties) and all(r in pairs or _find(outputs, r) is not None for r in t.required)
    ]
    return min(fits, key=lambda t: (len(t.properties), t.name), default=None)


def _missing(groups: list[dict[str, str]], tools: dict[str, ToolSpec]) -> str:
    for pairs in groups:
        for tool in tools.values():
            if set(pairs) <= set(tool.properties):
                for name in tool.required:
                    if name not in pairs:
                        return name
    return "details"


def _typed(pairs: dict[str, str], tool: ToolSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs.items():
        kind = (tool.properties.get(key) or {}).get("type")
        out[key] = int(value) if kind == "integer" else float(value) if kind == "number" else value
    return out


def _find(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key in value:
            return value[key]
        for inner in value.values():
            found = _find(inner, key)
            if found is not None:
                return found
    if isinstance(value, list):
        for inner in reversed(value):
            found = _find(inner, key)
            if found is not None:
                return found
    return None


class WorldPolicy:
    """The same fake behind the fake OpenAI server, so the CLI can be driven end to end over HTTP."""

    def __init__(self) -> None:
        self.backend = world_backend(model="world")
        self.respond = self.backend._respond

    def reply(self, request: dict[str, Any]) -> Any:
        from callforge.llm.fake.world import request_from_wire
        from callforge.llm.fake_server import Reply
        from callforge.llm.scripted import as_completion

        asked = request_from_wire(request)
        if asked.options.tool_choice == "none":
            asked = Request(asked.messages, (), asked.options)
        completion = as_completion(self.respond(asked), "world")
        if completion.tool_calls:
            return Reply(tool_calls=completion.tool_calls)
        return Reply(text=completion.text)
