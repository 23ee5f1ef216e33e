"""The text protocol: tools and tool history as plain chat text, for servers without native tool calling.

In "prompt" tool mode the server sees no `tools` field and no `tool_calls`: the tool list goes
into the system prompt and every call and result of the history is written out as tagged text in
the same `<tool_call>` convention the model is asked to answer in, so that the model sees its own
past calls in the form it must produce and `parse_tool_calls` reads every call it renders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from callforge.core import Message, ToolCall, ToolSpec
from callforge.llm.parse import CLOSE_TAG as CALL_CLOSE
from callforge.llm.parse import OPEN_TAG as CALL_OPEN

TOOLS_OPEN, TOOLS_CLOSE = "<tools>", "</tools>"
RESPONSE_OPEN, RESPONSE_CLOSE = "<tool_response>", "</tool_response>"

_TAGS = (TOOLS_OPEN, TOOLS_CLOSE, CALL_OPEN, CALL_CLOSE, RESPONSE_OPEN, RESPONSE_CLOSE)


def tools_system_prompt(tools: Sequence[ToolSpec]) -> str:
    """The system prompt that teaches a model without native tool calling our `<tool_call>` protocol.

    Returns "" for no tools: a model with nothing to call needs no protocol.
    """
    if not tools:
        return ""
    listing = "\n".join(_dumps(tool.to_openai()["function"]) for tool in tools)
    return (
        "You have access to the tools (functions) described below, one JSON object per line, each with "
        "its name, what it does, and a JSON Schema of its parameters.\n"
        f"{TOOLS_OPEN}\n{listing}\n{TOOLS_CLOSE}\n\n"
        "To use a tool, reply with a JSON object naming it and giving its arguments, enclosed in "
        f"{CALL_OPEN}{CALL_CLOSE} tags:\n"
        f'{CALL_OPEN}\n{{"name": "<tool name>", "arguments": {{"<parameter>": <value>}}}}\n{CALL_CLOSE}\n'
        "Write one such block per call. To make several calls at once, write several blocks, one after "
        "the other. Use only the tools listed above and the parameter names their schemas define; "
        "arguments must be valid JSON.\n"
        "If none of the tools fits the request, or a value that a tool requires was not given and cannot "
        "be worked out, do not call a tool: answer in plain text instead (for instance, ask for the "
        "missing value).\n"
        f"The results of your calls will come back to you inside {RESPONSE_OPEN}{RESPONSE_CLOSE} tags."
    )


def to_text_protocol(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> list[Message]:
    """Rewrite a chat so a server that knows nothing of tools can carry it, losing no call or result.

    The result has no `tool_calls` and no `tool` role: the tools prompt leads the first system
    message, each assistant call becomes a `<tool_call>` block after the message's text, and each
    run of consecutive tool results becomes one user message of `<tool_response>` blocks.
    """
    has_tool_turns = any(m.tool_calls or m.role == "tool" for m in messages)
    if not tools and not has_tool_turns:
        return list(messages)
    out: list[Message] = []
    rest = list(messages)
    prompt = tools_system_prompt(tools)
    if prompt:
        if rest and rest[0].role == "system":
            first = rest.pop(0)
            content = f"{prompt}\n\n{first.content}" if first.content and first.content.strip() else prompt
            out.append(Message(role="system", content=content, name=first.name))
        else:
            out.append(Message(role="system", content=prompt))
    names_by_id: dict[str, str] = {}
    results: list[str] = []
    for message in rest:
        if message.role == "tool":
            results.append(_response_block(message, names_by_id))
            continue
        if results:
            out.append(Message(role="user", content="\n".join(results)))
            results = []
        if message.tool_calls:
            for call in message.tool_calls:
                if call.id is not None:
                    names_by_id[call.id] = call.name
            out.append(_assistant_text(message))
        else:
            out.append(message)
    if results:
        out.append(Message(role="user", content="\n".join(results)))
    return out


def render_tool_call(call: ToolCall) -> str:
    """One call as the `<tool_call>` block the model is asked to write, so history matches the protocol."""
    return f"{CALL_OPEN}\n{_dumps({'name': call.name, 'arguments': call.arguments})}\n{CALL_CLOSE}"


def _assistant_text(message: Message) -> Message:
    blocks = "\n".join(render_tool_call(call) for call in message.tool_calls)
    content = message.content.rstrip() if message.content else ""
    return Message(
        role="assistant", content=f"{content}\n{blocks}" if content.strip() else blocks, name=message.name
    )


def _response_block(message: Message, names_by_id: dict[str, str]) -> str:
    payload: dict[str, Any] = {}
    name = message.name or (names_by_id.get(message.tool_call_id) if message.tool_call_id else None)
    if name:
        payload["name"] = name
    payload["content"] = message.content or ""
    return f"{RESPONSE_OPEN}\n{_dumps(payload)}\n{RESPONSE_CLOSE}"


def _dumps(value: Any) -> str:
    r"""One-line JSON in which no protocol tag appears literally, so a value can never end a block.

    `<` only ever occurs inside JSON strings, where `\u003c` decodes to the same character.
    """
    text = json.dumps(value, ensure_ascii=False, default=str)
    for tag in _TAGS:
        if tag in text:
            text = text.replace(tag, "\\u003c" + tag[1:])
    return text
