"""Per-role token accounting: a backend wrapper that charges each request to the task that made it.

Generation shares one backend among many dialogs in flight and several roles (planner, user,
assistant, judge). Wrapping the backend once per role and keeping the tally in a context variable
charges every request to the dialog whose task made it, without threading a ledger through every call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from callforge.core import Message, RoleSpend, Spend, ToolSpec
from callforge.llm import Backend, Completion, cache_identity


@dataclass
class RoleUsage:
    """Requests and tokens one role spent; cached replies count as requests but cost no tokens."""

    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached_prompt_tokens: int = 0

    def add(self, other: RoleUsage) -> None:
        """Fold another tally into this one."""
        self.requests += other.requests
        self.cached += other.cached
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.seconds += other.seconds
        self.cached_prompt_tokens += other.cached_prompt_tokens

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (seconds rounded)."""
        return {
            "requests": self.requests,
            "cached": self.cached,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
            "cached_prompt_tokens": self.cached_prompt_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoleUsage:
        """Read back `to_dict`, ignoring unknown keys."""
        keys = ("requests", "cached", "prompt_tokens", "completion_tokens", "seconds", "cached_prompt_tokens")
        return cls(**{k: data[k] for k in keys if k in data})


@dataclass
class Meter:
    """The tally of one unit of work (one generated dialog), by role."""

    roles: dict[str, RoleUsage] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)

    def timed(self, phase: str, seconds: float) -> None:
        """Add wall time spent in a phase of the work (plan, play, verify)."""
        self.phases[phase] = self.phases.get(phase, 0.0) + seconds

    def charge(self, role: str, completion: Completion) -> None:
        """Add one request's usage to `role`; a cached reply cost nothing now."""
        usage = self.roles.setdefault(role, RoleUsage())
        usage.requests += 1
        if completion.cached:
            usage.cached += 1
            return
        usage.prompt_tokens += completion.usage.prompt_tokens
        usage.completion_tokens += completion.usage.completion_tokens
        usage.cached_prompt_tokens += completion.usage.cached_prompt_tokens
        usage.seconds += completion.latency_s

    def count(self, role: str, seconds: float, *, cached: bool = False) -> None:
        """Charge work that is not a model request (a tool execution) to `role`: a request and its time."""
        usage = self.roles.setdefault(role, RoleUsage())
        usage.requests += 1
        usage.cached += cached
        if not cached:
            usage.seconds += seconds

    @property
    def tokens(self) -> int:
        """All tokens spent, every role together."""
        return sum(u.tokens for u in self.roles.values())

    def spend(self) -> Spend:
        """The tally as the record a dialog's provenance keeps: usage by role (sorted), seconds by phase."""
        return Spend(
            roles={role: RoleSpend(**self.roles[role].to_dict()) for role in sorted(self.roles)},
            phases={phase: round(self.phases[phase], 4) for phase in sorted(self.phases)},
        )


_CURRENT: contextvars.ContextVar[Meter | None] = contextvars.ContextVar("callforge_meter", default=None)


def metering(meter: Meter) -> contextvars.Token[Meter | None]:
    """Charge requests made from this context (and tasks it starts) to `meter`; reset with the token."""
    return _CURRENT.set(meter)


def current_meter() -> Meter | None:
    """The Meter requests made from here are charged to, if any."""
    return _CURRENT.get()


def stop_metering(token: contextvars.Token[Meter | None]) -> None:
    """Undo `metering`."""
    _CURRENT.reset(token)


class MeteredBackend:
    """`backend` under a role name: every reply is charged to the current Meter, if any."""

    def __init__(self, backend: Backend, role: str) -> None:
        """Wrap `backend`; `role` names the tally (planner, user, assistant, judge, tool)."""
        self.inner = backend
        self.role = role
        self.model = backend.model
        self.cache_identity = cache_identity(backend)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Forward the request and charge its usage."""
        completion = await self.inner.complete(messages, tools, **options)
        meter = _CURRENT.get()
        if meter is not None:
            meter.charge(self.role, completion)
        return completion
