"""The `compiler` strategy (LLMCompiler): plan once, run independent calls together, join or replan.

Scripted backends answer the planner and the joiner, so each test proves how many requests were
made; concurrency is proven by events, not by time: an engine lets its first calls finish only once
all of them are in flight together, which a sequential executor never reaches.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from callforge.agent import (
    STRATEGIES,
    Agent,
    CallEvent,
    Compiler,
    ObservationEvent,
    PlanEvent,
    make_strategy,
    run_agent,
)
from callforge.agent.strategies.compiler import PlanError, parse_plan, plan_schema, resolve
from callforge.core import ConfigError, ToolCall, ToolSpec, Verdict
from callforge.execute import ObjectEnvironment, Observation
from callforge.llm import ScriptedBackend
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]
TRAVEL = REPO / "examples" / "tools" / "travel.py"

WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
LOOKUP = ToolSpec(
    name="home_of",
    description="Where a person lives.",
    parameters={"type": "object", "properties": {"person": {"type": "string"}}, "required": ["person"]},
)
ASK = "What is the weather in Oslo and where Ada lives?"
PEOPLE = {"Ada": {"city": "Bergen", "since": [2019, 2021]}}


def plan(*tasks: tuple[str, str, dict[str, Any]]) -> str:
    return json.dumps({"tasks": [{"id": i, "tool": tool, "arguments": args} for i, tool, args in tasks]})


class Tools:
    """A stateless engine for get_weather and home_of; its first `together` calls wait until all are in flight."""

    name = "tools"

    def __init__(self, *, together: int = 0) -> None:
        self.calls: list[ToolCall] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._together = together
        self._all_in = asyncio.Event()

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        self.calls.append(call)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if len(self.calls) <= self._together:  # only calls running concurrently get past this
                if len(self.calls) == self._together:
                    self._all_in.set()
                await asyncio.wait_for(self._all_in.wait(), timeout=5)
            return self._answer(call)
        finally:
            self.in_flight -= 1

    def _answer(self, call: ToolCall) -> Observation:
        if call.name == "home_of":
            person = call.arguments.get("person")
            if person in PEOPLE:
                return Observation(call=call, output=PEOPLE[person], engine=self.name)
            return Observation(call=call, verdict=Verdict.failed("exec.exception", f"nobody called {person!r}"), engine=self.name)
        city = call.arguments.get("city")
        if city not in ("Oslo", "Bergen"):
            return Observation(call=call, verdict=Verdict.failed("exec.exception", f"unknown city {city!r}"), engine=self.name)
        return Observation(call=call, output={"city": city, "celsius": 12 if city == "Oslo" else 9}, engine=self.name)


def agent(script: Sequence[Any], engine: Tools | None = None, **options: Any) -> tuple[Agent, ScriptedBackend, Tools]:
    backend = ScriptedBackend(list(script))
    tools = engine or Tools()
    return Agent(backend, tools=[WEATHER, LOOKUP], engine=tools, strategy=Compiler(**options)), backend, tools


def run(a: Agent, request: str = ASK) -> Any:
    return asyncio.run(a.run(request))


def tool_outputs(result: Any) -> list[Any]:
    return [json.loads(m.content) for m in result.messages if m.role == "tool"]


# --- plans ------------------------------------------------------------------------------------------


def test_a_plan_is_ordered_by_its_references_and_its_problems_are_named() -> None:
    tools = [WEATHER, LOOKUP]
    tasks = parse_plan(plan(("w", "get_weather", {"city": "$h.city"}), ("h", "home_of", {"person": "Ada"})), tools)
    assert [t.id for t in tasks] == ["h", "w"] and tasks[1].needs == {"h"}
    fenced = "```json\n" + plan(("1", "get_weather", {"city": "Oslo"})) + "\n```"
    assert [t.tool for t in parse_plan(fenced, tools)] == ["get_weather"]
    problems = {
        "not JSON": "Sure, here is a plan",
        "not a tool": plan(("a", "get_time", {})),
        "no task of the plan": plan(("a", "get_weather", {"city": "$b.city"})),
        "cycle: a -> b -> a": plan(("a", "get_weather", {"city": "$b"}), ("b", "get_weather", {"city": "$a"})),
        "cycle: a -> a": plan(("a", "get_weather", {"city": "$a"})),
        "two tasks have the id": plan(("a", "get_weather", {}), ("a", "home_of", {})),
    }
    for expected, text in problems.items():
        with pytest.raises(PlanError, match=expected):
            parse_plan(text, tools)


def test_references_resolve_to_whole_outputs_fields_and_list_items() -> None:
    outputs = {"h": {"city": "Bergen", "since": [2019, 2021]}, "j": '{"a": {"b": 1}}'}
    assert resolve({"x": "$h", "y": ["$h.since.1"], "z": "$h.city"}, outputs) == {
        "x": outputs["h"],
        "y": [2021],
        "z": "Bergen",
    }
    assert resolve("$j.a.b", outputs) == 1  # an output that is JSON text is read as its value
    assert resolve("$$5 off", outputs) == "$5 off" and resolve("costs $5", outputs) == "costs $5"
    with pytest.raises(LookupError, match=r"\$h\.country: \$h has no field 'country'"):
        resolve("$h.country", outputs)
    schema = plan_schema([WEATHER, LOOKUP])
    assert schema["properties"]["tasks"]["items"]["properties"]["tool"]["enum"] == ["get_weather", "home_of"]


# --- the executor -----------------------------------------------------------------------------------


def test_independent_calls_run_concurrently_then_the_joiner_answers() -> None:
    script = [plan(("w", "get_weather", {"city": "Oslo"}), ("h", "home_of", {"person": "Ada"})), "Oslo: 12 °C; Ada: Bergen."]
    a, backend, engine = agent(script, Tools(together=2))
    result = run(a)
    backend.assert_done()
    assert result.stop == "answered" and result.steps == 1 and result.text == "Oslo: 12 °C; Ada: Bergen."
    assert engine.most_in_flight == 2  # both in flight at once: a sequential executor would wait forever
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    calls = result.messages[1].tool_calls
    assert [c.name for c in calls] == ["get_weather", "home_of"]
    assert [m.tool_call_id for m in result.messages[2:4]] == [c.id for c in calls] and len({c.id for c in calls}) == 2
    assert tool_outputs(result) == [{"city": "Oslo", "celsius": 12}, PEOPLE["Ada"]]
    # Two requests: the plan (no tools offered, a JSON schema asked for), the join (which saw the results).
    planned, joined = backend.requests
    assert planned.tools == () and planned.options.json_schema == plan_schema([WEATHER, LOOKUP])
    assert "get_weather" in (planned.messages[-1].content or "")
    assert joined.tools == () and [m.role for m in joined.messages][1:4] == ["assistant", "tool", "tool"]
    assert [(r.purpose, r.role) for r in result.trace.requests] == [("plan", "agent"), ("join", "agent")]
    (event,) = result.trace.plans
    assert event.round == 0 and [t["id"] for t in event.tasks] == ["w", "h"] and not event.problem


def test_a_reference_waits_for_its_input_and_gets_the_resolved_value() -> None:
    script = [
        plan(
            ("h", "home_of", {"person": "Ada"}),
            ("w", "get_weather", {"city": "$h.city"}),
            ("o", "get_weather", {"city": "Oslo"}),
        ),
        "Ada lives in Bergen: 9 °C. Oslo: 12 °C.",
    ]
    a, backend, engine = agent(script, Tools(together=2))  # h and o must run together; w after h
    result = run(a)
    backend.assert_done()
    assert result.text.startswith("Ada lives in Bergen")
    assert [c.arguments for c in engine.calls] == [{"person": "Ada"}, {"city": "Oslo"}, {"city": "Bergen"}]
    events = result.trace.events
    started = next(i for i, e in enumerate(events) if isinstance(e, CallEvent) and e.call.arguments == {"city": "Bergen"})
    home = next(i for i, e in enumerate(events) if isinstance(e, ObservationEvent) and e.observation.call.name == "home_of")
    assert home < started  # the dependent call started only once its input had returned
    # The dialog reads as two waves: the calls that needed nothing, then the one that needed their result.
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "tool", "assistant", "tool", "assistant"]
    assert [c.arguments for c in result.messages[1].tool_calls] == [{"person": "Ada"}, {"city": "Oslo"}]
    assert [c.arguments for c in result.messages[4].tool_calls] == [{"city": "Bergen"}]
    assert json.loads(result.messages[5].content or "") == {"city": "Bergen", "celsius": 9}


def test_a_reference_into_a_missing_field_fails_that_task_and_the_joiner_sees_why() -> None:
    script = [
        plan(
            ("h", "home_of", {"person": "Ada"}),
            ("w", "get_weather", {"city": "$h.country"}),
            ("x", "get_weather", {"city": "$y.city"}),
            ("y", "home_of", {"person": "Bob"}),
        ),
        "I could not find it.",
    ]
    a, backend, engine = agent(script)
    result = run(a)
    assert [c.name for c in engine.calls] == ["home_of", "home_of"]  # neither dependent call reached the tools
    outputs = {m.tool_call_id: json.loads(m.content or "") for m in result.messages if m.role == "tool"}
    errors = [o["error"] for o in outputs.values() if "error" in o]
    assert any("not run: $h.country: $h has no field 'country'" in e for e in errors)
    assert any("not run: its input $y failed (nobody called 'Bob')" in e for e in errors)
    joined = backend.requests[-1]
    assert sum(m.role == "tool" for m in joined.messages) == 4
    assert result.text == "I could not find it."


def test_the_joiner_may_ask_to_replan_and_the_next_plan_sees_why() -> None:
    script = [
        plan(("h", "home_of", {"person": "Ada"})),
        json.dumps({"action": "replan", "why": "need the weather in Bergen"}),
        plan(("w", "get_weather", {"city": "Bergen"})),
        "Ada lives in Bergen, 9 °C.",
    ]
    a, backend, _ = agent(script)
    result = run(a)
    backend.assert_done()
    assert result.text == "Ada lives in Bergen, 9 °C." and result.steps == 1
    assert [r.purpose for r in result.trace.requests] == ["plan", "join", "plan", "join"]
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    replanned = backend.requests[2].messages
    assert "need the weather in Bergen" in (replanned[-1].content or "") and replanned[2].role == "tool"
    assert [(p.round, p.reason) for p in result.trace.plans] == [(0, ""), (1, "need the weather in Bergen")]
    assert "replan" in (backend.requests[1].messages[-1].content or "")
    assert "replan" not in (backend.requests[3].messages[-1].content or "")  # the last join may only answer
    ids = [c.id for m in result.messages for c in m.tool_calls]
    assert len(set(ids)) == 2


def test_replans_are_bounded() -> None:
    again = json.dumps({"action": "replan", "why": "still missing"})
    script = [plan(("h", "home_of", {"person": "Ada"})), again, plan(("h", "home_of", {"person": "Ada"})), again]
    a, backend, engine = agent(script)  # max_replans=1
    result = run(a)
    backend.assert_done()  # four requests and no fifth
    assert result.stop == "answered" and "could not complete the request" in result.text and "still missing" in result.text
    assert len(engine.calls) == 2
    a, backend, _ = agent([plan(("h", "home_of", {"person": "Ada"})), again], max_replans=0)
    assert "could not complete" in run(a).text
    backend.assert_done()


def test_a_plan_that_cannot_run_goes_back_once_then_is_answered_in_words() -> None:
    script = [plan(("a", "get_time", {})), plan(("w", "get_weather", {"city": "Oslo"})), "12 °C."]
    a, backend, _ = agent(script)
    result = run(a)
    backend.assert_done()
    assert result.text == "12 °C."
    assert [r.purpose for r in result.trace.requests] == ["plan", "fix_plan", "join"]
    assert "'get_time', which is not a tool" in (backend.requests[1].messages[-1].content or "")
    assert [bool(p.problem) for p in result.trace.plans] == [True, False]

    a, backend, engine = agent(["no plan", plan(("a", "get_weather", {"city": "$a"}))])
    result = run(a)
    backend.assert_done()
    assert result.stop == "answered" and result.text.startswith("I could not plan the tool calls") and "cycle" in result.text
    assert engine.calls == [] and [m.role for m in result.messages] == ["user", "assistant"]


def test_an_empty_plan_goes_straight_to_the_joiner() -> None:
    a, backend, engine = agent([plan(), "Hello."])
    result = run(a, "Hi")
    backend.assert_done()
    assert result.text == "Hello." and engine.calls == [] and [m.role for m in result.messages] == ["user", "assistant"]


class Tally:
    """A stateful tool: the order of calls matters."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def add(self, item: str) -> int:
        """Add an item; returns how many there are."""
        self.seen.append(item)
        return len(self.seen)


ADD = ToolSpec(name="add", parameters={"type": "object", "properties": {"item": {"type": "string"}}, "required": ["item"]})


def test_on_an_environment_the_calls_run_one_at_a_time_in_the_written_order_after_their_inputs() -> None:
    env = ObjectEnvironment("tally", lambda: {"Tally": Tally()}, tools=[ADD])
    script = [plan(("c", "add", {"item": "$b"}), ("a", "add", {"item": "a"}), ("b", "add", {"item": "b"})), "3 items."]
    a = Agent(ScriptedBackend(script), environment=env, strategy="compiler")
    result = run(a, "Add a, b and then how many there were.")
    assert result.text == "3 items."
    assert env.snapshot().value("Tally", "seen") == ["a", "b", 2]  # as written, except c waits for b
    assert [m.content for m in result.messages if m.role == "tool"] == ["1", "2", "3"]
    calls = [e for e in result.trace.events if isinstance(e, CallEvent | ObservationEvent)]
    kinds = [type(e).__name__ for e in calls]
    assert kinds == ["CallEvent", "ObservationEvent"] * 3  # never two in flight


# --- building it ----------------------------------------------------------------------------------


def test_compiler_is_registered_and_checks_its_options() -> None:
    assert STRATEGIES["compiler"] is Compiler
    built = make_strategy("compiler", max_replans=2)
    assert isinstance(built, Compiler) and built.max_replans == 2
    with pytest.raises(ConfigError, match="max_replans"):
        Compiler(max_replans=-1)
    assert PlanEvent(step=0, t=0.0, round=0).kind == "plan"


def test_run_agent_takes_the_compiler_by_name() -> None:
    backend = ScriptedBackend([plan(("g", "convert_units", {"value": 10, "from_unit": "km", "to_unit": "mi"})), "6.2 miles."])
    result = run_agent("How far is 10 km in miles?", backend, tools=[TRAVEL], strategy="compiler")
    backend.assert_done()
    assert result.text == "6.2 miles." and "6.21" in (result.messages[2].content or "")


_cli = run_cli


def test_cli_agent_runs_the_compiler(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    ask = "Please help: convert units (value 10, from unit km, to unit mi) ~ thanks"
    args = ("agent", "--tools", str(TRAVEL), "--model", "fake:world", "--strategy", "compiler", "--json", ask)
    code, out, err = _cli(monkeypatch, capsys, *args)
    assert code == 0, err
    result = json.loads(out)
    assert result["stop"] == "answered" and result["steps"] == 1
    kinds = [e["kind"] for e in result["trace"]["events"]]
    assert "plan" in kinds and next(e["purpose"] for e in result["trace"]["events"] if e["kind"] == "request") == "plan"



def test_where_nothing_may_run_the_plan_is_the_answer() -> None:
    # `eval --agent compiler`: BFCL scores the calls, and there is nothing to run them on. The step
    # answers with the plan's calls that need no other call's output, in one message, and no joiner is asked.
    from callforge.agent import StrategyBackend, make_strategy
    from callforge.core import Message

    model = ScriptedBackend(
        [plan(("w", "get_weather", {"city": "Oslo"}), ("h", "home_of", {"person": "Ada"}), ("x", "get_weather", {"city": "$h.city"}))]
    )
    backend = StrategyBackend(model, make_strategy("compiler"))
    completion = asyncio.run(backend.complete([Message(role="user", content=ASK)], [WEATHER, LOOKUP]))
    model.assert_done()
    assert [(c.name, c.arguments) for c in completion.tool_calls] == [("get_weather", {"city": "Oslo"}), ("home_of", {"person": "Ada"})]
