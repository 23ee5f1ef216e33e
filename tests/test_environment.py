"""Stateful environments: running calls, snapshots, diffs, reset; BFCL's simulators as environments."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, DataError, ToolCall, ToolSpec
from callforge.execute import (
    ABSENT,
    BFCL_SIMULATORS,
    Engine,
    Environment,
    EnvironmentEngine,
    EnvironmentState,
    ObjectEnvironment,
    StateChange,
    StateEntry,
    bfcl_environment,
    bfcl_error_text,
    bfcl_result_text,
    bfcl_tools,
    diff_states,
    simulator_class,
)

HAS_BFCL = importlib.util.find_spec("bfcl_eval") is not None
needs_bfcl = pytest.mark.skipif(
    not HAS_BFCL,
    reason="BFCL's simulators are not installed: pip install --no-deps bfcl-eval==2026.3.23 mpmath",
)


class Tally:
    """A toy stateful tool set."""

    def __init__(self, start: int = 0) -> None:
        self.count = start
        self.batches: list[list[int]] = []
        self._calls = 0

    def add(self, n: int, tags: list[int] = []) -> dict[str, int]:  # noqa: B006 - the mutable default is the point
        self._calls += 1
        self.count += n
        tags.append(n)
        self.batches.append(tags)
        return {"count": self.count}

    def fail(self) -> None:
        raise ValueError("boom")

    @property
    def explosive(self) -> int:
        raise AssertionError("a property must never be run to find the tools")


class Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def write(self, text: str, pinned: bool = False) -> str:
        self.notes.append(text)
        return f"noted {text!r}"


def make_env(start: int = 0) -> ObjectEnvironment:
    return ObjectEnvironment(
        "toy",
        lambda: {"Tally": Tally(start), "Notes": Notes()},
        tools=[ToolSpec(name="add"), ToolSpec(name="write")],
    )


def test_runs_calls_as_method_calls_and_reports_observations() -> None:
    env = make_env()
    obs = env.run(ToolCall(name="add", arguments={"n": 2}))
    assert obs.ok and obs.output == {"count": 2} and obs.engine == "environment:toy"
    assert env.run(ToolCall(name="write", arguments={"text": "hi"})).output == "noted 'hi'"
    assert [t.name for t in env.tools] == ["add", "write"]


def test_failures_are_observations_not_exceptions() -> None:
    env = make_env()
    failed = env.run(ToolCall(name="fail"))
    assert not failed.ok and failed.verdict.code == "exec.exception" and "boom" in failed.verdict.message
    assert failed.output is None  # no render_error given
    unknown = env.run(ToolCall(name="explosive"))  # a property is not a tool
    assert unknown.verdict.code == "exec.unavailable"
    bad_args = env.run(ToolCall(name="add", arguments={"m": 1}))
    assert (
        bad_args.verdict.code == "exec.exception"
        and "unexpected keyword argument 'm'" in bad_args.verdict.message
    )


def test_snapshot_is_a_frozen_copy_and_diff_names_what_changed() -> None:
    env = make_env()
    before = env.snapshot()
    assert StateEntry("Tally", "count", 0) in before.entries
    assert all(not e.name.startswith("_") for e in before.entries)
    env.run(ToolCall(name="add", arguments={"n": 3}))
    after = env.snapshot()
    assert before.value("Tally", "count") == 0  # the earlier snapshot did not move
    diff = before.diff(after)
    assert diff and diff.paths == ("Tally.count", "Tally.batches")
    assert diff.changes[0] == StateChange("Tally", "count", 0, 3)
    assert not after.diff(env.snapshot()) and after == env.snapshot()
    live = env.snapshot(copy=False)
    assert live.value("Tally", "batches") is env.components["Tally"].batches  # type: ignore[attr-defined]


def test_reset_returns_to_the_initial_state() -> None:
    env = make_env(5)
    initial = env.snapshot()
    env.run(ToolCall(name="add", arguments={"n": 1}))
    assert env.snapshot() != initial
    env.reset()
    assert env.snapshot() == initial


def test_diff_counts_attributes_only_one_side_has() -> None:
    a = EnvironmentState("x", (StateEntry("C", "kept", 1), StateEntry("C", "gone", 2)))
    b = EnvironmentState("x", (StateEntry("C", "kept", 1), StateEntry("C", "new", 3)))
    assert diff_states(a, b).changes == (
        StateChange("C", "gone", 2, ABSENT),
        StateChange("C", "new", ABSENT, 3),
    )
    assert a.value("C", "missing") is ABSENT


def test_values_are_never_shared_with_the_caller_or_between_environments() -> None:
    first, second = make_env(), make_env()
    call = ToolCall(name="add", arguments={"n": 1, "tags": [9]})
    first.run(call)
    first.components["Tally"].batches[0].append(99)  # type: ignore[attr-defined]
    assert call.arguments["tags"] == [9]  # the environment kept its own copy
    first.run(ToolCall(name="add", arguments={"n": 1}))  # the mutable default `tags=[]`
    second.run(ToolCall(name="add", arguments={"n": 1}))
    assert second.snapshot().value("Tally", "batches") == [[1]]  # not [[1], [1]]: no shared default
    assert Tally.add.__defaults__ == ([],)


def test_bind_names_positional_arguments_by_signature() -> None:
    env = make_env()
    assert env.bind("write", ("x", True)) == ToolCall(name="write", arguments={"text": "x", "pinned": True})
    assert env.bind("add", (), {"n": 1}).arguments == {"n": 1}
    with pytest.raises(DataError, match="takes 2 positional arguments but 3"):
        env.bind("write", ("x", True, 1))
    with pytest.raises(DataError, match="multiple values for argument 'text'"):
        env.bind("write", ("x",), {"text": "y"})
    with pytest.raises(DataError, match="no such tool"):
        env.bind("nope", (1,))


def test_environment_meets_the_protocols_and_runs_as_an_engine() -> None:
    env = make_env()
    assert isinstance(env, Environment)
    engine = EnvironmentEngine(env)
    assert isinstance(engine, Engine)
    obs = asyncio.run(engine.execute(ToolCall(name="add", arguments={"n": 4}), ToolSpec(name="add")))
    assert obs.output == {"count": 4} and env.snapshot().value("Tally", "count") == 4


# --------------------------------------------------------------------------- BFCL's simulators


def test_bfcl_result_text_follows_bfcl() -> None:
    assert bfcl_result_text("plain") == "plain"
    assert bfcl_result_text({"a": [1, "é"]}) == json.dumps({"a": [1, "é"]})
    assert bfcl_result_text({"a": object}).startswith("{'a': <class")  # not JSON: str()
    assert bfcl_result_text([1, 2]) == "[1, 2]"
    assert bfcl_result_text(None) == "None"
    assert bfcl_error_text(ValueError("bad")) == "Error during execution: bad"


def test_unknown_simulator_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown BFCL simulator 'Nope'.*GorillaFileSystem"):
        simulator_class("Nope")


def test_missing_bfcl_eval_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_bfcl(name: str, package: str | None = None) -> Any:
        if name.startswith("bfcl_eval"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_bfcl)
    with pytest.raises(ConfigError, match=r"pip install --no-deps bfcl-eval==2026\.3\.23"):
        bfcl_environment(["MathAPI"])


@needs_bfcl
def test_every_simulator_loads(bfcl_dir: Path) -> None:
    env = bfcl_environment(list(BFCL_SIMULATORS), {}, data=bfcl_dir / "data")
    assert set(env.components) == set(BFCL_SIMULATORS)
    assert len(env.tools) == 128  # 18 + 17 + 10 + 14 + 9 + 20 + 18 + 22
    assert {t.source for t in env.tools} == {"bfcl"}
    owners = {e.owner for e in env.snapshot(copy=False).entries}
    assert owners == set(BFCL_SIMULATORS) - {"MathAPI"}  # MathAPI has no state


@needs_bfcl
def test_file_system_calls_render_as_bfcl_does(bfcl_dir: Path) -> None:
    config = {
        "GorillaFileSystem": {
            "root": {"alex": {"type": "directory", "contents": {"a.txt": {"type": "file", "content": "hi"}}}}
        }
    }
    env = bfcl_environment(["GorillaFileSystem"], config, data=bfcl_dir / "data")
    start = env.snapshot()
    assert env.run(ToolCall(name="ls")).output == json.dumps({"current_directory_content": ["a.txt"]})
    assert env.run(ToolCall(name="mkdir", arguments={"dir_name": "tmp"})).output == "None"
    assert env.run(ToolCall(name="cd", arguments={"folder": "tmp"})).output == json.dumps(
        {"current_working_directory": "tmp"}
    )
    wrong = env.run(ToolCall(name="cd", arguments={"dir": "x"}))
    assert wrong.output.startswith("Error during execution: GorillaFileSystem.cd() got an unexpected keyword")
    assert env.run(ToolCall(name="nope")).output == "Error during execution: name 'nope' is not defined"
    assert (
        env.run(ToolCall(name="exit")).output == "Error during execution: Function call exit is not allowed."
    )
    assert start.diff(env.snapshot()).paths == ("GorillaFileSystem.root",)
    # the caller's data is untouched
    assert config["GorillaFileSystem"]["root"]["alex"]["contents"].keys() == {"a.txt"}
    env.reset()
    assert env.snapshot() == start


@needs_bfcl
def test_fresh_environments_share_no_state() -> None:
    first = bfcl_environment(["TwitterAPI"], {"TwitterAPI": {"username": "u", "password": "p"}})
    second = bfcl_environment(["TwitterAPI"], {"TwitterAPI": {"username": "u", "password": "p"}})
    first.run(ToolCall(name="authenticate_twitter", arguments={"username": "u", "password": "p"}))
    first.run(ToolCall(name="post_tweet", arguments={"content": "x"}))
    first.run(ToolCall(name="mention", arguments={"tweet_id": 0, "mentioned_usernames": ["@a"]}))
    assert second.snapshot() != first.snapshot()
    second.run(ToolCall(name="authenticate_twitter", arguments={"username": "u", "password": "p"}))
    second.run(ToolCall(name="post_tweet", arguments={"content": "x"}))
    tweet = second.snapshot().value("TwitterAPI", "tweets")[0]
    assert tweet["mentions"] == []  # BFCL's shared default list would already hold "@a"


@needs_bfcl
def test_tools_come_from_the_data_folder(bfcl_dir: Path, tmp_path: Path) -> None:
    names = [t.name for t in bfcl_tools(["MathAPI"], bfcl_dir / "data")]
    assert len(names) == 17 and "add" in names
    with pytest.raises(DataError, match="multi_turn_func_doc"):
        bfcl_tools(["MathAPI"], tmp_path)
