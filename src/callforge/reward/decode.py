r"""Read one completion, text or chat messages, into calls: strictly, because a reward is a target to game.

Calls are read by callforge's tool-call parser (`callforge.llm.parse_tool_calls`: Hermes/Qwen
`<tool_call>` tags, fenced blocks, Llama 3.1 JSON, bare JSON, Python call lists; `json` and `ast`
with a whitelist, nothing evaluated) or taken from a chat message's `tool_calls`. Around it, the
rules that make the format hard to game:

* the completion must be the calls and nothing else: prose around them (`"I would call {...}"`)
  is `prose`, not calls, so a call cannot hide inside hedging text; one leading `<think>...</think>`
  block is the model's reasoning and is set aside;
* empty or whitespace-only output is `empty`, never a deliberate plain answer;
* output over `max_chars` is `too_long` and is not parsed;
* a call name must be written out as it is read: Python folds look-alike letters (`ｇet_weather`
  is `get_weather` to `ast`) and JSON unescapes `\u0067`, and neither is the model naming the tool;
* a completion with no call markers at all is `plain` (an answer in words).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from callforge.core import ToolCall, ToolSpec
from callforge.llm import parse_tool_calls
from callforge.reward.record import Decoded

MAX_CHARS = 16_384
"""Longest completion read (characters); a longer one scores nothing. No call list of one turn is that long."""

_THINK = re.compile(r"\A\s*<think>.*?</think>", re.DOTALL)


def decode_completion(
    completion: Any, tools: Sequence[ToolSpec] = (), *, max_chars: int = MAX_CHARS
) -> Decoded:
    """What a completion holds: calls, a plain answer, or why it is neither (never raises).

    `completion` is a string or TRL's conversational form, a list of chat messages (the first
    assistant message is the turn judged); `tools` bind positional Python arguments to names.
    """
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, list):
        return _from_messages(completion, tools, max_chars)
    if not isinstance(completion, str):
        return Decoded(shape="bad_input", detail=f"a completion is text or chat messages, not {type(completion).__name__}")
    return _from_text(completion, tools, max_chars)


def _from_text(text: str, tools: Sequence[ToolSpec], max_chars: int) -> Decoded:
    length = len(text)
    if length > max_chars:
        return Decoded(shape="too_long", length=length, detail=f"{length} characters, over the {max_chars} read")
    body = _without_thinking(text).strip()
    if not body:
        return Decoded(shape="empty", length=length, detail="no output besides whitespace or reasoning")
    parsed = parse_tool_calls(body, tools=tools)
    convention = str(parsed.verdict.evidence.get("format", "none"))
    if not parsed.verdict.ok:
        return Decoded(
            shape="broken",
            calls=parsed.calls,
            convention=convention,
            source=body,
            text=parsed.text,
            detail=f"{parsed.verdict.code}: {parsed.verdict.message}",
            length=length,
        )
    if not parsed.calls:
        return Decoded(shape="plain", source=body, text=body, length=length)
    hidden = [c.name for c in parsed.calls if c.name not in body]
    if hidden:  # Python folds `ｇet_weather` to `get_weather` (NFKC), JSON unescapes `\u0067et_weather`
        return Decoded(
            shape="broken",
            calls=parsed.calls,
            convention=convention,
            source=body,
            detail=f"call name {hidden[0]!r} is not written as such (look-alike or escaped characters)",
            length=length,
        )
    if parsed.text.strip():
        return Decoded(
            shape="prose",
            calls=parsed.calls,
            convention=convention,
            source=body,
            text=parsed.text,
            detail="text besides the calls; a turn that calls tools holds only the calls",
            length=length,
        )
    return Decoded(shape="calls", calls=parsed.calls, convention=convention, source=body, length=length)


def _from_messages(messages: list[Any], tools: Sequence[ToolSpec], max_chars: int) -> Decoded:
    message = next((m for m in messages if isinstance(m, dict) and m.get("role", "assistant") == "assistant"), None)
    if message is None:
        return Decoded(shape="bad_input", detail="the completion holds no assistant message")
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    if not isinstance(content, str):
        return Decoded(shape="bad_input", detail="the assistant message's content is not text")
    raw_calls = message.get("tool_calls") or []
    if not raw_calls:
        return _from_text(content, tools, max_chars)
    try:
        length = len(content) + len(json.dumps(raw_calls, default=str))
    except (TypeError, ValueError):
        return Decoded(shape="bad_input", detail="the message's tool_calls are not JSON")
    if length > max_chars:
        return Decoded(shape="too_long", length=length, detail=f"{length} characters, over the {max_chars} read")
    calls, problem = _message_calls(raw_calls)
    if problem:
        return Decoded(shape="broken", calls=tuple(calls), convention="messages", detail=problem, length=length)
    left = _without_thinking(content).strip()
    if left:
        return Decoded(
            shape="prose",
            calls=tuple(calls),
            convention="messages",
            text=left,
            detail="text besides the calls; a turn that calls tools holds only the calls",
            length=length,
        )
    return Decoded(shape="calls", calls=tuple(calls), convention="messages", length=length)


def _message_calls(raw: Any) -> tuple[list[ToolCall], str]:
    """The calls of a message's `tool_calls` (arguments an object or a JSON string), or why they do not read."""
    if not isinstance(raw, list):
        return [], "tool_calls is not a list"
    calls: list[ToolCall] = []
    for n, item in enumerate(raw):
        body = item.get("function", item) if isinstance(item, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            return calls, f"tool call {n} has no name"
        arguments = body.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except (ValueError, RecursionError):
                return calls, f"tool call {n}: arguments are not JSON"
        if not isinstance(arguments, dict):
            return calls, f"tool call {n}: arguments are not an object"
        calls.append(ToolCall(name=body["name"], arguments=arguments))
    return calls, ""


def _without_thinking(text: str) -> str:
    """The text after one leading `<think>...</think>` block (reasoning is not the answer)."""
    found = _THINK.match(text)
    return text[found.end():] if found else text
