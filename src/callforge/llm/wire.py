"""OpenAI chat-completions JSON <-> callforge records, shared by every backend that speaks it.

The wire format is where providers differ in small ways (arguments as a JSON string or a dict,
`content` null or missing, usage absent); those differences end here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from callforge.core import Message, ToolCall, ToolSpec, Verdict
from callforge.llm.backend import Usage


def message_to_openai(message: Message, *, arguments_as_text: bool = True) -> dict[str, Any]:
    """One Message as an OpenAI message dict; HF chat templates want `arguments_as_text=False`."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id or f"call_{index}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": orjson.dumps(call.arguments).decode()
                    if arguments_as_text
                    else call.arguments,
                },
            }
            for index, call in enumerate(message.tool_calls)
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def messages_to_openai(
    messages: Sequence[Message], *, arguments_as_text: bool = True
) -> list[dict[str, Any]]:
    """Messages as OpenAI message dicts, in order."""
    return [message_to_openai(m, arguments_as_text=arguments_as_text) for m in messages]


def tools_to_openai(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tools in the `tools=[{"type": "function", ...}]` shape."""
    return [tool.to_openai() for tool in tools]


def usage_from_openai(usage: Any) -> Usage:
    """Usage from a response's `usage` object; servers that omit it give zeros, never an error."""
    if not isinstance(usage, dict):
        return Usage()
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else 0,
        completion_tokens=completion if isinstance(completion, int) else 0,
        cached_prompt_tokens=cached if isinstance(cached, int) else 0,
    )


def clip(text: str, limit: int = 200) -> str:
    """A server's free text quoted and cut to `limit` characters, so an error stays one readable line."""
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def reply_problem(data: Any) -> str | None:
    """Why a chat-completions reply is not one, or None when its shape is right.

    Checked before anything is read from it: a 200 whose body has no choice, a null message or a
    content of the wrong type is the endpoint's failure, and must never be read as the model's
    empty answer (which would score it wrong for what its server did).
    """
    if not isinstance(data, dict):
        return f"the body is a JSON {type(data).__name__}, not an object"
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        error = data.get("error")
        if error is not None:
            said = error.get("message", error) if isinstance(error, dict) else error
            return f"the body is an error, not a completion: {clip(str(said))}"
        return "the body has no choices" if isinstance(choices, list) else "the body has no `choices` list"
    choice = choices[0]
    if not isinstance(choice, dict):
        return "choices[0] is not an object"
    message = choice.get("message")
    if not isinstance(message, dict):
        return "choices[0].message is " + ("missing" if "message" not in choice else _kind(message))
    if message_text(message.get("content")) is None:
        return f"the message's content is {_kind(message.get('content'))}, not text"
    calls = message.get("tool_calls")
    if calls is not None and (not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls)):
        return "the message's tool_calls is not a list of objects"
    if not isinstance(choice.get("finish_reason"), str | None):
        return f"finish_reason is {_kind(choice.get('finish_reason'))}"
    return None


def message_text(content: Any) -> str | None:
    """A reply message's text: a string, null (no text), or a list of text parts; None if neither."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, dict) and isinstance(part.get("text"), str) for part in content
    ):
        return "".join(part["text"] for part in content)
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"


def native_tool_calls(raw_calls: Any) -> tuple[tuple[ToolCall, ...], Verdict]:
    """Read a message's `tool_calls`: the calls that decode, and a verdict about those that do not.

    A call whose arguments are not a JSON object is not dropped silently: the verdict fails with
    `parse.bad_arguments` and keeps the raw text, because a model that emits broken arguments has
    made a mistake an evaluation must count.
    """
    if not raw_calls:
        return (), Verdict.passed(format="none")
    calls: list[ToolCall] = []
    broken: list[dict[str, Any]] = []
    if not isinstance(raw_calls, list):
        return (), Verdict.failed("parse.not_a_call", "tool_calls is not a list", raw=raw_calls)
    for item in raw_calls:
        function: dict[str, Any] = item.get("function") or {} if isinstance(item, dict) else {}
        if not isinstance(function, dict):
            function = {}
        name = function.get("name")
        if not isinstance(name, str) or not name:
            broken.append({"call": item, "problem": "no function name"})
            continue
        arguments: Any = function.get("arguments")
        if arguments is None or arguments == "":
            arguments = {}
        elif isinstance(arguments, str):
            try:
                arguments = orjson.loads(arguments)
            except orjson.JSONDecodeError as exc:
                broken.append({"name": name, "arguments": function.get("arguments"), "problem": str(exc)})
                continue
        if not isinstance(arguments, dict):
            broken.append({"name": name, "arguments": function.get("arguments"), "problem": "not an object"})
            continue
        call_id = item.get("id") if isinstance(item.get("id"), str) else None
        calls.append(ToolCall(name=name, arguments=arguments, id=call_id))
    if broken:
        names = ", ".join(str(b.get("name", "?")) for b in broken)
        return tuple(calls), Verdict.failed(
            "parse.bad_arguments",
            f"tool call arguments are not a JSON object for: {names}; send arguments as a JSON object "
            "matching the tool's parameters",
            broken=broken,
            format="native",
        )
    return tuple(calls), Verdict.passed(format="native")
