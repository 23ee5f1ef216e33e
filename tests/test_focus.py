"""`select` records per-dialog accuracy; `generate --focus SELECTION` draws what the target failed, one level harder."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, Level, Message, ToolSpec
from callforge.generate import generate
from callforge.generate.focus import Focus, read_focus
from callforge.learn import select
from callforge.llm import Completion
from callforge.llm.fake.world import WorldBackend
from callforge.verify import DifficultyHistogram, LevelRow

REPO = Path(__file__).resolve().parents[1]
TRAVEL = REPO / "examples" / "tools" / "travel.py"
WEAK = "convert_units"


class WeakTarget:
    """fake:world, except that it never makes a call to `weak`: it answers in words instead (a failed step)."""

    model = "weak"

    def __init__(self, weak: str) -> None:
        self.weak = weak
        self.inner = WorldBackend()

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any) -> Completion:
        answer = await self.inner.complete(messages, tools, **options)
        if any(c.name == self.weak for c in answer.tool_calls):
            return Completion(text="I am not sure how to do that.", model=self.model, finish_reason="stop")
        return answer


def accepted(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for shard in sorted((out / "accepted").glob("part-*.jsonl")) for line in shard.read_text().splitlines() if line]


def records(out: Path, which: str) -> list[dict[str, Any]]:
    return [json.loads(line) for shard in sorted((out / which).glob("part-*.jsonl")) for line in shard.read_text().splitlines() if line]


def calls(row: dict[str, Any]) -> set[str]:
    return {c["name"] for m in row["dialog"]["messages"] for c in m.get("tool_calls") or ()}


@pytest.fixture(scope="module")
def selection(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("focus")
    base = root / "base"
    generate(tools=TRAVEL, n=24, out=base, model="fake:world", seed=1, today="2026-01-01")
    selected = root / "selected"
    select(src=base, out=selected, model=WeakTarget(WEAK))
    return base, selected


def test_select_records_accuracy_beside_difficulty(selection: tuple[Path, Path]) -> None:
    _, selected = selection
    rows = records(selected, "accepted") + records(selected, "rejected")
    assert rows
    for row in rows:
        meta = row["dialog"]["meta"]
        target, stage = meta["target"], row["stages"][0]["meta"]
        assert target["model"] == "weak" and target["steps"] == stage["steps"]
        assert target["steps"] - target["correct"] == stage["wrong"] and meta["difficulty"]["level"] in ("easy", "medium", "hard")
        assert (target["correct"] < target["steps"]) == row["ok"]  # kept exactly when a step was wrong
    kept = records(selected, "accepted")
    assert kept and all(WEAK in calls(r) for r in kept)  # the only thing it fails
    report = select(src=selection[0], out=selected, model=WeakTarget(WEAK), resume=True)
    assert report.levels is not None and report.levels.dialogs == report.evaluated
    assert sum(r.steps for r in report.levels.rows) == report.steps
    assert sum(r.steps - r.correct for r in report.levels.rows) == report.steps_wrong


def test_a_focus_weighs_failed_tools_and_kinds(selection: tuple[Path, Path]) -> None:
    _, selected = selection
    focus = read_focus(selected)
    assert focus.model == "weak" and WEAK in focus.tools
    wrong = sum(r["dialog"]["meta"]["target"]["steps"] - r["dialog"]["meta"]["target"]["correct"] for r in records(selected, "accepted"))
    assert focus.tools[WEAK] == wrong == max(focus.tools.values())  # a tool called beside it in a failed step weighs less
    failed_kinds = {r["dialog"]["meta"]["scenario"] for r in records(selected, "accepted")}
    assert set(focus.kinds) == failed_kinds and focus.failed_level is not None
    assert focus.harder is focus.failed_level.up()
    mix = focus.mix({k: 1.0 for k in ("single", "multiple", "parallel", "parallel_multiple", "nested", "no_call")})
    assert set(mix) == failed_kinds & {"single", "multiple", "parallel", "parallel_multiple", "nested", "no_call"}
    with pytest.raises(ConfigError, match="failed no kind"):
        focus.mix({"no_call": 1.0})


def test_a_focused_run_draws_the_failed_tool_far_more_often(selection: tuple[Path, Path], tmp_path: Path) -> None:
    base, selected = selection
    focused = tmp_path / "focused"
    report = generate(tools=TRAVEL, n=16, out=focused, model="fake:world", seed=1, focus=str(selected), today="2026-01-01")
    assert report.complete, report.stop_reason
    failed = set(read_focus(selected).tools)

    def share(out: Path, tools: set[str]) -> float:
        return sum(bool(calls(r) & tools) for r in accepted(out)) / len(accepted(out))

    weak, any_failed = (share(base, {WEAK}), share(focused, {WEAK})), (share(base, failed), share(focused, failed))
    assert weak[1] > 3 * weak[0], weak  # the tool it failed most: several times as often
    assert any_failed[1] >= 0.9 and any_failed[1] > any_failed[0] + 0.3, any_failed
    failed_kinds = set(read_focus(selected).kinds)
    assert {r["dialog"]["meta"]["scenario"] for r in accepted(focused)} <= failed_kinds
    steering = json.loads((focused / "manifest.json").read_text())["steering"]
    assert steering["level"] == str(read_focus(selected).harder) and steering["focus"]["tools"] == read_focus(selected).tools


def test_auto_aims_where_the_target_is_nearest_half_right() -> None:
    def focus(accuracy: dict[Level, tuple[int, int]]) -> Focus:
        rows = tuple(LevelRow(level=lv, dialogs=1, steps=accuracy.get(lv, (0, 0))[1], correct=accuracy.get(lv, (0, 0))[0]) for lv in Level)
        return Focus(source="s", model="m", tools={}, kinds={}, failed_level=None, levels=DifficultyHistogram(rows=rows, dialogs=3))

    assert focus({Level.EASY: (9, 10), Level.MEDIUM: (6, 10), Level.HARD: (1, 10)}).auto is Level.MEDIUM
    assert focus({Level.EASY: (10, 10), Level.MEDIUM: (9, 10), Level.HARD: (8, 10)}).auto is Level.HARD
    assert focus({Level.EASY: (4, 10), Level.HARD: (6, 10)}).auto is Level.HARD  # a tie goes harder
    with pytest.raises(ConfigError, match="target"):
        _ = focus({}).auto
    assert focus({}).harder is Level.HARD  # no failures measured: one above medium


def test_focus_and_auto_from_the_command_line(selection: tuple[Path, Path], tmp_path: Path) -> None:
    _, selected = selection
    out = tmp_path / "auto"
    run = subprocess.run(
        [sys.executable, "-m", "callforge", "generate", "-t", str(TRAVEL), "--model", "fake:world", "-n", "4",
         "--out", str(out), "--focus", str(selected), "--difficulty", "auto", "--today", "2026-01-01", "--quiet"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "difficulty of the accepted dialogs: easy" in run.stdout
    assert json.loads((out / "manifest.json").read_text())["steering"]["level"] == str(read_focus(selected).auto)
    shown = subprocess.run(
        [sys.executable, "-m", "callforge", "difficulty", str(selected)], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert shown.returncode == 0 and "target accuracy" in shown.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "callforge", "generate", "-t", str(TRAVEL), "--model", "fake:world", "--out", str(tmp_path / "x"),
         "--focus", str(out)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert wrong.returncode == 2 and "not a `callforge select` output" in wrong.stderr
