"""ToolCall and Message: the OpenAI chat-completions shape, typed."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A call of a tool by name; `arguments` is always a dict, never a JSON string, inside callforge."""

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class Message(BaseModel):
    """One chat message; assistant messages may carry tool calls, tool messages answer one by id."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    reasoning: str | None = None
    """An assistant's thought before its calls or answer (which tool, why, where each value comes from).

    Kept apart from `content` so the answer text stays the answer and every export chooses where a
    thought goes (a template's `<think>` slot, a `reasoning_content` field, or nowhere)."""
