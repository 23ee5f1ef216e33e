"""RestEngine against a real HTTP server on 127.0.0.1 that implements tests/data/openapi/library.yaml."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from callforge.core import (
    ConfigError,
    Dialog,
    HttpAuth,
    HttpBinding,
    HttpParam,
    Message,
    ToolCall,
    ToolSpec,
)
from callforge.execute.base import Engine, Observation
from callforge.execute.rest import RestEngine
from callforge.tools.openapi import load_openapi
from callforge.verify.execution import ExecutionStage

SPEC = Path(__file__).parent / "data" / "openapi" / "library.yaml"
TOKEN = "secret-token"
API_KEY = "k-123"
ENV = {"CALLFORGE_AUTH_BEARERAUTH": TOKEN, "CALLFORGE_AUTH_APIKEYAUTH": API_KEY}
BOOKS = [
    {"id": 1, "title": "Dune", "author": "Frank Herbert", "tags": ["sf"], "year": 1965},
    {"id": 2, "title": "Emma", "author": "Jane Austen", "tags": ["classic"], "year": None},
]
TREE = {
    "name": "fiction",
    "children": [{"name": "sf", "children": [{"name": "space opera", "children": []}]}],
}


SLOW_RELEASE = threading.Event()
"""Holds the `/slow` route while cleared (a test clears it, then releases it): an event, not a clock."""
SLOW_RELEASE.set()


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Library:
    url: str
    seen: list[Seen] = field(default_factory=list)

    def last(self) -> Seen:
        return self.seen[-1]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        seen = Seen(
            self.command,
            parts.path,
            parse_qs(parts.query),
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length),
        )
        self.server.library.seen.append(seen)
        status, body, media = self._route(seen)
        data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, seen: Seen) -> tuple[int, Any, str]:
        json_type = "application/json"
        path, method = seen.path, seen.method
        if not path.startswith("/api/v1/"):
            return 404, {"code": 404, "message": f"no route {path}"}, json_type
        path = path.removeprefix("/api/v1")
        bearer = seen.headers.get("authorization") == f"Bearer {TOKEN}"
        if path == "/books" and method == "GET":
            found = [b for b in BOOKS if all(t in b["tags"] for t in seen.query.get("tag", []))]
            return 200, found, json_type
        if path == "/books" and method == "POST":
            if not bearer:
                return 401, {"code": 401, "message": "missing or wrong bearer token"}, json_type
            book = seen.json()
            if not book.get("title"):
                return 422, {"code": 422, "message": "title must not be empty"}, json_type
            return 201, {"id": 3, **book}, json_type
        if m := re.fullmatch(r"/books/(\d+)", path):
            book_id = int(m[1])
            if method == "DELETE":
                if seen.headers.get("x-api-key") != API_KEY:
                    return 401, {"code": 401, "message": "bad api key"}, json_type
                return 204, None, json_type
            for book in BOOKS:
                if book["id"] == book_id:
                    return 200, book, json_type
            return 404, {"code": 404, "message": f"no book {book_id}"}, json_type
        if re.fullmatch(r"/categories/[^/]+/tree", path):
            return 200, TREE, json_type
        if path == "/categories" and method == "POST":
            return (
                (201, seen.json(), json_type) if bearer else (401, {"code": 401, "message": "no"}, json_type)
            )
        if path == "/search":
            doc = seen.json()
            return 200, {"query": doc["query"], "hits": len(doc["query"])}, json_type
        if path == "/login":
            form = parse_qs(seen.body.decode())
            return 200, {"token": f"t-{form['username'][0]}"}, json_type
        if path == "/ping":
            return 200, b"pong", "text/plain; charset=utf-8"
        if path == "/slow":
            SLOW_RELEASE.wait(timeout=30)  # until the test has seen the client give up (or 30 s)
            return 200, {"done": True}, json_type
        if path.startswith("/echo"):
            return (
                200,
                {
                    "path": seen.path,
                    "content_type": seen.headers.get("content-type"),
                    "body": seen.body.decode(),
                    "cookie": seen.headers.get("cookie"),
                },
                json_type,
            )
        if path == "/whoami":  # a careless API: its error body quotes the credentials it was sent
            said = f"token {seen.headers.get('authorization')} with key {seen.query.get('api_key')} is not valid"
            status = 200 if "ok" in seen.query else 401
            return status, {"message": said, "echo": seen.headers.get("authorization")}, json_type
        if path == "/broken":
            return 200, b"{not json", json_type
        return 500, b"<html>Internal Server Error</html>", "text/html"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    library: Library

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) is expected; the tests check what arrived


@pytest.fixture(scope="module")
def library() -> Iterator[Library]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.library = Library(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.library
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tools() -> dict[str, ToolSpec]:
    return {t.name: t for t in load_openapi(SPEC)}


def run(engine: RestEngine, tool: ToolSpec, **arguments: Any) -> Observation:
    async def go() -> Observation:
        async with engine:
            return await engine.execute(ToolCall(name=tool.name, arguments=arguments), tool)

    return asyncio.run(go())


def engine_for(library: Library, **options: Any) -> RestEngine:
    return RestEngine(library.url, env=options.pop("env", ENV), **options)


def test_engine_protocol() -> None:
    engine = RestEngine("http://127.0.0.1:1")
    assert isinstance(engine, Engine)
    assert engine.name == "rest"


def test_query_array_mapped_name_and_header(library: Library, tools: dict[str, ToolSpec]) -> None:
    tool = tools["listBooks"]
    obs = run(
        engine_for(library, headers={"User-Agent": "callforge-test"}),
        tool,
        q="dune",
        tag=["sf", "space"],
        page_size=5,
        **{"X-Request-Id": "r-1"},
    )
    seen = library.last()
    assert (seen.method, seen.path) == ("GET", "/api/v1/books")
    assert seen.query == {"q": ["dune"], "tag": ["sf", "space"], "page[size]": ["5"]}
    assert seen.headers["x-request-id"] == "r-1"
    assert seen.headers["user-agent"] == "callforge-test"
    assert "authorization" not in seen.headers  # a public operation sends no credential
    assert obs.ok and obs.engine == "rest" and obs.output == []
    assert obs.latency_s > 0


def test_path_param_is_url_encoded(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(engine_for(library), tools["getCategoryTree"], categoryId="sci fi/old", session="s 1")
    seen = library.last()
    assert seen.path == "/api/v1/categories/sci%20fi%2Fold/tree"
    assert seen.headers["cookie"] == "session=s%201"
    assert obs.output == TREE


def test_recursive_output_validates_against_returns(tools: dict[str, ToolSpec]) -> None:
    import jsonschema

    returns = tools["getCategoryTree"].returns
    assert returns is not None
    jsonschema.Draft202012Validator(returns).validate(TREE)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(returns).validate({"name": "x", "children": [{"children": []}]})


def test_flattened_json_body_with_bearer(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(engine_for(library), tools["createBook"], title="Solaris", author="Stanisław Lem", tags=["sf"])
    seen = library.last()
    assert (seen.method, seen.path) == ("POST", "/api/v1/books")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {"title": "Solaris", "author": "Stanisław Lem", "tags": ["sf"]}
    assert obs.ok and obs.output == {"id": 3, "title": "Solaris", "author": "Stanisław Lem", "tags": ["sf"]}


def test_whole_body_argument_and_query(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(engine_for(library), tools["searchBooks"], limit=3, body={"query": "dune", "limit": 1})
    seen = library.last()
    assert seen.query == {"limit": ["3"]}
    assert seen.json() == {"query": "dune", "limit": 1}
    assert obs.output == {"query": "dune", "hits": 4}


def test_form_body(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(engine_for(library), tools["login"], username="ada", password="p&ss word")
    seen = library.last()
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(seen.body.decode()) == {"username": ["ada"], "password": ["p&ss word"]}
    assert obs.output == {"token": "t-ada"}


def test_api_key_auth_and_no_content(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(engine_for(library), tools["deleteBook"], bookId=2)
    seen = library.last()
    assert (seen.method, seen.path) == ("DELETE", "/api/v1/books/2")
    assert seen.headers["x-api-key"] == API_KEY
    assert "authorization" not in seen.headers  # the operation's own security replaces the global one
    assert obs.ok and obs.output is None


def test_text_response(library: Library, tools: dict[str, ToolSpec]) -> None:
    assert run(engine_for(library), tools["ping"]).output == "pong"


def test_http_error_is_an_exception(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(engine_for(library), tools["getBook"], bookId=7)
    assert not obs.ok
    assert obs.verdict.code == "exec.exception"
    assert obs.verdict.message.startswith(f"HTTP 404 Not Found from GET {library.url}/api/v1/books/7: ")
    assert "no book 7" in obs.verdict.message
    assert obs.verdict.evidence["status"] == 404
    assert obs.verdict.evidence["body"] == {"code": 404, "message": "no book 7"}


def test_server_error_with_html_body(library: Library) -> None:
    tool = ToolSpec(name="boom", binding=HttpBinding(method="GET", path="/api/v1/nowhere-else"))
    obs = run(engine_for(library), tool)
    assert obs.verdict.code == "exec.exception"
    assert "HTTP 500 Internal Server Error" in obs.verdict.message
    assert "<html>Internal Server Error</html>" in obs.verdict.message


def test_invalid_json_is_bad_output(library: Library) -> None:
    tool = ToolSpec(name="broken", binding=HttpBinding(method="GET", path="/api/v1/broken"))
    obs = run(engine_for(library), tool)
    assert obs.verdict.code == "exec.bad_output"


def test_wrong_credential_is_rejected_by_the_server(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(
        engine_for(library, env={"CALLFORGE_AUTH_BEARERAUTH": "wrong"}),
        tools["createBook"],
        title="X",
        author="Y",
    )
    assert obs.verdict.code == "exec.exception"
    assert "HTTP 401" in obs.verdict.message
    assert library.last().headers["authorization"] == "Bearer wrong"


def test_missing_credential_is_unavailable(library: Library, tools: dict[str, ToolSpec]) -> None:
    before = len(library.seen)
    obs = run(engine_for(library, env={}), tools["createBook"], title="X", author="Y")
    assert obs.verdict.code == "exec.unavailable"
    assert "export CALLFORGE_AUTH_BEARERAUTH" in obs.verdict.message
    assert len(library.seen) == before  # nothing was sent


def test_engine_header_supplies_the_credential(library: Library, tools: dict[str, ToolSpec]) -> None:
    engine = engine_for(library, env={}, headers={"Authorization": f"Bearer {TOKEN}"})
    obs = run(engine, tools["createBook"], title="X", author="Y")
    assert obs.ok, obs.verdict.message


def test_basic_and_query_api_key(library: Library) -> None:
    binding = HttpBinding(
        method="GET",
        path="/api/v1/books",
        auth=(
            HttpAuth(scheme="basic", type="basic", env="B"),
            HttpAuth(scheme="key", type="api_key", location="query", wire="api_key", env="K"),
        ),
    )
    tool = ToolSpec(name="secured", binding=binding)
    obs = run(engine_for(library, env={"B": "ada:pw", "K": "sekrit"}), tool)
    seen = library.last()
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"ada:pw").decode()
    assert seen.query == {"api_key": ["sekrit"]}
    assert obs.ok
    # a failing call names the URL without the secret in it
    binding = binding.model_copy(update={"path": "/api/v1/books/99"})
    obs = run(engine_for(library, env={"K": "sekrit"}), ToolSpec(name="secured", binding=binding))
    assert "api_key=***" in obs.verdict.message and "sekrit" not in obs.verdict.message


def test_multipart_text_body_and_cookie_key(library: Library) -> None:
    multipart = HttpBinding(
        method="POST",
        path="/api/v1/echo",
        body_fields=("caption", "tags"),
        content_type="multipart/form-data",
    )
    obs = run(
        engine_for(library), ToolSpec(name="upload", binding=multipart), caption="a cat", tags=["x", "y"]
    )
    assert obs.output["content_type"].startswith("multipart/form-data; boundary=")
    body = obs.output["body"]
    assert 'name="caption"' in body and "a cat" in body and body.count('name="tags"') == 2
    text = HttpBinding(
        method="POST",
        path="/api/v1/echo",
        body_arg="note",
        content_type="text/plain",
        auth=(HttpAuth(scheme="c", type="api_key", location="cookie", wire="sid", env="SID"),),
    )
    obs = run(engine_for(library, env={"SID": "s-9"}), ToolSpec(name="note", binding=text), note="hello")
    assert obs.output["content_type"] == "text/plain" and obs.output["body"] == "hello"
    assert obs.output["cookie"] == "sid=s-9"


def test_base_url_replaces_an_absolute_server(library: Library) -> None:
    binding = HttpBinding(method="GET", path="/api/v1/echo/x", servers=("https://api.example/v9",))
    obs = run(engine_for(library), ToolSpec(name="echo", binding=binding))
    assert obs.output["path"] == "/api/v1/echo/x"


def test_arguments_that_are_not_json(library: Library) -> None:
    binding = HttpBinding(method="POST", path="/api/v1/echo", body_arg="body")
    obs = run(engine_for(library), ToolSpec(name="echo", binding=binding), body={1, 2})
    assert obs.verdict.code == "exec.exception"
    assert "cannot be sent as JSON" in obs.verdict.message


def test_dead_endpoint_is_unavailable(tools: dict[str, ToolSpec]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    obs = run(RestEngine(f"http://127.0.0.1:{port}", env=ENV), tools["getBook"], bookId=1)
    assert obs.verdict.code == "exec.unavailable"
    assert f"http://127.0.0.1:{port}/api/v1/books/1" in obs.verdict.message
    assert "start the server" in obs.verdict.message and "base_url" in obs.verdict.message


def test_timeout(library: Library, tools: dict[str, ToolSpec]) -> None:
    SLOW_RELEASE.clear()
    try:
        # the server answers only once released: a timeout verdict here means the client gave up by itself
        obs = run(engine_for(library, timeout=0.2), tools["slowReport"])
    finally:
        SLOW_RELEASE.set()
    assert obs.verdict.code == "exec.timeout"
    assert "0.2 s" in obs.verdict.message


def test_missing_path_argument(library: Library, tools: dict[str, ToolSpec]) -> None:
    obs = run(engine_for(library), tools["getBook"])
    assert obs.verdict.code == "exec.exception"
    assert "bookId" in obs.verdict.message


def test_tool_without_binding_is_unavailable() -> None:
    obs = run(RestEngine("http://127.0.0.1:1"), ToolSpec(name="local"))
    assert obs.verdict.code == "exec.unavailable"
    assert "no HTTP binding" in obs.verdict.message


def test_servers_without_base_url() -> None:
    relative_only = ToolSpec(name="rel", binding=HttpBinding(method="GET", path="/x", servers=("/api",)))
    obs = run(RestEngine(), relative_only)
    assert obs.verdict.code == "exec.unavailable"
    assert "base_url" in obs.verdict.message


def test_absolute_server_is_used_without_base_url(library: Library) -> None:
    tool = ToolSpec(
        name="abs",
        binding=HttpBinding(
            method="GET",
            path="/books/{id}",
            servers=(f"{library.url}/api/v1/",),
            params=(HttpParam(name="id", wire="id", location="path"),),
        ),
    )
    obs = run(RestEngine(), tool, id=1)
    assert obs.output == BOOKS[0]
    assert library.last().path == "/api/v1/books/1"


def test_bad_configuration() -> None:
    with pytest.raises(ConfigError, match="base_url"):
        RestEngine("localhost:8000")
    with pytest.raises(ConfigError, match="timeout"):
        RestEngine("http://x", timeout=0)


def test_one_engine_across_event_loops(library: Library, tools: dict[str, ToolSpec]) -> None:
    engine = engine_for(library)
    for _ in range(2):  # each asyncio.run is a new loop; the engine opens a client per loop
        assert (
            asyncio.run(engine.execute(ToolCall(name="ping", arguments={}), tools["ping"])).output == "pong"
        )


def _dialog(tools: dict[str, ToolSpec], *calls: ToolCall) -> Dialog:
    return Dialog(
        tools=tuple(tools.values()),
        messages=(
            Message(role="user", content="Find Dune and show the fiction tree."),
            Message(role="assistant", tool_calls=calls),
        ),
    )


def test_execution_stage_on_live_server(library: Library, tools: dict[str, ToolSpec]) -> None:
    good = _dialog(
        tools,
        ToolCall(id="c1", name="getBook", arguments={"bookId": 1}),
        ToolCall(id="c2", name="getCategoryTree", arguments={"categoryId": "fiction"}),
        ToolCall(id="c3", name="createBook", arguments={"title": "Solaris", "author": "Lem"}),
    )
    bad = _dialog(
        tools,
        ToolCall(id="c1", name="getBook", arguments={"bookId": 1}),
        ToolCall(id="c2", name="createBook", arguments={"title": "", "author": "Nobody"}),
    )

    async def check() -> tuple[Any, Any]:
        async with engine_for(library) as engine:
            stage = ExecutionStage(engine)
            return await stage.check(good), await stage.check(bad)

    passed, failed = asyncio.run(check())
    assert passed.ok and not passed.skipped, passed.verdicts
    assert len(passed.meta["observations"]) == 3
    assert not failed.ok
    [verdict] = failed.failures
    assert verdict.code == "exec.exception"
    assert verdict.message.startswith("createBook (message 1): HTTP 422")
    assert "title must not be empty" in verdict.message


def test_credentials_an_api_echoes_are_masked_everywhere(library: Library, tmp_path: Path) -> None:
    from callforge.execute.cached import CachedEngine

    binding = HttpBinding(
        method="GET",
        path="/api/v1/whoami",
        auth=(
            HttpAuth(scheme="bearer", type="bearer", env="CALLFORGE_AUTH_ECHOED"),
            HttpAuth(scheme="key", type="api_key", location="query", wire="api_key", env="CALLFORGE_AUTH_KEYED"),
        ),
    )
    secrets = {"CALLFORGE_AUTH_ECHOED": "tok-4f9a2c1e77", "CALLFORGE_AUTH_KEYED": "key-b81d0e35"}
    rest = engine_for(library, env=secrets)
    engine = CachedEngine(rest, tmp_path / "exec-cache.sqlite")
    tool = ToolSpec(name="whoami", binding=binding)

    async def go() -> list[Observation]:
        async with rest:
            refused = await engine.execute(ToolCall(name="whoami", arguments={}), tool)
            answered = await engine.execute(ToolCall(name="whoami", arguments={"ok": 1}), okay)
            return [refused, answered]

    okay = ToolSpec(
        name="whoami",
        binding=binding.model_copy(update={"params": (HttpParam(name="ok", wire="ok", location="query"),)}),
    )
    obs, ok = asyncio.run(go())
    engine.cache.close()
    assert library.last().headers["authorization"] == "Bearer tok-4f9a2c1e77"  # sent as it must be
    assert obs.verdict.code == "exec.exception" and "HTTP 401" in obs.verdict.message
    assert ok.ok and ok.output["echo"] == "Bearer ***"
    written = obs.model_dump_json() + ok.model_dump_json()
    written += (tmp_path / "exec-cache.sqlite").read_bytes().decode("latin-1")
    for secret in secrets.values():
        assert secret not in written
    assert "token Bearer *** with key ['***'] is not valid" in obs.verdict.message
