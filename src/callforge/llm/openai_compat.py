"""Any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama, OpenAI) on the openai 3.x SDK.

The SDK builds and sends requests; callforge owns the policy around them: one retry loop for
429/5xx/timeouts/dropped connections/garbled bodies that honours `retry-after`, an in-flight cap
and a requests-per-minute limit per endpoint, and the reading of the reply into a Completion (the
raw JSON is read with orjson, which also keeps the SDK's per-response parsing off the hot path).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import orjson

from callforge.core import ConfigError, Message, ToolSpec, Verdict
from callforge.llm.backend import BackendError, Completion, Options, RequestRejected, parse_options
from callforge.llm.limits import RETRYABLE_STATUS, RateLimiter, RetryPolicy, retry_after_seconds
from callforge.llm.wire import messages_to_openai, native_tool_calls, tools_to_openai, usage_from_openai

if TYPE_CHECKING:
    from openai import AsyncOpenAI

ToolMode = Literal["native", "prompt"]

_STATUS_HINTS = {
    400: "the server rejected the request; check the model's context length and the tool schemas",
    401: "the API key was refused; set OPENAI_API_KEY or pass `api_key`",
    403: "the API key may not use this model; check the key's permissions",
    404: "the server does not serve this model or path; check `base_url` (it usually ends in /v1) "
    "and the model name (GET <base-url>/models lists them)",
    422: "the server could not process the request; check the tool schemas and options",
}


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class OpenAIBackend:
    """A model behind an OpenAI-compatible endpoint.

    `tool_mode="native"` sends `tools=` and reads `tool_calls` (and still parses calls out of the
    text when a server without a tool parser leaves them there); `"prompt"` renders the tools into
    the system prompt and parses calls from the text, for servers with no tool support at all.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        tool_mode: ToolMode = "native",
        concurrency: int = 16,
        rpm: float | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        client: AsyncOpenAI | None = None,
    ) -> None:
        if tool_mode not in ("native", "prompt"):
            raise ConfigError(f"tool_mode must be 'native' or 'prompt', got {tool_mode!r}")
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        self.name = model
        self.model = f"openai:{model}"
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if "api.openai.com" in self.base_url:
                raise ConfigError(
                    f"no API key for {self.model} at {self.base_url}: set OPENAI_API_KEY or pass `api_key` "
                    "(or point `base_url` at a local server such as vLLM or llama.cpp)"
                )
            key = "not-needed"  # local servers ignore the key but the SDK wants one
        self.tool_mode: ToolMode = tool_mode
        # What the response cache keys on: the same request in the other tool mode is another
        # prompt. The endpoint is left out on purpose, so a server restarted on another port still
        # hits; two servers serving different weights under one name need two cache files.
        self.cache_identity = f"{self.model}#{tool_mode}"
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._api_key = key
        self._client = client
        self._limiter = RateLimiter(rpm)
        self._slots: asyncio.Semaphore | None = None
        self.retries = 0

    def _get_client(self) -> AsyncOpenAI:
        if self._client is None:
            import httpx2
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            http = DefaultAsyncHttpxClient(
                limits=httpx2.Limits(
                    max_connections=self.concurrency, max_keepalive_connections=self.concurrency
                )
            )
            self._client = AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                max_retries=0,
                timeout=self.timeout,
                http_client=http,
            )
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> OpenAIBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def request_body(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, options: Options
    ) -> dict[str, Any]:
        """The JSON body this backend sends for a request; public so tests and caches can see it."""
        offered = list(tools or ())
        if self.tool_mode == "prompt" and offered:
            from callforge.llm.prompt import to_text_protocol

            messages = to_text_protocol(messages, offered)
            offered = []
        body: dict[str, Any] = {"model": self.name, "messages": messages_to_openai(messages)}
        if offered and options.tool_choice != "none":
            body["tools"] = tools_to_openai(offered)
            if options.tool_choice is not None:
                body["tool_choice"] = (
                    options.tool_choice
                    if options.tool_choice in ("auto", "required", "none")
                    else {"type": "function", "function": {"name": options.tool_choice}}
                )
            if options.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = options.parallel_tool_calls
        for field in ("temperature", "max_tokens", "top_p", "seed"):
            value = getattr(options, field)
            if value is not None:
                body[field] = value
        if options.stop:
            body["stop"] = list(options.stop)
        if options.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": options.json_schema},
            }
        return body

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Send one request, retrying what may pass, and read the reply into a Completion."""
        parsed = parse_options(options)
        body = self.request_body(messages, tools, parsed)
        extra = parsed.extra
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        last = ""
        for attempt in range(self.retry.max_attempts):
            async with self._slots:
                await self._limiter.acquire()
                started = time.perf_counter()
                try:
                    data = await self._send(body, extra)
                    return self._completion(data, tools, time.perf_counter() - started)
                except _Retry as retry:
                    last = retry.reason
                    wait = self.retry.delay(attempt, retry.retry_after)
            if attempt + 1 < self.retry.max_attempts:
                self.retries += 1
                await asyncio.sleep(wait)
        raise BackendError(
            f"{self.model} at {self.base_url}: gave up after {self.retry.max_attempts} attempts; last error: "
            f"{last}. Check that the server is up and not overloaded, or lower `concurrency` / set `rpm`.",
            model=self.model,
            retryable=True,
        )

    async def _send(self, body: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        import httpx2
        import openai

        client = self._get_client()
        try:
            # The SDK's low-level post keeps its auth, headers and error types but skips the
            # per-request transform of typed params (~0.6 ms of CPU each); the body is already JSON.
            response = await client.post(
                "/chat/completions", body={**body, **extra} if extra else body, cast_to=httpx2.Response
            )
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status in RETRYABLE_STATUS or status >= 500:
                headers = dict(exc.response.headers) if exc.response is not None else None
                raise _Retry(f"HTTP {status}", retry_after_seconds(headers)) from None
            hint = _STATUS_HINTS.get(status, "the server refused the request")
            kind = RequestRejected if status in (400, 413, 422) else BackendError
            raise kind(
                f"{self.model} at {self.base_url}: HTTP {status}: {_server_message(exc)}; {hint}",
                model=self.model,
            ) from None
        except openai.APITimeoutError:
            raise _Retry(
                f"no reply within {self.timeout:g} s (raise `timeout` if the model is slow)"
            ) from None
        except openai.APIConnectionError as exc:
            raise _Retry(f"connection failed: {exc.__cause__ or exc}") from None
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise _Retry(f"the reply was not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
            raise _Retry("the reply had no choices")
        return data

    def _completion(
        self, data: dict[str, Any], tools: Sequence[ToolSpec] | None, latency: float
    ) -> Completion:
        first = data["choices"][0]
        choice: dict[str, Any] = first if isinstance(first, dict) else {}
        message: dict[str, Any] = choice["message"] if isinstance(choice.get("message"), dict) else {}
        content: str = message["content"] if isinstance(message.get("content"), str) else ""
        calls, verdict = native_tool_calls(message.get("tool_calls"))
        text = content
        if not message.get("tool_calls") and tools and content:
            from callforge.llm.parse import parse_tool_calls

            parsed = parse_tool_calls(content, tools=tools)
            calls, verdict, text = parsed.calls, parsed.verdict, parsed.text
        return Completion(
            text=text,
            tool_calls=calls,
            usage=usage_from_openai(data.get("usage")),
            finish_reason=choice.get("finish_reason"),
            model=self.model,
            parse=verdict if isinstance(verdict, Verdict) else Verdict.passed(format="none"),
            raw=data,
            latency_s=latency,
        )


def _server_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", exc))
