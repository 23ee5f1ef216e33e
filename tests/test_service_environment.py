"""ServiceEnvironment: REST and MCP tools on a real service as an Environment, reset and read through hooks.

The service is a tiny shop on 127.0.0.1 (tests/data/service_env/shop.yaml describes its tools) with
/reset and /state endpoints beside them; the MCP case keeps notes in a file its hooks rewrite and read.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shlex
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, DataError, ToolCall
from callforge.execute import (
    CommandHook,
    Environment,
    EnvironmentEngine,
    EnvironmentState,
    HookError,
    HttpHook,
    RestEngine,
    ServiceEnvironment,
    load_service_environment,
    load_service_environment_async,
    load_toolbox,
)

DATA = Path(__file__).parent / "data"
SPEC = DATA / "service_env" / "shop.yaml"
SECRET = "adm1n-t0ken-do-not-leak"
POST = "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], method='POST'))"
HAS_MCP = importlib.util.find_spec("mcp") is not None


def _initial() -> dict[int, dict[str, Any]]:
    return {1: {"id": 1, "name": "apple", "qty": 3}}


@dataclass
class Shop:
    """The service's state, and what it was asked."""

    url: str
    items: dict[int, dict[str, Any]] = field(default_factory=_initial)
    next_id: int = 2
    resets: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def state(self) -> dict[str, Any]:
        return {"items": [self.items[k] for k in sorted(self.items)], "next_id": self.next_id}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        with self.server.shop.lock:
            status, answer = self._route(self.server.shop, self.command, self.path, body)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode() if answer is not None else b""
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, shop: Shop, method: str, path: str, body: Any) -> tuple[int, Any]:
        if (method, path) == ("GET", "/items"):
            return 200, shop.state()["items"]
        if (method, path) == ("POST", "/items"):
            item = {"id": shop.next_id, "name": body["name"], "qty": body["qty"]}
            shop.items[shop.next_id] = item
            shop.next_id += 1
            return 201, item
        if method == "DELETE" and path.startswith("/items/"):
            found = shop.items.pop(int(path.rsplit("/", 1)[1]), None)
            return (204, None) if found else (404, {"error": "no such item"})
        if (method, path) == ("POST", "/reset"):
            shop.items, shop.next_id = _initial(), 2
            shop.resets += 1
            return 204, None
        if (method, path) == ("GET", "/state"):
            return 200, shop.state()
        if path == "/broken-reset":
            return 500, {"error": "database is locked"}
        if path == "/guarded-reset":
            return 403, {"error": f"bad token {self.headers.get('X-Admin-Token')}"}
        if path == "/not-json":
            return 200, b"<html>hello</html>"
        if path == "/list-state":
            return 200, [1, 2]
        return 404, {"error": f"no route {method} {path}"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    shop: Shop


@pytest.fixture
def shop() -> Iterator[Shop]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.shop = Shop(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.shop
    finally:
        server.shutdown()
        server.server_close()


def shop_env(shop: Shop, *, reset: Any = None, state: Any = "default") -> ServiceEnvironment:
    toolbox = load_toolbox([SPEC], rest_base_url=shop.url)
    return ServiceEnvironment(
        "shop",
        toolbox,
        reset=reset or HttpHook(f"{shop.url}/reset"),
        state=HttpHook(f"{shop.url}/state") if state == "default" else state,
    )


def add(name: str, qty: int) -> ToolCall:
    return ToolCall(name="addItem", arguments={"name": name, "qty": qty})


def env_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("callforge environment:")]


# ---------------------------------------------------------------------------------------------- the environment


def test_calls_change_the_service_and_snapshots_show_it(shop: Shop) -> None:
    with shop_env(shop) as env:
        assert isinstance(env, Environment)
        assert {t.name for t in env.tools} == {"listItems", "addItem", "removeItem"}
        env.reset()
        before = env.snapshot()
        assert [(e.owner, e.name) for e in before.entries] == [("shop", "items"), ("shop", "next_id")]
        assert before.value("shop", "next_id") == 2

        added = env.run(add("pear", 2))
        assert added.ok, added.verdict
        assert added.output == {"id": 2, "name": "pear", "qty": 2} and added.engine == "rest"
        listed = env.run(ToolCall(name="listItems", arguments={}))
        assert [i["name"] for i in listed.output] == ["apple", "pear"]

        after = env.snapshot()
        diff = before.diff(after)
        assert diff.paths == ("shop.items", "shop.next_id")
        assert {c.name: c.after for c in diff}["next_id"] == 3
        assert after.value("shop", "items")[-1]["name"] == "pear"

        missing = env.run(ToolCall(name="removeItem", arguments={"item_id": 99}))  # a 404 is a failing call
        assert not missing.ok and missing.verdict.code == "exec.exception"
        unknown = env.run(ToolCall(name="drop_table", arguments={}))
        assert unknown.verdict.code == "exec.unavailable" and "'drop_table'" in unknown.verdict.message
        assert unknown.engine == "environment:shop"

        env.reset()
        assert env.snapshot() == before
        assert shop.resets == 2
        assert len(env_threads()) == 1
    assert env_threads() == []
    with pytest.raises(ConfigError, match="is closed"):
        env.run(add("fig", 1))
    env.close()  # idempotent


def test_run_async_and_an_engine_inside_a_running_loop(shop: Shop) -> None:
    with shop_env(shop) as env:
        env.reset()
        tool = next(t for t in env.tools if t.name == "addItem")

        async def go() -> list[Any]:
            first = await env.run_async(add("kiwi", 1))
            # EnvironmentEngine calls the blocking run() from inside this loop: the call runs on the
            # environment's own loop, so nothing deadlocks.
            second = await EnvironmentEngine(env).execute(add("lime", 4), tool)
            unknown = await env.run_async(ToolCall(name="nope", arguments={}))
            return [first, second, unknown]

        first, second, unknown = asyncio.run(go())
        assert first.ok and second.ok and unknown.verdict.code == "exec.unavailable"
        assert [i["name"] for i in env.snapshot().value("shop", "items")] == ["apple", "kiwi", "lime"]


def test_a_command_reset_hook(shop: Shop) -> None:
    hook = CommandHook((sys.executable, "-c", POST, f"{shop.url}/reset"), timeout=120)
    with shop_env(shop, reset=hook) as env:
        env.run(add("plum", 5))
        assert shop.next_id == 3
        env.reset()
        assert shop.resets == 1 and shop.next_id == 2
        assert [i["name"] for i in env.snapshot().value("shop", "items")] == ["apple"]


def test_without_a_state_hook_the_snapshot_is_empty(shop: Shop) -> None:
    with shop_env(shop, state=None) as env:
        env.reset()
        before = env.snapshot()
        env.run(add("fig", 1))
        after = env.snapshot()
        assert before == after == EnvironmentState("shop", ())
        assert not before.diff(after)


# ---------------------------------------------------------------------------------------------- failing hooks


def test_a_failing_http_reset_names_the_hook_status_and_body(shop: Shop) -> None:
    with shop_env(shop, reset=HttpHook(f"{shop.url}/broken-reset")) as env, pytest.raises(HookError) as caught:
        env.reset()
    text = str(caught.value)
    assert caught.value.status == 500 and caught.value.role == "reset"
    assert f"POST {shop.url}/broken-reset" in text and "answered HTTP 500" in text
    assert "database is locked" in text and "answer 2xx" in text
    assert isinstance(caught.value, ConfigError)


def test_a_failing_command_reset_names_its_status_and_stderr(shop: Shop) -> None:
    script = "import sys; print('rolling back', file=sys.stderr); sys.exit(3)"
    with shop_env(shop, reset=CommandHook((sys.executable, "-c", script), timeout=120)) as env:
        with pytest.raises(HookError, match="exited with status 3") as caught:
            env.reset()
        assert caught.value.status == 3
        assert "rolling back" in str(caught.value) and "run the command by hand" in str(caught.value)

        env.reset_hook = CommandHook(("no-such-program-callforge",))
        with pytest.raises(HookError, match=r"no program 'no-such-program-callforge'.*full path"):
            env.reset()

        env.reset_hook = CommandHook((sys.executable, "-c", "import time; time.sleep(600)"), timeout=0.5)
        with pytest.raises(HookError, match=r"did not finish within 0\.5 s and was killed.*raise its `timeout`"):
            env.reset()


def test_hook_errors_do_not_leak_header_values(shop: Shop) -> None:
    hook = HttpHook(f"{shop.url}/guarded-reset", headers={"X-Admin-Token": SECRET})
    assert SECRET not in repr(hook)
    with shop_env(shop, reset=hook) as env:
        assert SECRET not in repr(env)
        with pytest.raises(HookError, match="answered HTTP 403") as caught:
            env.reset()
    assert SECRET not in str(caught.value) and "bad token ***" in str(caught.value)
    assert SECRET not in caught.value.output


def test_unreachable_hooks_and_bad_state_are_clear_errors(shop: Shop) -> None:
    with shop_env(shop, reset=HttpHook("http://127.0.0.1:9/reset", timeout=5)) as env:
        with pytest.raises(HookError, match=r"could not be reached.*start the service"):
            env.reset()
        env.state_hook = HttpHook(f"{shop.url}/not-json")
        with pytest.raises(HookError, match=r"(?s)state hook .* gave output that is not JSON.*<html>"):
            env.snapshot()
        env.state_hook = HttpHook(f"{shop.url}/list-state")
        with pytest.raises(HookError, match="gave a JSON list, not an object"):
            env.snapshot()
        env.state_hook = CommandHook((sys.executable, "-c", "pass"), timeout=120)
        with pytest.raises(HookError, match="gave an empty output"):
            env.snapshot()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CommandHook("python reset.py"), r"list of words, e\.g\. \['python', 'reset\.py'\]"),  # type: ignore[arg-type]
        (lambda: CommandHook("python 'reset.py"), r"list of words, e\.g\. \['python', 'reset_db\.py'\]"),  # type: ignore[arg-type]
        (lambda: CommandHook(()), "non-empty strings"),
        (lambda: CommandHook(("true",), timeout=0), "positive number"),
        (lambda: HttpHook("/reset"), "not an absolute http"),
        (lambda: HttpHook("http://x/reset", method="FETCH"), "use one of"),
    ],
)
def test_hooks_refuse_what_cannot_work(make: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


def test_the_constructor_refuses_what_cannot_work(shop: Shop, tmp_path: Path) -> None:
    reset = HttpHook(f"{shop.url}/reset")
    toolbox = load_toolbox([SPEC], rest_base_url=shop.url)
    with pytest.raises(ConfigError, match="or both tools and the engine"):
        ServiceEnvironment("shop", reset=reset)
    with pytest.raises(ConfigError, match="not both"):
        ServiceEnvironment("shop", toolbox, tools=toolbox.tools, reset=reset)
    with pytest.raises(ConfigError, match="must be a CommandHook or an HttpHook"):
        ServiceEnvironment("shop", toolbox, reset="python reset.py")  # type: ignore[arg-type]
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps([{"type": "function", "function": {"name": "f", "description": "d"}}]))
    with pytest.raises(ConfigError, match="no implementation"):
        ServiceEnvironment("shop", load_toolbox([pool]), reset=reset)
    with pytest.raises(ConfigError, match=r"two tools are named '\w+'; tool names must be unique"):
        ServiceEnvironment("shop", tools=[*toolbox.tools, toolbox.tools[0]], engine=RestEngine(shop.url), reset=reset)


def test_tools_and_an_engine_instead_of_a_toolbox(shop: Shop) -> None:
    tools = load_toolbox([SPEC]).tools
    with ServiceEnvironment(
        "shop", tools=tools, engine=RestEngine(shop.url), reset=HttpHook(f"{shop.url}/reset")
    ) as env:
        assert env.run(add("fig", 2)).output["id"] == 2
        env.reset()
        assert shop.next_id == 2


# ---------------------------------------------------------------------------------------------- spec files


def write_spec(tmp_path: Path, text: str, name: str = "shop-env.yaml") -> Path:
    shutil.copy(SPEC, tmp_path / "shop.yaml")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_spec_file_with_http_hooks(shop: Shop, tmp_path: Path) -> None:
    path = write_spec(
        tmp_path,
        f"name: shop\ntools: shop.yaml\nbase_url: {shop.url}\n"
        f"reset: {{url: {shop.url}/reset}}\nstate: {{url: {shop.url}/state, method: get}}\n",
    )
    with load_service_environment(path) as env:
        assert env.name == "shop" and len(env.tools) == 3
        env.reset()
        before = env.snapshot()
        assert env.run(add("pear", 1)).ok
        assert before.diff(env.snapshot()).paths == ("shop.items", "shop.next_id")


def test_a_json_spec_file_with_a_reset_script(shop: Shop, tmp_path: Path) -> None:
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "reset_shop.py").write_text(POST, encoding="utf-8")
    spec = {
        "name": "shop",
        "tools": ["shop.yaml"],
        "base_url": shop.url,
        "reset": {"command": [sys.executable, "reset_shop.py", f"{shop.url}/reset"], "cwd": "hooks", "timeout": 120},
    }
    path = write_spec(tmp_path, json.dumps(spec), "shop-env.json")
    with load_service_environment(path) as env:
        assert env.snapshot() == EnvironmentState("shop", ())
        env.run(add("pear", 1))
        env.reset()
        assert shop.resets == 1 and shop.next_id == 2

    async def load() -> ServiceEnvironment:
        return await load_service_environment_async(path)

    with asyncio.run(load()) as env:
        assert len(env.tools) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: shop\ntools: shop.yaml\n", r"`reset`: Field required"),
        ("name: shop\ntools: shop.yaml\nreset: {command: python reset.py}\n", r"`reset.command`: give the command as a list of words"),
        ("name: shop\ntools: shop.yaml\nreset: {command: [x], url: 'http://a/r'}\n", r"`reset`: give exactly one of `command`"),
        ("name: shop\ntools: shop.yaml\nreset: {url: /reset}\n", r"`reset`: `url` '/reset' is not an absolute http"),
        ("name: shop\ntools: shop.yaml\nreset: {url: 'http://a/r', cwd: x}\n", r"`cwd` goes with `command`"),
        ("name: shop\ntools: shop.yaml\nreset: {url: 'http://a/r', method: FETCH}\n", r"`method` must be one of"),
        ("name: shop\ntools: shop.yaml\nreset: python reset.py\n", r"`reset`: give a mapping"),
        ("name: shop\ntools: shop.yaml\nresett: {url: 'http://a/r'}\nreset: {url: 'http://a/r'}\n", r"`resett`: Extra inputs"),
        ("name: ''\ntools: shop.yaml\nreset: {url: 'http://a/r'}\n", r"`name`: give the environment a non-empty name"),
        ("name: shop\ntools: []\nreset: {url: 'http://a/r'}\n", r"`tools`: give a tool source"),
        ("name: shop\ntools: shop.yaml\nbase_url: localhost:8000\nreset: {url: 'http://a/r'}\n", r"`base_url`: .* not an absolute"),
        ("name: shop\ntools: nowhere.yaml\nreset: {url: 'http://a/r'}\n", r"`tools`: 'nowhere.yaml' is not a file .*relative to the spec file"),
        ("name: shop\ntools: shop.yaml\nreset: {command: [x], cwd: nowhere}\n", r"`reset.cwd`: .* is not a directory"),
        (
            "name: shop\ntools: shop.yaml\nreset: {url: 'http://a/r', headers: {X-Token: '${CALLFORGE_TEST_UNSET_VAR}'}}\n",
            r"`reset.headers.X-Token` uses \$\{CALLFORGE_TEST_UNSET_VAR\}, which is not set",
        ),
        ("- name: shop\n", r"a service environment spec is a mapping"),
        ("name: [shop\n", r"not valid YAML"),
    ],
)
def test_spec_file_errors_name_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = write_spec(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_service_environment(path)
    assert str(path) in str(caught.value)


def test_a_missing_spec_file_and_a_bad_tool_source(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing\.yaml"):
        load_service_environment(tmp_path / "missing.yaml")
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    path = write_spec(tmp_path, "name: shop\ntools: notes.txt\nreset: {url: 'http://a/r'}\n")
    with pytest.raises(ConfigError, match=r"shop-env.yaml: `tools`: "):
        load_service_environment(path)


def test_header_variables_are_expanded_and_kept_secret(shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFORGE_TEST_SHOP_ADMIN", SECRET)
    path = write_spec(
        tmp_path,
        f"name: shop\ntools: shop.yaml\nbase_url: {shop.url}\n"
        f"reset: {{url: '{shop.url}/guarded-reset', headers: {{X-Admin-Token: '${{CALLFORGE_TEST_SHOP_ADMIN}}'}}}}\n",
    )
    with load_service_environment(path) as env:
        assert isinstance(env.reset_hook, HttpHook) and env.reset_hook.headers == {"X-Admin-Token": SECRET}
        with pytest.raises(HookError, match=r"bad token \*\*\*") as caught:
            env.reset()
    assert SECRET not in str(caught.value)


# ---------------------------------------------------------------------------------------------- MCP


@pytest.mark.skipif(not HAS_MCP, reason="the mcp extra is not installed")
def test_an_mcp_server_with_command_hooks(tmp_path: Path) -> None:
    store = tmp_path / "notes.json"
    server = shlex.join([sys.executable, str(DATA / "mcp_notes_server.py"), str(store)])
    write = "import json, sys; open(sys.argv[1], 'w').write(json.dumps({'notes': []}))"
    read = "import sys; print(open(sys.argv[1]).read())"
    spec = {
        "name": "notes",
        "tools": "mcp:" + server,
        "reset": {"command": [sys.executable, "-c", write, str(store)], "timeout": 120},
        "state": {"command": [sys.executable, "-c", read, str(store)], "timeout": 120},
    }
    path = tmp_path / "notes-env.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    with load_service_environment(path) as env:
        assert {t.name for t in env.tools} == {"add_note", "list_notes"}
        env.reset()
        start = env.snapshot()
        assert start.value("notes", "notes") == []
        first = env.run(ToolCall(name="add_note", arguments={"text": "buy milk"}))
        assert first.ok and first.engine == "mcp", first.verdict
        listed = asyncio.run(env.run_async(ToolCall(name="list_notes", arguments={})))
        assert listed.output == "buy milk"  # one note: one text item
        assert start.diff(env.snapshot()).paths == ("notes.notes",)
        env.reset()
        assert env.snapshot() == start
        assert env.run(ToolCall(name="list_notes", arguments={})).output is None  # same server, state reset
    assert env_threads() == []
