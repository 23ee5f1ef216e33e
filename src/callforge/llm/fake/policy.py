"""What the fake server answers: a `Reply`, chosen by a `Policy` from the request JSON.

A policy is one method, `reply(request) -> Reply`, so a test can script exact answers, write a
rule, or take a ready-made one (`DefaultRule`, `Echo`) without learning a framework.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, runtime_checkable

import orjson

from callforge.core import CallforgeError, ToolCall


class FakeServerError(CallforgeError):
    """The fake server was asked for something it cannot give (an exhausted script, a bad fault spec).

    Messages name the fake server so that a test failure points at the test setup, never at the
    code under test.
    """


@dataclass(frozen=True, slots=True)
class Reply:
    """One assistant message: text, tool calls, or both.

    Calls are callforge `ToolCall` records (arguments as a dict) because tests compare them with
    what the code under test parsed; the server writes the arguments as the JSON string OpenAI sends.
    """

    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @classmethod
    def call(cls, name: str, arguments: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Reply:
        """A reply that calls one tool: `Reply.call("get_weather", city="Paris")`."""
        return cls(tool_calls=(ToolCall(name=name, arguments={**(arguments or {}), **kwargs}),))

    @classmethod
    def calls(cls, *calls: ToolCall | tuple[str, Mapping[str, Any]]) -> Reply:
        """A reply with parallel tool calls, given as `ToolCall`s or `(name, arguments)` pairs."""
        out = [c if isinstance(c, ToolCall) else ToolCall(name=c[0], arguments=dict(c[1])) for c in calls]
        return cls(tool_calls=tuple(out))

    @classmethod
    def from_json(cls, data: Any) -> Reply:
        """A reply from JSON: a string, or `{"text": ..., "tool_calls": [{"name", "arguments"}]}`.

        Lets a CLI server or a fixture file carry a script without Python code.
        """
        if isinstance(data, str):
            return cls(text=data)
        if not isinstance(data, dict):
            raise FakeServerError(
                f"callforge fake server: a JSON reply is a string or an object, got {data!r}"
            )
        calls = tuple(
            ToolCall(name=c["name"], arguments=c.get("arguments") or {}, id=c.get("id"))
            for c in data.get("tool_calls") or ()
        )
        return cls(text=data.get("text"), tool_calls=calls)


ReplyLike: TypeAlias = Reply | str | ToolCall


def as_reply(value: ReplyLike) -> Reply:
    """Accept the short forms a test writes: a string is text, a `ToolCall` is a one-call reply."""
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(text=value)
    if isinstance(value, ToolCall):
        return Reply(tool_calls=(value,))
    raise FakeServerError(f"callforge fake server: a reply must be Reply, str or ToolCall, got {value!r}")


@runtime_checkable
class Policy(Protocol):
    """Chooses the reply to one chat-completions request (the parsed request JSON)."""

    def reply(self, request: dict[str, Any]) -> Reply:
        """Return the assistant message for `request`; raising makes the server answer HTTP 500."""
        ...


class Scripted:
    """Replies consumed in order, one per answered request; running out fails loudly.

    A test that scripts three replies and sees a fourth request has found a bug (an unexpected
    retry, a cache miss), so exhaustion raises and the server answers 500 naming the fake server.
    Requests answered by a fault (429, drop, ...) do not consume a reply.
    """

    def __init__(self, replies: Iterable[ReplyLike]) -> None:
        self._replies = [as_reply(r) for r in replies]
        self._next = 0

    @property
    def remaining(self) -> int:
        """Replies not yet given, so a test can assert that the whole script was used."""
        return len(self._replies) - self._next

    def reply(self, request: dict[str, Any]) -> Reply:
        """The next scripted reply; raise `FakeServerError` when the script is used up."""
        if self._next >= len(self._replies):
            raise FakeServerError(
                f"callforge fake server: script exhausted: all {len(self._replies)} scripted replies "
                "were used and another request arrived"
            )
        reply = self._replies[self._next]
        self._next += 1
        return reply


class Rule:
    """A plain function as a policy, for replies that depend on the request."""

    def __init__(self, fn: Callable[[dict[str, Any]], ReplyLike]) -> None:
        self._fn = fn

    def reply(self, request: dict[str, Any]) -> Reply:
        """Whatever the function returns, short forms accepted."""
        return as_reply(self._fn(request))


class Echo:
    """Answers with the text of the last user message, so a test can tell requests apart by reply."""

    def reply(self, request: dict[str, Any]) -> Reply:
        """The last user message's text ("" when there is none)."""
        for message in reversed(request.get("messages") or ()):
            if isinstance(message, dict) and message.get("role") == "user":
                return Reply(text=content_text(message.get("content")))
        return Reply(text="")


class DefaultRule:
    """Calls the first offered tool with minimal schema-valid arguments, else says "ok".

    This is what a well-behaved model does, at no cost, so end-to-end tests and benchmarks get valid
    tool calls without scripting anything. `tool_choice` naming a function picks that tool and
    `tool_choice="none"` gives text. Arguments are computed once per distinct tool schema.
    """

    def __init__(self, text: str = "ok") -> None:
        self.text = text
        self._cache: dict[bytes, dict[str, Any]] = {}

    def reply(self, request: dict[str, Any]) -> Reply:
        """A call of the first (or chosen) tool, or the text reply when no tool may be called."""
        tools = [t for t in request.get("tools") or () if isinstance(t, dict)]
        choice = request.get("tool_choice")
        if not tools or choice == "none":
            return Reply(text=self.text)
        tool = tools[0]
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            tool = next((t for t in tools if (t.get("function") or {}).get("name") == wanted), tool)
        function: dict[str, Any] = tool["function"] if isinstance(tool.get("function"), dict) else tool
        name = str(function.get("name") or "unnamed_tool")
        params: dict[str, Any] = (
            function["parameters"] if isinstance(function.get("parameters"), dict) else {}
        )
        return Reply(tool_calls=(ToolCall(name=name, arguments=self._arguments(params)),))

    def _arguments(self, params: dict[str, Any]) -> dict[str, Any]:
        key = orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
        if key not in self._cache:
            value = minimal_value({"type": "object", **params})
            self._cache[key] = value if isinstance(value, dict) else {}
        return dict(self._cache[key])


def minimal_value(schema: Any) -> Any:
    """The simplest value a JSON Schema accepts: required properties only, typed placeholders.

    Strings are "x", integers 1, numbers 1.0, booleans true, arrays empty, objects hold their
    required properties; `enum`/`const` give their first value and bounds are respected, so the
    value validates against the common schemas tools use.
    """
    if not isinstance(schema, dict):
        return "x"
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return minimal_value(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        items = schema.get("items")
        return [minimal_value(items) for _ in range(int(schema.get("minItems", 0)))]
    properties: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
    required: list[Any] = schema["required"] if isinstance(schema.get("required"), list) else []
    return {name: minimal_value(properties.get(name, {})) for name in required}


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    step = 1 if integer else 0.5
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low = schema["exclusiveMinimum"] + step
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = schema["exclusiveMaximum"] - step
    value = 1.0
    if isinstance(low, int | float) and value < low:
        value = float(low)
    if isinstance(high, int | float) and value > high:
        value = float(high)
    if not integer:
        return value
    whole = math.ceil(value)
    return math.floor(value) if isinstance(high, int | float) and whole > high else whole


def content_text(content: Any) -> str:
    """The text of a message `content`: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


PolicyLike: TypeAlias = Policy | Callable[[dict[str, Any]], ReplyLike] | Sequence[ReplyLike]


def as_policy(policy: PolicyLike | None) -> Policy:
    """Accept a policy, a function (a `Rule`), a list of replies (`Scripted`), or None (`DefaultRule`)."""
    if policy is None:
        return DefaultRule()
    if isinstance(policy, Sequence) and not isinstance(policy, str):
        return Scripted(policy)
    if isinstance(policy, Policy):
        return policy
    if callable(policy):
        return Rule(policy)
    raise FakeServerError(f"callforge fake server: not a policy: {policy!r}")
