"""The end-state check (semantic mode for multi-turn): where the episode ends, not the path it took."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from callforge.evaluate import check_end_state, check_multi_turn
from tests.conftest import needs_bfcl_eval

pytestmark = needs_bfcl_eval


def _fc(calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, str]]:
    return [{name: json.dumps(arguments)} for name, arguments in calls]


def _truth_turns(entry: Any) -> list[list[Any]]:
    env = entry.environment()
    return [
        [_fc([(c.name, env.bind(c.name, c.positional, c.arguments).arguments) for c in turn])] if turn else []
        for turn in entry.ground_truth
    ]


def test_the_ground_truth_passes_both_checks(entries: dict[str, Any]) -> None:
    for entry_id in ("multi_turn_base_0", "multi_turn_miss_param_5", "multi_turn_long_context_2"):
        entry = entries[entry_id]
        output = _truth_turns(entry)
        assert check_multi_turn(entry, output).ok, entry_id
        assert check_end_state(entry, output).ok, entry_id


def test_another_valid_path_passes_the_end_state_check_only(entries: dict[str, Any]) -> None:
    # Turn 0 asks to move a file into a new folder: cp then rm leaves the same world as mv, but
    # BFCL wants mv's own confirmation among the results and fails the entry.
    entry = entries["multi_turn_base_0"]
    output = _truth_turns(entry)
    output[0] = [_fc([("cd", {"folder": "document"}), ("mkdir", {"dir_name": "temp"}),
                      ("cp", {"source": "final_report.pdf", "destination": "temp"}),
                      ("rm", {"file_name": "final_report.pdf"})])]  # fmt: skip
    bfcl = check_multi_turn(entry, output)
    assert not bfcl.ok and bfcl.code == "turn.response_mismatch"
    assert check_end_state(entry, output).ok


def test_work_spread_over_turns_fails_bfcl_per_turn_but_not_at_the_end(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_base_0"]
    output = _truth_turns(entry)
    first = output[0][0]
    output[0] = [first[:2]]  # cd and mkdir now; the mv waits for the next turn
    output[1] = [[first[2]], *output[1]]
    assert check_multi_turn(entry, output).code == "turn.state_mismatch"
    assert check_end_state(entry, output).ok


def test_a_wrong_end_state_a_missing_read_and_a_missing_answer_fail(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_base_0"]
    wrong = _truth_turns(entry)
    wrong[3] = [_fc([("cd", {"folder": ".."})])]  # previous_report.pdf is never moved
    verdict = check_end_state(entry, wrong)
    assert verdict.code == "episode.state_mismatch" and verdict.evidence["changed"] == ["GorillaFileSystem.root"]

    unread = _truth_turns(entry)
    unread[1] = [_fc([("cd", {"folder": "temp"})])]  # the grep the user asked for is never run
    assert check_end_state(entry, unread).code == "episode.output_missing"

    asked = dataclasses.replace(entry, required_outputs=("budget analysis",))
    good = _truth_turns(entry)
    assert check_end_state(asked, good).ok  # grep's result quotes the matching line
    said = dataclasses.replace(entry, required_outputs=("the reports differ in 3 lines",))
    assert check_end_state(said, good).code == "episode.answer_missing"
    good[3].append("The reports differ in 3 lines.")
    assert check_end_state(said, good).ok


def test_an_unfinished_episode_fails(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_base_0"]
    assert check_end_state(entry, _truth_turns(entry)[:2]).code == "turns.wrong_count"
    assert check_end_state(entry, "Error during inference: timeout").code == "turns.not_a_list"
