"""What the OpenAI-compatible backend does with replies an endpoint should never send: a 200 of the
wrong shape, a body dripped a byte a second, a gzip bomb, a reply far larger than any answer, and
error text or URLs that carry a secret. Each is an endpoint error (retried, then a `BackendError`),
never a model's answer, and no message repeats a password or an API key.

The endpoint is a tiny loopback server in the test's own event loop, so each test writes the exact
bytes it needs (the fake OpenAI server only speaks well-formed HTTP).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from callforge.core import ConfigError, Message
from callforge.llm.backend import BackendError, Completion
from callforge.llm.limits import RetryPolicy
from callforge.llm.openai_compat import OpenAIBackend

USER = [Message(role="user", content="hi")]
QUICK = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
MiB = 1024 * 1024

Respond = Callable[[int, dict[str, str], asyncio.StreamWriter], Awaitable[None]]


class Endpoint:
    """An HTTP/1.1 server on 127.0.0.1 whose replies `respond(index, headers, writer)` writes raw."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.hits = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def __aenter__(self) -> Endpoint:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            headers: dict[str, str] = {}
            for line in head.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            await reader.readexactly(int(headers.get("content-length", "0")))
            index, self.hits = self.hits, self.hits + 1
            await self.respond(index, headers, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


def head(status: int = 200, length: int | None = None, extra: str = "") -> bytes:
    size = "" if length is None else f"content-length: {length}\r\n"
    return f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{size}{extra}connection: close\r\n\r\n".encode()


def send(body: bytes, status: int = 200, extra: str = "") -> Respond:
    async def respond(index: int, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        writer.write(head(status, len(body), extra) + body)
        await writer.drain()

    return respond


def chat(content: Any = "fine", **message: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }


def ask(respond: Respond, **kwargs: Any) -> tuple[Completion | BackendError, int, float]:
    """One request through a fresh backend: the reply or the error, the server's hits, seconds taken."""

    async def go() -> tuple[Completion | BackendError, int, float]:
        async with Endpoint(respond) as endpoint:
            kwargs.setdefault("retry", QUICK)
            kwargs.setdefault("api_key", "sk-test-secret-key")
            base_url = kwargs.pop("base_url", endpoint.base_url)
            started = time.monotonic()
            async with OpenAIBackend("m", base_url=base_url, **kwargs) as b:
                try:
                    outcome: Completion | BackendError = await b.complete(USER)
                except BackendError as exc:
                    outcome = exc
            return outcome, endpoint.hits, time.monotonic() - started

    return asyncio.run(go())


# -- the shape of a 200 -------------------------------------------------------------------------

WRONG_SHAPES = {
    "no choices": {"choices": []},
    "choices missing": {"id": "x", "object": "chat.completion"},
    "null message": {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
    "message missing": {"choices": [{"index": 0, "finish_reason": "stop"}]},
    "choice not an object": {"choices": ["hello"]},
    "content a number": {"choices": [{"message": {"role": "assistant", "content": 5}}]},
    "tool_calls not a list": {
        "choices": [{"message": {"role": "assistant", "content": None, "tool_calls": "x"}}]
    },
    "a list": [{"message": {"content": "x"}}],
    "an error object in a 200": {"error": {"message": "upstream model crashed"}},
}


@pytest.mark.parametrize("body", list(WRONG_SHAPES.values()), ids=list(WRONG_SHAPES))
def test_a_200_of_the_wrong_shape_is_an_endpoint_error_retried_never_an_answer(body: Any) -> None:
    outcome, hits, _ = ask(send(orjson.dumps(body)))
    assert isinstance(outcome, BackendError), f"read as the model's answer: {outcome!r}"
    assert outcome.retryable and hits == QUICK.max_attempts
    assert "malformed" in str(outcome)


def test_a_200_with_an_error_object_names_the_servers_message() -> None:
    outcome, _, _ = ask(send(orjson.dumps(WRONG_SHAPES["an error object in a 200"])))
    assert isinstance(outcome, BackendError) and "upstream model crashed" in str(outcome)


def test_a_malformed_reply_then_a_good_one_gives_the_good_one() -> None:
    bodies = [orjson.dumps({"choices": [{"message": None}]}), orjson.dumps(chat("second try"))]

    async def respond(index: int, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        await send(bodies[min(index, 1)])(index, headers, writer)

    outcome, hits, _ = ask(respond)
    assert isinstance(outcome, Completion) and outcome.text == "second try" and hits == 2


@pytest.mark.parametrize(
    "message",
    [
        {
            "content": None,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"content": ""},
        {"content": None},
        {"content": [{"type": "text", "text": "in "}, {"type": "text", "text": "parts"}]},
    ],
    ids=["null content with calls", "empty content", "null content", "content parts"],
)
def test_well_formed_replies_still_read(message: dict[str, Any]) -> None:
    outcome, hits, _ = ask(send(orjson.dumps(chat(**message))))
    assert isinstance(outcome, Completion) and hits == 1
    if isinstance(message["content"], list):
        assert outcome.text == "in parts"


# -- time: a total deadline, not a per-read one -------------------------------------------------


def test_a_reply_dripped_a_byte_a_second_fails_at_the_total_deadline() -> None:
    async def drip(index: int, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        writer.write(head(200, 1000))
        for _ in range(60):  # each byte comes well within a per-read timeout; the whole never does
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(1.0)

    outcome, hits, took = ask(drip, timeout=2.0, retry=RetryPolicy(max_attempts=1))
    assert isinstance(outcome, BackendError) and outcome.retryable
    assert "no reply within 2 s" in str(outcome)
    assert hits == 1 and took < 30


# -- size: on the wire and decompressed ---------------------------------------------------------


def _big_answer(size: int) -> bytes:
    return orjson.dumps(chat("a" * size))


def test_a_reply_over_the_size_cap_is_an_endpoint_error() -> None:
    outcome, hits, _ = ask(send(_big_answer(4 * MiB)), max_reply_bytes=1 * MiB)
    assert isinstance(outcome, BackendError), "a 4 MiB reply was read with a 1 MiB cap"
    assert outcome.retryable and hits == QUICK.max_attempts and "larger than" in str(outcome)


def test_a_reply_without_content_length_is_cut_at_the_cap() -> None:
    body = _big_answer(4 * MiB)

    async def unsized(index: int, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        writer.write(head(200, None))  # no length: the body ends when the connection closes
        for start in range(0, len(body), 64 * 1024):
            writer.write(body[start : start + 64 * 1024])
            await writer.drain()

    outcome, _, _ = ask(unsized, max_reply_bytes=1 * MiB)
    assert isinstance(outcome, BackendError) and "larger than" in str(outcome)


def test_a_gzip_bomb_is_stopped_at_the_decompressed_cap() -> None:
    bomb = gzip.compress(_big_answer(10 * MiB), compresslevel=9)
    assert len(bomb) < 100 * 1024
    outcome, hits, _ = ask(send(bomb, extra="content-encoding: gzip\r\n"), max_decompressed_bytes=1 * MiB)
    assert isinstance(outcome, BackendError), "a 10 MiB gzip bomb was read with a 1 MiB cap"
    assert hits == QUICK.max_attempts and "decompressed" in str(outcome)


def test_an_error_status_body_is_capped_too() -> None:
    huge = orjson.dumps({"error": {"message": "x" * (4 * MiB)}})
    outcome, _, _ = ask(send(huge, status=400), max_reply_bytes=1 * MiB)
    assert isinstance(outcome, BackendError) and "larger than" in str(outcome)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_replies_under_the_cap_are_read(encoding: str) -> None:
    body = _big_answer(100_000)
    if encoding == "gzip":
        packed = gzip.compress(body)
    elif encoding == "deflate":
        packed = zlib.compress(body)
    else:
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = squeezer.compress(body) + squeezer.flush()
    name = "deflate" if encoding == "raw-deflate" else encoding
    outcome, hits, _ = ask(send(packed, extra=f"content-encoding: {name}\r\n"))
    assert isinstance(outcome, Completion) and outcome.text == "a" * 100_000 and hits == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_corrupt_compressed_body_is_an_endpoint_error(encoding: str) -> None:
    outcome, hits, _ = ask(
        send(b"\x1f\x8b this is not compressed", extra=f"content-encoding: {encoding}\r\n")
    )
    assert isinstance(outcome, BackendError) and hits == QUICK.max_attempts
    assert "corrupt" in str(outcome)


def test_limits_have_defaults_and_can_be_raised() -> None:
    b = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1")
    assert b.max_reply_bytes == 32 * MiB and b.max_decompressed_bytes == 32 * MiB
    raised = OpenAIBackend(
        "m", base_url="http://127.0.0.1:9/v1", max_reply_bytes=256 * MiB, max_decompressed_bytes=512 * MiB
    )
    assert raised.max_reply_bytes == 256 * MiB and raised.max_decompressed_bytes == 512 * MiB
    with pytest.raises(ConfigError):
        OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", max_reply_bytes=0)


# -- secrets in messages ------------------------------------------------------------------------


def test_a_password_in_the_base_url_never_appears_in_an_error() -> None:
    async def dead_port() -> str:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        return f"http://alice:hunter2-pass@127.0.0.1:{port}/v1"

    url = asyncio.run(dead_port())
    outcome, _, _ = ask(send(b""), base_url=url)
    assert isinstance(outcome, BackendError)
    text = str(outcome)
    assert "hunter2-pass" not in text and "alice:***@127.0.0.1" in text


@pytest.mark.parametrize("userinfo", ["", "alice:hunter2-pass@"], ids=["bearer key", "url password"])
def test_a_servers_error_text_is_capped_and_loses_the_secrets(userinfo: str) -> None:
    async def echo_401(index: int, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        said = f"Incorrect credentials: {headers.get('authorization')}; password hunter2-pass. " + "z" * 5000
        await send(orjson.dumps({"error": {"message": said}}), status=401)(index, headers, writer)

    async def go() -> BackendError:
        async with Endpoint(echo_401) as endpoint:
            url = endpoint.base_url.replace("http://", f"http://{userinfo}")
            async with OpenAIBackend("m", base_url=url, api_key="sk-test-secret-key", retry=QUICK) as b:
                with pytest.raises(BackendError) as caught:
                    await b.complete(USER)
                return caught.value

    text = str(asyncio.run(go()))
    # httpx sends a URL's userinfo as Basic auth: its base64 is the password too.
    basic = base64.b64encode(b"alice:hunter2-pass").decode()
    assert "sk-test-secret-key" not in text and basic not in text
    assert "Incorrect credentials: Bearer ***" in text or "Incorrect credentials: Basic ***" in text
    assert "HTTP 401" in text and "z" * 300 not in text and len(text) < 1000
    if userinfo:
        assert "hunter2-pass" not in text and "alice:***@" in text


def test_a_retried_status_names_the_servers_text_without_secrets() -> None:
    body = orjson.dumps({"error": {"message": "engine queue full; key sk-test-secret-key"}})
    outcome, hits, _ = ask(send(body, status=503))
    assert isinstance(outcome, BackendError) and hits == QUICK.max_attempts
    assert "HTTP 503" in str(outcome) and "engine queue full" in str(outcome)
    assert "sk-test-secret-key" not in str(outcome)


def test_a_missing_key_error_hides_the_url_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        OpenAIBackend("gpt-4o-mini", base_url="https://bob:s3cret-pw@api.openai.com/v1")
    assert "s3cret-pw" not in str(caught.value) and "bob:***@api.openai.com" in str(caught.value)


def test_the_shown_url_masks_userinfo() -> None:
    b = OpenAIBackend("m", base_url="http://alice:hunter2-pass@127.0.0.1:9/v1")
    assert b.shown_url == "http://alice:***@127.0.0.1:9/v1"
    assert "hunter2-pass" not in repr(b)
    assert (
        OpenAIBackend("m", base_url="http://token-only@127.0.0.1:9/v1").shown_url
        == "http://***@127.0.0.1:9/v1"
    )


def test_a_live_evaluation_logs_no_password_to_errors_jsonl(bfcl_dir: Path, tmp_path: Path) -> None:
    from callforge.evaluate import Style, evaluate_model

    async def refuse(index: int, headers: dict[str, str], writer: asyncio.StreamWriter) -> None:
        await send(orjson.dumps({"error": {"message": f"down; got {headers.get('authorization')}"}}), 503)(
            index, headers, writer
        )

    async def go() -> None:
        async with Endpoint(refuse) as endpoint:
            url = endpoint.base_url.replace("http://", "http://alice:hunter2-pass@")
            b = OpenAIBackend("m", base_url=url, api_key="sk-test-secret-key", retry=QUICK)
            # evaluate_model runs its own loop: give it a thread while this loop serves.
            await asyncio.to_thread(
                evaluate_model,
                model=b,
                data=bfcl_dir / "data",
                out=tmp_path,
                style=Style.FC,
                categories=["simple_python"],
                limit=2,
            )

    asyncio.run(go())
    logged = (tmp_path / "errors.jsonl").read_text(encoding="utf-8")
    assert "alice:***@" in logged and "HTTP 503" in logged
    assert "hunter2-pass" not in logged and "sk-test-secret-key" not in logged
    assert base64.b64encode(b"alice:hunter2-pass").decode() not in logged
