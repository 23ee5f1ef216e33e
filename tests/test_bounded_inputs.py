"""Inputs that used to hang, eat memory or crash with a RecursionError now fail closed, with a clear error.

Each hostile input (a YAML billion laughs, `/dev/zero`, a FIFO, a file over the size limit, JSON
or YAML nested thousands of levels deep, a long `$ref` chain) gets a clear CallforgeError naming
the input and the limit to raise; the streamed readers (result files, JSON arrays) keep memory
bounded. Tests that would hang or grow without limit if the fix regressed run in a subprocess
with a timeout and a memory cap, so a regression fails instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from callforge.core import (
    CallforgeError,
    ConfigError,
    DataError,
    InputLimitError,
    InputLimits,
    SpecError,
    check_depth,
    check_unfolded,
    current_limits,
    use_limits,
)
from callforge.evaluate.results import read_results
from callforge.formats import read_dialogs
from callforge.formats.records import head_records, iter_records
from callforge.tools import load_openapi, load_tools
from tests.conftest import REPO

pytestmark = pytest.mark.timeout(120)

# ---------------------------------------------------------------------- helpers


def isolated(code: str, *, timeout: float = 60, memory_mb: int = 2048) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter with an address-space cap and a timeout (a hang or a blow-up fails)."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + str(REPO)}
    try:
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=cap,
            env=env,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s: the input was not refused")


def openapi_yaml(extra: str) -> str:
    """A valid one-operation OpenAPI document with `extra` (top-level YAML) added."""
    return (
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /a:\n    get:\n      operationId: a\n      responses: {'200': {description: ok}}\n" + extra
    )


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def openapi_json(schemas: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a": {
                "post": {
                    "operationId": "a",
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": {"schemas": schemas},
    }


# ---------------------------------------------------------------------- the limits record


def test_limits_come_from_keywords_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert current_limits() == InputLimits()
    monkeypatch.setenv("CALLFORGE_MAX_DEPTH", "50")
    monkeypatch.setenv("CALLFORGE_MAX_INPUT_MB", "0.5")
    assert current_limits().max_depth == 50
    assert current_limits().max_input_bytes == 1 << 19
    with use_limits(max_depth=7) as inner:
        assert current_limits() is inner
        assert (inner.max_depth, inner.max_input_mb) == (7, 0.5)  # the rest stays as the environment says
    assert current_limits().max_depth == 50
    monkeypatch.setenv("CALLFORGE_MAX_DEPTH", "deep")
    with pytest.raises(ConfigError, match="CALLFORGE_MAX_DEPTH='deep' must be a whole number"):
        current_limits()
    with pytest.raises(ConfigError, match="`max_ref_hops` must be a positive number"):
        InputLimits(max_ref_hops=0)
    with pytest.raises(ConfigError, match="unknown input limit"), use_limits(InputLimits(), max_size=3):
        pass


# ---------------------------------------------------------------------- YAML billion laughs


def laughs(levels: int) -> str:
    """An OpenAPI document with a billion-laughs tree: `levels` lists of nine aliases of the one below."""
    nine = ", ".join(["lol"] * 9)
    tree = f"x-l0: &l0 [{nine}]\n" + "".join(
        f"x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, levels + 1)
    )
    return openapi_yaml(tree)


def test_yaml_billion_laughs_is_refused_before_it_unfolds(tmp_path: Path) -> None:
    spec = tmp_path / "laughs.yaml"
    spec.write_text(laughs(6))  # ~5 million nodes unfolded; the real attack has 9 levels, a billion
    with pytest.raises(
        InputLimitError, match=r"YAML aliases .* would add .*`max_alias_nodes=2000000`"
    ) as info:
        load_openapi(spec, validate=False)
    assert str(spec) in str(info.value) and "CALLFORGE_MAX_ALIAS_NODES" in str(info.value)
    spec.write_text(laughs(3))  # ~7,000 nodes: fine by default, refused under a lower limit
    assert [t.name for t in load_openapi(spec, validate=False)] == ["a"]
    with pytest.raises(InputLimitError, match="max_alias_nodes"):
        load_openapi(spec, validate=False, limits=InputLimits(max_alias_nodes=1000))


def test_yaml_billion_laughs_at_full_size_fails_fast_and_small() -> None:
    document = laughs(9)
    done = isolated(
        f"""
        import tempfile, pathlib
        from callforge.core import InputLimitError
        from callforge.tools import load_openapi
        path = pathlib.Path(tempfile.mkdtemp()) / "lol.yaml"
        path.write_text({document!r})
        try:
            load_openapi(path)
        except InputLimitError as exc:
            print("refused:", exc)
        """,
        memory_mb=1024,
    )
    assert "refused:" in done.stdout and "max_alias_nodes" in done.stdout, done.stderr[-2000:]


def test_yaml_merge_keys_count_what_they_copy(tmp_path: Path) -> None:
    base = "x-base: &base {" + ", ".join(f"k{i}: {i}" for i in range(2000)) + "}\n"
    copies = "".join(f"x-c{i}: {{<<: *base}}\n" for i in range(600))  # 40 KB that copy 1.2 million pairs
    spec = tmp_path / "merge.yaml"
    spec.write_text(openapi_yaml(base + copies))
    with pytest.raises(InputLimitError, match="max_alias_nodes"):
        load_openapi(spec, validate=False)


def test_recursive_yaml_alias_is_an_error_not_a_recursion(tmp_path: Path) -> None:
    spec = tmp_path / "loop.yaml"
    spec.write_text(openapi_yaml("x-loop: &loop [1, *loop]\n"))
    with pytest.raises(DataError, match="refers to a collection that contains it"):
        load_openapi(spec, validate=False)


def test_legitimate_yaml_anchors_still_load() -> None:
    # docker-engine's spec uses anchors throughout; it must import as before
    tools = load_openapi(REPO / "tests" / "data" / "openapi" / "docker-engine-1.41.yaml", validate=False)
    assert len(tools) > 100


# ---------------------------------------------------------------------- not regular files


def test_dev_zero_is_refused_without_reading_it() -> None:
    done = isolated(
        """
        from callforge.core import CallforgeError
        from callforge.tools import load_openapi, load_tools
        from callforge.formats import read_dialogs
        from callforge.evaluate.results import read_results
        for name, load in [("tools", load_tools), ("openapi", load_openapi),
                           ("dialogs", lambda p: list(read_dialogs(p, "openai"))),
                           ("results", lambda p: list(read_results(p)))]:
            try:
                load("/dev/zero")
            except CallforgeError as exc:
                print(name, "refused:", exc)
        """,
        memory_mb=1024,
    )
    out = done.stdout
    for name in ("tools", "openapi", "dialogs", "results"):
        assert f"{name} refused:" in out, done.stderr[-2000:]
    assert out.count("is a character device, not a regular file") == 4, out


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "tools.json"
    os.mkfifo(fifo)
    done = isolated(
        f"""
        from callforge.core import CallforgeError
        from callforge.tools import load_openapi, load_tools, is_mcp_config
        from callforge.formats import read_dialogs
        from callforge.evaluate.results import read_results
        path = {str(fifo)!r}
        print("mcp config:", is_mcp_config(path))
        for name, load in [("tools", load_tools), ("openapi", load_openapi),
                           ("dialogs", lambda p: list(read_dialogs(p))),
                           ("dialogs-openai", lambda p: list(read_dialogs(p, "openai"))),
                           ("results", lambda p: list(read_results(p)))]:
            try:
                load(path)
            except CallforgeError as exc:
                print(name, "refused:", exc)
        """,
        timeout=60,
    )
    out = done.stdout
    assert "mcp config: False" in out, done.stderr[-2000:]
    for name in ("tools", "openapi", "dialogs", "dialogs-openai", "results"):
        assert f"{name} refused:" in out, out + done.stderr[-2000:]
    assert out.count("is a named pipe (FIFO), not a regular file") == 5, out


def test_directory_and_missing_file_messages_are_unchanged(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        load_tools(tmp_path)
    with pytest.raises(SpecError, match=r"nope\.json: at \$: file not found; expected a path"):
        load_tools(tmp_path / "nope.json")
    with pytest.raises(DataError, match="file not found"):
        list(iter_records(tmp_path / "nope.jsonl"))


# ---------------------------------------------------------------------- size


def test_tool_file_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tools.json"
    tool = {"name": "f", "description": "x" * 1000, "parameters": {"type": "object", "properties": {}}}
    path.write_text(json.dumps([{**tool, "name": f"f{i}"} for i in range(1500)]))  # ~1.5 MB
    monkeypatch.setenv("CALLFORGE_MAX_INPUT_MB", "1")
    with pytest.raises(
        InputLimitError, match=r"tools\.json: the file is 1\.\d MB, over the limit of 1\.0 MB"
    ) as info:
        load_tools(path)
    assert "`max_input_mb=2`" in str(info.value) and "CALLFORGE_MAX_INPUT_MB=2" in str(info.value)
    assert len(load_tools(path, limits=InputLimits(max_input_mb=2))) == 1500
    with pytest.raises(InputLimitError, match="max_input_mb"):
        load_openapi(path)


def test_a_record_over_the_line_limit(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    small = {"messages": [{"role": "user", "content": "hi"}]}
    big = {"messages": [{"role": "user", "content": "x" * 300_000}]}
    path.write_text(json.dumps(small) + "\n" + json.dumps(big) + "\n")
    with (
        use_limits(max_record_mb=0.25),
        pytest.raises(InputLimitError, match=r"data\.jsonl:2: the line is longer"),
    ):
        list(iter_records(path))
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps({"id": "simple_python_0", "result": "x" * 300_000}) + "\n")
    with (
        use_limits(max_record_mb=0.25),
        pytest.raises(InputLimitError, match=r"results\.jsonl:1: .*max_record_mb"),
    ):
        list(read_results(results))


# ---------------------------------------------------------------------- depth


def test_deep_json_tool_file_is_a_depth_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(nested_list(5000))  # past the parser: the error still says how deep
    with pytest.raises(
        InputLimitError, match=r"deep\.json: objects and arrays nest 5000 levels deep, over the limit of 200"
    ):
        load_tools(path)
    path.write_text(json.dumps([{"name": "f", "parameters": nested_schema(400)}]))
    with pytest.raises(InputLimitError, match="`max_depth=400`"):
        load_tools(path)
    lines = tmp_path / "deep.jsonl"
    lines.write_text(json.dumps({"name": "g"}) + "\n" + nested_list(5000) + "\n")
    with pytest.raises(InputLimitError, match=r"deep\.jsonl:2: objects and arrays nest"):
        load_tools(lines)


def test_a_depth_limit_raised_too_far_is_still_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    opening = '{"type": "object", "properties": {"x": ' * 600
    schema = opening + '{"type": "string"}' + "}}" * 600  # 1,201 levels: json.dumps itself cannot write it
    path.write_text('[{"name": "f", "parameters": ' + schema + "}]")
    with pytest.raises(ConfigError, match=r"nest too deeply to process .*, although within `max_depth=5000`"):
        load_tools(path, limits=InputLimits(max_depth=5000))


def test_parsed_input_that_contains_itself_is_an_error() -> None:
    looped: dict[str, Any] = {"name": "f", "parameters": {"type": "object", "properties": {}}}
    looped["parameters"]["properties"]["self"] = looped
    with pytest.raises(DataError, match="contains it"):
        load_tools([looped])
    spec: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}
    spec["paths"]["x-self"] = spec
    with pytest.raises(DataError, match="contains it"):
        load_openapi(spec)


def test_deep_yaml_spec_is_a_depth_error(tmp_path: Path) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(openapi_yaml(f"x-deep: {nested_list(900)}\n"))
    with pytest.raises(InputLimitError, match=r"deep\.yaml: objects and arrays nest more than 200 levels"):
        load_openapi(spec, validate=False)
    spec.write_text(openapi_yaml(f"x-deep: {nested_list(5000)}\n"))  # past libyaml's own limit (1000)
    with pytest.raises(InputLimitError, match="max_depth"):
        load_openapi(spec, validate=False)


def test_deep_json_spec_is_a_depth_error(tmp_path: Path) -> None:
    spec = tmp_path / "deep.json"
    spec.write_text(json.dumps(openapi_json({}, nested_schema(150))))  # 300 JSON levels, fine for orjson
    with pytest.raises(InputLimitError, match="max_depth"):
        load_openapi(spec, validate=False)


def test_long_ref_chain_is_a_hop_error(tmp_path: Path) -> None:
    count = 2000
    schemas = {
        f"S{i}": {"type": "object", "properties": {"next": {"$ref": f"#/components/schemas/S{i + 1}"}}}
        for i in range(count)
    }
    schemas[f"S{count}"] = {"type": "string"}
    spec = tmp_path / "chain.json"
    spec.write_text(json.dumps(openapi_json(schemas, {"$ref": "#/components/schemas/S0"})))
    with pytest.raises(
        InputLimitError, match=r"chain\.json: at \$\.components\.schemas\.S49\.properties\.next: schemas nest"
    ):
        load_openapi(spec, validate=False)  # two schema levels a hop: the depth limit comes first
    with (
        use_limits(max_depth=1000),
        pytest.raises(
            InputLimitError, match=r"chain\.json: at \$.*: more than 64 \$refs .*`max_ref_hops=128`"
        ),
    ):
        load_openapi(spec, validate=False)
    aliases = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(count)}
    aliases[f"S{count}"] = {"type": "string"}
    spec.write_text(json.dumps(openapi_json(aliases, {"$ref": "#/components/schemas/S0"})))
    with pytest.raises(InputLimitError, match="max_ref_hops"):
        load_openapi(spec, validate=False)
    short = {k: v for k, v in schemas.items() if int(k[1:]) < 30}
    short["S30"] = {"type": "string"}
    spec.write_text(json.dumps(openapi_json(short, {"$ref": "#/components/schemas/S0"})))
    (tool,) = load_openapi(spec, validate=False)  # a 30-deep chain of types is fine
    assert "next" in tool.parameters["properties"]


def test_deep_records_are_read_errors_not_recursion(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    deep = {"messages": [{"role": "user", "content": "hi"}], "tools": [json.loads(nested_list(300))]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(deep) + "\n")
    first, second = list(read_dialogs(path, "openai"))
    assert not first.meta.read_errors
    (error,) = second.meta.read_errors
    assert "nest more than 200 levels" in error.message and "max_depth" in error.message
    array = tmp_path / "deep.json"
    array.write_text(json.dumps([good, deep]))
    records = list(iter_records(array))
    assert records[0].error is None and records[1].error is not None and "max_depth" in records[1].error


def test_deep_result_line_is_a_clear_error(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    results.write_text('{"id": "simple_python_0", "result": ' + nested_list(5000) + "}\n")
    with pytest.raises(InputLimitError, match=r"r\.jsonl:1: objects and arrays nest"):
        list(read_results(results))


def test_check_depth_and_check_unfolded() -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(300):
        node.append([])
        node = node[0]
    with pytest.raises(InputLimitError, match="max_depth"):
        check_depth(deep, "x")
    check_depth(deep, "x", limits=InputLimits(max_depth=400))
    check_depth(deep, "x", text="[]")  # the text says it cannot be deep: no walk
    shared = [1, 2, 3]
    check_unfolded({"a": shared, "b": shared}, "x")
    with pytest.raises(InputLimitError, match="max_alias_nodes"):
        check_unfolded([shared] * 10, "x", limits=InputLimits(max_alias_nodes=20))


# ---------------------------------------------------------------------- streaming


def _peak_while(run: Any) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_results_are_streamed_not_held(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    with results.open("w") as fh:
        for i in range(5_000):
            calls = [
                {"weather_forecast": json.dumps({"city": "Lisbon", "days": d, "note": "x" * 100})}
                for d in range(6)
            ]
            fh.write(json.dumps({"id": f"simple_python_{i}", "result": calls}) + "\n")
    size = results.stat().st_size

    def twice() -> None:  # the evaluator walks the results twice (categories present, then scoring)
        rows = read_results(results)
        assert len({r.id.rsplit("_", 1)[0] for r in rows}) == 1
        assert sum(1 for _ in rows) == 5_000

    peak = _peak_while(twice)  # the ids seen (to refuse duplicates) and one line: not the outputs
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte file"
    peak = _peak_while(lambda: sum(1 for _ in read_results(results, allow_duplicate_ids=True)))
    assert peak < 100_000, f"peak {peak:,} bytes for a {size:,}-byte file"


def test_results_duplicates_are_still_found_with_both_places(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    rows = [{"id": f"simple_python_{i}", "result": "[]"} for i in range(5)] + [
        {"id": "simple_python_2", "result": "x"}
    ]
    results.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(DataError, match=r"r\.jsonl:6: id 'simple_python_2' was already read at .*r\.jsonl:3"):
        list(read_results(results))
    assert len(list(read_results(results, allow_duplicate_ids=True))) == 6


def test_json_array_reader_streams(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    rows = [{"messages": [{"role": "user", "content": f"question {i} " + "y" * 200}]} for i in range(10_000)]
    path.write_text(json.dumps(rows, indent=1))
    size = path.stat().st_size
    count = 0

    def read() -> None:
        nonlocal count
        for record in iter_records(path):
            assert record.in_array and record.position == count
            count += 1

    peak = _peak_while(read)
    assert count == 10_000
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte array"


def test_json_array_reader_bounds_one_record(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"a": 1}, {"a": "x" * 400_000}, {"a": 3}]))
    with (
        use_limits(max_record_mb=0.25),
        pytest.raises(InputLimitError, match=r"data\.json\[1\]: .*max_record_mb"),
    ):
        list(iter_records(path))


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 16])
def test_json_array_reader_agrees_with_a_whole_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    import callforge.formats.records as records

    monkeypatch.setattr(records, "_CHUNK", chunk)
    values: list[Any] = [
        {"a": "ünïcødé ✓ 🎉", "b": [1, 2.5, -3e-2, True, False, None]},
        12345678901234567890,
        'a string with \\ and " and ] and }',
        [],
        {},
        [[[]]],
        0,
        -7,
        1.5e300,
    ]
    path = tmp_path / "data.json"
    path.write_bytes(b"\xef\xbb\xbf \n" + json.dumps(values, ensure_ascii=False, indent=2).encode() + b"\n")
    assert [r.value for r in iter_records(path)] == values
    path.write_text("[]")
    assert list(iter_records(path)) == []
    path.write_text('[{"a": 1}, {"a": 2]')
    with pytest.raises(DataError, match=r"data\.json: not valid JSON"):
        list(iter_records(path))
    path.write_text('[{"a": 1}, {"a": 2}] trailing')
    with pytest.raises(DataError, match=r"data\.json: not valid JSON"):
        list(iter_records(path))
    path.write_text('[{"a": 1}, {"a": 2}')
    with pytest.raises(DataError, match=r"data\.json: not valid JSON"):
        list(iter_records(path))
    path.write_text('{"messages": []}\n')
    assert [r.value for r in iter_records(path)] == [{"messages": []}]


def test_json_array_head_and_detection_still_work(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}
        for i in range(50)
    ]
    path.write_text(json.dumps(rows))
    assert [r.value for r in head_records(path, 3)] == rows[:3]
    assert len(list(read_dialogs(path))) == 50


def test_errors_are_callforge_errors() -> None:
    assert issubclass(InputLimitError, ConfigError) and issubclass(InputLimitError, CallforgeError)


def test_the_cli_names_the_flag_that_raises_a_limit_and_the_flag_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from callforge.cli import main

    monkeypatch.setenv("CALLFORGE_MAX_DEPTH", "200")  # restored after the test: the flag sets it for the run
    deep: object = 0
    for _ in range(230):
        deep = [deep]
    parameters = {"type": "object", "properties": {"x": {"type": "array", "description": "x", "default": deep}}}
    spec = tmp_path / "deep_tool.json"
    spec.write_text(json.dumps([{"type": "function", "function": {"name": "f", "description": "Does f.", "parameters": parameters}}]))

    def run(*args: str) -> int:
        monkeypatch.setattr(sys, "argv", ["callforge", "tools", "show", str(spec), *args])
        with pytest.raises(SystemExit) as status:
            main()
        code = status.value.code
        return code if isinstance(code, int) else 0

    assert run() == 2
    assert "raise the limit with --max-depth 400" in " ".join(capsys.readouterr().err.split())
    assert run("--max-depth", "400") == 0
    assert run("--max-depth", "-3") == 2
