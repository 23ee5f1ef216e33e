"""The agent runtime: the loop, its limits and trace, and each strategy's control flow, with scripted models.

No test needs a model: `ScriptedBackend` answers from a script and fails on a request the script
did not foresee (and `assert_done` on one it foresaw but never got), so each test proves exactly
how many requests a strategy made.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from callforge.agent import (
    STRATEGIES,
    Agent,
    AgentConfig,
    ObservationEvent,
    SelfRefine,
    Step,
    StepContext,
    make_strategy,
    reply,
    run_agent,
)
from callforge.core import ConfigError, Message, ToolCall, ToolSpec, Verdict
from callforge.execute import EnvironmentEngine, ObjectEnvironment, Observation, python_environment
from callforge.llm import Completion, FunctionBackend, RequestRejected, ScriptedBackend, Usage

REPO = Path(__file__).resolve().parents[1]
BANK = REPO / "examples" / "environments" / "bank.py"
TRAVEL = REPO / "examples" / "tools" / "travel.py"

WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Oslo."},
            "days": {"type": "integer", "description": "How many days ahead."},
        },
        "required": ["city"],
    },
)
ASK = "What is the weather in Oslo for the next 3 days?"
GOOD = ToolCall(name="get_weather", arguments={"city": "Oslo", "days": 3})
ADD = ToolSpec(name="add", parameters={"type": "object", "properties": {"item": {"type": "string"}}, "required": ["item"]})


class Weather:
    """A stateless engine: knows Oslo and Bergen, raises for anything else; records what it ran."""

    name = "weather"

    def __init__(self, *, barrier: int = 0) -> None:
        self.calls: list[ToolCall] = []
        self._started = 0
        self._all_in = asyncio.Event()
        self._barrier = barrier

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        self.calls.append(call)
        if self._barrier:  # every call waits until all `barrier` calls are in flight: only concurrency gets past
            self._started += 1
            if self._started == self._barrier:
                self._all_in.set()
            await asyncio.wait_for(self._all_in.wait(), timeout=5)
        city = call.arguments.get("city")
        if city not in ("Oslo", "Bergen"):
            verdict = Verdict.failed("exec.exception", f"get_weather raised KeyError: unknown city {city!r}")
            return Observation(call=call, verdict=verdict, engine=self.name)
        return Observation(call=call, output={"city": city, "celsius": 12}, engine=self.name)


def agent(script: Sequence[Any] | ScriptedBackend | FunctionBackend, **kwargs: Any) -> tuple[Agent, Any, Weather]:
    backend = script if isinstance(script, ScriptedBackend | FunctionBackend) else ScriptedBackend(list(script))
    engine = kwargs.pop("engine", None) or Weather()
    return Agent(backend, tools=[WEATHER], engine=engine, **kwargs), backend, engine


def run(a: Agent, request: str | Sequence[Message] = ASK) -> Any:
    return asyncio.run(a.run(request))


# --- the loop -----------------------------------------------------------------------------------


def test_direct_runs_the_call_then_answers() -> None:
    a, backend, engine = agent([GOOD, "Oslo: 12 °C for the next 3 days."])
    result = run(a)
    backend.assert_done()
    assert result.stop == "answered" and result.answered and result.steps == 2
    assert result.text == "Oslo: 12 °C for the next 3 days."
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    call = result.messages[1].tool_calls[0]
    assert call.id == "call_1" and engine.calls == [call]
    assert result.messages[2].tool_call_id == "call_1"
    assert json.loads(result.messages[2].content or "") == {"city": "Oslo", "celsius": 12}
    # The second request saw the call and its result; both were offered the tools.
    assert [len(r.messages) for r in backend.requests] == [1, 3]
    assert all(r.tools == (WEATHER,) for r in backend.requests)


def test_a_failing_call_reaches_the_model_as_an_error() -> None:
    a, _, _ = agent([ToolCall(name="get_weather", arguments={"city": "Atlantis"}), "No such city."])
    result = run(a)
    assert json.loads(result.messages[2].content or "") == {"error": "get_weather raised KeyError: unknown city 'Atlantis'"}
    assert result.text == "No such city."


def test_the_step_limit_stops_a_model_that_keeps_calling() -> None:
    backend = FunctionBackend(lambda request: GOOD)
    a, _, engine = agent(backend, config=AgentConfig(max_steps=3))
    result = run(a)
    assert result.stop == "step_limit" and not result.answered and result.text == ""
    assert result.steps == 3 and len(backend.requests) == 3 and len(engine.calls) == 3
    assert "3 steps" in result.detail
    assert len({c.id for c in engine.calls}) == 3  # every call its own id


def test_the_budget_stops_the_run_before_the_next_request() -> None:
    spent = Usage(prompt_tokens=50, completion_tokens=10)
    backend = FunctionBackend(lambda request: Completion(tool_calls=(GOOD,), usage=spent))
    a, _, _ = agent(backend, config=AgentConfig(budget=100))
    result = run(a)
    assert result.stop == "budget" and "budget of 100" in result.detail
    assert len(backend.requests) == 2  # 60 tokens, then 120: the third request is never sent
    assert result.usage.total_tokens == 120 and result.steps == 2


def test_a_refused_request_ends_the_run() -> None:
    a, _, _ = agent([GOOD, RequestRejected("longer than the context (4096 tokens)")])
    result = run(a)
    assert result.stop == "rejected" and "context" in result.detail and result.steps == 1


def test_the_trace_has_every_request_call_and_observation() -> None:
    both = [GOOD, ToolCall(name="get_weather", arguments={"city": "Bergen", "days": 3})]
    a, _, _ = agent([both, "Both 12 °C."], engine=Weather(barrier=2))
    result = run(a, "Weather in Oslo and Bergen for 3 days?")
    kinds = [e.kind for e in result.trace.events]
    assert kinds == ["request", "call", "call", "observation", "observation", "request"]
    first, last = result.trace.requests
    assert (first.step, first.purpose, first.role, first.messages, first.tools) == (0, "reply", "agent", 1, 1)
    assert first.tool_calls == result.messages[1].tool_calls and last.text == "Both 12 °C."
    assert last.messages == 4 and last.step == 1
    assert [c.call for c in result.trace.calls] == list(result.messages[1].tool_calls)
    assert all(isinstance(o, ObservationEvent) and o.observation.ok for o in result.trace.observations)
    assert sum((r.usage for r in result.trace.requests), Usage()) == result.usage
    lines = result.trace.jsonl().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == kinds


def test_calls_on_an_engine_run_concurrently() -> None:
    both = [GOOD, ToolCall(name="get_weather", arguments={"city": "Bergen", "days": 3})]
    a, _, engine = agent([both, "done"], engine=Weather(barrier=2))
    result = run(a, "Weather in Oslo and Bergen for 3 days?")
    assert result.answered and len(engine.calls) == 2  # each call waited for the other: they were in flight together


def test_a_conversation_continues_with_fresh_call_ids() -> None:
    a, _, _ = agent([GOOD, "12 °C.", GOOD, "Still 12 °C."])
    first = run(a)
    second = run(a, [*first.messages, Message(role="user", content="And again for Oslo, 3 days?")])
    ids = [c.id for m in second.messages for c in m.tool_calls]
    assert ids == ["call_1", "call_2"] and second.text == "Still 12 °C."


def test_a_system_message_goes_first() -> None:
    a, backend, _ = agent(["Hello."], config=AgentConfig(system="Be brief."))
    run(a, "Hi")
    assert [m.role for m in backend.requests[0].messages] == ["system", "user"]


def test_an_agent_with_tools_needs_somewhere_to_run_them() -> None:
    with pytest.raises(ConfigError, match="nothing to run them"):
        Agent(ScriptedBackend([]), tools=[WEATHER])
    with pytest.raises(ConfigError, match=r"unknown strategy 'ponder'.*direct, self_refine"):
        make_strategy("ponder")
    assert {"direct", "self_refine"} <= set(STRATEGIES)


class Tally:
    """A tiny stateful tool: the order of calls matters."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def add(self, item: str) -> int:
        """Add an item; returns how many there are."""
        self.seen.append(item)
        return len(self.seen)


def test_an_environment_engine_runs_calls_in_order_as_an_environment() -> None:
    env = ObjectEnvironment("tally", lambda: {"Tally": Tally()}, tools=[ADD])
    calls = [ToolCall(name="add", arguments={"item": x}) for x in ("a", "b", "c")]
    a = Agent(ScriptedBackend([calls, "3 items."]), engine=EnvironmentEngine(env))
    assert a.environment is env and a.engine is None and a.tools == (ADD,)
    result = run(a, "Add a, b and c.")
    assert [m.content for m in result.messages if m.role == "tool"] == ["1", "2", "3"]
    assert env.snapshot().value("Tally", "seen") == ["a", "b", "c"]


def test_a_strategy_may_ask_several_roles_and_run_calls_itself() -> None:
    """The protocol a planner or a compiler needs: more than one request and backend per step, calls run inside the step."""

    class PlanThenCall:
        name = "plan_then_call"

        async def step(self, context: StepContext) -> Step:
            if any(m.role == "tool" for m in context.messages):
                return Step((reply(await context.complete(context.messages, role="summarizer", purpose="answer", tools=())),))
            plan = await context.complete(context.messages, role="planner", purpose="plan", tools=())
            call = reply(await context.complete([*context.messages, reply(plan)], purpose="call"))
            observations = await context.execute(call.tool_calls)
            return Step((call, *(Message(role="tool", tool_call_id=o.call.id, content="12") for o in observations)))

    planner, summarizer = ScriptedBackend(["Look up Oslo."]), ScriptedBackend(["12 °C."])
    a, caller, engine = agent([GOOD], strategy=PlanThenCall(), roles={"planner": planner, "summarizer": summarizer})
    result = run(a)
    assert result.text == "12 °C." and len(engine.calls) == 1
    assert [(r.role, r.purpose, r.tools) for r in result.trace.requests] == [
        ("planner", "plan", 0), ("agent", "call", 1), ("summarizer", "answer", 0),
    ]  # fmt: skip
    for backend in (planner, caller, summarizer):
        backend.assert_done()


# --- self_refine --------------------------------------------------------------------------------


def test_self_refine_takes_a_passing_first_answer_with_one_request() -> None:
    a, backend, engine = agent([GOOD, "12 °C."], strategy="self_refine")
    result = run(a)
    backend.assert_done()  # exactly one request per step: no refinement
    assert [r.purpose for r in result.trace.requests] == ["reply", "reply"]
    (check,) = result.trace.checks
    assert check.passed and check.round == 0 and check.executed
    assert len(engine.calls) == 1  # run once, by the check; the step kept its result
    assert [c.purpose for c in result.trace.calls] == ["check"]
    assert result.answered and [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]


def test_self_refine_feeds_back_an_invented_parameter_and_runs_the_corrected_call() -> None:
    wrong = ToolCall(name="get_weather", arguments={"town": "Oslo", "days": 3})
    a, backend, engine = agent([wrong, GOOD, "12 °C."], strategy="self_refine")
    result = run(a)
    backend.assert_done()
    assert engine.calls == [GOOD.model_copy(update={"id": "call_2"})]  # the wrong call never ran
    retry = backend.requests[1].messages
    assert [m.role for m in retry] == ["user", "assistant", "tool"]
    assert retry[1].tool_calls[0].arguments == {"town": "Oslo", "days": 3}
    feedback = json.loads(retry[2].content or "")
    assert feedback["status"] == "not run: this step was rejected"
    assert "call.unexpected_param" in feedback["codes"] and "call.missing_required" in feedback["codes"]
    assert "'town' is not a parameter of get_weather" in feedback["problem"]
    # Only the accepted reply is kept; the exchange is in the trace.
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert result.messages[1].tool_calls[0].arguments == GOOD.arguments
    assert [r.purpose for r in result.trace.requests] == ["reply", "refine", "reply"]
    failed, passed = result.trace.checks
    assert not failed.passed and not failed.executed and passed.passed and passed.round == 1


def test_self_refine_asks_again_for_a_call_it_could_not_read() -> None:
    unreadable = Completion(
        text='<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"</tool_call>',
        parse=Verdict.failed("parse.bad_json", "the tool call's JSON is cut off"),
    )
    a, backend, engine = agent([unreadable, GOOD, "12 °C."], strategy="self_refine")
    result = run(a)
    backend.assert_done()
    retry = backend.requests[1]
    assert [m.role for m in retry.messages] == ["user", "assistant", "user"]
    assert "could not be read (the tool call's JSON is cut off)" in (retry.messages[2].content or "")
    assert retry.options.tool_choice == "required"  # this time a call, not text
    assert engine.calls == [GOOD.model_copy(update={"id": "call_1"})]
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    failed, passed = result.trace.checks
    assert [v.code for v in failed.failures] == ["parse.bad_json"] and passed.passed


def test_self_refine_keeps_a_plain_text_answer_without_asking_again() -> None:
    a, backend, _ = agent(["It is sunny in Oslo."], strategy="self_refine")
    result = run(a)
    backend.assert_done()  # a readable text reply is an answer, not a failed call
    assert result.answered and not result.trace.checks


def test_self_refine_feeds_back_a_wrong_type() -> None:
    typed = ToolCall(name="get_weather", arguments={"city": "Oslo", "days": "3"})
    a, backend, _ = agent([typed, GOOD, "12 °C."], strategy="self_refine")
    result = run(a)
    backend.assert_done()
    assert json.loads(backend.requests[1].messages[-1].content or "")["codes"] == ["arg.type"]
    assert result.messages[1].tool_calls[0].arguments["days"] == 3


def test_self_refine_feeds_back_an_ungrounded_value() -> None:
    invented = ToolCall(name="get_weather", arguments={"city": "Stockholm", "days": 3})
    a, backend, _ = agent([invented, GOOD, "12 °C."], strategy="self_refine")
    run(a)
    backend.assert_done()
    assert json.loads(backend.requests[1].messages[-1].content or "")["codes"] == ["arg.ungrounded"]


def test_self_refine_feeds_back_an_execution_error_on_a_stateless_engine() -> None:
    ask = "Weather in Atlantis, or else Oslo, for 3 days?"
    sunk = ToolCall(name="get_weather", arguments={"city": "Atlantis", "days": 3})
    a, backend, engine = agent([sunk, GOOD, "12 °C in Oslo."], strategy="self_refine")
    result = run(a, ask)
    backend.assert_done()
    assert [c.arguments["city"] for c in engine.calls] == ["Atlantis", "Oslo"]  # each once, both by the check
    assert [c.purpose for c in result.trace.calls] == ["check", "check"]
    assert json.loads(backend.requests[1].messages[-1].content or "")["codes"] == ["exec.exception"]
    assert json.loads(result.messages[2].content or "") == {"city": "Oslo", "celsius": 12}


def test_self_refine_stops_when_a_revision_is_no_better() -> None:
    first = ToolCall(name="get_weather", arguments={"city": "Oslo", "days": "3"})  # arg.type
    second = ToolCall(name="get_weather", arguments={"city": "Oslo", "when": 3})  # call.unexpected_param
    a, backend, engine = agent([first, second, "Sorry."], strategy=SelfRefine(max_rounds=3))
    result = run(a)
    backend.assert_done()  # one refinement, not three: the revision did not shrink the failures
    assert [r.purpose for r in result.trace.requests] == ["reply", "refine", "reply"]
    assert result.messages[1].tool_calls[0].arguments == first.arguments  # the best candidate is kept
    assert [c.arguments for c in engine.calls] == [first.arguments]


def test_self_refine_stops_after_max_rounds() -> None:
    worse = ToolCall(name="get_weather", arguments={"town": "Oslo", "days": "3"})  # 3 failures
    better = ToolCall(name="get_weather", arguments={"city": "Oslo", "days": "3"})  # 1 failure
    a, backend, _ = agent([worse, better, "Sorry."], strategy=SelfRefine(max_rounds=1))
    result = run(a)
    backend.assert_done()
    assert result.messages[1].tool_calls[0].arguments == better.arguments


def test_self_refine_checks_over_an_environment_without_running_the_check() -> None:
    env = python_environment(BANK, init={"accounts": {"Ada Lovelace": 120.0}})
    try:
        ask = "Please pay 20 EUR into account ACC-0001."
        wrong = ToolCall(name="deposit", arguments={"account_id": "ACC-0001", "amount": 20, "currency": "EUR"})
        right = ToolCall(name="deposit", arguments={"account_id": "ACC-0001", "amount": 20})
        backend = ScriptedBackend([wrong, right, "Done: the balance is 140 EUR."])
        result = asyncio.run(Agent(backend, environment=env, strategy="self_refine").run(ask))
        backend.assert_done()
        assert not any(c.executed for c in result.trace.checks)
        assert [c.purpose for c in result.trace.calls] == ["run"]  # the loop ran the accepted call, once
        ledger = env.snapshot().value("Bank", "transactions")
        assert [t["kind"] for t in ledger] == ["deposit", "deposit"]  # the opening deposit, then this one
        assert json.loads(result.messages[2].content or "")["balance_after"] == 140.0
    finally:
        env.close()


def test_self_refine_options_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"unknown check.*vibes.*the rules are"):
        SelfRefine(checks=("grounding", "vibes"))
    with pytest.raises(ConfigError, match="max_rounds"):
        make_strategy("self_refine", max_rounds=-1)


# --- from specs, and the command line -----------------------------------------------------------


def test_run_agent_builds_the_tools_and_the_model_from_specs() -> None:
    backend = ScriptedBackend(["Hello."])
    result = run_agent("Hi", backend, tools=[TRAVEL])
    assert result.text == "Hello." and {t.name for t in backend.requests[0].tools} >= {"geocode", "convert_units"}
    with pytest.raises(ConfigError, match="not both and not neither"):
        run_agent("Hi", backend)


def _callforge(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "2000"}
    return subprocess.run(
        [sys.executable, "-m", "callforge", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_agent_answers_a_request_with_a_fake_model() -> None:
    request = "Please help: convert units (value 10, from_unit km, to_unit mi) ~ thanks"
    done = _callforge("agent", "--tools", str(TRAVEL), "--model", "fake:world", "--strategy", "self_refine", "--json", request)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["stop"] == "answered" and result["text"]
    roles = [m["role"] for m in result["messages"]]
    assert roles[:3] == ["user", "assistant", "tool"] and roles[-1] == "assistant"
    kinds = {e["kind"] for e in result["trace"]["events"]}
    assert {"request", "call", "observation", "check"} <= kinds
    assert "fake:world" in done.stderr  # the notice that its output is not real data


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`callforge ARGS` in-process, as the console script runs it: (status, stdout, stderr)."""
    from callforge.cli import main

    monkeypatch.setenv("COLUMNS", "2000")
    monkeypatch.setattr(sys, "argv", ["callforge", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    code = exit.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def test_cli_agent_refuses_bad_setups_clearly(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(monkeypatch, capsys, "agent", "--model", "fake:world", "hi")
    assert code == 2 and "give --tools (tool sources) or --env" in err
    code, _, err = cli(monkeypatch, capsys, "agent", "--tools", str(TRAVEL), "--model", "gpt4", "hi")
    assert code == 2 and "unknown model spec 'gpt4'" in err
    code, _, err = cli(monkeypatch, capsys, "agent", "--tools", str(TRAVEL), "--model", "fake:world", "--strategy", "ponder", "hi")
    assert code == 2 and "unknown strategy 'ponder'" in err


def test_cli_agent_reports_a_run_without_an_answer(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(monkeypatch, capsys, "agent", "--tools", str(TRAVEL), "--model", "fuzz:1", "--max-steps", "2", "hi")
    assert code == 3 and out.strip() == ""
    assert "no answer (step_limit): still calling tools after 2 steps" in err


def test_cli_agent_chats_line_by_line_with_a_trace(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ask = "Please help: convert units (value 10, from unit km, to unit mi) ~ thanks"
    code, out, err = cli(
        monkeypatch, capsys, "agent", "--tools", str(TRAVEL), "--model", "fake:world", "--trace", stdin=f"{ask}\n\nhello\n"
    )
    assert code == 0, err
    first, second = out.strip().splitlines()  # one answer per non-empty line
    assert "6.2137" in first and second
    kinds = [json.loads(line)["kind"] for line in err.splitlines() if line.startswith("{")]
    assert kinds.count("request") == 3 and kinds.count("call") == 1 and kinds.count("observation") == 1
