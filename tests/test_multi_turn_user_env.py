"""A multi-turn eval set over the user's own stateful class: export it, play a model through it, score it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Dialog, Message, ToolCall
from callforge.evaluate import (
    EvalConfig,
    Mode,
    Style,
    check_end_state,
    check_multi_turn,
    evaluate_model,
    load_multi_turn,
)
from callforge.execute import parse_environment
from callforge.export import export
from callforge.llm import FunctionBackend
from callforge.llm.scripted import Reply, Request
from tests.conftest import EXAMPLES

BANK = EXAMPLES / "environments" / "bank.py"


def _call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(name=name, arguments=arguments)


def _dialog(*turns: tuple[str, list[ToolCall]]) -> Dialog:
    messages: list[Message] = []
    for n, (text, calls) in enumerate(turns):
        messages.append(Message(role="user", content=text))
        if calls:
            ids = [c.model_copy(update={"id": f"c{n}_{i}"}) for i, c in enumerate(calls)]
            messages.append(Message(role="assistant", tool_calls=tuple(ids)))
            messages.extend(Message(role="tool", tool_call_id=c.id, content="{}") for c in ids)
        messages.append(Message(role="assistant", content="Done."))
    return Dialog(messages=tuple(messages))


GOOD = _dialog(
    ("Open an account for Ann Lee with 100 euros.", [_call("open_account", owner="Ann Lee", initial_deposit=100)]),
    ("Open one for Bo Chen too and move 30 euros from Ann's to it.",
     [_call("open_account", owner="Bo Chen"), _call("transfer", from_account="ACC-0001", to_account="ACC-0002", amount=30)]),
    ("How much does Ann have left?", [_call("get_balance", account_id="ACC-0001")]),
)  # fmt: skip
FAILS = _dialog(("Take 5 euros out of ACC-0009.", [_call("withdraw", account_id="ACC-0009", amount=5)]))
ELSEWHERE = _dialog(("Book a flight to Oslo.", [_call("book_flight", to="OSL")]))


@pytest.fixture(scope="module")
def eval_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bank")
    source = folder / "dialogs.jsonl"
    source.write_text("".join(d.model_dump_json() + "\n" for d in (GOOD, FAILS, ELSEWHERE)))
    report = export(source, folder / "set", format="bfcl", environment=BANK)
    assert report.categories == {"multi_turn_base": 1}
    assert report.left_out == {"ground_truth_fails": 1, "tool_not_in_environment": 1}
    return folder / "set"


def test_the_export_is_a_bfcl_folder_carrying_its_environment_and_end_state(eval_set: Path) -> None:
    (row,) = [json.loads(line) for line in (eval_set / "BFCL_v4_multi_turn_base.json").read_text().splitlines()]
    assert row["environment"] == {"python": "environment/bank.py"}
    assert (eval_set / "environment" / "bank.py").read_text() == BANK.read_text()
    assert next([m["content"] for m in turn] for turn in row["question"]) == ["Open an account for Ann Lee with 100 euros."]
    (truth,) = [json.loads(line) for line in (eval_set / "possible_answer" / "BFCL_v4_multi_turn_base.json").open()]
    assert truth["ground_truth"][1] == [
        "open_account(owner='Bo Chen')",
        "transfer(from_account='ACC-0001', to_account='ACC-0002', amount=30)",
    ]
    accounts = truth["end_state"]["Bank"]["accounts"]
    assert {a["owner"]: a["balance_cents"] for a in accounts.values()} == {"Ann Lee": 7000, "Bo Chen": 3000}
    (entry,) = load_multi_turn(eval_set)
    assert entry.environment_spec is not None and entry.environment_spec.path == (eval_set / "environment" / "bank.py").resolve()
    assert {t.name for t in entry.tools_at(0)} >= {"open_account", "transfer", "get_balance"}


def _turns(*calls_per_turn: list[ToolCall]) -> list[list[Any]]:
    return [[[{c.name: json.dumps(c.arguments)} for c in calls], "Done."] for calls in calls_per_turn]


def test_the_ground_truth_passes_and_a_planted_wrong_action_fails(eval_set: Path) -> None:
    (entry,) = load_multi_turn(eval_set)
    right = _turns(*[[m for m in turn] for turn in _truth_calls()])
    assert check_multi_turn(entry, right).ok
    assert check_end_state(entry, right).ok
    planted = _truth_calls()
    planted[1][1] = _call("transfer", from_account="ACC-0001", to_account="ACC-0002", amount=40)
    wrong = _turns(*planted)
    verdict = check_multi_turn(entry, wrong)
    assert verdict.code == "turn.state_mismatch" and verdict.evidence["turn"] == 1
    assert "Bank.accounts" in verdict.evidence["changed"]
    assert check_end_state(entry, wrong).code == "episode.state_mismatch"


def _truth_calls() -> list[list[ToolCall]]:
    return [
        [_call("open_account", owner="Ann Lee", initial_deposit=100)],
        [_call("open_account", owner="Bo Chen"), _call("transfer", from_account="ACC-0001", to_account="ACC-0002", amount=30)],
        [_call("get_balance", account_id="ACC-0001")],
    ]


def test_a_live_model_is_played_through_the_users_environment(eval_set: Path, tmp_path: Path) -> None:
    truth = _truth_calls()

    def model(request: Request) -> Reply:
        turn = sum(m.role == "user" for m in request.messages) - 1
        if request.messages[-1].role == "tool":
            return "Done."
        return truth[turn]

    report = evaluate_model(
        EvalConfig(model=FunctionBackend(model), data=eval_set, style=Style.FC, categories="multi_turn_base",
                   out=tmp_path / "run")
    )
    for mode in Mode:
        ((_, score),) = report.scores[mode].categories.items()
        assert (score.correct, score.total) == (1, 1), mode
    (row,) = [json.loads(line) for f in (tmp_path / "run" / "results").glob("*.jsonl") for line in f.open()]
    assert row["steps"] == 6 and len(row["result"]) == 3


def test_env_on_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "dialogs.jsonl"
    source.write_text(GOOD.model_dump_json() + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "callforge", "export", str(source), "--format", "bfcl", "--env", f"{BANK}:Bank",
         "--out", str(tmp_path / "set")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote 1 cases (bfcl)" in done.stdout and "multi_turn_base 1" in done.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "callforge", "export", str(source), "--format", "openai", "--env", str(BANK),
         "--out", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert wrong.returncode != 0 and "goes with the bfcl format" in wrong.stderr
    assert parse_environment(f"{BANK}:Bank").class_name == "Bank"
    with pytest.raises(Exception, match="give a Python class file"):
        parse_environment(tmp_path / "dialogs.jsonl")
