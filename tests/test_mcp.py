"""MCP import and execution against real servers built with the SDK (tests/data/mcp_*.py), over stdio and HTTP."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from callforge.core import ConfigError, Dialog, Message, SpecError, ToolCall, ToolSpec
from callforge.core.binding import McpBinding, McpServer
from callforge.execute.base import Engine
from callforge.execute.mcp import McpEngine
from callforge.generate.sample import domain_of
from callforge.tools.mcp import (
    McpConfig,
    is_mcp_config,
    load_mcp,
    load_mcp_async,
    read_mcp_config,
    server_from_source,
)
from callforge.verify.execution import ExecutionStage

DATA = Path(__file__).parent / "data"
SERVER = shlex.join([sys.executable, str(DATA / "mcp_server.py")])
PAGED = shlex.join([sys.executable, str(DATA / "mcp_paged_server.py")])
SECRET_VAR = "CALLFORGE_MCP_TEST_SECRET"
SECRET = "s3cr3t-value-for-alpha"


def schema_keywords(schema: Any) -> set[str]:
    """Keywords used in a schema, not counting property names."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found |= schema_keywords(sub)
            else:
                found |= schema_keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= schema_keywords(item)
    return found


def gone(pid: int) -> bool:
    """The process has exited and been reaped (no zombie left behind)."""
    return not Path(f"/proc/{pid}").exists()


def call(name: str, /, **arguments: Any) -> ToolCall:
    return ToolCall(name=name, arguments=arguments, id=f"call_{name}")


def write_config(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def stdio_entry(script: str, **extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(DATA / script)], **extra}


@pytest.fixture(scope="module")
def tools() -> dict[str, ToolSpec]:
    return {t.name: t for t in load_mcp(SERVER)}


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    """One event loop for the module, so one engine (and one server process) serves many tests."""
    with asyncio.Runner() as loop:
        yield loop


@pytest.fixture(scope="module")
def engine(runner: asyncio.Runner) -> Iterator[McpEngine]:
    mcp_engine = McpEngine(timeout=10)
    yield mcp_engine
    runner.run(mcp_engine.aclose())


# ---------------------------------------------------------------------------------------- sources


def test_source_strings_become_servers() -> None:
    server = server_from_source("python weather_server.py --verbose")
    assert (server.name, server.command, server.args, server.url) == (
        "weather_server",
        "python",
        ("weather_server.py", "--verbose"),
        None,
    )
    assert server_from_source("mcp:npx -y @modelcontextprotocol/server-github").name == "server-github"
    assert server_from_source("uvx mcp-server-fetch", name="fetch").name == "fetch"
    assert server_from_source("python -m travel.server").name == "travel_server"
    url = server_from_source("http://127.0.0.1:8000/mcp")
    assert (url.name, url.url, url.command) == ("127_0_0_1_8000", "http://127.0.0.1:8000/mcp", None)
    assert server_from_source("'/opt/my tools/srv' --x 'a b'").args == ("--x", "a b")
    for bad, says in [
        ("", "empty"),
        ("mcp:", "empty"),
        ("python 'oops", "quotes"),
        ("ws://host/mcp", "http"),
    ]:
        with pytest.raises(ConfigError, match=says):
            server_from_source(bad)


def test_config_file_keeps_env_values_out_of_the_servers(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    path = write_config(
        tmp_path / "claude_desktop_config.json",
        {
            "weather": {"command": "python", "args": ["w.py"], "env": {"API_KEY": "k-123"}, "cwd": "work"},
            "remote": {"type": "http", "url": "https://example.com/mcp"},
            "off": {"command": "python", "disabled": True},
            "extra": {"command": "node", "args": [], "autoApprove": ["x"]},
        },
    )
    assert is_mcp_config(path)
    config = read_mcp_config(path)
    by_name = {s.name: s for s in config.servers}
    assert list(by_name) == ["weather", "remote", "extra"]
    assert by_name["weather"] == McpServer(
        name="weather", command="python", args=("w.py",), cwd=str(tmp_path / "work"), env=("API_KEY",)
    )
    assert by_name["remote"].url == "https://example.com/mcp"
    assert dict(config.env) == {"weather": {"API_KEY": "k-123"}}
    assert "k-123" not in repr(config)
    assert "k-123" not in json.dumps([s.model_dump() for s in config.servers])


@pytest.mark.parametrize(
    ("servers", "path", "says"),
    [
        ([], "$", "not an MCP config"),
        ({"a": 1}, "$.mcpServers.a", "must be an object"),
        ({"a": {"args": []}}, "$.mcpServers.a", 'missing "command" or "url"'),
        ({"a": {"command": "x", "url": "http://h/mcp"}}, "$.mcpServers.a", "not both"),
        ({"a": {"command": "x", "args": "--flag"}}, "$.mcpServers.a.args", "list of strings"),
        ({"a": {"command": "x", "args": ["--port", 80]}}, "$.mcpServers.a.args[1]", "must be a string"),
        ({"a": {"command": "x", "env": {"KEY": 1}}}, "$.mcpServers.a.env.KEY", "must be a string"),
        ({"a": {"type": "sse", "url": "http://h/sse"}}, "$.mcpServers.a.type", "SSE"),
        ({"a": {"url": "ftp://h"}}, "$.mcpServers.a.url", "not an http"),
        (
            {"a": {"url": "http://h/mcp", "headers": {"Authorization": "x"}}},
            "$.mcpServers.a.headers",
            "headers",
        ),
        ({"my server": {"command": ""}}, '$.mcpServers["my server"].command', "non-empty"),
        ({}, "$.mcpServers", "no servers"),
    ],
)
def test_config_errors_name_the_file_and_the_json_path(
    tmp_path: Path, servers: Any, path: str, says: str
) -> None:
    file = tmp_path / "cfg.json"
    if isinstance(servers, list):
        file.write_text(json.dumps({"servers": servers}), encoding="utf-8")
    else:
        write_config(file, servers)
    with pytest.raises(SpecError, match=says) as caught:
        read_mcp_config(file)
    assert caught.value.source == str(file)
    assert caught.value.path == path


def test_is_mcp_config_tells_configs_from_tool_files(tmp_path: Path) -> None:
    tools_file = tmp_path / "tools.json"
    tools_file.write_text('[{"name": "f"}]', encoding="utf-8")
    assert not is_mcp_config(tools_file)
    assert not is_mcp_config(tmp_path / "missing.json")


# ---------------------------------------------------------------------------------------- loading


def test_tools_are_listed_with_clean_schemas_and_bindings(tools: dict[str, ToolSpec]) -> None:
    assert set(tools) >= {
        "get_weather",
        "greet",
        "stats",
        "tags",
        "plan_trip",
        "book_hotel",
        "read_env",
        "crash",
    }
    weather = tools["get_weather"]
    assert weather.description == "Current weather for a city."
    assert weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"default": "c", "enum": ["c", "f"], "type": "string"},
        },
        "required": ["city"],
    }
    assert weather.returns is not None
    assert set(weather.returns["properties"]) == {"city", "temp_c", "conditions"}
    assert tools["greet"].returns is None
    assert (weather.source, weather.domain) == ("mcp", "mcp_server")
    assert isinstance(weather.binding, McpBinding)
    assert weather.binding.tool == "get_weather"
    assert weather.binding.server == server_from_source(SERVER)
    for spec in tools.values():
        assert "title" not in schema_keywords(spec.parameters), spec.name
        assert "title" not in schema_keywords(spec.returns or {}), spec.name
    # Nested pydantic models arrive behind $refs; they are inlined.
    trip = tools["plan_trip"].parameters
    assert "$defs" not in trip and "$ref" not in json.dumps(trip)
    assert trip["properties"]["stops"]["items"]["properties"]["nights"] == {"minimum": 1, "type": "integer"}
    assert trip["properties"]["traveller"]["required"] == ["name"]


def test_prefix_names_tools_by_server_and_env_values_leave_only_their_names() -> None:
    specs = load_mcp(server_from_source(SERVER, name="demo"), prefix=True, env={SECRET_VAR: SECRET})
    weather = next(s for s in specs if s.name == "demo__get_weather")
    assert isinstance(weather.binding, McpBinding)
    assert weather.binding.tool == "get_weather"
    assert weather.binding.server.env == (SECRET_VAR,)
    assert domain_of(weather) == "demo"
    assert domain_of(weather.model_copy(update={"domain": None})) == "demo"
    assert SECRET not in json.dumps([s.model_dump(mode="json") for s in specs])


def test_listing_follows_cursors_to_the_last_page() -> None:
    specs = load_mcp(PAGED)
    assert [s.name for s in specs] == [f"tool_{i}" for i in range(5)]
    assert specs[0].parameters == {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "required": ["x"],
    }


def test_a_server_that_pages_forever_is_stopped() -> None:
    with pytest.raises(ConfigError, match="cursor '0' twice"):
        load_mcp(PAGED + " --loop")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("no-such-mcp-server --stdio", "command 'no-such-mcp-server' was not found on PATH"),
        ("./not/here.sh", "not an executable file"),
        (
            shlex.join(
                [sys.executable, "-c", "import sys; print('config missing', file=sys.stderr); sys.exit(3)"]
            ),
            "exited or closed its stdout before the MCP handshake finished.*stderr ends:\nconfig missing",
        ),
        (
            shlex.join([sys.executable, "-c", "import sys; sys.stdin.read()"]),
            "did not finish the MCP handshake within 1 s",
        ),
        ("http://127.0.0.1:{port}/mcp", "cannot reach MCP server .* at http://127.0.0.1:.*ConnectError"),
    ],
)
def test_servers_that_cannot_start_give_config_errors_not_hangs(source: str, says: str) -> None:
    started = time.perf_counter()
    # Only the silent server needs the 1 s handshake timeout it is tested for; the others fail at
    # once by themselves, and a busy machine must not turn their failure into a timeout.
    timeout = 1 if "within 1 s" in says else 30
    with pytest.raises(ConfigError, match=says):
        load_mcp(source.format(port=_closed_port()), timeout=timeout)
    assert time.perf_counter() - started < 60  # a guard against a hang, not a speed test: a busy machine is slow


def test_a_missing_working_directory_is_named(tmp_path: Path) -> None:
    server = McpServer(name="x", command=sys.executable, cwd=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match=r"working directory .*nope.* does not exist"):
        load_mcp(server)


def test_load_mcp_says_to_await_inside_an_event_loop() -> None:
    async def inside() -> None:
        load_mcp(SERVER)

    with pytest.raises(ConfigError, match="load_mcp_async"):
        asyncio.run(inside())


def test_without_the_sdk_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    with pytest.raises(ConfigError, match=r"pip install 'callforge\[mcp\]'"):
        load_mcp(SERVER)
    with pytest.raises(ConfigError, match=r"pip install 'callforge\[mcp\]'"):
        McpEngine()


def test_config_servers_get_their_env_values_which_never_reach_a_spec(tmp_path: Path) -> None:
    assert SECRET_VAR not in os.environ
    path = write_config(
        tmp_path / "cfg.json",
        {
            "alpha": stdio_entry("mcp_server.py", env={SECRET_VAR: SECRET}),
            "beta": stdio_entry("mcp_paged_server.py", env={SECRET_VAR: "beta-value"}),
        },
    )
    config = read_mcp_config(path)
    specs = load_mcp(config)
    assert {s.domain for s in specs} == {"alpha", "beta"}
    dump = json.dumps([s.model_dump(mode="json") for s in specs])
    assert SECRET not in dump and "beta-value" not in dump
    read_env = next(s for s in specs if s.name == "read_env")
    assert isinstance(read_env.binding, McpBinding)
    assert read_env.binding.server.env == (SECRET_VAR,)

    async def run() -> tuple[Any, Any]:
        async with McpEngine.from_config(config) as with_env:
            passed = await with_env.execute(call("read_env", name=SECRET_VAR), read_env)
        missing = await McpEngine().execute(call("read_env", name=SECRET_VAR), read_env)
        return passed, missing

    passed, missing = asyncio.run(run())
    # The server got the value (it read it back), and what came back is masked: a config's
    # environment values are secrets, and a tool that prints one must not put it in a dialog.
    assert passed.ok and passed.output == {"result": "***"}
    assert missing.verdict.code == "exec.unavailable"
    assert SECRET_VAR in missing.verdict.message and "McpEngine(env=" in missing.verdict.message


def test_the_same_tool_name_on_two_servers_needs_a_prefix(tmp_path: Path) -> None:
    config = read_mcp_config(
        write_config(
            tmp_path / "cfg.json",
            {"alpha": stdio_entry("mcp_server.py"), "gamma": stdio_entry("mcp_server.py")},
        )
    )
    with pytest.raises(ConfigError, match=r"offered by MCP servers 'alpha' and 'gamma'; pass prefix=True"):
        load_mcp(config)
    names = {s.name for s in load_mcp(config, prefix=True)}
    assert {"alpha__greet", "gamma__greet"} <= names


# ---------------------------------------------------------------------------------------- execution


def test_engine_runs_calls_on_the_server(
    engine: McpEngine, runner: asyncio.Runner, tools: dict[str, ToolSpec]
) -> None:
    cases = [
        (call("get_weather", city="Paris"), {"city": "Paris", "temp_c": 21.5, "conditions": "sunny"}),
        (call("greet", name="Bo"), "Hello, Bo!"),
        (call("stats", values=[1, 2]), {"sum": 3.0, "mean": 1.5}),
        (call("tags", city="Oslo"), ["oslo", "travel"]),
        (
            call(
                "plan_trip",
                traveller={"name": "Ann", "age": 40},
                stops=[{"city": "Rome", "nights": 2}, {"city": "Pisa", "nights": 1}],
                budget={"EUR": 500},
            ),
            {"traveller": "Ann", "cities": ["Rome", "Pisa"], "nights": 3, "currencies": ["EUR"]},
        ),
    ]

    async def run() -> list[Any]:
        return list(await asyncio.gather(*(engine.execute(c, tools[c.name]) for c, _ in cases)))

    assert isinstance(engine, Engine)
    for observation, (_, expected) in zip(runner.run(run()), cases, strict=True):
        assert observation.verdict.code == "ok", observation.verdict.message
        assert observation.output == expected
        assert observation.engine == "mcp"


def test_error_results_and_bad_calls_are_verdicts(
    engine: McpEngine, runner: asyncio.Runner, tools: dict[str, ToolSpec]
) -> None:
    error = runner.run(engine.execute(call("book_hotel", city="Atlantis", nights=2), tools["book_hotel"]))
    assert error.verdict.code == "exec.exception"
    assert "no hotels in Atlantis" in error.verdict.message
    assert error.verdict.evidence["server"] == "mcp_server"
    invalid = runner.run(
        engine.execute(call("get_weather", city=["not", "a", "string"]), tools["get_weather"])
    )
    assert invalid.verdict.code == "exec.exception"
    assert "city" in invalid.verdict.message
    plain = ToolSpec(name="greet", source="openai")
    unbound = runner.run(engine.execute(call("greet", name="x"), plain))
    assert unbound.verdict.code == "exec.unavailable"
    assert "not an MCP tool" in unbound.verdict.message


def test_execution_stage_judges_a_dialog_that_calls_the_server(
    engine: McpEngine, runner: asyncio.Runner, tools: dict[str, ToolSpec]
) -> None:
    dialog = Dialog(
        tools=(tools["get_weather"], tools["book_hotel"]),
        messages=(
            Message(role="user", content="Weather in Paris, and book 2 nights in Atlantis."),
            Message(
                role="assistant",
                tool_calls=(
                    ToolCall(name="get_weather", arguments={"city": "Paris"}, id="c1"),
                    ToolCall(name="book_hotel", arguments={"city": "Atlantis", "nights": 2}, id="c2"),
                ),
            ),
        ),
    )
    result = runner.run(ExecutionStage(engine).check(dialog))
    assert [v.code for v in result.failures] == ["exec.exception"]
    assert result.failures[0].message.startswith("book_hotel (message 1): book_hotel on MCP server")
    observations = result.meta["observations"]
    assert observations[0]["output"]["conditions"] == "sunny"
    assert observations[0]["verdict"]["ok"] is True


def test_concurrent_first_calls_share_one_server_which_stops_with_the_loop(
    tools: dict[str, ToolSpec],
) -> None:
    mcp_engine = McpEngine()

    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                *(mcp_engine.execute(call("server_pid"), tools["server_pid"]) for _ in range(6))
            )
        )

    pids = {o.output["result"] for o in asyncio.run(run())}
    assert len(pids) == 1
    # No aclose: the loop's end cancelled the session's owner task, which still stopped the server.
    assert gone(pids.pop())

    # The next loop starts a fresh session.
    async def again() -> list[Any]:
        greeted = await mcp_engine.execute(call("greet", name="x"), tools["greet"])
        leaving = await mcp_engine.execute(call("exit_soon"), tools["exit_soon"])
        await asyncio.sleep(0.6)
        after = await mcp_engine.execute(call("greet", name="y"), tools["greet"])
        return [greeted, leaving, after]

    greeted, leaving, after = asyncio.run(again())
    assert greeted.output == "Hello, x!"
    assert leaving.output == {"result": "leaving"}
    # A server that exits between calls: the next call says so, with the server's last words.
    assert after.verdict.code == "exec.unavailable"
    assert "exited" in after.verdict.message and "bye: exit_soon was called" in after.verdict.message


def test_aclose_stops_servers_without_zombies_or_resource_warnings(tools: dict[str, ToolSpec]) -> None:
    async def run() -> int:
        async with McpEngine() as mcp_engine:
            observation = await mcp_engine.execute(call("server_pid"), tools["server_pid"])
            pid = int(observation.output["result"])
            assert not gone(pid)
        assert gone(pid)
        return pid

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.perf_counter()
        pid = asyncio.run(run())
        gc.collect()
    assert gone(pid)
    assert time.perf_counter() - started < 60  # a guard against a hang (a server that ignores stdin close)
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [
        str(w.message) for w in caught
    ]


def test_timeouts_and_a_crashed_server_are_verdicts_not_hangs(tools: dict[str, ToolSpec]) -> None:
    async def run() -> list[Any]:
        # 2 s per call, the slow tool sleeps 60: a busy machine's few hundred ms do not decide the outcome
        async with McpEngine(timeout=2) as mcp_engine:
            slow = await mcp_engine.execute(call("slow", seconds=60), tools["slow"])
            alive = await mcp_engine.execute(call("greet", name="still"), tools["greet"])
            crash = await mcp_engine.execute(call("crash"), tools["crash"])
            # a call to the dead server is answered as unavailable, not left to run into its timeout
            after = await mcp_engine.execute(call("greet", name="again"), tools["greet"])
            return [slow, alive, crash, after]

    slow, alive, crash, after = asyncio.run(run())
    assert slow.verdict.code == "exec.timeout"
    assert "did not answer within 2 s" in slow.verdict.message
    assert alive.output == "Hello, still!"
    for dead in (crash, after):
        assert dead.verdict.code == "exec.unavailable"
        assert "MCP server 'mcp_server'" in dead.verdict.message
        assert "exited and is not restarted" in dead.verdict.message


def test_a_server_that_cannot_start_makes_its_calls_unavailable(tools: dict[str, ToolSpec]) -> None:
    broken = McpServer(name="broken", command="no-such-mcp-server")
    spec = tools["greet"].model_copy(update={"binding": McpBinding(server=broken, tool="greet")})

    async def run() -> list[Any]:
        async with McpEngine() as mcp_engine:
            return [await mcp_engine.execute(call("greet", name="x"), spec) for _ in range(2)]

    for observation in asyncio.run(run()):
        assert observation.verdict.code == "exec.unavailable"
        assert "MCP server 'broken'" in observation.verdict.message
        assert "not found on PATH" in observation.verdict.message


# ---------------------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test server on streamable HTTP, in a child process on a free port."""
    port = _closed_port()
    log = (tmp_path_factory.mktemp("mcp_http") / "server.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, str(DATA / "mcp_server.py"), "--http", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"the HTTP test server exited: {log.read()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the HTTP test server did not listen within 20 s")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_streamable_http_server_is_loaded_and_called(http_url: str) -> None:
    async def run() -> tuple[list[ToolSpec], Any, Any]:
        specs = await load_mcp_async(http_url)
        weather = next(s for s in specs if s.name == "get_weather")
        hotel = next(s for s in specs if s.name == "book_hotel")
        async with McpEngine() as mcp_engine:
            ok = await mcp_engine.execute(call("get_weather", city="Oslo"), weather)
            error = await mcp_engine.execute(call("book_hotel", city="Atlantis", nights=1), hotel)
        return specs, ok, error

    specs, ok, error = asyncio.run(run())
    assert isinstance(specs[0].binding, McpBinding)
    assert specs[0].binding.server.url == http_url
    assert specs[0].domain == specs[0].binding.server.name
    assert ok.output == {"city": "Oslo", "temp_c": 21.5, "conditions": "sunny"}
    assert error.verdict.code == "exec.exception"
    with pytest.raises(ConfigError, match=r"refused the MCP handshake.*streamable-HTTP endpoint"):
        load_mcp(http_url.removesuffix("/mcp") + "/wrong", timeout=5)


def test_env_values_for_an_http_server_are_refused() -> None:
    with pytest.raises(ConfigError, match="only reach stdio servers"):
        load_mcp(
            McpConfig(servers=(McpServer(name="h", url="http://127.0.0.1:9/mcp"),), env={"h": {"K": "v"}})
        )
