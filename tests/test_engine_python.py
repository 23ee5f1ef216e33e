"""PythonEngine: every kind of call outcome ends in the right verdict, and tool code never runs in-process."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, ToolCall, ToolSpec
from callforge.execute import Engine, Observation, PythonEngine, SandboxLimits
from callforge.execute.sandbox import bwrap_path

MODES = [
    "process",
    pytest.param(
        "bwrap", marks=pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed")
    ),
]

TOOLS = '''
import dataclasses
import os
import socket
import sys
import time

import pydantic

CALLS_AT_IMPORT = []


def final_velocity(initial_velocity, acceleration, time):
    """Velocity after accelerating for `time` seconds."""
    return initial_velocity + acceleration * time


def get_weather(city, unit="celsius"):
    if city == "Atlantis":
        raise ValueError(f"unknown city {city!r}")
    print(f"looking up {city}")  # must not reach the reply channel
    return {"city": city, "temperature": 21, "unit": unit}


@dataclasses.dataclass
class Forecast:
    city: str
    days: tuple


class Station(pydantic.BaseModel):
    name: str
    height_m: float


class ArrayLike:
    """Shaped like a numpy array or scalar."""

    def tolist(self):
        return [[1, 2], [3, 4]]


def shapes():
    return {
        "array": ArrayLike(),
        "tuple": (1, 2),
        "set": {3, 1, 2},
        "dataclass": Forecast("Paris", ("mon", "tue")),
        "model": Station(name="Orly", height_m=89.0),
    }


def opaque():
    return object()


def not_a_number():
    return float("nan")


def spin():
    while True:
        pass


def hang():
    time.sleep(60)


def hog():
    chunks = []
    while True:
        chunks.append(bytearray(16 * 1024 * 1024))


def bomb():
    while True:
        os.fork()


def leave():
    os._exit(3)


def secrets_seen(variable):
    return {"env": variable in os.environ, "value": os.environ.get(variable)}


def connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__


def where_am_i():
    return {"pid": os.getpid(), "executable": sys.executable}


async def later(value):
    return {"value": value}
'''


def spec(name: str) -> ToolSpec:
    return ToolSpec(name=name, description=name, source="python")


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(name=name, arguments=arguments)


def execute(engine: PythonEngine, name: str, **arguments: Any) -> Observation:
    return asyncio.run(engine.execute(call(name, **arguments), spec(name)))


@pytest.fixture(scope="module")
def tools_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("engine") / "weather_tools.py"
    path.write_text(TOOLS, encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=MODES)
def engine(request: pytest.FixtureRequest, tools_path: Path) -> PythonEngine:
    limits = SandboxLimits(cpu_s=1, wall_s=2, memory_mb=192, processes=6)
    return PythonEngine(tools_path, limits=limits, isolation=request.param)


def test_engine_is_an_engine_and_lists_functions(engine: PythonEngine) -> None:
    assert isinstance(engine, Engine)
    assert engine.name == "python"
    assert {"final_velocity", "get_weather", "shapes", "later"} <= set(engine.functions)
    assert "Forecast" not in engine.functions and "CALLS_AT_IMPORT" not in engine.functions
    assert "rlimits" in engine.protections


def test_arguments_are_passed_by_keyword(engine: PythonEngine) -> None:
    observation = execute(engine, "final_velocity", time=10, acceleration=9.8, initial_velocity=0)
    assert observation.ok, observation.verdict
    assert observation.output == pytest.approx(98.0)
    assert observation.engine == "python" and observation.latency_s > 0 and not observation.cached


def test_output_and_prints(engine: PythonEngine) -> None:
    observation = execute(engine, "get_weather", city="Paris")
    assert observation.ok
    assert observation.output == {"city": "Paris", "temperature": 21, "unit": "celsius"}


def test_values_are_converted_to_json(engine: PythonEngine) -> None:
    observation = execute(engine, "shapes")
    assert observation.ok, observation.verdict
    assert observation.output == {
        "array": [[1, 2], [3, 4]],
        "tuple": [1, 2],
        "set": [1, 2, 3],
        "dataclass": {"city": "Paris", "days": ["mon", "tue"]},
        "model": {"name": "Orly", "height_m": 89.0},
    }


def test_async_tools_are_awaited(engine: PythonEngine) -> None:
    assert execute(engine, "later", value=5).output == {"value": 5}


def test_exception_verdict(engine: PythonEngine) -> None:
    verdict = execute(engine, "get_weather", city="Atlantis").verdict
    assert verdict.code == "exec.exception"
    assert verdict.message == "get_weather raised ValueError: unknown city 'Atlantis'"
    assert verdict.evidence["type"] == "ValueError"
    assert "raise ValueError" in verdict.evidence["traceback"]
    assert "_child.py" not in verdict.evidence["traceback"]


def test_wrong_arguments_are_an_exception(engine: PythonEngine) -> None:
    verdict = execute(engine, "get_weather", town="Paris").verdict
    assert verdict.code == "exec.exception" and verdict.evidence["type"] == "TypeError"
    assert "town" in verdict.message


def test_missing_function_is_unavailable(engine: PythonEngine, tools_path: Path) -> None:
    verdict = execute(engine, "book_flight", to="LIS").verdict
    assert verdict.code == "exec.unavailable"
    assert str(tools_path) in verdict.message and "book_flight" in verdict.message
    assert "def book_flight(" in verdict.message


@pytest.mark.parametrize("name", ["opaque", "not_a_number"])
def test_non_json_output_is_bad_output(engine: PythonEngine, name: str) -> None:
    verdict = execute(engine, name).verdict
    assert verdict.code == "exec.bad_output"
    assert verdict.evidence["paths"] == ["$"]


def test_timeout_verdict(engine: PythonEngine) -> None:
    verdict = execute(engine, "hang").verdict
    assert verdict.code == "exec.timeout"
    assert "2 s" in verdict.message


def test_cpu_verdict(engine: PythonEngine) -> None:
    # A wall limit far above the CPU limit, so a busy machine cannot turn this into a timeout.
    roomy = PythonEngine(
        engine.module, limits=SandboxLimits(cpu_s=1, wall_s=20), isolation=engine.sandbox.requested
    )
    verdict = execute(roomy, "spin").verdict
    assert verdict.code == "exec.killed" and verdict.evidence["limit"] == "cpu", verdict


def test_memory_verdict(engine: PythonEngine) -> None:
    verdict = execute(engine, "hog").verdict
    assert verdict.code == "exec.killed" and verdict.evidence["limit"] == "memory", verdict
    assert "192 MB" in verdict.message


def test_fork_bomb_verdict(engine: PythonEngine) -> None:
    verdict = execute(engine, "bomb").verdict
    assert verdict.code == "exec.killed" and verdict.evidence["limit"] == "processes", verdict


def test_exit_without_reply(engine: PythonEngine) -> None:
    verdict = execute(engine, "leave").verdict
    assert verdict.code == "exec.exception" and verdict.evidence["exit_status"] == 3


def test_secrets_and_network_stay_out(engine: PythonEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFORGE_TEST_SECRET", f"sk-{uuid.uuid4().hex}")
    assert execute(engine, "secrets_seen", variable="CALLFORGE_TEST_SECRET").output == {
        "env": False,
        "value": None,
    }
    if "network_namespace" in engine.protections:
        import socket

        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            assert execute(engine, "connect", port=server.getsockname()[1]).output != "connected"


def test_tool_code_runs_in_another_process(engine: PythonEngine) -> None:
    seen = execute(engine, "where_am_i").output
    assert seen["pid"] != os.getpid()
    assert "weather_tools" not in sys.modules and "CALLS_AT_IMPORT" not in dir(sys.modules[__name__])


def test_concurrent_calls_keep_their_own_results(engine: PythonEngine) -> None:
    async def many() -> list[Observation]:
        return await asyncio.gather(
            *(
                engine.execute(call("final_velocity", initial_velocity=i, acceleration=1, time=1), spec("x"))
                for i in range(6)
            )
        )

    outputs = [o.output for o in asyncio.run(many())]
    assert outputs == [i + 1 for i in range(6)]


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def f(:\n    pass\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path}:1:.*fix the syntax error"):
        PythonEngine(path, isolation="process")


def test_import_error_names_file_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "needs_pkg.py"
    path.write_text("import package_that_is_not_installed\n\ndef f():\n    return 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="ModuleNotFoundError") as info:
        PythonEngine(path, isolation="process")
    assert str(path) in str(info.value) and "install what it imports" in str(info.value)


def test_missing_module_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found; pass the path"):
        PythonEngine(tmp_path / "nope.py")


def test_module_side_effects_stay_in_the_sandbox(tmp_path: Path) -> None:
    marker = tmp_path / f"imported-{uuid.uuid4().hex}"
    path = tmp_path / "side_effects.py"
    path.write_text(
        textwrap.dedent(
            f"""
            try:
                open({str(marker)!r}, "w").write("ran")
            except OSError:
                pass

            def ping():
                return "pong"
            """
        ),
        encoding="utf-8",
    )
    engine = PythonEngine(path, isolation="process")
    assert engine.functions == ("ping",)
    assert execute(engine, "ping").output == "pong"
    assert not marker.exists()
