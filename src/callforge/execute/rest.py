"""RestEngine: run tool calls as the HTTP requests their OpenAPI operations describe.

A tool imported by `callforge.tools.openapi.load_openapi` carries an HttpBinding: method, path
template, where each argument travels and which security schemes apply. The engine turns a call
into that request against a base URL, reads credentials from the environment at call time (so
no secret is ever stored in a pool or a dialog), and reports the response as an Observation. A
4xx/5xx answer is the tool failing (`exec.exception`), like a Python tool raising; a server that
cannot be reached is `exec.unavailable`, because the call was never judged.

`read_only=True` is for pointing generation or verification at a live API: only safe methods
(GET, HEAD, OPTIONS) are sent, and any other call is answered by a schema-valid simulation of the
operation's response instead, with an Observation that says it was not sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import orjson

from callforge.core import (
    ConfigError,
    HttpAuth,
    HttpBinding,
    ToolCall,
    ToolSpec,
    Verdict,
    register_secret,
)
from callforge.execute.base import Observation
from callforge.llm import schema_instance
from callforge.tools import validator_for

if TYPE_CHECKING:
    import httpx2

EXCERPT = 300
EVIDENCE = 2000
_EMPTY_STATUSES = frozenset({204, 205, 304})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods HTTP defines as safe (RFC 9110 §9.2.1; TRACE is left out as it is never an API operation):
the only ones a read-only engine sends."""
_SIMULATION_TRIES = 8


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One call as the request to send, plus the query names whose values are secrets."""

    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    content: bytes | None
    data: dict[str, Any] | None
    files: list[tuple[str, tuple[None, bytes]]] | None
    secret_params: set[str]


class _CallError(Exception):
    """A call that cannot be sent as asked; carries the verdict to report."""

    def __init__(self, code: str, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.verdict = Verdict.failed(code, message, **evidence)


class RestEngine:
    """Executes tools that carry an HttpBinding by sending the HTTP request they describe.

    The URL is `base_url` (else the binding's first absolute server) + the binding's server path
    when that server is relative + the path template with its arguments filled in. One
    `httpx2.AsyncClient` per event loop is created on first use; close it with `aclose()` or use
    the engine as an async context manager.

    With `read_only=True` a call whose method is not safe (POST, PUT, PATCH, DELETE ...) is never
    sent. It is answered by simulation rather than refused, so that generation can still plan
    and play out dialogs that create or change things (a refusal would fail every such plan, and
    a read-only run would only ever produce lookups), and a verification still checks that the
    call can be built. The output is a schema-valid instance of the operation's response schema
    (`returns`), with the arguments echoed into fields of the same name when they fit (a created
    resource usually repeats what was sent), and the same for the same arguments every time. The
    Observation says it was not sent: its engine is `rest:read-only` and its verdict carries
    `sent=False` with the request it stands for.
    """

    name = "rest"

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        read_only: bool = False,
    ) -> None:
        """Call operations at `base_url` (default: each spec's own server).

        Args:
            base_url: Absolute http(s) URL the operations live under; overrides the spec's servers.
            timeout: Seconds one request may take (connect, send and read) before `exec.timeout`.
            headers: Headers sent with every request (a user agent, a gateway key ...).
            env: Where credentials are read (`CALLFORGE_AUTH_<SCHEME>`); the process environment by default.
            transport: An httpx2 transport to use instead of the network (tests, ASGI apps).
            read_only: Send only GET, HEAD and OPTIONS requests; answer every other call by simulating
                the operation's response (see the class docs). Credentials are not needed for a call
                that is not sent.

        Raises:
            ConfigError: `base_url` is not an absolute http(s) URL, or `timeout` is not positive.
        """
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(
                    f"base_url={base_url!r} is not an absolute http(s) URL; pass one such as 'http://127.0.0.1:8000'"
                )
            base_url = base_url.rstrip("/")
        if not timeout > 0:
            raise ConfigError(f"timeout={timeout} must be a positive number of seconds")
        self.base_url = base_url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.transport = transport
        self.read_only = read_only
        self.name = "rest:read-only" if read_only else "rest"
        """`rest`, or `rest:read-only`: observations and execution-cache keys tell simulated outputs apart."""
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx2.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    # ------------------------------------------------------------------ client lifecycle

    def _client(self) -> httpx2.AsyncClient:
        """This event loop's client (a client's connection pool cannot move between loops)."""
        import httpx2

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx2.AsyncClient(
                timeout=httpx2.Timeout(self.timeout),
                headers=self.headers,
                transport=self.transport,
                follow_redirects=True,
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the HTTP client of the running loop; a later call opens a new one."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> RestEngine:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ execution

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Send the request for `call` and report the response; never raises for a failing call.

        The observation is redacted: an API that echoes the credential it was sent (a 401 body
        quoting the key) must not carry it into dialogs, caches or a model's feedback.
        """
        observation = await self._execute(call, tool)
        return observation.redacted()

    async def _execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        import httpx2

        started = time.perf_counter()
        binding = tool.binding
        if not isinstance(binding, HttpBinding):
            return Observation.timed(
                call,
                self.name,
                started,
                verdict=Verdict.failed(
                    "exec.unavailable",
                    f"{tool.name} has no HTTP binding, so the rest engine cannot call it; import the tool "
                    "from an OpenAPI spec (callforge.tools.load_openapi) or run it on another engine",
                ),
            )
        sent = not self.read_only or binding.method.upper() in SAFE_METHODS
        try:
            request = self._request(call, tool, binding, credentials=sent)
        except _CallError as exc:
            return Observation.timed(call, self.name, started, verdict=exc.verdict)
        except (TypeError, ValueError) as exc:  # arguments that are not JSON values
            message = f"{tool.name}: the arguments cannot be sent as JSON ({exc})"
            return Observation.timed(
                call, self.name, started, verdict=Verdict.failed("exec.exception", message)
            )
        shown = _redact(request.url, request.params, request.secret_params)
        target = f"{binding.method} {shown}"
        if not sent:
            return self._unsent(call, tool, started, target, shown)
        try:
            response = await self._client().request(
                binding.method,
                request.url,
                params=tuple(request.params),
                headers=request.headers,
                content=request.content,
                data=request.data,
                files=request.files,
            )
        except httpx2.TimeoutException:
            return Observation.timed(
                call,
                self.name,
                started,
                verdict=Verdict.failed(
                    "exec.timeout",
                    f"{target} did not answer within {self.timeout:g} s; raise the engine's timeout if the "
                    "operation is slow",
                    url=shown,
                ),
            )
        except (httpx2.ConnectError, httpx2.UnsupportedProtocol, httpx2.InvalidURL) as exc:
            return Observation.timed(
                call,
                self.name,
                started,
                verdict=Verdict.failed(
                    "exec.unavailable",
                    f"cannot reach {target} ({str(exc) or type(exc).__name__}); start the server, or pass the "
                    "URL where it runs as RestEngine(base_url=...)",
                    url=shown,
                ),
            )
        except httpx2.HTTPError as exc:
            return Observation.timed(
                call,
                self.name,
                started,
                verdict=Verdict.failed(
                    "exec.exception", f"{target} failed: {type(exc).__name__}: {exc}", url=shown
                ),
            )
        return self._outcome(call, started, response, target, shown)

    def _unsent(self, call: ToolCall, tool: ToolSpec, started: float, target: str, shown: str) -> Observation:
        """A read-only engine's answer to a call it must not send: a simulated response, marked as such."""
        verdict = Verdict.passed(
            f"read-only: {target} was not sent; the output is simulated from the operation's response schema",
            sent=False,
            read_only=True,
            request=target,
            url=shown,
        )
        output = simulated_response(tool, call.arguments)
        return Observation.timed(call, self.name, started, output=output, verdict=verdict)

    def _outcome(
        self, call: ToolCall, started: float, response: httpx2.Response, target: str, shown: str
    ) -> Observation:
        """An HTTP response as an Observation: the parsed body, or the failure it reports."""
        status = response.status_code
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if status >= 400:
            body = _body_value(response, media)
            if len(orjson.dumps(body)) > EVIDENCE:  # a page of HTML is not worth keeping whole
                body = response.text[:EVIDENCE]
            text = response.text.strip() if response.content else ""
            excerpt = " ".join(text.split())
            if len(excerpt) > EXCERPT:
                excerpt = excerpt[: EXCERPT - 3] + "..."
            code = f"{status} {response.reason_phrase}" if response.reason_phrase else str(status)
            return Observation.timed(
                call,
                self.name,
                started,
                verdict=Verdict.failed(
                    "exec.exception",
                    f"HTTP {code} from {target}: {excerpt or '(empty body)'}",
                    status=status,
                    url=shown,
                    body=body,
                ),
            )
        if status in _EMPTY_STATUSES or not response.content:
            return Observation.timed(call, self.name, started, output=None)
        if "json" in media or not media:
            try:
                return Observation.timed(call, self.name, started, output=orjson.loads(response.content))
            except orjson.JSONDecodeError as exc:
                if media:
                    return Observation.timed(
                        call,
                        self.name,
                        started,
                        verdict=Verdict.failed(
                            "exec.bad_output",
                            f"{target} answered {status} with {media} that is not valid JSON ({exc})",
                            status=status,
                            url=shown,
                        ),
                    )
        return Observation.timed(call, self.name, started, output=_body_value(response, media))

    # ------------------------------------------------------------------ building the request

    def _request(
        self, call: ToolCall, tool: ToolSpec, binding: HttpBinding, *, credentials: bool = True
    ) -> _Prepared:
        """URL, query, headers and body for one call; raises _CallError when it cannot be built.

        `credentials=False` leaves auth out: for a request that is built but never sent (read-only).
        """
        args = call.arguments
        path = binding.path
        params: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for param in binding.params:
            if param.name not in args or args[param.name] is None:
                if param.location == "path":
                    raise _CallError(
                        "exec.exception",
                        f"{tool.name}: missing path argument {param.name!r} for {binding.method} {binding.path}",
                    )
                continue
            value = args[param.name]
            if param.location == "path":
                path = path.replace("{" + param.wire + "}", quote(_simple(value), safe=""))
            elif param.location == "query":
                params.extend(_query(param.wire, value))
            elif param.location == "header":
                headers[param.wire] = _simple(value)
            else:
                cookies.append(f"{param.wire}={quote(_simple(value), safe='')}")
        secret_params = self._auth(tool, binding, headers, params, cookies) if credentials else set()
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        content, data, files = _body(binding, args, headers)
        return _Prepared(
            self._base(tool, binding) + path, params, headers, content, data, files, secret_params
        )

    def _base(self, tool: ToolSpec, binding: HttpBinding) -> str:
        """The URL the path template goes under: base_url (+ a relative server path), else the spec's server."""
        first = binding.servers[0] if binding.servers else None
        if self.base_url is not None:
            prefix = first.strip("/") if first is not None and "://" not in first else ""
            return f"{self.base_url}/{prefix}" if prefix else self.base_url
        absolute = next((s for s in binding.servers if "://" in s), None)
        relative = next((s for s in binding.servers if "://" not in s), None)
        if absolute is None:
            raise _CallError(
                "exec.unavailable",
                f"{tool.name}: the spec declares no absolute server URL"
                + (f" (only {relative!r})" if relative else "")
                + "; pass the API's URL as RestEngine(base_url=...)",
            )
        return absolute.rstrip("/")

    def _auth(
        self,
        tool: ToolSpec,
        binding: HttpBinding,
        headers: dict[str, str],
        params: list[tuple[str, str]],
        cookies: list[str],
    ) -> set[str]:
        """Add every credential found in the environment; return the query names that carry secrets.

        An operation accepts any of its schemes, so one credential is enough; with none set (and
        no header of the engine's own supplying it) the call cannot run as the spec says.
        """
        if not binding.auth:
            return set()
        preset = {k.lower() for k in self.headers}
        applied = False
        secret: set[str] = set()
        for auth in binding.auth:
            value = self.env.get(auth.env)
            if not value:
                applied |= auth.location == "header" and auth.wire.lower() in preset
                continue
            applied = True
            register_secret(value, f"${auth.env}")
            _apply(auth, value, headers, params, cookies)
            if auth.location == "query":
                secret.add(auth.wire)
        if not applied:
            wanted = " or ".join(f"{a.env} ({_what(a)})" for a in binding.auth)
            raise _CallError(
                "exec.unavailable",
                f"{tool.name} needs credentials: export {wanted}",
                env=[a.env for a in binding.auth],
            )
        return secret


def simulated_response(tool: ToolSpec, arguments: Mapping[str, Any]) -> Any:
    """A schema-valid stand-in for the response of a call that was not sent (read-only mode).

    An instance of `tool.returns` (None when the operation declares no JSON response, as for a
    204), drawn from a generator seeded by the tool and the arguments, so the same call always
    gets the same answer (the execution cache and `compare_outputs` re-runs agree). Top-level
    fields named like an argument take the argument's value when the result still validates,
    because a create or update operation usually answers with the resource it was sent.
    """
    schema = tool.returns
    if not isinstance(schema, dict) or not schema:
        return None
    validate = validator_for(schema)
    call_json = orjson.dumps([tool.name, dict(arguments)], option=orjson.OPT_SORT_KEYS, default=repr)
    digest = hashlib.sha256(call_json).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    drawn = schema_instance(schema, rng)
    for _ in range(_SIMULATION_TRIES - 1):  # `pattern` and a few formats are not generated; draw again
        if not validate(drawn):
            break
        drawn = schema_instance(schema, rng)
    properties = schema.get("properties")
    if isinstance(drawn, dict) and isinstance(properties, dict):
        for key, value in arguments.items():
            if key in properties:
                echoed = {**drawn, key: value}
                if not validate(echoed):
                    drawn = echoed
    return drawn


def _apply(
    auth: HttpAuth, value: str, headers: dict[str, str], params: list[tuple[str, str]], cookies: list[str]
) -> None:
    if auth.type == "bearer":
        headers["Authorization"] = f"Bearer {value}"
    elif auth.type == "basic":
        user_pass = value if ":" in value else f"{value}:"
        headers["Authorization"] = "Basic " + base64.b64encode(user_pass.encode()).decode()
    elif auth.location == "header":
        headers[auth.wire] = value
    elif auth.location == "query":
        params.append((auth.wire, value))
    else:
        cookies.append(f"{auth.wire}={quote(value, safe='')}")


def _what(auth: HttpAuth) -> str:
    if auth.type == "bearer":
        return "a bearer token"
    if auth.type == "basic":
        return "user:password"
    return f"the API key sent as {auth.location} {auth.wire!r}"


def _scalar(value: Any) -> str:
    """One value as text on the wire: JSON spelling for booleans and null, JSON for nested values."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else ""
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def _simple(value: Any) -> str:
    """OpenAPI's `simple` style (paths and headers): arrays and objects comma-separated."""
    if isinstance(value, list):
        return ",".join(_scalar(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k},{_scalar(v)}" for k, v in value.items())
    return _scalar(value)


def _query(name: str, value: Any) -> list[tuple[str, str]]:
    """OpenAPI's default `form` style, exploded: arrays as repeated keys, objects as their own keys."""
    if isinstance(value, list):
        return [(name, _scalar(v)) for v in value]
    if isinstance(value, dict):
        return [(str(k), _scalar(v)) for k, v in value.items()]
    return [(name, _scalar(value))]


def _body(
    binding: HttpBinding, args: Mapping[str, Any], headers: dict[str, str]
) -> tuple[bytes | None, dict[str, Any] | None, list[tuple[str, tuple[None, bytes]]] | None]:
    """The request body as (content, form data, multipart files), encoded as the binding's media type."""
    if binding.body_arg is not None:
        if binding.body_arg not in args:
            return None, None, None
        body: Any = args[binding.body_arg]
    elif binding.body_fields:
        body = {k: args[k] for k in binding.body_fields if k in args}
        if not body:
            return None, None, None
    else:
        return None, None, None
    media = (binding.content_type or "application/json").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded" and isinstance(body, dict):
        return (
            None,
            {k: [_scalar(x) for x in v] if isinstance(v, list) else _scalar(v) for k, v in body.items()},
            None,
        )
    if media == "multipart/form-data" and isinstance(body, dict):
        fields = [(k, x) for k, v in body.items() for x in (v if isinstance(v, list) else [v])]
        return None, None, [(k, (None, _scalar(x).encode())) for k, x in fields]
    headers["Content-Type"] = binding.content_type or "application/json"
    if "json" in media or media == "*/*" or not isinstance(body, str):
        return orjson.dumps(body), None, None
    return body.encode(), None, None


def _body_value(response: httpx2.Response, media: str) -> Any:
    """A response body as a JSON value: parsed JSON, text, or a note of how many bytes of what."""
    if not response.content:
        return None
    if "json" in media:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass
    textual = media.startswith("text/") or any(t in media for t in ("xml", "javascript", "yaml", "form"))
    if textual or not media:
        return response.text
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError:
        return f"<{len(response.content)} bytes of {media}>"


def _redact(url: str, params: list[tuple[str, str]], secret: set[str]) -> str:
    """The URL as shown in messages: query values that carry credentials replaced by `***`."""
    if not params:
        return url
    shown = "&".join(f"{quote(k, safe='')}={'***' if k in secret else quote(v, safe='')}" for k, v in params)
    return f"{url}?{shown}"
