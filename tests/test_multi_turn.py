"""BFCL's multi-turn entries and checker: loading, held-out tools, step decoding, each verdict."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Category, DataError, ToolCall
from callforge.evaluate import (
    MULTI_TURN_ERROR_TYPES,
    HeldOut,
    MultiTurnEntry,
    check_multi_turn,
    decode_turns,
    load_multi_turn,
)
from tests.conftest import needs_bfcl_eval, read_jsonl

pytestmark = needs_bfcl_eval


@pytest.fixture(scope="module")
def oracle(bfcl_dir: Path) -> dict[str, Any]:
    return {
        r["id"]: r["model_output"]
        for r in read_jsonl(bfcl_dir / "conformance" / "multi_turn.jsonl")
        if r["mutation"] == "oracle"
    }


def call(name: str, **arguments: Any) -> dict[str, str]:
    return {name: json.dumps(arguments)}


def test_loads_every_multi_turn_category(entries: dict[str, MultiTurnEntry]) -> None:
    counts: dict[Category, int] = {}
    for entry in entries.values():
        counts[entry.category] = counts.get(entry.category, 0) + 1
        assert len(entry.turns) == len(entry.ground_truth)
    assert counts == {c: 200 for c in Category if c.value.startswith("multi_turn_")}
    base = entries["multi_turn_base_0"]
    assert base.classes == ("TwitterAPI", "GorillaFileSystem") and not base.long_context
    assert base.ground_truth[2][0].name == "sort" and base.ground_truth[2][0].positional == (
        "final_report.pdf",
    )
    assert entries["multi_turn_long_context_0"].long_context


def test_held_out_tools_are_offered_from_their_turn(
    entries: dict[str, MultiTurnEntry], bfcl_dir: Path
) -> None:
    entry = entries["multi_turn_miss_func_0"]
    assert entry.held_out == (HeldOut(3, ("sort",)),)
    # the turn that reveals the tool has no user message
    assert entry.ground_truth[2] == () and entry.turns[3] == ()
    before = [t.name for t in entry.tools_at(2)]
    after = [t.name for t in entry.tools_at(3)]
    assert "sort" not in before and after == [*before, "sort"]
    assert len(after) == 14 + 18  # TwitterAPI, then GorillaFileSystem
    assert entry.data_dir == bfcl_dir / "data"


def test_refuses_single_turn_categories_and_missing_ground_truth(bfcl_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not multi-turn"):
        load_multi_turn(bfcl_dir / "data", ["simple_python"])
    shutil.copy(bfcl_dir / "data" / "BFCL_v4_multi_turn_base.json", tmp_path)
    with pytest.raises(DataError, match=r"ground truth .* is missing"):
        load_multi_turn(tmp_path)


def test_decodes_steps_as_bfcl_does() -> None:
    turns = decode_turns(
        [
            [
                [call("cd", folder="a")],
                "I am done.",  # text: not a call
                "",  # nothing
                [],
                [{"ls": "{}", "pwd": "{}"}, {}],  # every key is a call; an empty object adds none
                {"mkdir": {"dir_name": "x"}},  # a lone call object, its arguments not encoded
                [call("cd", folder="b"), {"cd": "[1]"}],  # arguments that are not an object drop the step
                [{"cd": "{not json"}],
            ],
            "not a list",
        ]
    )
    assert turns == [
        [
            (ToolCall(name="cd", arguments={"folder": "a"}),),
            (ToolCall(name="ls"), ToolCall(name="pwd")),
            (ToolCall(name="mkdir", arguments={"dir_name": "x"}),),
        ],
        [],
    ]


def test_oracle_passes_and_rechecking_gives_the_same_verdict(
    entries: dict[str, MultiTurnEntry], oracle: dict[str, Any]
) -> None:
    for entry_id in ("multi_turn_base_90", "multi_turn_miss_func_0", "multi_turn_long_context_3"):
        for _ in range(2):  # no state survives from one check to the next
            verdict = check_multi_turn(entries[entry_id], copy.deepcopy(oracle[entry_id]))
            assert verdict.ok, (entry_id, verdict.message)


def test_each_failure_has_bfcl_error_type(entries: dict[str, MultiTurnEntry], oracle: dict[str, Any]) -> None:
    entry = entries["multi_turn_base_0"]
    good = oracle["multi_turn_base_0"]

    def verdict_for(output: Any) -> tuple[str, dict[str, Any]]:
        v = check_multi_turn(entry, output)
        assert not v.ok and v.evidence["bfcl_error_type"] == MULTI_TURN_ERROR_TYPES[v.code]
        return v.code, v.evidence

    assert verdict_for("text")[0] == "turns.not_a_list"
    assert verdict_for(good[:-1])[1]["bfcl_error_type"] == "multi_turn:force_terminated"

    silent = [*good[:1], ["I cannot."], *good[2:]]
    code, evidence = verdict_for(silent)
    assert (code, evidence["turn"]) == ("turn.no_call", 1)

    extra = copy.deepcopy(good)
    extra[0][0].append(call("mkdir", dir_name="extra"))
    code, evidence = verdict_for(extra)
    assert (code, evidence["turn"], evidence["changed"]) == (
        "turn.state_mismatch",
        0,
        ["GorillaFileSystem.root"],
    )

    no_grep = copy.deepcopy(good)
    no_grep[1][0] = [c for c in no_grep[1][0] if "grep" not in c]
    code, evidence = verdict_for(no_grep)
    assert (code, evidence["turn"]) == ("turn.response_mismatch", 1)
    assert len(evidence["missing"]) == 1 and "budget analysis" in evidence["missing"][0]


def test_a_result_from_an_earlier_turn_counts(
    entries: dict[str, MultiTurnEntry], oracle: dict[str, Any]
) -> None:
    """The response check compares with every model result so far (BFCL's rule), not only this turn's."""
    entry = entries["multi_turn_base_0"]
    output = copy.deepcopy(oracle["multi_turn_base_0"])
    grep = next(c for c in output[1][0] if "grep" in c)
    output[0][0].extend([call("cd", folder="temp"), grep, call("cd", folder="..")])  # grep early, come back
    output[1][0] = [c for c in output[1][0] if "grep" not in c]
    assert check_multi_turn(entry, output).ok


def as_prompting(output: list[list[Any]]) -> list[list[Any]]:
    """An FC output rewritten as a prompting model writes it: each step a Python call list."""

    def text(step: Any) -> Any:
        if not isinstance(step, list):
            return step
        calls = []
        for item in step:
            ((name, arguments),) = item.items()
            calls.append(f"{name}({', '.join(f'{k}={v!r}' for k, v in json.loads(arguments).items())})")
        return "[" + ", ".join(calls) + "]"

    return [[text(step) for step in turn] for turn in output]


def test_prompting_outputs_are_decoded_as_python_calls(
    entries: dict[str, MultiTurnEntry], oracle: dict[str, Any]
) -> None:
    for entry_id in ("multi_turn_base_0", "multi_turn_base_90", "multi_turn_miss_param_5"):
        prompted = as_prompting(oracle[entry_id])
        assert check_multi_turn(entries[entry_id], prompted, style="prompting").ok, entry_id
        assert not check_multi_turn(entries[entry_id], prompted, style="fc").ok  # text is not FC output
    turns = decode_turns([["[cd(folder='a'), ls()]", "Done.", "```python\n[ls()]\n```"]], style="prompting")
    assert turns == [[(ToolCall(name="cd", arguments={"folder": "a"}), ToolCall(name="ls"))]]
