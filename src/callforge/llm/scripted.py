"""Fake backends for tests: a script of replies, or a function; they ship so users can test too.

A test that talks to a fake must fail when the code under test asks more or fewer questions than
the test expected, so `ScriptedBackend` raises on an extra request and `assert_done` on a missing one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from callforge.core import Message, ToolCall, ToolSpec, Verdict
from callforge.llm.backend import BackendError, Completion, Options, Usage, parse_options

Reply = Completion | str | ToolCall | Sequence[ToolCall] | BaseException


@dataclass(frozen=True)
class Request:
    """What a fake backend was asked, kept so a test can assert on the prompt it received."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...]
    options: Options


class ScriptError(BackendError):
    """The code under test asked a scripted backend something the script did not foresee."""


def as_completion(reply: Reply, model: str) -> Completion:
    """Turn the shorthand a test writes (text, a call, calls) into a full Completion."""
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, Completion):
        return reply if reply.model else reply.model_copy(update={"model": model})
    if isinstance(reply, str):
        return Completion(text=reply, model=model, finish_reason="stop", usage=_usage(reply))
    calls = (reply,) if isinstance(reply, ToolCall) else tuple(reply)
    if not all(isinstance(c, ToolCall) for c in calls):
        raise TypeError(f"a scripted reply must be text, a ToolCall or ToolCalls, got {reply!r}")
    return Completion(
        tool_calls=calls,
        model=model,
        finish_reason="tool_calls",
        parse=Verdict.passed(format="native"),
        usage=_usage(" ".join(f"{c.name}{c.arguments}" for c in calls)),
    )


def _usage(text: str) -> Usage:
    # A rough, deterministic count so token accounting has something real to add up.
    return Usage(prompt_tokens=0, completion_tokens=max(1, len(text) // 4))


class ScriptedBackend:
    """Answers requests from a fixed script, in order; an extra request is a loud error."""

    def __init__(self, replies: Sequence[Reply], *, model: str = "scripted") -> None:
        self.model = model
        self._replies = list(replies)
        self.requests: list[Request] = []

    @property
    def remaining(self) -> int:
        """Replies not yet consumed."""
        return len(self._replies) - len(self.requests)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Return the next scripted reply, or raise ScriptError when the script is exhausted."""
        request = Request(tuple(messages), tuple(tools or ()), parse_options(options))
        index = len(self.requests)
        self.requests.append(request)
        if index >= len(self._replies):
            last = messages[-1].content if messages else None
            raise ScriptError(
                f"{self.model}: unexpected request #{index + 1}; the script has {len(self._replies)} "
                f"replies. Last message of the request: {last!r}. Add a reply to the script or find "
                "why the code asks again."
            )
        return as_completion(self._replies[index], self.model)

    def assert_done(self) -> None:
        """Fail when replies were left over: the code under test asked fewer questions than planned."""
        if self.remaining:
            raise ScriptError(
                f"{self.model}: {self.remaining} scripted replies were never requested "
                f"(got {len(self.requests)} of {len(self._replies)} requests)"
            )


Responder = Callable[[Request], "Reply | Awaitable[Reply]"]


class FunctionBackend:
    """Answers every request by calling a function: for rule-based fakes too varied to script."""

    def __init__(self, respond: Responder, *, model: str = "function") -> None:
        self.model = model
        self._respond = respond
        self.requests: list[Request] = []

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Call the function with the request and return its reply as a Completion."""
        request = Request(tuple(messages), tuple(tools or ()), parse_options(options))
        self.requests.append(request)
        reply = self._respond(request)
        if inspect.isawaitable(reply):
            reply = await reply
        return as_completion(reply, self.model)
