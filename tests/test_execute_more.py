"""Real tools everywhere (issue 17): MCP sources in generate and `tools graph`, REST and MCP engines for
`verify --exec`, and a read-only mode that never sends a mutating request.

Every server is real and local: the OpenAPI library server of tests/test_rest_engine.py (it records
each request it receives) and tests/data/mcp_travel_server.py (it logs each call it runs), over
stdio and streamable HTTP. Proofs are server-side: what the server received, never timings.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shlex
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from callforge.core import ConfigError, Dialog, HttpBinding, McpBinding, Message, ToolCall, ToolSpec
from callforge.execute import (
    Observation,
    RestEngine,
    SourceEngine,
    load_toolbox,
    load_toolbox_async,
    make_engine,
    read_sources,
    read_sources_async,
)
from callforge.generate import GenerateConfig, generate
from callforge.tools import load_openapi, validator_for
from callforge.verify import CascadeSpec, Checked, build_cascade, verify_async
from tests.conftest import stream
from tests.gen_world import world_backend
from tests.test_rest_engine import SPEC, TOKEN, Library, library  # noqa: F401  (the live server fixture)

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
TRAVEL = DATA / "mcp_travel_server.py"
DEMO = DATA / "mcp_server.py"
GEN_TOOLS = DATA / "gen_tools.py"
SAFE = {"GET", "HEAD", "OPTIONS"}

needs_mcp = pytest.mark.skipif(
    importlib.util.find_spec("mcp") is None, reason="the mcp extra is not installed"
)


# ---------------------------------------------------------------------------------------- helpers


def travel(log: Path) -> str:
    """The travel MCP server as an `mcp:` source whose calls are logged to `log`."""
    return "mcp:" + shlex.join([sys.executable, str(TRAVEL), "--log", str(log)])


def ran(log: Path) -> list[dict[str, Any]]:
    """The calls the travel server ran, from its own log."""
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def served(call: ToolCall, log: list[dict[str, Any]]) -> bool:
    """Whether the server ran this call (its log fills in defaults: the call's arguments are a subset)."""
    return any(e["tool"] == call.name and call.arguments.items() <= e["arguments"].items() for e in log)


def calls_of(dialog: Dialog) -> list[ToolCall]:
    return [c for m in dialog.messages if m.role == "assistant" for c in m.tool_calls]


def accepted_dialogs(out: Path) -> list[Dialog]:
    return [Dialog.model_validate(row["dialog"]) for row in stream(out, "accepted")]


def unbound(tools: Sequence[ToolSpec]) -> tuple[ToolSpec, ...]:
    """Tools as a dataset carries them: what they take, not where they run."""
    return tuple(t.model_copy(update={"binding": None, "source": "dataset"}) for t in tools)


def tool(name: str, /, **properties: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=f"{name} as a dataset describes it.",
        parameters={
            "type": "object",
            "properties": {k: {"type": v} for k, v in properties.items()},
            "required": list(properties),
        },
    )


def dialog(tools: Sequence[ToolSpec], *calls: ToolCall, id: str = "") -> Dialog:
    """A one-turn dialog making `calls` (outputs left empty: the exec stage runs them itself)."""
    messages = [
        Message(role="user", content="Please do it."),
        Message(role="assistant", tool_calls=tuple(calls)),
    ]
    messages += [Message(role="tool", tool_call_id=c.id, content="{}") for c in calls]
    messages.append(Message(role="assistant", content="Done."))
    return Dialog.model_validate({"tools": list(tools), "messages": messages, "meta": {"id": id}})


def call(name: str, id: str = "c1", /, **arguments: Any) -> ToolCall:
    return ToolCall(name=name, arguments=arguments, id=id)


def exec_run(records: Sequence[Checked]) -> dict[str, list[dict[str, Any]]]:
    """Each record's exec-stage observations, by record id."""
    found = {}
    for record in records:
        stage = next(s for s in record.stages if s.stage == "exec")
        found[record.id] = list(stage.meta["observations"])
    return found


def verify_with(exec_spec: str, dialogs: Sequence[Dialog], **cascade: Any) -> list[Checked]:
    async def go() -> list[Checked]:
        report = await verify_async(
            dialogs=list(dialogs), cascade=CascadeSpec(stages=("exec",), exec=exec_spec, **cascade)
        )
        return report.records

    return asyncio.run(go())


@pytest.fixture(scope="module")
def travel_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The travel server on streamable HTTP, on a socket bound here: connections queue until it accepts."""
    log = tmp_path_factory.mktemp("travel_http") / "calls.jsonl"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(TRAVEL), "--log", str(log), "--http-fd", str(listener.fileno())],
        pass_fds=[listener.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    listener.close()  # the server holds its own copy
    try:
        yield f"http://127.0.0.1:{port}/mcp", log
    finally:
        process.terminate()
        process.wait(timeout=30)


# ------------------------------------------------------------------------------ 1. sources in async code


@needs_mcp
def test_the_blocking_reader_refuses_mcp_inside_a_loop_and_the_async_one_lists_there(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"

    async def blocking() -> object:
        return read_sources([travel(log)])

    with pytest.raises(ConfigError, match=r"inside a running event loop; use `await read_sources_async"):
        asyncio.run(blocking())

    async def toolbox_blocking() -> object:
        return load_toolbox([travel(log)])

    with pytest.raises(ConfigError, match="read_sources_async"):
        asyncio.run(toolbox_blocking())

    async def listed() -> Any:
        clash = None
        try:
            await read_sources_async([str(GEN_TOOLS), travel(log)])
        except ConfigError as exc:
            clash = exc
        found = await read_sources_async([str(GEN_TOOLS), travel(log)], prefix=True)
        box = await load_toolbox_async([travel(log)])
        return clash, found, box

    clash, found, box = asyncio.run(listed())
    assert (
        clash is not None and "'get_weather' is defined in both" in str(clash) and "prefix=True" in str(clash)
    )
    names = [t.name for t in found.tools]
    kinds = [found.kinds[n] for n in names]
    assert kinds == [
        "python",
        "python",
        "python",
        "mcp",
        "mcp",
        "mcp",
    ]  # source order, whatever finished first
    listed = {f"mcp_travel_server__{n}" for n in ("get_weather", "search_hotels", "book_hotel")}
    assert set(names[3:]) == listed
    assert box.mcp == {"get_weather", "search_hotels", "book_hotel"} and not box.simulated
    assert ran(log) == []  # listing runs no tool


def test_the_async_reader_checks_every_source_before_reaching_any_server(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    # had the server been reached, its error ("not found on PATH") would win: it is the first source
    with pytest.raises(ConfigError, match=r"nope\.json'?: no such file"):
        asyncio.run(read_sources_async(["mcp:no-such-mcp-server-cmd", str(missing)]))
    with pytest.raises(ConfigError, match="no tool sources given"):
        asyncio.run(read_sources_async([]))


def _generate_on(source: str, out: Path, log: Path) -> list[Dialog]:
    report = generate(
        tools=[source], n=3, out=out, model=world_backend(), seed=1, mix="single=1,nested=1", concurrency=4
    )
    assert report.complete and report.tally.accepted >= 3, report.stop_reason
    dialogs = accepted_dialogs(out)
    log_entries = ran(log)
    made = [c for d in dialogs for c in calls_of(d)]
    assert made, "the accepted dialogs make no tool calls"
    assert all(served(c, log_entries) for c in made), (made, log_entries)
    for d in dialogs:  # the tool messages carry what the server answered
        outputs = {m.tool_call_id: json.loads(m.content or "null") for m in d.messages if m.role == "tool"}
        for c in calls_of(d):
            if c.name == "get_weather":
                assert outputs[c.id]["city"] == c.arguments["city"]
    return dialogs


@needs_mcp
def test_generate_runs_an_mcp_command_s_tools_on_the_server(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    dialogs = _generate_on(travel(log), tmp_path / "run", log)
    assert {t.domain for d in dialogs for t in d.tools} == {"mcp_travel_server"}


@needs_mcp
def test_generate_runs_the_tools_of_an_mcp_config_file(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(
        json.dumps(
            {"mcpServers": {"trips": {"command": sys.executable, "args": [str(TRAVEL), "--log", str(log)]}}}
        )
    )
    dialogs = _generate_on(str(config), tmp_path / "run", log)
    assert {t.domain for d in dialogs for t in d.tools} == {"trips"}


@needs_mcp
def test_generate_runs_the_tools_of_an_mcp_url(tmp_path: Path, travel_http: tuple[str, Path]) -> None:
    url, log = travel_http
    _generate_on(url, tmp_path / "run", log)


# ---------------------------------------------------------------------------------------- 2. tools graph


@needs_mcp
def test_tools_graph_reads_mcp_servers_and_openapi_specs(tmp_path: Path) -> None:
    from callforge.cli import app

    dot = tmp_path / "graph.dot"
    result = CliRunner().invoke(
        app, ["tools", "graph", travel(tmp_path / "log"), str(SPEC), "--json", "--dot", str(dot)]
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["tools"] == 3 + len(load_openapi(SPEC))
    assert '"search_hotels" -> "book_hotel" [label="hotels[].hotel_id → hotel_id' in dot.read_text()

    prefixed = CliRunner().invoke(app, ["tools", "graph", travel(tmp_path / "log"), "--prefix", "--json"])
    assert prefixed.exit_code == 0, prefixed.output
    assert json.loads(prefixed.output)["tools"] == 3

    forced = CliRunner().invoke(app, ["tools", "graph", travel(tmp_path / "log"), "--format", "openai"])
    assert forced.exit_code != 0 and isinstance(forced.exception, ConfigError)
    assert "is an MCP server or config" in str(forced.exception) and "`format`" in str(forced.exception)


# ------------------------------------------------------------------------------ 3. verify --exec rest: / mcp:


def test_rest_exec_runs_a_dataset_s_calls_on_same_named_operations(library: Library) -> None:  # noqa: F811
    tools = unbound(load_openapi(SPEC))
    before = len(library.seen)
    records = verify_with(
        f"rest:{SPEC}@{library.url}",
        [
            dialog(tools, call("listBooks", "c1", tag=["sf"]), id="found"),
            dialog(tools, call("getBook", "c1", bookId=7), id="missing"),
            dialog((*tools, tool("getBok", bookId="integer")), call("getBok", "c1", bookId=1), id="unknown"),
        ],
    )
    by_id = {r.id: r for r in records}
    observations = exec_run(records)
    assert by_id["found"].ok and observations["found"][0]["output"] == [
        {"id": 1, "title": "Dune", "author": "Frank Herbert", "tags": ["sf"], "year": 1965}
    ]
    assert not by_id["missing"].ok
    assert observations["missing"][0]["verdict"]["code"] == "exec.exception"
    assert "HTTP 404" in observations["missing"][0]["verdict"]["message"]
    unknown = observations["unknown"][0]["verdict"]
    assert unknown["code"] == "exec.unavailable" and by_id["unknown"].stages[0].skipped
    assert (
        "getBok is not a tool of OpenAPI spec" in unknown["message"]
        and "did you mean getBook?" in unknown["message"]
    )
    seen = [(s.method, s.path) for s in library.seen[before:]]
    assert sorted(seen) == [("GET", "/api/v1/books"), ("GET", "/api/v1/books/7")]  # nothing for getBok


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("rest:", "names no OpenAPI spec"),
        ("rest:https://api.example.com/openapi.json", "specs are not downloaded"),
        ("rest:nope.yaml@http://127.0.0.1:9", "'nope.yaml' is not a file"),
        (f"rest:{SPEC}@http://", "not an absolute http(s) URL"),
        ("soap:x", "rest:SPEC[@URL] sends each call"),
        ("mcp:", "names no MCP server"),
        ("mcp:python 'unbalanced", "check its quotes"),
        (f"mcp:{DATA / 'formats' / 'xlam.json'}", "is a JSON file but not an MCP config"),
    ],
)
def test_exec_specs_that_cannot_work_say_how_to_write_them(spec: str, says: str) -> None:
    if spec.startswith("mcp:") and importlib.util.find_spec("mcp") is None:
        pytest.skip("the mcp extra is not installed")
    with pytest.raises(ConfigError) as caught:
        make_engine(spec)
    assert says in str(caught.value)


def test_rest_exec_without_a_url_needs_an_absolute_server_in_the_spec(tmp_path: Path) -> None:
    relative = tmp_path / "relative.yaml"
    relative.write_text(
        "openapi: 3.0.3\ninfo: {title: T, version: '1'}\nservers: [{url: /api}]\n"
        "paths:\n  /ping:\n    get:\n      operationId: ping\n      responses: {'200': {description: ok}}\n"
    )
    with pytest.raises(
        ConfigError, match=r"declares no absolute server URL \(only /api\).*@http://127.0.0.1:8000"
    ):
        make_engine(f"rest:{relative}")
    assert isinstance(make_engine(f"rest:{relative}@http://127.0.0.1:9"), SourceEngine)


@needs_mcp
def test_mcp_exec_runs_a_dataset_s_calls_on_the_server_s_tools(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    tools = (tool("get_weather", city="string"), tool("book_hotel", hotel_id="string", nights="integer"))
    typo = tool("get_wether", city="string")
    records = verify_with(
        travel(log),
        [
            dialog(tools, call("get_weather", "c1", city="Lisbon"), id="weather"),
            dialog(tools, call("book_hotel", "c1", hotel_id="X-1", nights=2), id="bad_id"),
            dialog((*tools, typo), call("get_wether", "c1", city="Lima"), id="typo"),
            dialog(
                tools,
                call("get_weather", "c1", city="Tokyo"),
                call("get_weather", "c2", city="Lima"),
                id="two",
            ),
        ],
    )
    by_id = {r.id: r for r in records}
    observations = exec_run(records)
    assert by_id["weather"].ok and observations["weather"][0]["output"] == {
        "city": "Lisbon",
        "temperature": 15.0,
        "unit": "C",
    }
    assert observations["weather"][0]["engine"] == "mcp"
    assert not by_id["bad_id"].ok and observations["bad_id"][0]["verdict"]["code"] == "exec.exception"
    assert "malformed" in observations["bad_id"][0]["verdict"]["message"]
    typo_verdict = observations["typo"][0]["verdict"]
    assert (
        typo_verdict["code"] == "exec.unavailable" and "did you mean get_weather?" in typo_verdict["message"]
    )
    assert by_id["two"].ok
    assert sorted(
        (e["tool"], e["arguments"].get("city") or e["arguments"].get("hotel_id")) for e in ran(log)
    ) == [
        ("book_hotel", "X-1"),
        ("get_weather", "Lima"),
        ("get_weather", "Lisbon"),
        ("get_weather", "Tokyo"),
    ]  # the typo never reached the server


@needs_mcp
def test_mcp_exec_on_a_config_matches_bare_names_unless_two_servers_offer_them(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "travel": {"command": sys.executable, "args": [str(TRAVEL), "--log", str(log)]},
                    "demo": {"command": sys.executable, "args": [str(DEMO)]},
                }
            }
        )
    )
    tools = (
        tool("greet", name="string"),
        tool("get_weather", city="string"),
        tool("travel__get_weather", city="string"),
    )
    records = verify_with(
        f"mcp:{config}",
        [
            dialog(tools, call("greet", "c1", name="Ada"), id="greet"),
            dialog(tools, call("get_weather", "c1", city="Paris"), id="either"),
            dialog(tools, call("travel__get_weather", "c1", city="Paris"), id="travel"),
        ],
    )
    observations = exec_run(records)
    assert observations["greet"][0]["output"] == "Hello, Ada!"
    either = observations["either"][0]["verdict"]
    assert either["code"] == "exec.unavailable" and "offered by several MCP servers" in either["message"]
    assert "travel__get_weather" in either["message"] and "demo__get_weather" in either["message"]
    assert observations["travel"][0]["output"]["city"] == "Paris"
    assert [e["tool"] for e in ran(log)] == ["get_weather"]


@needs_mcp
def test_mcp_exec_on_a_url(travel_http: tuple[str, Path]) -> None:
    url, log = travel_http
    records = verify_with(
        f"mcp:{url}",
        [
            dialog(
                (tool("search_hotels", city="string", max_price="integer"),),
                call("search_hotels", "c1", city="Lima", max_price=77),
            )
        ],
    )
    assert records[0].ok
    assert exec_run(records)[records[0].id][0]["output"] == {
        "hotels": [{"hotel_id": "H-LIM-77", "name": "Lima Central"}]
    }
    assert {"tool": "search_hotels", "arguments": {"city": "Lima", "max_price": 77}} in ran(log)


@needs_mcp
def test_an_mcp_server_that_cannot_be_listed_makes_every_call_unavailable_with_the_reason() -> None:
    records = verify_with(
        "mcp:no-such-mcp-server-cmd --flag",
        [dialog((tool("greet", name="string"),), call("greet", "c1", name=who)) for who in ("x", "y")],
    )
    for observations in exec_run(records).values():
        verdict = observations[0]["verdict"]
        assert verdict["code"] == "exec.unavailable"
        assert "could not be listed" in verdict["message"] and "not found on PATH" in verdict["message"]


def test_concurrent_first_calls_list_a_source_once() -> None:
    listed = 0
    book = load_openapi(SPEC)[0]

    class Echo:
        name = "echo"

        async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
            return Observation(
                call=call, output=tool.binding.kind if tool.binding else None, engine=self.name
            )

    async def lister() -> list[ToolSpec]:
        nonlocal listed
        listed += 1
        return [book]

    async def go() -> list[Observation]:
        engine = SourceEngine(Echo(), lister, source="a test source")
        # every call starts before the listing task gets its first turn, so each sees none done yet
        return list(
            await asyncio.gather(*(engine.execute(call(book.name), tool(book.name)) for _ in range(5)))
        )

    observations = asyncio.run(go())
    assert listed == 1
    assert [o.output for o in observations] == ["http"] * 5  # each ran with the source's bound tool


# ---------------------------------------------------------------------------------------- 4. read-only


def test_a_read_only_rest_engine_sends_only_safe_methods(library: Library) -> None:  # noqa: F811
    tools = {t.name: t for t in load_openapi(SPEC)}
    before = len(library.seen)
    engine = RestEngine(library.url, env={}, read_only=True)  # no credentials: nothing needing them is sent
    calls: list[tuple[str, dict[str, Any]]] = [
        ("createBook", {"title": "Dune", "author": "Frank Herbert", "year": 1965}),
        ("createBook", {"title": "Dune", "author": "Frank Herbert", "year": 1965}),
        ("deleteBook", {"bookId": 1}),
        ("searchBooks", {"query": "dune", "limit": 2}),
        ("login", {"username": "ada", "password": "pw"}),
        ("listBooks", {"tag": ["classic"]}),
    ]

    async def go() -> list[Observation]:
        async with engine:
            return [await engine.execute(ToolCall(name=n, arguments=a), tools[n]) for n, a in calls]

    created, again, deleted, searched, login, listed = asyncio.run(go())
    seen = library.seen[before:]
    assert [s.method for s in seen] == ["GET"] and seen[0].path == "/api/v1/books"  # the one safe call
    assert listed.ok and listed.output == [
        {"id": 2, "title": "Emma", "author": "Jane Austen", "tags": ["classic"], "year": None}
    ]
    assert listed.verdict.evidence == {} and listed.engine == "rest:read-only"
    for unsent in (created, deleted, searched, login):
        assert unsent.ok and unsent.engine == "rest:read-only"
        assert unsent.verdict.evidence["sent"] is False and unsent.verdict.evidence["read_only"] is True
        assert "was not sent" in unsent.verdict.message
    assert created.verdict.evidence["request"] == f"POST {library.url}/api/v1/books"
    assert not validator_for(tools["createBook"].returns or {})(created.output)
    assert (created.output["title"], created.output["author"], created.output["year"]) == (
        "Dune",
        "Frank Herbert",
        1965,
    )
    assert again.output == created.output  # the same call, the same answer
    assert deleted.output is None  # 204: the operation declares no body
    assert isinstance(login.output["token"], str)
    assert not validator_for(tools["login"].returns or {})(login.output)


def test_a_read_only_generation_sends_no_mutating_request(
    library: Library,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLFORGE_AUTH_BEARERAUTH", TOKEN)
    options: dict[str, Any] = {
        "tools": [str(SPEC)],
        "n": 3,
        "model": world_backend(),
        "seed": 1,
        "mix": "single=1",
        "max_attempts": 12,
        "rest_base_url": library.url,
    }

    def methods(run: Any) -> Counter[str]:
        start = len(library.seen)
        run()
        return Counter(s.method for s in library.seen[start:])

    control = methods(lambda: generate(out=tmp_path / "live", **options))
    assert set(control) - SAFE, f"the control run sent only {control}: the check below would prove nothing"

    read_only = methods(lambda: generate(out=tmp_path / "dry", read_only=True, **options))
    assert not set(read_only) - SAFE, read_only
    spec_methods = {
        t.name: t.binding.method for t in load_openapi(SPEC) if isinstance(t.binding, HttpBinding)
    }
    unsent = [
        c for d in accepted_dialogs(tmp_path / "dry") for c in calls_of(d) if spec_methods[c.name] not in SAFE
    ]
    assert unsent, "no accepted dialog made a mutating call: the simulation path was not exercised"
    manifest = json.loads((tmp_path / "dry" / "manifest.json").read_text())
    assert "read_only" not in manifest["config"]  # a runtime switch, like rest_base_url
    generate(out=tmp_path / "dry", resume=True, **{**options, "n": 4})  # and it may change on resume


@needs_mcp
def test_read_only_sends_only_the_mcp_tools_their_server_declares_read_only(tmp_path: Path) -> None:
    from callforge.tools import load_mcp

    log = tmp_path / "log"
    tools = {t.name: t for t in load_mcp(travel(log).removeprefix("mcp:"))}
    assert {n: t.binding.read_only for n, t in tools.items() if isinstance(t.binding, McpBinding)} == {
        "get_weather": True,
        "search_hotels": True,
        "book_hotel": False,
    }
    lookup = ToolCall(name="search_hotels", arguments={"city": "Paris", "max_price": 200}, id="c1")
    booking = ToolCall(name="book_hotel", arguments={"hotel_id": "h1", "nights": 2}, id="c2")
    checked = verify_with(travel(log), [dialog(list(tools.values()), lookup, booking)], read_only=True)
    observations = checked[0].stages[0].meta["observations"]
    unsent = [o for o in observations if o["verdict"].get("evidence", {}).get("sent") is False]
    assert [o["call"]["name"] for o in unsent] == ["book_hotel"]
    assert [e["tool"] for e in ran(log)] == ["search_hotels"]  # the booking never reached the server
    assert "read_only" in GenerateConfig.runtime


def test_a_given_engine_cannot_be_made_read_only_by_the_spec() -> None:
    spec = CascadeSpec(stages=("rules", "exec"), read_only=True)
    with pytest.raises(ConfigError, match=r"`read_only=True` applies to the engine built from `exec`"):
        build_cascade(spec, engine=RestEngine("http://127.0.0.1:9"))
    built = build_cascade(
        CascadeSpec(stages=("rules", "exec")), engine=RestEngine("http://127.0.0.1:9", read_only=True)
    )
    assert built.names == ["rules", "exec"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callforge", *args], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def test_cli_verify_rest_exec_read_only_end_to_end(library: Library, tmp_path: Path) -> None:  # noqa: F811
    tools = unbound(load_openapi(SPEC))
    data = tmp_path / "data.jsonl"
    rows = [
        dialog(tools, call("createBook", "c1", title="Dune", author="Frank Herbert"), id="create"),
        dialog(tools, call("deleteBook", "c1", bookId=2), id="delete"),
        dialog(tools, call("getBook", "c1", bookId=1), id="get"),
    ]
    data.write_text("".join(d.model_dump_json() + "\n" for d in rows))
    out = tmp_path / "v"
    before = len(library.seen)
    run = _cli(
        "verify",
        str(data),
        "--stages",
        "exec",
        "--exec",
        f"rest:{SPEC}@{library.url}",
        "--read-only",
        "--out",
        str(out),
        "--json",
    )
    assert run.returncode == 0, run.stderr
    funnel = json.loads(run.stdout)
    assert (funnel["total"], funnel["accepted"]) == (3, 3)
    assert [(s.method, s.path) for s in library.seen[before:]] == [("GET", "/api/v1/books/1")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["cascade"]["read_only"] is True
    engines = {r["id"]: r["stages"][0]["meta"]["observations"][0] for r in stream(out, "accepted")}
    assert (
        engines["create"]["verdict"]["evidence"]["sent"] is False
        and engines["get"]["verdict"]["evidence"] == {}
    )
    assert "read_only" not in CascadeSpec().model_dump()  # off is not stored: earlier runs still resume
    sending = _cli(
        "verify", str(data), "--stages", "exec", "--exec", f"rest:{SPEC}@{library.url}", "--out", str(out)
    )
    assert sending.returncode == 2 and "(--read-only was True, now None)" in sending.stderr
    assert [(s.method, s.path) for s in library.seen[before:]] == [("GET", "/api/v1/books/1")]



@needs_mcp
def test_cli_verify_mcp_exec_read_only_sends_only_declared_read_only_tools(tmp_path: Path) -> None:
    from callforge.tools import load_mcp

    log = tmp_path / "log"
    tools = load_mcp(travel(log).removeprefix("mcp:"))
    lookup = ToolCall(name="get_weather", arguments={"city": "Paris"}, id="c1")
    booking = ToolCall(name="book_hotel", arguments={"hotel_id": "h1", "nights": 2}, id="c2")
    data = tmp_path / "data.jsonl"
    data.write_text(dialog(tools, lookup, booking, id="d1").model_dump_json() + "\n")
    run = _cli("verify", str(data), "--stages", "exec", "--exec", travel(log), "--read-only", "--out", str(tmp_path / "run"), "--quiet")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert [e["tool"] for e in ran(log)] == ["get_weather"]
