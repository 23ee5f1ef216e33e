"""What the role prompts of several strategies share: the tools listed in words, a role's system message, a JSON reply read leniently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from callforge.core import Message, ToolSpec


def catalogue(tools: Sequence[ToolSpec]) -> str:
    """One line per tool: its name, its parameters (required ones marked `*`) and its description."""
    lines = []
    for tool in tools:
        required = set(tool.parameters.get("required") or ())
        params = ", ".join(f"{name}{'*' if name in required else ''}" for name in tool.properties)
        description = " ".join((tool.description or "").split())
        lines.append(f"- {tool.name}({params})" + (f": {description}" if description else ""))
    return "\n".join(lines) or "(none)"


def with_system(messages: Sequence[Message], prompt: str) -> list[Message]:
    """The conversation with a role's instructions first, in the one system message chat templates accept.

    A system message the conversation already has follows the role's instructions in the same message.
    """
    if messages and messages[0].role == "system":
        own = messages[0].content or ""
        return [Message(role="system", content=f"{prompt}\n\n{own}" if own else prompt), *messages[1:]]
    return [Message(role="system", content=prompt), *messages]


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a reply holds (alone, in a code fence, or amid prose), or None."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = orjson.loads(text[start : end + 1])
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def turn_start(messages: Sequence[Message]) -> bool:
    """True when the conversation ends with the user's message: the first step of a user turn."""
    return bool(messages) and messages[-1].role == "user"
