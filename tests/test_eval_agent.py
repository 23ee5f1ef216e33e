"""`callforge eval run --agent STRATEGY`: a strategy measured on BFCL's cases through `StrategyBackend`.

The oracle knows each case's answer and plays every role a strategy asks for (a probe, a planner,
a caller, a summarizer), each request costing a fixed 100 + 10 tokens, so a test sees exactly how
many requests a strategy made in the evaluation's token counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callforge.agent import StrategyBackend
from callforge.cli import app
from callforge.core import OMITTED, Case, ToolCall
from callforge.evaluate import Mode, Style, evaluate_model
from callforge.formats import load_bfcl_suite
from callforge.llm import Completion, FunctionBackend, Usage
from callforge.llm.scripted import Request

from .conftest import stream

CATEGORIES = ["simple_python", "irrelevance"]
COST = Usage(prompt_tokens=100, completion_tokens=10)


@pytest.fixture(scope="module")
def cases(bfcl_dir: Path) -> dict[str, Case]:
    return {c.id: c for c in load_bfcl_suite(bfcl_dir / "data", CATEGORIES)}


def _calls(case: Case) -> tuple[ToolCall, ...]:
    return tuple(
        ToolCall(
            name=e.name.replace(".", "_"),
            arguments={k: v[0] for k, v in e.arguments.items() if v and v[0] != OMITTED},
        )
        for e in case.expected
    )


def _oracle(cases: dict[str, Case]) -> FunctionBackend:
    """Answers as each role should: the case is found by its user message, the role by the request's shape."""
    by_question = {c.messages[-1].content: c for c in cases.values()}

    def respond(request: Request) -> Completion:
        case = by_question[next(m.content for m in reversed(request.messages) if m.role == "user")]
        calls = _calls(case)
        schema = request.options.json_schema or {}
        if "decision" in schema.get("properties", {}):  # when_to_call's probe
            return Completion(text=json.dumps({"decision": "call" if calls else "answer"}), usage=COST)
        if "next" in schema.get("properties", {}):  # the planner
            if any(m.role == "tool" for m in request.messages) or not calls:
                return Completion(text=json.dumps({"thought": "t", "next": "give_up" if not calls else "answer"}), usage=COST)
            return Completion(text=json.dumps({"thought": "t", "next": "call", "tool": calls[0].name}), usage=COST)
        if calls and request.tools:
            return Completion(tool_calls=calls, usage=COST)
        return Completion(text="None of the functions apply.", usage=COST)

    return FunctionBackend(respond, model="oracle")


@pytest.mark.parametrize(("strategy", "requests_per_case"), [("direct", 1), ("when_to_call", 2), ("planner_caller_summarizer", 2)])
def test_a_strategy_is_scored_in_both_modes_and_its_requests_counted(
    cases: dict[str, Case], bfcl_dir: Path, tmp_path: Path, strategy: str, requests_per_case: int
) -> None:
    oracle = _oracle(cases)
    report = evaluate_model(
        model=StrategyBackend(oracle, strategy),
        data=bfcl_dir / "data",
        out=tmp_path,
        style=Style.FC,
        categories=CATEGORIES,
        limit=3,
    )
    assert report.sent == 6 and not report.failed and report.model == f"oracle+{strategy}"
    for mode in Mode:
        assert {c.value: (s.correct, s.total) for c, s in report.scores[mode].categories.items()} == {
            "simple_python": (3, 3),
            "irrelevance": (3, 3),
        }, mode
    assert len(oracle.requests) == 6 * requests_per_case
    assert report.usage == Usage(prompt_tokens=600 * requests_per_case, completion_tokens=60 * requests_per_case)
    records = stream(tmp_path, "results")
    assert {r["input_token_count"] for r in records} == {100 * requests_per_case}
    assert {r["model"] for r in records} == {f"oracle+{strategy}"}
    if strategy == "planner_caller_summarizer":
        callers = [r for r in oracle.requests if r.tools]
        assert len(callers) == 3 and all(len(r.tools) == 1 and r.options.tool_choice == r.tools[0].name for r in callers)


def test_self_refine_is_evaluated_without_running_a_call(cases: dict[str, Case], bfcl_dir: Path, tmp_path: Path) -> None:
    oracle = _oracle(cases)
    report = evaluate_model(
        model=StrategyBackend(oracle, "self_refine"), data=bfcl_dir / "data", out=tmp_path, style=Style.FC,
        categories=["simple_python"], limit=3,
    )  # fmt: skip
    assert report.scores[Mode.BFCL].categories[next(iter(report.scores[Mode.BFCL].categories))].correct == 3
    assert len(oracle.requests) == 3  # the calls pass the rules; nothing can run them, so no execution check


def test_cli_eval_run_with_agent(bfcl_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["--data", str(bfcl_dir / "data"), "-c", "simple_python", "--limit", "3", "-q"]
    out = tmp_path / "run"
    done = runner.invoke(app, ["eval", "run", "--model", "fuzz", "--agent", "direct", "--style", "fc", *common, "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "ran 3 cases" in done.output and "per entry:" in done.output and "tokens" in done.output
    assert {r["model"] for r in stream(out, "results")} == {"fuzz+direct"}

    defaulted = runner.invoke(app, ["eval", "--model", "fuzz", "--agent", "when_to_call", *common, "-o", str(tmp_path / "wtc")])
    assert defaulted.exit_code == 0, defaulted.output  # --agent defaults to --style fc
    assert "style=fc" in defaulted.output

    prompting = runner.invoke(app, ["eval", "run", "--model", "fuzz", "--agent", "direct", "--style", "prompting", *common])
    assert prompting.exit_code == 2 and "--agent needs --style fc" in prompting.output
    unknown = runner.invoke(app, ["eval", "run", "--model", "fuzz", "--agent", "ponder", *common, "-o", str(tmp_path / "x")])
    assert unknown.exit_code != 0 and "unknown strategy 'ponder'" in unknown.output

    optioned = runner.invoke(app, ["eval", "run", "--model", "fuzz", "--agent", "when_to_call:probe=confidence", *common, "-o", str(tmp_path / "conf")])
    assert optioned.exit_code == 0, optioned.output  # fuzz returns no log-probabilities: the probe asks instead
    assert {r["model"] for r in stream(tmp_path / "conf", "results")} == {"fuzz+when_to_call:probe=confidence"}
    misspelt = runner.invoke(app, ["eval", "run", "--model", "fuzz", "--agent", "when_to_call:probe=hidden", *common, "-o", str(tmp_path / "y")])
    assert misspelt.exit_code == 2 and "'ask' or" in misspelt.output and "got 'hidden'" in misspelt.output
