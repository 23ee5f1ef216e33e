"""planner_caller_summarizer and when_to_call, and StrategyBackend, with scripted models.

Each role is its own `ScriptedBackend`, so a test proves which role got which request, what it was
offered, and that no role was asked more (an extra request fails) or less (`assert_done`).
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from callforge.agent import (
    STRATEGIES,
    Agent,
    PlannerCallerSummarizer,
    SelfRefine,
    StrategyBackend,
    WhenToCall,
    make_strategy,
)
from callforge.agent.strategies.pcs import read_plan
from callforge.agent.strategies.when_to_call import call_share, read_decision
from callforge.core import ConfigError, Message, ToolCall, ToolSpec
from callforge.execute import Observation
from callforge.llm import Completion, ScriptedBackend, Usage

REPO = Path(__file__).resolve().parents[1]
TRAVEL = REPO / "examples" / "tools" / "travel.py"

WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)
ADD = ToolSpec(name="add", description="Add an item to the list.", parameters={
    "type": "object", "properties": {"item": {"type": "string"}}, "required": ["item"],
})  # fmt: skip
ASK = "What is the weather in Oslo for the next 3 days?"
GOOD = ToolCall(name="get_weather", arguments={"city": "Oslo", "days": 3})


class Weather:
    """A stateless engine that knows Oslo; records what it ran."""

    name = "weather"

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        self.calls.append(call)
        return Observation(call=call, output={"city": call.arguments.get("city"), "celsius": 12}, engine=self.name)


def plan(next: str, tool: str | None = None, thought: str = "because") -> str:
    return json.dumps({"thought": thought, "next": next, **({"tool": tool} if tool else {})})


def run(agent: Agent, request: str | Sequence[Message] = ASK) -> Any:
    return asyncio.run(agent.run(request))


def roles(**scripts: Sequence[Any]) -> dict[str, ScriptedBackend]:
    return {name: ScriptedBackend(list(replies), model=name) for name, replies in scripts.items()}


# --- planner_caller_summarizer ------------------------------------------------------------------


def test_pcs_plans_calls_then_summarizes_each_role_on_its_own_backend() -> None:
    played = roles(
        planner=[plan("call", "get_weather", "Need the forecast."), plan("answer", thought="Have it.")],
        caller=[GOOD],
        summarizer=["Oslo: 12 °C for the next 3 days."],
    )
    main, engine = ScriptedBackend([], model="main"), Weather()
    agent = Agent(main, tools=[WEATHER, ADD], engine=engine, strategy="planner_caller_summarizer", roles=played)
    result = run(agent)
    for backend in played.values():
        backend.assert_done()
    assert not main.requests  # every role had its own backend
    assert result.stop == "answered" and result.text == "Oslo: 12 °C for the next 3 days."
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]  # no planner text in it
    assert engine.calls == [result.messages[1].tool_calls[0]]

    first, second = played["planner"].requests
    assert first.tools == () and first.options.json_schema is not None
    system = first.messages[0].content or ""
    assert first.messages[0].role == "system" and "- get_weather(city*, days): The weather in a city." in system
    assert "- add(item*)" in system and first.messages[-1].content == ASK
    assert second.messages[-1].role == "tool"  # the planner sees the result before deciding to answer

    (call,) = played["caller"].requests
    assert call.tools == (WEATHER,) and call.options.tool_choice == "get_weather"  # only the chosen tool
    assert "Need the forecast." in (call.messages[0].content or "")

    (summary,) = played["summarizer"].requests
    assert summary.tools == () and summary.messages[-1].role == "tool"
    assert [(r.role, r.purpose, r.tools) for r in result.trace.requests] == [
        ("planner", "plan", 0), ("caller", "call", 1), ("planner", "plan", 0), ("summarizer", "answer", 0),
    ]  # fmt: skip
    assert result.trace.requests[0].text == plan("call", "get_weather", "Need the forecast.")  # the plan is in the trace


def test_pcs_roles_default_to_the_agents_model_and_keep_its_system_message() -> None:
    main = ScriptedBackend([plan("call", "get_weather"), GOOD, plan("answer"), "12 °C."])
    agent = Agent(main, tools=[WEATHER], engine=Weather(), strategy=PlannerCallerSummarizer())
    result = run(agent, [Message(role="system", content="Be brief."), Message(role="user", content=ASK)])
    main.assert_done()
    assert result.text == "12 °C."
    for request in main.requests:
        system = request.messages[0].content or ""
        assert request.messages[0].role == "system" and system.endswith("Be brief.")
        assert [m.role for m in request.messages].count("system") == 1


def test_pcs_gives_up_without_calling() -> None:
    played = roles(planner=[plan("give_up", thought="No tool books flights.")], summarizer=["I cannot book flights."])
    engine = Weather()
    result = run(Agent(ScriptedBackend([]), tools=[WEATHER], engine=engine, strategy="planner_caller_summarizer", roles=played))
    assert result.text == "I cannot book flights." and not engine.calls
    (summary,) = played["summarizer"].requests
    assert "No tool books flights." in (summary.messages[0].content or "") and summary.tools == ()


def test_pcs_answers_directly_when_the_planner_says_so() -> None:
    played = roles(planner=[plan("answer")], summarizer=["Hello!"])
    result = run(Agent(ScriptedBackend([]), tools=[WEATHER], engine=Weather(), strategy="planner_caller_summarizer", roles=played), "hi")
    assert result.text == "Hello!" and result.steps == 1 and len(result.trace.requests) == 2


def test_pcs_a_plan_naming_no_known_tool_offers_every_tool_unforced() -> None:
    played = roles(planner=["I am not sure what to do.", plan("answer")], caller=[GOOD])
    main = ScriptedBackend(["done"])  # the summarizer
    agent = Agent(main, tools=[WEATHER, ADD], engine=Weather(), strategy="planner_caller_summarizer",
                  roles={"planner": played["planner"], "caller": played["caller"]})  # fmt: skip
    result = run(agent)
    (call,) = played["caller"].requests
    assert call.tools == (WEATHER, ADD) and call.options.tool_choice is None
    assert result.text == "done"


def test_pcs_force_call_off_sends_no_tool_choice() -> None:
    played = roles(planner=[plan("call", "get_weather"), plan("answer")], caller=[GOOD], summarizer=["ok"])
    agent = Agent(ScriptedBackend([]), tools=[WEATHER, ADD], engine=Weather(),
                  strategy=make_strategy("planner_caller_summarizer", force_call=False), roles=played)  # fmt: skip
    run(agent)
    (call,) = played["caller"].requests
    assert call.tools == (WEATHER,) and call.options.tool_choice is None


def test_read_plan_reads_json_and_words() -> None:
    tools = [WEATHER, ADD]
    assert read_plan('```json\n{"thought": "t", "next": "call", "tool": "add"}\n```', tools).tool == "add"
    assert read_plan('{"next": "call", "tool": "nope"}', tools).tool is None
    assert read_plan('{"next": "give up"}', tools).next == "give_up"
    assert read_plan("Next: summarizer", tools).next == "answer"
    words = read_plan("I should use get_weather for Oslo.", tools)
    assert (words.next, words.tool) == ("call", "get_weather")
    assert read_plan("...", tools) == read_plan("...", tools) and read_plan("...", tools).next == "call"


# --- when_to_call -------------------------------------------------------------------------------


def test_when_to_call_answers_without_calling_when_the_probe_says_answer() -> None:
    main = ScriptedBackend(['{"decision": "answer"}', "Hello! How can I help?"])
    engine = Weather()
    result = run(Agent(main, tools=[WEATHER], engine=engine, strategy="when_to_call"), "hi there")
    main.assert_done()  # exactly the probe and one request
    assert result.text == "Hello! How can I help?" and not engine.calls and result.steps == 1
    probe, answer = main.requests
    assert probe.tools == () and probe.options.json_schema is not None and probe.options.max_tokens == 16
    assert probe.options.temperature == 0.0 and "- get_weather(city*, days)" in (probe.messages[0].content or "")
    assert answer.tools == () and answer.messages[-1].content == "hi there"
    assert [(r.role, r.purpose, r.text) for r in result.trace.requests] == [
        ("probe", "probe", '{"decision": "answer"}'), ("agent", "answer", "Hello! How can I help?"),
    ]  # fmt: skip


def test_when_to_call_drops_calls_from_an_answer_the_probe_chose() -> None:
    main = ScriptedBackend(['{"decision": "answer"}', Completion(text="No tool needed.", tool_calls=(GOOD,))])
    engine = Weather()
    result = run(Agent(main, tools=[WEATHER], engine=engine, strategy="when_to_call"), "hi")
    assert result.text == "No tool needed." and not engine.calls and not result.messages[-1].tool_calls


def test_when_to_call_probes_only_at_the_start_of_a_turn() -> None:
    main = ScriptedBackend(['{"decision": "call"}', GOOD, "Oslo: 12 °C."])
    engine = Weather()
    result = run(Agent(main, tools=[WEATHER], engine=engine, strategy="when_to_call"))
    main.assert_done()  # probe, call, then the answer after the result with no second probe
    assert result.text == "Oslo: 12 °C." and len(engine.calls) == 1
    assert [r.purpose for r in result.trace.requests] == ["probe", "reply", "reply"]
    assert main.requests[1].tools == (WEATHER,)


def test_when_to_call_probe_may_be_a_smaller_model_and_an_unclear_probe_means_call() -> None:
    probe = ScriptedBackend(["hmm"], model="small")
    main = ScriptedBackend([GOOD, "12 °C."])
    result = run(Agent(main, tools=[WEATHER], engine=Weather(), strategy=WhenToCall(probe_tokens=4), roles={"probe": probe}))
    probe.assert_done()
    main.assert_done()
    assert result.text == "12 °C." and probe.requests[0].options.max_tokens == 4
    assert result.trace.requests[0].model == "small"


def test_when_to_call_without_tools_is_direct() -> None:
    main = ScriptedBackend(["hello"])
    assert run(Agent(main, strategy="when_to_call"), "hi").text == "hello"
    main.assert_done()


def test_read_decision_and_options() -> None:
    assert read_decision('{"decision": "answer"}') == "answer"
    assert read_decision(' ```{"decision":"call"}``` ') == "call"
    assert read_decision("answer directly") == "answer"
    assert read_decision("") == "call"
    with pytest.raises(ConfigError):
        WhenToCall(probe_tokens=0)
    assert {"planner_caller_summarizer", "when_to_call"} <= set(STRATEGIES)


def _first_token(*calls: ToolCall, **logprobs: float) -> Completion:
    """A reply whose raw JSON holds its first token's alternatives, as llama.cpp returns them with `logprobs`."""
    options = [{"token": token.replace("TAG", "<tool_call>"), "logprob": lp} for token, lp in logprobs.items()]
    raw = {"choices": [{"message": {"content": ""}, "logprobs": {"content": [{**options[0], "top_logprobs": options}]}}]}
    return Completion(text="", tool_calls=calls, raw=raw)


def test_call_share_sums_the_tokens_a_call_starts_with() -> None:
    reply = _first_token(**{"```": -1.02, '{"': -1.16, "<": -2.06, "Here": -3.0})  # the 0.5B's first token for a weather request
    assert call_share(reply.raw) == pytest.approx(0.3606 + 0.3135 + 0.1275, abs=1e-3)
    assert call_share(_first_token(Ham=-1.09, I=-1.1).raw) == 0.0
    assert call_share(None) is None and call_share({"choices": [{"message": {}}]}) is None


def test_when_to_call_confidence_answers_in_words_when_the_model_calls_unsure() -> None:
    main = ScriptedBackend([_first_token(GOOD, Ham=-0.2, TAG=-2.5), "Shakespeare wrote it."])
    engine = Weather()
    result = run(Agent(main, tools=[WEATHER], engine=engine, strategy="when_to_call:probe=confidence"), "Who wrote Hamlet?")
    main.assert_done()  # the reply with its logprobs, then the answer with no tools offered
    first, answer = main.requests
    assert first.tools == (WEATHER,) and first.options.model_extra == {"logprobs": True, "top_logprobs": 20}
    assert answer.tools == () and result.text == "Shakespeare wrote it." and not engine.calls
    (event,) = result.trace.probes
    assert (event.decision, event.probe, event.confidence) == ("answer", "confidence", pytest.approx(0.0821, abs=1e-3))


def test_when_to_call_confidence_keeps_a_sure_call_at_no_extra_request_and_asks_when_it_cannot_tell() -> None:
    sure = ScriptedBackend([_first_token(GOOD, TAG=-0.05), "Oslo: 12 °C."])
    result = run(Agent(sure, tools=[WEATHER], engine=Weather(), strategy=WhenToCall(probe="confidence", threshold=0.9)))
    sure.assert_done()  # the call was the reply itself: no probe request, no second ask
    assert result.text == "Oslo: 12 °C." and [p.decision for p in result.trace.probes] == ["call"]
    blind = ScriptedBackend([GOOD, '{"decision": "call"}', "12 °C."])  # no logprobs came back
    result = run(Agent(blind, tools=[WEATHER], engine=Weather(), strategy="when_to_call:probe=confidence"))
    blind.assert_done()
    (event,) = result.trace.probes
    assert event.probe == "ask" and "no log-probabilities" in event.note and result.text == "12 °C."


def test_strategy_names_carry_options() -> None:
    chosen = make_strategy("when_to_call:probe=confidence, threshold=0.3")
    assert isinstance(chosen, WhenToCall) and (chosen.probe_kind, chosen.threshold) == ("confidence", 0.3)
    assert make_strategy("self_refine:max_rounds=1").max_rounds == 1  # type: ignore[attr-defined]
    for bad, said in [("when_to_call:probe", "not key=value"), ("when_to_call:colour=red", "takes probe, probe_tokens"),
                      ("when_to_call:threshold=2", "between 0 and 1"), ("when_to_call:probe=hidden", "'ask' or 'confidence'"),
                      ("nope:x=1", "unknown strategy 'nope'")]:  # fmt: skip
        with pytest.raises(ConfigError, match=said):
            make_strategy(bad)
    adapter = StrategyBackend(ScriptedBackend([], model="m"), "when_to_call:probe=confidence")
    assert adapter.model == "m+when_to_call:probe=confidence"


# --- StrategyBackend ----------------------------------------------------------------------------


def test_strategy_backend_answers_with_one_step_and_sums_every_request() -> None:
    main = ScriptedBackend([
        Completion(text='{"decision": "answer"}', usage=Usage(prompt_tokens=50, completion_tokens=5)),
        Completion(text="No tool fits.", usage=Usage(prompt_tokens=40, completion_tokens=4)),
    ], model="m")  # fmt: skip
    adapter = StrategyBackend(main, "when_to_call")
    completion = asyncio.run(adapter.complete([Message(role="user", content="hi")], [WEATHER], temperature=0.3, max_tokens=99))
    assert adapter.model == "m+when_to_call" and completion.model == "m+when_to_call"
    assert completion.text == "No tool fits." and not completion.tool_calls
    assert completion.usage == Usage(prompt_tokens=90, completion_tokens=9)
    probe, answer = main.requests
    assert probe.options.max_tokens == 16 and probe.options.temperature == 0.0  # the strategy's options win
    assert answer.options.max_tokens == 99 and answer.options.temperature == 0.3  # the caller's reach every request
    assert [r.purpose for r in adapter.last_trace.requests] == ["probe", "answer"]


def test_strategies_sharing_a_cache_are_timed_as_if_each_ran_alone(tmp_path: Path) -> None:
    from callforge.llm import CachedBackend, ResponseCache

    class Slow(ScriptedBackend):
        concurrency = 3

        async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any) -> Completion:
            completion = await super().complete(messages, tools, **options)
            return completion.model_copy(update={"latency_s": 2.5})  # what the request took when it was made

    cache = ResponseCache(tmp_path / "responses.sqlite")
    first = CachedBackend(Slow([GOOD], model="m"), cache)
    assert first.concurrency == 3  # a job sizes its width by the backend's, cached or not
    asked = asyncio.run(StrategyBackend(first, "direct").complete([Message(role="user", content=ASK)], [WEATHER]))
    again = asyncio.run(StrategyBackend(CachedBackend(Slow([], model="m"), cache), "direct").complete([Message(role="user", content=ASK)], [WEATHER]))
    assert not asked.cached and again.cached and again.tool_calls == asked.tool_calls
    assert again.latency_s >= 2.5  # the cached request counts its recorded time, not the lookup's


def test_self_refine_does_not_take_a_revision_that_pastes_the_feedback() -> None:
    """Seen on the 0.5B in BFCL's irrelevance cases: it answered the feedback by repeating it as its text."""
    invented = ToolCall(name="get_weather", arguments={"city": "Oslo", "when": "soon"})

    echo = '{"status":"not run: this step was rejected","problem":"get_weather (message 1, call 1): ..."}'
    main = ScriptedBackend([invented, echo])
    adapter = StrategyBackend(main, SelfRefine())
    completion = asyncio.run(adapter.complete([Message(role="user", content=ASK)], [WEATHER]))
    main.assert_done()  # no third request: the pasted feedback ranks below the call it was about
    assert [c.arguments for c in completion.tool_calls] == [invented.arguments] and not completion.text
    assert [[v.code for v in c.failures] for c in adapter.last_trace.checks][-1] == ["agent.echoed_feedback"]


def test_strategy_backend_runs_no_call_self_refine_keeps_its_rule_checks() -> None:
    invented = ToolCall(name="get_weather", arguments={"city": "Oslo", "when": "soon"})
    main = ScriptedBackend([invented, GOOD])
    adapter = StrategyBackend(main, SelfRefine())
    completion = asyncio.run(adapter.complete([Message(role="user", content=ASK)], [WEATHER]))
    main.assert_done()  # one refinement for the invented parameter, and no execution check
    assert [c.arguments for c in completion.tool_calls] == [GOOD.arguments]
    assert completion.parse.ok and not adapter.last_trace.calls
    good = ScriptedBackend([GOOD])
    assert asyncio.run(StrategyBackend(good, "self_refine").complete([Message(role="user", content=ASK)], [WEATHER])).tool_calls
    good.assert_done()  # a passing call is not run to check it: nothing can run it


def test_strategy_backend_closes_only_what_it_was_told_to() -> None:
    class Closing(ScriptedBackend):
        closed = 0

        async def aclose(self) -> None:
            self.closed += 1

    inner = Closing([])
    asyncio.run(StrategyBackend(inner, "direct").aclose())
    assert inner.closed == 0
    asyncio.run(StrategyBackend(inner, "direct", roles={"planner": inner}, close=True).aclose())
    assert inner.closed == 1


# --- the CLI ------------------------------------------------------------------------------------


def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from callforge.cli import main

    monkeypatch.setenv("COLUMNS", "2000")
    monkeypatch.setattr(sys, "argv", ["callforge", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    code = exit.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


def test_cli_agent_gives_each_role_its_model(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(
        monkeypatch, capsys, "agent", "--tools", str(TRAVEL), "--model", "fuzz:1", "--strategy", "planner_caller_summarizer",
        "--planner-model", "fuzz:2", "--caller-model", "fuzz:3", "--summarizer-model", "fuzz:4", "--max-steps", "1", "--json",
        "hi",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    # offered no tools, the fuzz planner answers in words: the summarizer writes the answer, the caller is not asked
    models = [(e["role"], e["model"]) for e in result["trace"]["events"] if e["kind"] == "request"]
    assert models == [("planner", "fuzz:2"), ("summarizer", "fuzz:4")] and result["text"]
    code, _, err = cli(monkeypatch, capsys, "agent", "--tools", str(TRAVEL), "--caller-model", "gpt4", "hi")
    assert code == 2 and "unknown model spec 'gpt4'" in err
