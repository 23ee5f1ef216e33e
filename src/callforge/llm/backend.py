"""The one interface to a model: `Backend.complete(messages, tools, **options) -> Completion`.

Provider types never cross this line: a backend turns its provider's reply into a `Completion`
of callforge records, so every stage above (eval, generation, judges) is provider-agnostic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from callforge.core import CallforgeError, Message, ToolCall, ToolSpec, Verdict

ToolChoice = Literal["auto", "none", "required"] | str


class Usage(BaseModel):
    """Tokens one request consumed, as the server reported them (0 when it did not say)."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    """Of `prompt_tokens`, those the server took from its prompt cache instead of processing again
    (OpenAI's `prompt_tokens_details.cached_tokens`, llama.cpp's `timings.cache_n`)."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def processed_prompt_tokens(self) -> int:
        """Prompt tokens the server had to process: what a prompt costs on a CPU."""
        return max(0, self.prompt_tokens - self.cached_prompt_tokens)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


class Completion(BaseModel):
    """A model's reply: text, tool calls already parsed into records, usage, and the raw reply.

    `parse` says how the calls were obtained: passed with `evidence["format"]` ("native",
    "hermes", "json", "python", ... or "none" when there was no call), or failed with a
    `parse.*` code when the model tried to call a tool and the attempt could not be read;
    `raw` keeps the provider's JSON so nothing the model produced is ever lost.
    """

    model_config = ConfigDict(frozen=True)

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    model: str = ""
    parse: Verdict = Field(default_factory=lambda: Verdict.passed(format="none"))
    raw: dict[str, Any] | None = None
    cached: bool = False
    latency_s: float = 0.0


class Options(BaseModel):
    """Sampling options every backend understands; anything else passes through to the server.

    `sample` is never sent: it tells apart repeated requests that are otherwise identical (the
    n-th sample at temperature > 0), so the response cache keeps one entry per sample.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    json_schema: dict[str, Any] | None = None
    sample: int = 0

    @property
    def extra(self) -> dict[str, Any]:
        """Options this record does not name, for the provider's `extra_body`."""
        return dict(self.model_extra or {})


@runtime_checkable
class Backend(Protocol):
    """Anything that answers chat messages; `model` names it in records and cache keys.

    A backend whose answers depend on more than the model name (an endpoint, a tool mode) may also
    carry a `cache_identity` string; the response cache keys on that instead.
    """

    model: str

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Send one chat request and return the reply; retries are the backend's business."""
        ...


class BackendError(CallforgeError):
    """A model request failed for good (after retries) or can never succeed as configured.

    `retryable` tells a run whether the same request may succeed later (a dead endpoint, a rate
    limit that outlasted the retries) so a resumed run tries it again instead of recording it.
    """

    def __init__(self, message: str, *, model: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.model = model
        self.retryable = retryable


class RequestRejected(BackendError):
    """The server refused this one request (longer than the context, a schema it cannot compile, HTTP 400/413/422).

    Other requests may still succeed, so a run records the item that needed this request as failed
    and goes on, instead of stopping as it does for a setup error (a bad key, an unknown model).
    """


def parse_options(options: dict[str, Any]) -> Options:
    """Validate `**options` once, at the edge, so a typo'd type fails before any request is sent."""
    from pydantic import ValidationError

    try:
        return Options.model_validate(options)
    except ValidationError as exc:
        raise BackendError(f"invalid backend options {options!r}: {exc}") from None


@runtime_checkable
class Closable(Protocol):
    """A backend (or engine) that holds a connection, a process or a loaded model until it is closed."""

    async def aclose(self) -> None:
        """Release what it holds; safe to call more than once."""
        ...


@runtime_checkable
class CacheKeyed(Protocol):
    """A backend whose answers depend on more than its model name (an endpoint, a tool mode).

    The response cache keys on `cache_identity` instead of `model`, so two endpoints serving a
    model of the same name never share answers.
    """

    cache_identity: str


@runtime_checkable
class Bounded(Protocol):
    """A backend that knows how many requests it can keep in flight (an endpoint's slots, one local model)."""

    concurrency: int


def cache_identity(backend: Backend) -> str:
    """What the response cache keys a backend's answers on: its `cache_identity`, else its model name."""
    return backend.cache_identity if isinstance(backend, CacheKeyed) else backend.model


def _model_name(value: str | Backend) -> str:
    return value if isinstance(value, str) else value.model


ModelRef = Annotated[str | Backend, PlainSerializer(_model_name, return_type=str)]
"""A model in a job config: a spec string (`local:...`, `openai:...`) or a Backend object.

A config stores (and compares on resume) the spec, or a Backend's `model` name, so a run made
with a test's scripted backend records which one it was.
"""
