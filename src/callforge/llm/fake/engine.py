"""The asyncio HTTP/1.1 server behind `FakeOpenAIServer`: routing, capacity, latency, faults.

Hand-written on `asyncio.start_server` (keep-alive, Content-Length bodies) so the package needs no
web framework and a request costs a few tens of microseconds: benchmarks measure the client,
and the server must not be what limits them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson

from callforge.llm.fake.faults import Fault, pick
from callforge.llm.fake.policy import Policy, Reply, content_text
from callforge.llm.fake.record import RecordedRequest, Stats

HOST = "127.0.0.1"
CHAT_PATH = "/v1/chat/completions"
MAX_BODY = 64 * 1024 * 1024
NAME = "callforge fake server"

_JSON_HEADERS = b"content-type: application/json\r\nserver: callforge-fake\r\n"


class _Close(Exception):
    """The connection must end without (another) response: a drop, a hang, a broken request."""


class Engine:
    """Serves one port on 127.0.0.1 inside the running event loop; see `FakeOpenAIServer`."""

    def __init__(
        self,
        policy: Policy,
        *,
        faults: Sequence[Fault] = (),
        latency_s: float = 0.0,
        capacity: int | None = None,
        model: str = "fake-model",
        port: int = 0,
        record: bool = True,
        overflow: str = "queue",
    ) -> None:
        if overflow not in ("queue", "429"):
            raise ValueError(f"{NAME}: overflow must be 'queue' or '429', got {overflow!r}")
        self.overflow = overflow
        if capacity is not None and capacity < 1:
            raise ValueError(f"{NAME}: capacity must be >= 1 or None (unlimited), got {capacity}")
        if latency_s < 0:
            raise ValueError(f"{NAME}: latency_s must be >= 0, got {latency_s}")
        self.policy = policy
        self.faults = tuple(faults)
        self.latency_s = latency_s
        self.capacity = capacity
        self.model = model
        self.port = port
        self.record = record
        self.requests: list[RecordedRequest] = []
        self.stats = Stats()
        self._index = 0
        self._slots: asyncio.Semaphore | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._models_body = orjson.dumps(
            {
                "object": "list",
                "data": [{"id": model, "object": "model", "created": 0, "owned_by": "callforge"}],
            }
        )

    async def start(self) -> int:
        """Bind 127.0.0.1 (never another interface) and return the port."""
        self._slots = asyncio.Semaphore(self.capacity) if self.capacity else None
        self._server = await asyncio.start_server(self._connection, HOST, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and end every connection, hung requests included, without waiting on them."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for _ in range(10):
            tasks = [t for t in self._tasks if t is not asyncio.current_task()]
            if not tasks:
                break
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=2.0)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    # -- connections -------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while not self._stopping:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except asyncio.LimitOverrunError:
                    await self._send(writer, 431, _error_body("request headers too large"), keep=False)
                    return
                if not await self._request(head, reader, writer):
                    return
        except (_Close, ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _request(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request's body, answer it, and say whether the connection stays open."""
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].decode("latin-1").split(" ", 2)
        except ValueError:
            await self._send(writer, 400, _error_body("malformed request line"), keep=False)
            return False
        length, connection, chunked = 0, b"", False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value) if value.strip().isdigit() else -1
            elif name == b"connection":
                connection = value.strip().lower()
            elif name == b"transfer-encoding":
                chunked = True
        if chunked or length < 0 or length > MAX_BODY:
            problem = "chunked request bodies are not supported; send Content-Length"
            status = 411 if chunked else 413 if length > MAX_BODY else 400
            await self._send(
                writer, status, _error_body(problem if chunked else "bad Content-Length"), keep=False
            )
            return False
        body = await reader.readexactly(length) if length else b""
        keep = connection != b"close" if version == "HTTP/1.1" else connection == b"keep-alive"
        path = target.split("?", 1)[0]
        if path == CHAT_PATH and method == "POST":
            await self._chat(body, writer, keep)
        elif method == "GET" and path in ("/health", "/v1/health"):
            await self._send(writer, 200, b'{"status":"ok"}', keep)
        elif method == "GET" and path == "/v1/models":
            await self._send(writer, 200, self._models_body, keep)
        elif method == "GET" and path == "/_fake/stats":
            await self._send(writer, 200, orjson.dumps(self.stats.as_json()), keep)
        else:
            known = path in (CHAT_PATH, "/health", "/v1/health", "/v1/models", "/_fake/stats")
            status = 405 if known else 404
            message = (
                f"{method} {path} is not served; endpoints: POST {CHAT_PATH}, GET /v1/models, GET /health"
            )
            now = time.monotonic()
            if self.record:
                error = f"{NAME}: {message}"
                rec = RecordedRequest(-1, method, path, _loads(body), now, status=status, error=error)
                rec.finished_at = now
                self.requests.append(rec)
            await self._send(writer, status, _error_body(message, status), keep)
        return keep

    # -- chat completions --------------------------------------------------------------------

    async def _chat(self, body: bytes, writer: asyncio.StreamWriter, keep: bool) -> None:
        index = self._index
        self._index += 1
        stats = self.stats
        stats.received += 1
        request = _loads(body)
        rec = RecordedRequest(index, "POST", CHAT_PATH, request, time.monotonic())
        if self.record:
            self.requests.append(rec)
        fault = pick(self.faults, index) if self.faults else None
        if fault is not None:
            stats.faults += 1
            rec.fault = fault.kind
            if fault.kind in ("429", "500", "503"):
                await self._fail(
                    writer, rec, int(fault.kind), f"injected fault {fault.kind}", keep, fault.retry_after
                )
                return
            if fault.kind == "drop":
                rec.finished_at = time.monotonic()
                raise _Close
            if fault.kind == "hang":
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.get_running_loop().create_future(), fault.hang_s)
                finally:
                    rec.finished_at = time.monotonic()
                raise _Close
        if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
            await self._fail(writer, rec, 400, "the body must be a JSON object with a `messages` list", keep)
            return
        if request.get("stream"):
            await self._fail(writer, rec, 400, "streaming is not supported; send stream=false", keep)
            return
        try:
            reply = self.policy.reply(request)
        except Exception as exc:
            message = str(exc) if str(exc).startswith(NAME) else f"policy {type(exc).__name__}: {exc}"
            await self._fail(writer, rec, 500, message, keep)
            return
        if self.overflow == "429" and self._slots is not None and self._slots.locked():
            stats.overflowed += 1
            await self._fail(writer, rec, 429, "over capacity", keep, 0.05)
            return
        await self._work()
        response = self._completion(request, reply, index)
        if fault is not None and fault.kind == "bad_args":
            _break_arguments(response, request)
        data = orjson.dumps(response)
        if fault is not None and fault.kind == "malformed":
            data = data[: len(data) // 2]
        elif self.record:
            rec.response = response
        rec.status = 200
        await self._send(writer, 200, data, keep, counted=True)
        rec.finished_at = time.monotonic()

    async def _work(self) -> None:
        """Hold a capacity slot for `latency_s`, queueing like an inference server when all are busy."""
        stats, slots = self.stats, self._slots
        if slots is not None and slots.locked():
            stats.waiting += 1
            stats.max_waiting = max(stats.max_waiting, stats.waiting)
            try:
                await slots.acquire()
            finally:
                stats.waiting -= 1
        elif slots is not None:
            await slots.acquire()
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        held = time.monotonic()
        try:
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
        finally:
            stats.busy_s += time.monotonic() - held
            stats.in_flight -= 1
            if slots is not None:
                slots.release()

    def _completion(self, request: dict[str, Any], reply: Reply, index: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        completion_chars = len(reply.text or "")
        if reply.tool_calls:
            calls = []
            for n, call in enumerate(reply.tool_calls):
                arguments = orjson.dumps(call.arguments).decode()
                completion_chars += len(call.name) + len(arguments)
                calls.append(
                    {
                        "id": call.id or f"call_{index}_{n}",
                        "type": "function",
                        "function": {"name": call.name, "arguments": arguments},
                    }
                )
            message["tool_calls"] = calls
        elif message["content"] is None:
            message["content"] = ""
        prompt = max(1, _prompt_chars(request) // 4)
        completion = max(1, completion_chars // 4)
        model = request.get("model")
        return {
            "id": f"chatcmpl-fake-{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model if isinstance(model, str) and model else self.model,
            "system_fingerprint": "callforge-fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    # -- writing -----------------------------------------------------------------------------

    async def _fail(
        self,
        writer: asyncio.StreamWriter,
        rec: RecordedRequest,
        status: int,
        problem: str,
        keep: bool,
        retry_after: float | None = None,
    ) -> None:
        text = problem if problem.startswith(NAME) else f"{NAME}: {problem}"
        message = f"{text} (request #{rec.index})"
        rec.status, rec.error = status, message
        headers = b""
        if retry_after is not None:
            headers = (
                f"retry-after: {retry_after:g}\r\nretry-after-ms: {round(retry_after * 1000)}\r\n".encode()
            )
        await self._send(writer, status, _error_body(message, status), keep, headers, counted=True)
        rec.finished_at = time.monotonic()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        keep: bool,
        headers: bytes = b"",
        *,
        counted: bool = False,
    ) -> None:
        """Write one response; `counted` adds it to the chat-completions counters."""
        if counted:
            stats = self.stats
            stats.served += 1
            stats.by_status[status] = stats.by_status.get(status, 0) + 1
        head = b"HTTP/1.1 %d %s\r\n%scontent-length: %d\r\n%s%s\r\n" % (
            status,
            _REASONS.get(status, b"Unknown"),
            _JSON_HEADERS,
            len(body),
            headers,
            b"" if keep else b"connection: close\r\n",
        )
        writer.write(head + body)
        await writer.drain()


_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found", 429: "rate_limit_exceeded", 503: "overloaded"}


def _error_body(message: str, status: int = 400) -> bytes:
    """An OpenAI-style error object, so SDKs surface the message in their exceptions."""
    message = message if message.startswith(NAME) else f"{NAME}: {message}"
    kind = _ERROR_TYPES.get(status, "server_error")
    return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": kind}})


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return None


def _prompt_chars(request: dict[str, Any]) -> int:
    """Characters of the messages' text and tool-call arguments: the cheap token estimate's input."""
    total = 0
    for message in request.get("messages") or ():
        if isinstance(message, dict):
            total += len(content_text(message.get("content")))
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    total += len(str(function.get("name", ""))) + len(str(function.get("arguments", "")))
    return total


def _break_arguments(response: dict[str, Any], request: dict[str, Any]) -> None:
    """Make the first tool call's `arguments` invalid JSON, adding a call when the reply had none."""
    message = response["choices"][0]["message"]
    calls = message.get("tool_calls")
    if not calls:
        tools = request.get("tools") or [{}]
        function = tools[0].get("function", {}) if isinstance(tools[0], dict) else {}
        name = function.get("name") if isinstance(function, dict) else None
        calls = message["tool_calls"] = [
            {
                "id": "call_bad_args",
                "type": "function",
                "function": {"name": name or "unknown_tool", "arguments": "{}"},
            }
        ]
        message["content"] = None
        response["choices"][0]["finish_reason"] = "tool_calls"
    function = calls[0]["function"]
    function["arguments"] = function["arguments"][:-1]  # '{"a": 1}' -> '{"a": 1' and '{}' -> '{'
