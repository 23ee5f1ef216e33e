"""Any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama, OpenAI) on the openai 3.x SDK.

The SDK builds and sends requests; callforge owns the policy around them: one retry loop for
429/5xx/timeouts/dropped connections/garbled bodies that honours `retry-after`, an in-flight cap
and a requests-per-minute limit per endpoint, and the reading of the reply into a Completion (the
raw JSON is read with orjson, which also keeps the SDK's per-response parsing off the hot path).

It fails closed on what an endpoint sends back: a reply of the wrong shape is the endpoint's error
(retried), never the model's empty answer; `timeout` bounds the whole request, not each read; the
body is capped on the wire and after decompression; and no message repeats the API key or a
password in the base URL, nor more than a short quote of a server's own error text.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import unquote, urlsplit, urlunsplit

import orjson

from callforge.core import ConfigError, Message, ToolSpec, Verdict, register_secret
from callforge.llm.adaptive import AUTO, AdaptiveLimit, Limit, LimitStats, make_limit
from callforge.llm.backend import BackendError, Completion, Options, RequestRejected, parse_options
from callforge.llm.limits import (
    ACCEPT_ENCODING,
    MAX_DECOMPRESSED_BYTES,
    MAX_REPLY_BYTES,
    RETRYABLE_STATUS,
    BadReply,
    RateLimiter,
    ReplyBody,
    RetryPolicy,
    retry_after_seconds,
)
from callforge.llm.wire import (
    clip,
    message_text,
    messages_to_openai,
    native_tool_calls,
    reply_problem,
    tools_to_openai,
    usage_from_openai,
)

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

ToolMode = Literal["native", "prompt"]
Balance = Literal["least_busy", "round_robin"]
OVERLOAD_STATUS = frozenset({429, 503})
"""Replies that say the server is full: an adaptive limit backs off on them."""

_STATUS_HINTS = {
    400: "the server rejected the request; check the model's context length and the tool schemas",
    401: "the API key was refused; set OPENAI_API_KEY or pass `api_key`",
    403: "the API key may not use this model; check the key's permissions",
    404: "the server does not serve this model or path; check `base_url` (it usually ends in /v1) "
    "and the model name (GET <base-url>/models lists them)",
    422: "the server could not process the request; check the tool schemas and options",
}


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, *, overloaded: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.overloaded = overloaded


class Endpoint:
    """One base URL of a backend: its HTTP client and its in-flight limit (adaptive or fixed)."""

    def __init__(self, base_url: str, limit: Limit) -> None:
        self.base_url = base_url
        self.shown_url, self.hidden = _hide_userinfo(base_url)
        self.limit = limit
        self.client: AsyncOpenAI | None = None

    @property
    def room(self) -> int:
        """Requests this endpoint may still take now."""
        return self.limit.window - self.limit.in_flight


class OpenAIBackend:
    """A model behind an OpenAI-compatible endpoint.

    `tool_mode="native"` sends `tools=` and reads `tool_calls` (and still parses calls out of the
    text when a server without a tool parser leaves them there); `"prompt"` renders the tools into
    the system prompt and parses calls from the text, for servers with no tool support at all.

    `timeout` is the deadline of one whole request, from sending it to the last byte of the reply
    (a server that drips a byte a second cannot hold a request past it); `max_reply_bytes` and
    `max_decompressed_bytes` cap the reply's body on the wire and after gzip/deflate. A reply that
    breaks one of them, or is not a chat completion, is retried like a 5xx. Messages show the URL
    as `shown_url` (`user:***@host`) and never the API key.

    `base_url` may name several replicas of one model (a list, or URLs separated by commas): each
    gets its own connections and its own in-flight limit, and each request (each retry too) goes
    to the least busy one (`balance="least_busy"`, the most room left) or to the next in turn
    (`"round_robin"`). `concurrency="auto"` (the default) finds each endpoint's capacity by itself
    (`callforge.llm.adaptive.AdaptiveLimit`); a number fixes the in-flight cap per endpoint.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | Sequence[str] | None = None,
        api_key: str | None = None,
        tool_mode: ToolMode = "native",
        concurrency: int | str = AUTO,
        rpm: float | None = None,
        timeout: float = 120.0,
        retry: RetryPolicy | None = None,
        client: AsyncOpenAI | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
        balance: Balance = "least_busy",
    ) -> None:
        if tool_mode not in ("native", "prompt"):
            raise ConfigError(f"tool_mode must be 'native' or 'prompt', got {tool_mode!r}")
        if balance not in ("least_busy", "round_robin"):
            raise ConfigError(f"balance must be 'least_busy' or 'round_robin', got {balance!r}")
        try:
            limits = [make_limit(concurrency) for _ in base_urls(base_url)]
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {timeout}")
        for name, cap in (
            ("max_reply_bytes", max_reply_bytes),
            ("max_decompressed_bytes", max_decompressed_bytes),
        ):
            if cap < 1:
                raise ConfigError(f"{name} must be at least 1, got {cap}")
        self.name = model
        self.model = f"openai:{model}"
        self.endpoints = [Endpoint(url, limit) for url, limit in zip(base_urls(base_url), limits, strict=True)]
        self.balance: Balance = balance
        self._turn = 0
        self.base_url = self.endpoints[0].base_url
        self.shown_url = ",".join(e.shown_url for e in self.endpoints)
        hidden = tuple(h for e in self.endpoints for h in e.hidden)
        key = api_key or os.environ.get("OPENAI_API_KEY")
        # Values no message may repeat; ones under 4 characters would garble ordinary words, and
        # the URL is masked by its structure anyway.
        self._secrets = tuple(sorted({s for s in (key or "", *hidden) if len(s) >= 4}, key=len, reverse=True))
        # ... and values every sink of this process masks (run folders, caches: core.secrets).
        register_secret(key, f"the API key of {self.model}")
        for value in hidden:
            register_secret(value, f"the password in {self.shown_url}")
        if not key:
            if any("api.openai.com" in e.base_url for e in self.endpoints):
                raise ConfigError(
                    f"no API key for {self.model} at {self.shown_url}: set OPENAI_API_KEY or pass `api_key` "
                    "(or point `base_url` at a local server such as vLLM or llama.cpp)"
                )
            key = "not-needed"  # local servers ignore the key but the SDK wants one
        self.tool_mode: ToolMode = tool_mode
        # What the response cache keys on: the same request in the other tool mode is another
        # prompt. The endpoint is left out on purpose, so a server restarted on another port still
        # hits; two servers serving different weights under one name need two cache files.
        self.cache_identity = f"{self.model}#{tool_mode}"
        self.concurrency = sum(_widest(e.limit) for e in self.endpoints)
        """The most requests in flight over every endpoint (an adaptive limit's maximum): how wide a job may go."""
        self.timeout = timeout
        self.max_reply_bytes = max_reply_bytes
        self.max_decompressed_bytes = max_decompressed_bytes
        self.retry = retry or RetryPolicy()
        self._api_key = key
        self.endpoints[0].client = client
        self._limiter = RateLimiter(rpm)
        self.retries = 0

    @property
    def _client(self) -> AsyncOpenAI | None:
        return self.endpoints[0].client

    def _pick(self) -> Endpoint:
        """The endpoint for the next request: the one with the most room, or the next in turn."""
        if len(self.endpoints) == 1:
            return self.endpoints[0]
        self._turn = (self._turn + 1) % len(self.endpoints)
        order = self.endpoints[self._turn :] + self.endpoints[: self._turn]
        return order[0] if self.balance == "round_robin" else max(order, key=lambda e: e.room)

    def _get_client(self, endpoint: Endpoint | None = None) -> AsyncOpenAI:
        endpoint = endpoint or self.endpoints[0]
        if endpoint.client is None:
            import httpx2
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            width = _widest(endpoint.limit)
            http = DefaultAsyncHttpxClient(
                limits=httpx2.Limits(max_connections=width, max_keepalive_connections=width),
                # Caps every body before anyone reads it, error bodies the SDK reads included.
                event_hooks={"response": [self._cap_body]},
            )
            endpoint.client = AsyncOpenAI(
                base_url=endpoint.base_url,
                api_key=self._api_key,
                max_retries=0,
                timeout=self.timeout,
                http_client=http,
            )
        return endpoint.client

    async def _cap_body(self, response: httpx2.Response) -> None:
        _cap(response, self.max_reply_bytes, self.max_decompressed_bytes)

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.name!r}, base_url={self.shown_url!r}, tool_mode={self.tool_mode!r})"

    def redact(self, text: str) -> str:
        """`text` with the API key and the base URL's password replaced by `***`, for any message."""
        for endpoint in self.endpoints:
            if endpoint.base_url != endpoint.shown_url:
                text = text.replace(endpoint.base_url, endpoint.shown_url)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        for endpoint in self.endpoints:
            if endpoint.client is not None:
                await endpoint.client.close()
                endpoint.client = None

    def limits(self) -> list[tuple[str, LimitStats]]:
        """Each endpoint (as messages show it) with where its in-flight limit stands: what `auto` found."""
        return [(e.shown_url, e.limit.stats()) for e in self.endpoints]

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
        last = ""
        for attempt in range(self.retry.max_attempts):
            endpoint = self._pick()
            width = await endpoint.limit.acquire()
            latency: float | None = None
            overloaded = False
            try:
                await self._limiter.acquire()
                started = time.perf_counter()
                data = await self._send(body, extra, endpoint)
                latency = time.perf_counter() - started
                return self._completion(data, tools, latency)
            except _Retry as retry:
                last = retry.reason if len(self.endpoints) == 1 else f"{endpoint.shown_url}: {retry.reason}"
                overloaded = retry.overloaded
                wait = self.retry.delay(attempt, retry.retry_after)
            finally:
                endpoint.limit.release(latency, overloaded=overloaded, width=width)
            if attempt + 1 < self.retry.max_attempts:
                self.retries += 1
                await asyncio.sleep(wait)
        raise BackendError(
            self.redact(
                f"{self.model} at {self.shown_url}: gave up after {self.retry.max_attempts} attempts; last error: "
                f"{last}. Check that the server is up and not overloaded, or lower `concurrency` / set `rpm`."
            ),
            model=self.model,
            retryable=True,
        )

    async def _send(self, body: dict[str, Any], extra: dict[str, Any], endpoint: Endpoint | None = None) -> dict[str, Any]:
        import httpx2
        import openai

        client = self._get_client(endpoint)
        try:
            # One deadline for the whole request: the SDK's own timeout is per read, so a reply
            # that trickles in a byte at a time would never trip it.
            async with asyncio.timeout(self.timeout):
                # The SDK's low-level post keeps its auth, headers and error types but skips the
                # per-request transform of typed params (~0.6 ms of CPU each); the body is already
                # JSON. `stream=True` leaves the body unread, to be read here under the caps.
                response = await client.post(
                    "/chat/completions",
                    body={**body, **extra} if extra else body,
                    cast_to=httpx2.Response,
                    stream=True,
                    options={"headers": {"Accept-Encoding": ACCEPT_ENCODING}},
                )
                try:
                    content = await self._read(response)
                finally:
                    await response.aclose()
        except openai.APIStatusError as exc:
            status = exc.status_code
            said = _server_message(exc)
            if status in RETRYABLE_STATUS or status >= 500:
                headers = dict(exc.response.headers) if exc.response is not None else None
                raise _Retry(
                    f"HTTP {status}: {said}", retry_after_seconds(headers), overloaded=status in OVERLOAD_STATUS
                ) from None
            hint = _STATUS_HINTS.get(status, "the server refused the request")
            kind = RequestRejected if status in (400, 413, 422) else BackendError
            raise kind(
                self.redact(f"{self.model} at {self.shown_url}: HTTP {status}: {said}; {hint}"),
                model=self.model,
            ) from None
        except (TimeoutError, openai.APITimeoutError, httpx2.TimeoutException):
            raise _Retry(
                f"no reply within {self.timeout:g} s (the whole request; raise `timeout` if the model is slow)"
            ) from None
        except BadReply as exc:
            raise _Retry(str(exc)) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__
            if isinstance(cause, BadReply):
                raise _Retry(str(cause)) from None
            raise _Retry(f"connection failed: {cause or exc}") from None
        except httpx2.HTTPError as exc:  # the connection broke while the body was being read
            raise _Retry(f"connection failed: {exc}") from None
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise _Retry(f"the reply was malformed: not valid JSON ({exc})") from None
        problem = reply_problem(data)
        if problem is not None:
            raise _Retry(f"the reply was malformed: {problem}")
        return cast("dict[str, Any]", data)

    async def _read(self, response: httpx2.Response) -> bytes:
        """The reply body, decoded and capped (a client passed in has no hook, so cap it here too)."""
        if response.is_stream_consumed:  # a transport that read the body itself (tests' mocks)
            return ReplyBody(
                max_bytes=self.max_reply_bytes, max_decompressed_bytes=self.max_decompressed_bytes
            ).feed(response.content)
        _cap(response, self.max_reply_bytes, self.max_decompressed_bytes)
        return b"".join([chunk async for chunk in response.aiter_raw()])

    def _completion(
        self, data: dict[str, Any], tools: Sequence[ToolSpec] | None, latency: float
    ) -> Completion:
        # `_send` checked the shape (reply_problem), so these are a dict, a dict and text.
        choice: dict[str, Any] = data["choices"][0]
        message: dict[str, Any] = choice["message"]
        content = message_text(message.get("content")) or ""
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


def _widest(limit: Limit) -> int:
    """The most requests a limit ever lets through at once (an adaptive one's maximum)."""
    return limit.maximum if isinstance(limit, AdaptiveLimit) else limit.window


def base_urls(base_url: str | Sequence[str] | None) -> list[str]:
    """The endpoints `base_url` names: a list, or URLs separated by commas (`OPENAI_BASE_URL` too)."""
    given: str | Sequence[str] = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    parts = given.split(",") if isinstance(given, str) else [p for url in given for p in url.split(",")]
    urls = [p.strip() for p in parts if p.strip()]
    if not urls:
        raise ConfigError(f"base_url names no endpoint: {base_url!r}")
    return urls


def _server_message(exc: Any) -> str:
    """The server's own words about an error, quoted and cut short (callers redact secrets)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return clip(str(error["message"]))
    if isinstance(body, str) and body.strip():
        return clip(body)
    return clip(str(getattr(exc, "message", exc)))


def _hide_userinfo(url: str) -> tuple[str, tuple[str, ...]]:
    """The URL as messages may show it (`user:***@host`, or `***@host` for a bare token), and what it hid.

    The hidden value comes back raw and percent-decoded, so a server that echoes it is redacted too.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return ("<base url that could not be parsed>" if "@" in url else url), (url,)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, ()
    user, colon, password = userinfo.partition(":")
    hidden = {password, unquote(password)} if colon else {user, unquote(user)}
    # httpx sends userinfo as `Authorization: Basic base64(user:password)`, which a server may echo.
    hidden.add(base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode())
    shown = f"{user}:***@{host}" if colon else f"***@{host}"
    return urlunsplit(parts._replace(netloc=shown)), tuple(hidden - {""})


@functools.cache
def _capped_stream() -> type[httpx2.AsyncByteStream]:
    """The stream type that decodes a body through `ReplyBody` (built on first use: httpx2 is lazy)."""
    import httpx2

    class CappedStream(httpx2.AsyncByteStream):
        def __init__(self, inner: httpx2.AsyncByteStream, body: ReplyBody) -> None:
            self._inner = inner
            self._body = body

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._inner:
                decoded = self._body.feed(chunk)
                if decoded:
                    yield decoded
            tail = self._body.flush()
            if tail:
                yield tail

        async def aclose(self) -> None:
            await self._inner.aclose()

    return CappedStream


def _cap(response: httpx2.Response, max_bytes: int, max_decompressed_bytes: int) -> None:
    """Put `response`'s unread body behind the caps; decoding moves here from httpx, once."""
    import httpx2

    capped = _capped_stream()
    if isinstance(response.stream, capped) or not isinstance(response.stream, httpx2.AsyncByteStream):
        return
    body = ReplyBody(
        response.headers.get_list("content-encoding", split_commas=True),
        max_bytes=max_bytes,
        max_decompressed_bytes=max_decompressed_bytes,
    )
    length = response.headers.get("content-length", "").strip()
    if length.isdigit():
        body.expect(int(length))
    response.stream = capped(response.stream, body)  # type: ignore[call-arg]
    if "content-encoding" in response.headers:
        del response.headers["content-encoding"]
