"""The live multi-turn loop: BFCL's requests, the held-out tool turn, the step limit, and scoring what it stores."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Category, Message, ToolCall
from callforge.evaluate import (
    EvalConfig,
    Mode,
    MultiTurnEntry,
    Style,
    check_multi_turn,
    evaluate_model,
    pass_hat_k,
    run_multi_turn_entry,
)
from callforge.evaluate.bfcl_prompt import fc_specs, tool_functions
from callforge.evaluate.multi_turn_live import INFERENCE_ERROR, MORE_TOOLS, call_text
from callforge.llm import FunctionBackend, RequestRejected, ScriptedBackend
from callforge.llm.scripted import Reply, Request
from tests.conftest import needs_bfcl_eval

pytestmark = needs_bfcl_eval

# One entry of each category, chosen for variety: several turns, a held-out tool, a missing value, filler.
SAMPLE = ("multi_turn_base_0", "multi_turn_base_17", "multi_turn_miss_func_3", "multi_turn_miss_param_5",
          "multi_turn_long_context_2")  # fmt: skip


def _truth(entry: MultiTurnEntry) -> list[list[ToolCall]]:
    """The ground truth's calls with every argument named (BFCL's ground truth passes some by position)."""
    env = entry.environment()
    return [[env.bind(c.name, c.positional, c.arguments) for c in turn] for turn in entry.ground_truth]


def _oracle_script(entry: MultiTurnEntry, style: Style) -> list[Reply]:
    """Per turn: the ground truth's calls as one reply, then a closing text; a turn with no ground truth is text."""
    script: list[Reply] = []
    for calls in _truth(entry):
        if calls:
            if style is Style.FC:
                script.append(calls)
            else:
                script.append("[" + ", ".join(call_text(c) for c in calls) + "]")
        script.append("Done.")
    return script


@pytest.mark.parametrize("style", [Style.FC, Style.PROMPTING])
def test_an_oracle_passes_every_sampled_entry_in_both_styles(entries: dict[str, Any], style: Style) -> None:
    for entry_id in SAMPLE:
        entry = entries[entry_id]
        backend = ScriptedBackend(_oracle_script(entry, style))
        run = asyncio.run(run_multi_turn_entry(entry, backend, style))
        backend.assert_done()
        assert not run.force_terminated and not run.rejected
        assert isinstance(run.output, list) and len(run.output) == len(entry.turns)
        verdict = check_multi_turn(entry, run.output, style=style)
        assert verdict.ok, (entry_id, verdict.code, verdict.message)
        assert run.steps == len(backend.requests)


def test_fc_requests_carry_bfcl_tools_results_and_the_held_out_turn(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_miss_func_3"]
    (held,) = entry.held_out
    backend = ScriptedBackend(_oracle_script(entry, Style.FC))
    asyncio.run(run_multi_turn_entry(entry, backend, Style.FC))
    first = backend.requests[0]
    base = fc_specs(tool_functions(entry.tools_at(0)))
    assert [t.name for t in first.tools] == [t.name for t in base]
    assert all(t.description.endswith("Note that the provided function is in Python 3 syntax.") for t in first.tools)
    assert not set(held.tools) & {t.name for t in first.tools}
    assert [m.role for m in first.messages] == ["user"]  # FC: no system prompt of BFCL's
    # The step after the first calls answers each call with a `tool` message carrying its id.
    answered = next(r for r in backend.requests if r.messages[-1].role == "tool")
    calls = next(len(turn) for turn in _truth(entry) if turn)
    assistant = answered.messages[-1 - calls]
    tool_messages = answered.messages[-calls:]
    assert assistant.role == "assistant" and assistant.tool_calls
    assert [m.tool_call_id for m in tool_messages] == [c.id for c in assistant.tool_calls]
    assert all(m.role == "tool" and m.content for m in tool_messages)
    # The held-out turn: BFCL's message, and the held-out tools added at the end without the hint.
    at_turn = [r for r in backend.requests if r.messages[-1].content == MORE_TOOLS]
    assert at_turn, "the held-out turn's message was never sent"
    names = [t.name for t in at_turn[0].tools]
    assert names[-len(held.tools):] == list(held.tools)
    assert not at_turn[0].tools[-1].description.endswith("Python 3 syntax.")


def test_prompting_requests_use_bfcl_system_prompt_and_result_message(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_miss_func_3"]
    backend = ScriptedBackend(_oracle_script(entry, Style.PROMPTING))
    asyncio.run(run_multi_turn_entry(entry, backend, Style.PROMPTING))
    first = backend.requests[0]
    assert not first.tools
    assert first.messages[0].role == "system" and "Here is a list of functions in json format" in str(
        first.messages[0].content
    )
    assert sum(m.role == "system" for m in backend.requests[-1].messages) == 1  # only at the first turn
    # Results go back as one user message listing each call (written as Python) with its output.
    fed = [m for m in backend.requests[-1].messages if m.role == "user" and str(m.content).startswith("[{'role'")]
    assert len(fed) == 2  # the two steps with calls: find, then the cd/cp batch
    listed = ast.literal_eval(str(fed[1].content))
    assert [item["name"] for item in listed] == [
        "cd(folder='projects')", "cd(folder='photography')",
        "cp(source='test_image1.jpg', destination='backup_tests')",
        "cp(source='test_document.txt', destination='backup_tests')",
    ]  # fmt: skip
    assert all(item["role"] == "tool" and isinstance(item["content"], str) for item in listed)
    (held,) = entry.held_out
    at_turn = [r for r in backend.requests if str(r.messages[-1].content).endswith(MORE_TOOLS)]
    assert at_turn and f"'name': '{held.tools[0]}'" in str(at_turn[0].messages[-1].content)


def test_a_model_that_never_stops_is_force_terminated(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_base_0"]
    backend = FunctionBackend(lambda request: ToolCall(name="ls", arguments={}))
    run = asyncio.run(run_multi_turn_entry(entry, backend, Style.FC, step_limit=3))
    assert run.force_terminated
    assert run.steps == 4 == len(backend.requests)  # BFCL counts the step, then checks count > limit
    assert isinstance(run.output, list) and len(run.output) == 1
    verdict = check_multi_turn(entry, run.output, style="fc")
    assert verdict.code == "turns.wrong_count"
    assert verdict.evidence["bfcl_error_type"] == "multi_turn:force_terminated"


def test_a_refused_request_is_bfcls_inference_error(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_base_0"]
    script: list[Reply] = [_truth(entry)[0], RequestRejected("context length exceeded: 40000 > 32768")]
    run = asyncio.run(run_multi_turn_entry(entry, ScriptedBackend(script), Style.FC))
    assert isinstance(run.output, str) and run.output.startswith(INFERENCE_ERROR)
    assert "context length" in run.rejected
    assert check_multi_turn(entry, run.output).evidence["bfcl_error_type"] == "multi_turn:inference_error"


def test_text_or_undecodable_output_ends_the_turn(entries: dict[str, Any]) -> None:
    entry = entries["multi_turn_base_0"]
    replies: list[Reply] = ["I will move the file now.", "[mv(source=", "ok", "ok"]
    run = asyncio.run(run_multi_turn_entry(entry, ScriptedBackend(replies), Style.PROMPTING))
    assert run.output == [["I will move the file now."], ["[mv(source="], ["ok"], ["ok"]]
    assert check_multi_turn(entry, run.output, style="prompting").code == "turn.no_call"


def _oracle_backend(entries: dict[str, Any], style: Style) -> FunctionBackend:
    """Answers any sampled entry's requests with its ground truth, found by the entry's first user message."""
    by_question = {str(e.turns[0][-1].content): e for e in entries.values() if e.turns and e.turns[0]}

    def respond(request: Request) -> Reply:
        users = [m for m in request.messages if m.role == "user" and not _is_results(m)]
        entry = by_question[str(users[0].content)]
        turn = len(users) - 1
        truth = _truth(entry)[turn]
        answered = request.messages[-1].role in ("tool",) or _is_results(request.messages[-1])
        if answered or not truth:
            return "Done."
        return truth if style is Style.FC else "[" + ", ".join(call_text(c) for c in truth) + "]"

    return FunctionBackend(respond, model="oracle")


def _is_results(message: Message) -> bool:
    return message.role == "user" and str(message.content).startswith("[{'role': 'tool'")


@pytest.mark.parametrize("style", [Style.FC, Style.PROMPTING])
def test_eval_runs_multi_turn_live_scores_it_and_resumes(
    bfcl_dir: Path, entries: dict[str, Any], tmp_path: Path, style: Style
) -> None:
    config = EvalConfig(
        model=_oracle_backend(entries, style), data=bfcl_dir / "data", style=style,
        categories=("multi_turn_base",), limit=3, out=tmp_path / "run",
    )  # fmt: skip
    report = evaluate_model(config)
    assert report.sent == 3 and not report.failed
    for mode, scored in report.scores.items():
        base = scored.categories[next(iter(scored.categories))]
        assert (base.correct, base.total) == (3, 3), mode
    rows = [json.loads(line) for f in sorted((tmp_path / "run" / "results").glob("*.jsonl")) for line in f.open()]
    assert {r["id"] for r in rows} == {"multi_turn_base_0", "multi_turn_base_1", "multi_turn_base_2"}
    assert all(r["steps"] >= len(r["result"]) and r["parse"] == "ok" for r in rows)
    bfcl_file = tmp_path / "run" / "bfcl-results" / "BFCL_v4_multi_turn_base_result.json"
    assert len(bfcl_file.read_text().splitlines()) == 3
    again = evaluate_model(config)
    assert (again.sent, again.resumed) == (0, 3)


def test_the_group_name_multi_turn_selects_the_four_categories() -> None:
    config = EvalConfig(model="fuzz", categories="multi_turn", out=Path("x"))
    assert [c.value for c in config.categories or ()] == [
        "multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="or one of the sets: all, single_turn"):
        EvalConfig(model="fuzz", categories="multi_turns", out=Path("x"))


def test_cli_runs_multi_turn_live(bfcl_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "callforge", "eval", "run", "--model", "fuzz:3", "--data", str(bfcl_dir / "data"),
         "--categories", "multi_turn_miss_param", "--limit", "2", "--style", "fc", "--out", str(out), "--quiet",
         "--trials", "2", "--temperature", "0.5"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "multi_turn_miss_param" in done.stdout and "pass^2" in done.stdout
    scores = json.loads((out / "trial-2" / "scores" / "bfcl" / "scores.json").read_text())
    assert "multi_turn_miss_param" in json.dumps(scores)


def test_trials_give_pass_hat_k_and_each_trial_resumes(bfcl_dir: Path, entries: dict[str, Any], tmp_path: Path) -> None:
    oracle = _oracle_backend(entries, Style.FC)

    def flaky(request: Request) -> Reply:
        # multi_turn_base_1 is solved only in the first trial; multi_turn_base_0 always.
        first = next(m for m in request.messages if m.role == "user")
        if request.options.sample and first.content == entries["multi_turn_base_1"].turns[0][-1].content:
            return "I cannot do that."
        return oracle._respond(request)  # type: ignore[no-any-return]

    config = EvalConfig(
        model=FunctionBackend(flaky), data=bfcl_dir / "data", style="fc", categories=("multi_turn_base",),
        limit=2, trials=3, out=tmp_path / "run",
    )  # fmt: skip
    report = evaluate_model(config)
    assert len(report.trials) == 3 and report.sent == 6
    assert [t.out.name for t in report.trials] == ["trial-1", "trial-2", "trial-3"]
    table = report.pass_hat[Mode.BFCL][Category.MULTI_TURN_BASE]
    assert table[1] == pytest.approx((1 + 1 / 3) / 2)
    assert table[2] == pytest.approx(0.5) and table[3] == pytest.approx(0.5)
    again = evaluate_model(config)
    assert (again.sent, again.resumed) == (0, 6)


def test_pass_hat_k_is_taus_formula() -> None:
    outcomes = {"a": [True, True, False, True], "b": [False, False, False, False], "c": [True] * 4}
    assert pass_hat_k(outcomes, 1) == pytest.approx((0.75 + 0 + 1) / 3)
    assert pass_hat_k(outcomes, 2) == pytest.approx((3 / 6 + 0 + 1) / 3)
    assert pass_hat_k(outcomes, 4) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="fewer than k=5"):
        pass_hat_k(outcomes, 5)
