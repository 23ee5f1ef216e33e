"""A user's class as a stateful Environment in the sandbox: tools, state across calls, snapshots, reset, failures."""

from __future__ import annotations

import asyncio
import math
import os
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, ToolCall, ToolSpec
from callforge.execute import Environment, EnvironmentEngine, SandboxLimits
from callforge.execute._child import (
    STATE_TAGS,
    StateError,
    decode_attributes,
    encode_attributes,
    encode_state,
)
from callforge.execute.class_env import SandboxEnvironment, python_environment
from callforge.execute.sandbox import bwrap_path
from tests.conftest import EXAMPLES

BANK = EXAMPLES / "environments" / "bank.py"

MODES = [
    "process",
    pytest.param(
        "bwrap", marks=pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed")
    ),
]

COUNTER = '''
import os
import time


class CounterError(Exception):
    """Not a candidate: exceptions are never the environment class."""


class Counter:
    """A counter with a history."""

    def __init__(self, start: int = 0, step: int = 1) -> None:
        self.count = start
        self.step = step
        self.history = []
        self.shapes = {}
        self._calls = 0

    def add(self, n: int = 1) -> int:
        """Add to the counter.

        Args:
            n: How many steps to add.
        """
        self._calls += 1
        self.count += n * self.step
        self.history.append(n)
        return self.count

    def calls(self) -> int:
        """How many times add ran (kept in a private attribute)."""
        return self._calls

    def add_then_fail(self, n: int) -> None:
        """Change the state, then raise."""
        self.count += n
        raise CounterError(f"failed after adding {n}")

    def spin(self) -> None:
        """Loop forever."""
        while True:
            pass

    def remember_shapes(self) -> dict:
        """Keep values JSON has no form of; they must come back as they were."""
        self.shapes = {
            "pair": (1, "a"),
            "tags": {"x", "y"},
            "frozen": frozenset({3}),
            "by_id": {1: "one", (2, 3): "pair"},
            "limit": float("inf"),
            "big": 2**80,
            "tricky": {"__tuple__": [1]},
        }
        return {"stored": sorted(self.shapes)}

    def keep_a_clock(self) -> str:
        """Leave a value the state cannot carry."""
        self.count += 100
        self.clock = time.struct_time((2025, 1, 1, 0, 0, 0, 0, 1, 0))
        return "done"

    def hog(self) -> None:
        """Change the state, then run out of memory."""
        self.count += 1000
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 * 1024))

    def leave(self) -> None:
        """Change the state, then end the process without a reply."""
        self.count += 1000
        os._exit(3)

    def clock_then_fail(self) -> None:
        """Leave a value the state cannot carry, then raise."""
        self.count += 1000
        self.clock = time.struct_time((2025, 1, 1, 0, 0, 0, 0, 1, 0))
        raise CounterError("no clock")

    def give_back_self(self) -> object:
        """Return something that is not JSON (the change still counts)."""
        self.count += 1
        return self

    async def later(self, n: int) -> int:
        """An async method is awaited.

        Args:
            n: Added to the count.
        """
        self.count += n
        return self.count

    @classmethod
    def kind(cls) -> str:
        """The class name."""
        return cls.__name__

    @property
    def doubled(self) -> int:
        raise AssertionError("a property is not a tool and is never run")

    @staticmethod
    def helper() -> int:
        return 1

    def _private(self) -> None:
        raise AssertionError("not a tool")
'''


def write(tmp_path: Path, source: str, name: str = "counter_env.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def call(env: SandboxEnvironment, name: str, **arguments: Any) -> Any:
    observation = env.run(ToolCall(name=name, arguments=arguments))
    assert observation.ok, observation.verdict
    return observation.output


@pytest.fixture(scope="module")
def counter_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("class_env"), COUNTER)


@pytest.fixture
def counter(counter_path: Path) -> SandboxEnvironment:
    return python_environment(counter_path, init={"start": 10})


# --------------------------------------------------------------------------- the state codec (no sandbox)


def test_state_codec_keeps_types_json_lacks() -> None:
    class Holder:
        pass

    holder = Holder()
    holder.__dict__.update(
        pair=(1, ("a", None)),
        tags={"x", "y"},
        frozen=frozenset({1, 2}),
        by_key={1: "one", (2, 3): [4.5], None: True, frozenset({9}): {}},
        limits=[float("inf"), -float("inf")],
        big=-(2**100),
        tricky={"__set__": [1]},
        plain={"a": [1, {"b": "c"}]},
    )
    wire = encode_attributes(holder)
    assert wire["plain"] == {"a": [1, {"b": "c"}]}  # JSON stays JSON
    assert wire["pair"] == {"__tuple__": [1, {"__tuple__": ["a", None]}]}
    assert decode_attributes(wire) == vars(holder)
    assert type(decode_attributes(wire)["tricky"]) is dict
    nan = decode_attributes({"x": encode_state(float("nan"), "x")})["x"]
    assert math.isnan(nan)


@pytest.mark.parametrize(
    ("value", "path", "type_name"),
    [
        (object(), "v", "object"),
        ([1, {"when": b"bytes"}], "v[1]['when']", "bytes"),
        ({"d": __import__("collections").defaultdict(int)}, "v['d']", "collections.defaultdict"),
        ({"e": __import__("decimal").Decimal("1.5")}, "v['e']", "decimal.Decimal"),
    ],
)
def test_state_codec_names_what_it_cannot_carry(value: Any, path: str, type_name: str) -> None:
    with pytest.raises(StateError) as info:
        encode_state(value, "v")
    assert info.value.path == path and info.value.type_name == type_name
    assert "is not a JSON value" in info.value.reason


def test_state_codec_refuses_cycles_and_forged_trees() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(StateError, match="nested more than"):
        encode_state(loop, "v")
    for forged in ([1], {"a": {"__tuple__": 3}}, {"a": {"__set__": [[1]]}}, {"a": {"__dict__": [[1]]}}):
        with pytest.raises((ValueError, TypeError)):
            decode_attributes(forged)
    deep: Any = 1
    for _ in range(500):
        deep = [deep]
    with pytest.raises(ValueError, match="nested"):
        decode_attributes({"a": deep})
    assert set(STATE_TAGS) >= {"__tuple__", "__set__", "__dict__"}


# --------------------------------------------------------------------------- tools


def test_tools_are_the_public_methods_described_from_hints_and_docstrings(
    counter: SandboxEnvironment, counter_path: Path
) -> None:
    assert isinstance(counter, Environment)
    names = [t.name for t in counter.tools]
    assert names == [
        "add",
        "calls",
        "add_then_fail",
        "spin",
        "remember_shapes",
        "keep_a_clock",
        "hog",
        "leave",
        "clock_then_fail",
        "give_back_self",
        "later",
        "kind",
    ]
    assert counter.methods == tuple(names)
    add = counter.tools[0]
    assert add.description == "Add to the counter."
    assert add.parameters["properties"] == {
        "n": {"type": "integer", "default": 1, "description": "How many steps to add."}
    }
    assert "self" not in str(add.parameters) and add.source == str(counter_path)
    assert counter.tools is counter.tools  # described once


def test_an_untyped_method_is_refused_when_tools_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "class Loose:\n    def go(self, where):\n        return where\n")
    env = python_environment(path)  # running calls does not need the descriptions
    assert call(env, "go", where="home") == "home"
    with pytest.raises(ConfigError, match=r"method 'go' of class Loose.*type hint"):
        env.tools  # noqa: B018


# --------------------------------------------------------------------------- state across calls


def test_state_is_kept_across_calls_private_attributes_included(counter: SandboxEnvironment) -> None:
    assert call(counter, "add", n=2) == 12
    assert call(counter, "add") == 13
    assert call(counter, "calls") == 2  # `_calls` travelled between the sandboxes
    snapshot = counter.snapshot()
    assert snapshot.environment == "Counter"
    assert [(e.owner, e.name) for e in snapshot.entries] == [
        ("Counter", "count"),
        ("Counter", "step"),
        ("Counter", "history"),
        ("Counter", "shapes"),
    ]
    assert snapshot.value("Counter", "count") == 13 and snapshot.value("Counter", "history") == [2, 1]


def test_values_json_lacks_survive_between_calls(counter: SandboxEnvironment) -> None:
    call(counter, "remember_shapes")
    call(counter, "add")  # one more round trip through a fresh sandbox
    shapes = counter.snapshot().value("Counter", "shapes")
    assert shapes == {
        "pair": (1, "a"),
        "tags": {"x", "y"},
        "frozen": frozenset({3}),
        "by_id": {1: "one", (2, 3): "pair"},
        "limit": float("inf"),
        "big": 2**80,
        "tricky": {"__tuple__": [1]},
    }
    assert type(shapes["pair"]) is tuple and type(shapes["tricky"]) is dict


def test_async_methods_and_classmethods_run(counter: SandboxEnvironment) -> None:
    assert call(counter, "later", n=5) == 15
    assert call(counter, "kind") == "Counter"


def test_close_holds_nothing_back(counter: SandboxEnvironment) -> None:
    call(counter, "add")
    counter.close()  # no process outlives a call, so there is nothing to stop
    assert counter.snapshot().value("Counter", "count") == 11


def test_snapshot_diff_between_calls_and_snapshots_need_no_sandbox(
    counter: SandboxEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counter.snapshot()
    call(counter, "add", n=3)
    with monkeypatch.context() as patched:
        patched.setattr(counter.sandbox, "run", lambda request: pytest.fail("a snapshot ran the sandbox"))
        after = counter.snapshot()
        live = counter.snapshot(copy=False)
    diff = before.diff(after)
    assert diff.paths == ("Counter.count", "Counter.history")
    assert (diff.changes[0].before, diff.changes[0].after) == (10, 13)
    assert before.value("Counter", "count") == 10  # an earlier snapshot does not move
    after.value("Counter", "history").append(99)  # a copy: the environment's state is untouched
    assert counter.snapshot().value("Counter", "history") == [3]
    assert live.value("Counter", "history") is counter.snapshot(copy=False).value("Counter", "history")


def test_reset_restores_the_initial_state_private_attributes_included(counter: SandboxEnvironment) -> None:
    initial = counter.snapshot()
    call(counter, "add", n=4)
    call(counter, "add", n=4)
    counter.reset()
    assert counter.snapshot() == initial
    assert call(counter, "calls") == 0
    assert call(counter, "add") == 11


def test_two_environments_of_one_class_do_not_share_state(counter_path: Path) -> None:
    first = python_environment(counter_path, init={"start": 0}, name="first")
    second = python_environment(counter_path, init={"start": 100, "step": 10}, name="second")
    call(first, "add", n=1)
    call(first, "add", n=1)
    assert call(second, "add", n=1) == 110
    assert first.snapshot().value("Counter", "count") == 2
    assert second.snapshot().value("Counter", "history") == [1]
    assert first.snapshot().environment == "first" and second.snapshot().environment == "second"
    assert first.tools == second.tools


# --------------------------------------------------------------------------- failing calls


def test_an_exception_is_an_observation_and_keeps_the_changes_made_before_it(
    counter: SandboxEnvironment,
) -> None:
    failed = counter.run(ToolCall(name="add_then_fail", arguments={"n": 5}))
    assert not failed.ok and failed.verdict.code == "exec.exception"
    assert failed.verdict.message == "add_then_fail raised CounterError: failed after adding 5"
    assert failed.verdict.evidence["state"] == "kept" and "raise CounterError" in failed.verdict.evidence["traceback"]
    assert counter.snapshot().value("Counter", "count") == 15  # as Python would have it
    assert call(counter, "add") == 16  # the run goes on
    wrong = counter.run(ToolCall(name="add", arguments={"m": 1}))
    assert wrong.verdict.code == "exec.exception" and "'m'" in wrong.verdict.message
    assert counter.snapshot().value("Counter", "count") == 16


def test_unknown_tools_and_non_json_arguments_fail_without_a_sandbox(
    counter: SandboxEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counter.sandbox, "run", lambda request: pytest.fail("the sandbox ran"))
    for name in ("doubled", "helper", "_private", "__init__", "nope"):
        verdict = counter.run(ToolCall(name=name)).verdict
        assert verdict.code == "exec.unavailable" and f"no tool {name!r} in environment 'Counter'" in verdict.message
    verdict = counter.run(ToolCall(name="add", arguments={"n": {1, 2}})).verdict
    assert verdict.code == "exec.exception" and "not JSON-serialisable" in verdict.message


def test_a_method_that_loops_forever_is_stopped_and_the_state_is_unchanged(counter_path: Path) -> None:
    env = python_environment(counter_path, limits=SandboxLimits(wall_s=2, cpu_s=30))
    call(env, "add", n=7)
    verdict = env.run(ToolCall(name="spin")).verdict
    assert verdict.code == "exec.timeout" and verdict.evidence["limit"] == "wall", verdict
    assert "the state is unchanged" in verdict.message
    assert env.snapshot().value("Counter", "count") == 7
    assert call(env, "add") == 8


def test_memory_limit_and_crash_leave_the_state_unchanged(counter_path: Path) -> None:
    env = python_environment(counter_path, limits=SandboxLimits(memory_mb=192, wall_s=20))
    call(env, "add", n=2)
    before = env.snapshot()
    hog = env.run(ToolCall(name="hog")).verdict
    assert hog.code == "exec.killed" and hog.evidence["limit"] == "memory", hog
    assert "192 MB" in hog.message and "the state is unchanged" in hog.message
    leave = env.run(ToolCall(name="leave")).verdict
    assert leave.code == "exec.exception" and leave.evidence["exit_status"] == 3, leave
    failed = env.run(ToolCall(name="clock_then_fail")).verdict
    assert failed.code == "exec.exception" and failed.message == "clock_then_fail raised CounterError: no clock"
    assert failed.evidence["state"] == "unchanged" and failed.evidence["state_error"]["attribute"] == "clock"
    assert env.snapshot() == before
    assert call(env, "add") == 3


def test_a_value_the_state_cannot_carry_fails_the_call_and_leaves_the_state(counter: SandboxEnvironment) -> None:
    before = counter.snapshot()
    verdict = counter.run(ToolCall(name="keep_a_clock")).verdict
    assert verdict.code == "exec.bad_output"
    assert "attribute 'clock': a time.struct_time is not a JSON value" in verdict.message
    assert "the state is unchanged" in verdict.message and "ISO string" in verdict.message
    assert counter.snapshot() == before  # count += 100 was not kept either


def test_a_return_value_that_is_not_json_is_bad_output_but_the_call_ran(counter: SandboxEnvironment) -> None:
    verdict = counter.run(ToolCall(name="give_back_self")).verdict
    assert verdict.code == "exec.bad_output" and verdict.evidence["paths"] == ["$"]
    assert counter.snapshot().value("Counter", "count") == 11


def test_the_class_runs_only_in_the_sandbox(tmp_path: Path) -> None:
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    path = write(
        tmp_path,
        f"""
        import os

        try:
            open({str(marker)!r}, "w").write("ran")
        except OSError:
            pass


        class Probe:
            def __init__(self) -> None:
                self.pids = []

            def where(self) -> int:
                self.pids.append(os.getpid())
                return os.getpid()
        """,
        name="probe_env.py",
    )
    env = python_environment(path)
    first, second = call(env, "where"), call(env, "where")
    assert os.getpid() not in (first, second) and "probe_env" not in sys.modules
    assert env.snapshot().value("Probe", "pids") == [first, second]
    assert not marker.exists()


def test_an_environment_is_usable_as_an_engine(counter: SandboxEnvironment) -> None:
    engine = EnvironmentEngine(counter)
    observation = asyncio.run(engine.execute(ToolCall(name="add", arguments={"n": 2}), ToolSpec(name="add")))
    assert observation.ok and observation.output == 12 and observation.engine == "environment:Counter"


# --------------------------------------------------------------------------- bad input


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.py' not found; pass the path of the \.py file"):
        python_environment(tmp_path / "nope.py")


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "class Broken:\n    def f(self:\n        pass\n")
    with pytest.raises(ConfigError, match=rf"{path}:2:.*fix the syntax error"):
        python_environment(path)


def test_an_import_error_names_file_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "import package_that_is_not_installed\n\nclass A:\n    pass\n")
    with pytest.raises(ConfigError, match="ModuleNotFoundError") as info:
        python_environment(path)
    assert str(path) in str(info.value) and "install what it imports" in str(info.value)


def test_class_choice_errors_list_the_classes(tmp_path: Path, counter_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no class 'Bank' \(the classes it defines: Counter\); pass class_name="):
        python_environment(counter_path, "Bank")
    several = write(tmp_path, "class Alpha:\n    pass\n\nclass Beta:\n    pass\n", name="several.py")
    with pytest.raises(ConfigError, match=r"several public classes \(Alpha, Beta\); pass class_name="):
        python_environment(several)
    assert python_environment(several, "Beta").class_name == "Beta"
    none = write(tmp_path, "from collections import OrderedDict\n\ndef f() -> int:\n    return 1\n", name="none.py")
    with pytest.raises(ConfigError, match=r"defines no public class to run as an environment"):
        python_environment(none)


def test_init_that_raises_is_named_with_the_fix(tmp_path: Path, counter_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Counter\(\*\*init\) in .* raised TypeError: .*'colour'") as info:
        python_environment(counter_path, init={"colour": "red"})
    assert "init arguments given: colour" in str(info.value) and "pass init={...}" in str(info.value)
    path = write(
        tmp_path,
        "class Strict:\n    def __init__(self, size: int) -> None:\n        raise ValueError(f'size {size} is too big')\n",
        name="strict.py",
    )
    with pytest.raises(ConfigError, match=r"Strict\(\*\*init\) .* raised ValueError: size 3 is too big"):
        python_environment(path, init={"size": 3})
    with pytest.raises(ConfigError, match=r"init for the class .* is not JSON"):
        python_environment(path, init={"size": object()})


def test_an_initial_state_that_is_not_json_is_named_with_the_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        import datetime


        class Diary:
            def __init__(self) -> None:
                self.entries = {"first": {"when": datetime.date(2025, 1, 1)}}
        """,
        name="diary.py",
    )
    with pytest.raises(ConfigError) as info:
        python_environment(path)
    message = str(info.value)
    assert f"the initial state of Diary in {path}" in message
    assert "attribute 'entries' (at entries['first']['when']): a datetime.date is not a JSON value" in message
    assert "a date as an ISO string" in message


@pytest.mark.parametrize(
    "source",
    [
        "class Slotted:\n    __slots__ = ('x',)\n\n    def __init__(self) -> None:\n        self.x = 1\n",
        "class Record(dict):\n    def get_x(self) -> int:\n        return 1\n",
    ],
)
def test_a_class_that_cannot_be_rebuilt_is_refused(tmp_path: Path, source: str) -> None:
    with pytest.raises(ConfigError, match=r"cannot be rebuilt from its attributes .*\(no __slots__\)"):
        python_environment(write(tmp_path, source))


# --------------------------------------------------------------------------- the example


@pytest.mark.parametrize("mode", MODES)
def test_the_bank_example_end_to_end(mode: str) -> None:
    env = python_environment(BANK, init={"accounts": {"Ada Lovelace": 120.0}}, isolation=mode)  # type: ignore[arg-type]
    assert env.name == env.class_name == "Bank"
    tools = {t.name: t for t in env.tools}
    assert list(tools) == ["open_account", "deposit", "withdraw", "transfer", "get_balance", "list_transactions"]
    assert tools["transfer"].parameters["required"] == ["from_account", "to_account", "amount"]
    assert tools["list_transactions"].parameters["properties"]["kind"]["enum"] == ["all", "in", "out"]
    assert all(p.get("description") for t in tools.values() for p in t.parameters["properties"].values())
    start = env.snapshot()
    assert start.value("Bank", "accounts") == {"ACC-0001": {"owner": "Ada Lovelace", "balance_cents": 12000}}

    bob = call(env, "open_account", owner="Bob Babbage", initial_deposit=5)
    assert bob == {"account_id": "ACC-0002", "owner": "Bob Babbage", "balance": 5.0, "currency": "EUR"}
    moved = call(env, "transfer", from_account="ACC-0001", to_account="ACC-0002", amount=20.5, note="rent")
    assert moved["debit"]["balance_after"] == 99.5 and moved["credit"]["balance_after"] == 25.5
    turn = env.snapshot()
    assert start.diff(turn).paths == ("Bank.accounts", "Bank.transactions")

    short = env.run(ToolCall(name="withdraw", arguments={"account_id": "ACC-0002", "amount": 1000}))
    assert short.verdict.code == "exec.exception"
    assert "insufficient funds in ACC-0002: balance 25.50 EUR, withdrawal of 1000.00 EUR" in short.verdict.message
    unknown = env.run(ToolCall(name="get_balance", arguments={"account_id": "ACC-0009"}))
    assert "open accounts: ACC-0001 (Ada Lovelace), ACC-0002 (Bob Babbage)" in unknown.verdict.message
    assert not turn.diff(env.snapshot())  # refused requests changed nothing

    assert call(env, "withdraw", account_id="ACC-0002", amount=5.5)["balance_after"] == 20.0
    assert call(env, "get_balance", account_id="ACC-0002")["balance"] == 20.0
    history = call(env, "list_transactions", account_id="ACC-0002", kind="in")
    assert [t["kind"] for t in history] == ["transfer_in", "deposit"]
    assert [t["id"] for t in call(env, "list_transactions", account_id="ACC-0002", limit=1)] == ["TX-00005"]

    env.reset()
    assert env.snapshot() == start
    assert call(env, "open_account", owner="Carol")["account_id"] == "ACC-0002"  # private counters reset too


def test_a_script_run_from_the_temp_folder_can_use_the_sandbox(tmp_path: Path) -> None:
    # The script's folder goes on sys.path; when it is the temp folder, mounting it read-only used to
    # hide the sandbox's own work directory there, and every run failed to start.
    import subprocess

    script = tmp_path / "run_bank.py"
    script.write_text(
        "from callforge.core import ToolCall\n"
        "from callforge.execute import python_environment\n"
        f"env = python_environment({str(EXAMPLES / 'environments' / 'bank.py')!r}, init={{'accounts': {{'Ada': 5.0}}}})\n"
        "print(env.run(ToolCall(name='get_balance', arguments={'account_id': 'ACC-0001'})).verdict.ok)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp_path)}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
