"""The cascade, the execution stage and its engines (with fakes), and verify()'s files, funnel and resume."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from callforge.core import Dialog, Message, ToolCall, ToolSpec, Verdict
from callforge.execute import error_payload
from callforge.execute.base import Observation
from callforge.execute.cached import CachedEngine, ExecutionCache
from callforge.execute.simulated import SimulatedEngine
from callforge.llm import ScriptedBackend
from callforge.llm.backend import BackendError
from callforge.verify import Cascade, RuleStage, StageResult, verify
from callforge.verify.execution import ExecutionStage
from tests.conftest import stream, stream_ids

ADD = ToolSpec(
    name="add",
    parameters={"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]},
    returns={"type": "object", "properties": {"sum": {"type": "number"}}, "required": ["sum"]},
)


def add_dialog(a: float, b: float, id: str = "d", answer: Any = None, said: Any = None) -> Dialog:
    call = ToolCall(name="add", arguments={"a": a, "b": b}, id="c1")
    messages = [
        Message(role="user", content=f"What is {a} plus {b}?"),
        Message(role="assistant", tool_calls=(call,)),
    ]
    if answer is not None:
        messages.append(Message(role="tool", tool_call_id="c1", content=orjson.dumps(answer).decode()))
        messages.append(Message(role="assistant", content=f"It is {said if said is not None else answer['sum']}."))
    return Dialog(tools=(ADD,), messages=tuple(messages), meta={"id": id})


class FakeEngine:
    """Adds for real; `behaviour` maps a first argument to a canned outcome."""

    name = "fake"

    def __init__(self, behaviour: dict[float, Any] | None = None) -> None:
        self.behaviour = behaviour or {}
        self.calls = 0

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        self.calls += 1
        await asyncio.sleep(0.01)
        special = self.behaviour.get(call.arguments["a"])
        if isinstance(special, Verdict):
            return Observation(call=call, verdict=special, engine=self.name)
        if special is not None:
            return Observation(call=call, output=special, engine=self.name)
        return Observation(call=call, output={"sum": call.arguments["a"] + call.arguments["b"]}, engine=self.name)


def run(stage: Any, dialog: Dialog) -> StageResult:
    return asyncio.run(stage.check(dialog))


def test_execution_stage_passes_a_good_call_and_records_the_observation() -> None:
    result = run(ExecutionStage(FakeEngine()), add_dialog(2, 3))
    assert result.ok and not result.skipped
    assert result.meta["observations"][0]["output"] == {"sum": 5}


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Verdict.failed("exec.exception", "add raised ValueError: no"), "exec.exception"),
        (Verdict.failed("exec.timeout", "ran past 10 s"), "exec.timeout"),
        ({"error": "rate limited"}, "exec.error_payload"),
        ({"status_code": 503, "sum": 1}, "exec.error_payload"),
        ("Error: bad input", "exec.error_payload"),
        ({"total": 5}, "exec.returns_schema"),
    ],
)
def test_execution_failures_get_their_codes(outcome: Any, code: str) -> None:
    result = run(ExecutionStage(FakeEngine({7: outcome})), add_dialog(7, 1))
    assert [v.code for v in result.failures] == [code]
    assert result.failures[0].message.startswith("add (message 1)")


def test_unavailable_tools_are_skipped_unless_required() -> None:
    missing = {7: Verdict.failed("exec.unavailable", "no function add in tools.py")}
    skipped = run(ExecutionStage(FakeEngine(missing)), add_dialog(7, 1))
    assert skipped.ok and skipped.skipped
    required = run(ExecutionStage(FakeEngine(missing), require_all=True), add_dialog(7, 1))
    assert [v.code for v in required.failures] == ["exec.unavailable"]


def test_compare_outputs_catches_a_fabricated_tool_message() -> None:
    honest = add_dialog(2, 3, answer={"sum": 5})
    lying = add_dialog(2, 3, answer={"sum": 6})
    stage = ExecutionStage(FakeEngine(), compare_outputs=True)
    assert run(stage, honest).ok
    assert [v.code for v in run(stage, lying).failures] == ["exec.output_mismatch"]


def test_error_payload_reads_in_band_failures_only() -> None:
    assert error_payload({"error": None, "value": 1}) is None
    assert error_payload({"success": False}) == "success: false"
    assert error_payload({"status": 200}) is None
    assert error_payload([1, 2]) is None


def test_cached_engine_runs_each_distinct_call_once(tmp_path: Path) -> None:
    inner = FakeEngine({9: Verdict.failed("exec.timeout", "slow")})
    engine = CachedEngine(inner, tmp_path / "exec.sqlite")
    call = ToolCall(name="add", arguments={"a": 2, "b": 3})
    same = ToolCall(name="add", arguments={"b": 3, "a": 2}, id="other")

    async def go() -> list[Observation]:
        return list(await asyncio.gather(engine.execute(call, ADD), engine.execute(same, ADD), engine.execute(call, ADD)))

    first = asyncio.run(go())
    assert inner.calls == 1 and [o.output for o in first] == [{"sum": 5}] * 3
    again = asyncio.run(engine.execute(same, ADD))
    assert again.cached and again.call.id == "other" and inner.calls == 1
    slow = ToolCall(name="add", arguments={"a": 9, "b": 1})
    asyncio.run(engine.execute(slow, ADD))
    asyncio.run(engine.execute(slow, ADD))
    assert inner.calls == 3  # a timeout is not cached: it may pass next time
    reopened = CachedEngine(FakeEngine(), ExecutionCache(tmp_path / "exec.sqlite"))
    assert asyncio.run(reopened.execute(call, ADD)).cached


def test_simulated_engine_parses_json_and_reports_junk() -> None:
    backend = ScriptedBackend(['{"sum": 5}', "```json\n{\"sum\": 7}\n```", "the sum is five"])
    engine = SimulatedEngine(backend)
    call = ToolCall(name="add", arguments={"a": 2, "b": 3})
    assert asyncio.run(engine.execute(call, ADD)).output == {"sum": 5}
    assert asyncio.run(engine.execute(call, ADD)).output == {"sum": 7}
    junk = asyncio.run(engine.execute(call, ADD))
    assert junk.verdict.code == "exec.simulation_failed" and "the sum is five" in junk.verdict.message
    request = backend.requests[0]
    assert request.options.json_schema == ADD.returns
    assert '"returns"' in (request.messages[1].content or "") and '{"a":2,"b":3}' in (request.messages[1].content or "")
    assert engine.name == f"simulated:{backend.model}"


def test_cascade_stops_at_the_first_failing_stage() -> None:
    engine = FakeEngine()
    cascade = Cascade([RuleStage(), ExecutionStage(engine)])
    bad = Dialog(
        tools=(ADD,),
        messages=(
            Message(role="user", content="What is 2 plus 3?"),
            Message(role="assistant", tool_calls=(ToolCall(name="add", arguments={"a": 2, "b": 37}, id="c1"),)),
        ),
    )
    checked = asyncio.run(cascade.check(bad, "x"))
    assert not checked.ok and checked.rejected_by == "rules" and engine.calls == 0
    assert [v.code for v in checked.failures] == ["arg.ungrounded"]
    good = asyncio.run(cascade.check(add_dialog(2, 3), "y"))
    assert good.ok and [s.stage for s in good.stages] == ["rules", "exec"] and engine.calls == 1


def test_verify_writes_records_and_funnel_and_resumes(tmp_path: Path) -> None:
    dialogs = [add_dialog(i, i + 1, id=f"d{i}") for i in range(2, 8)]
    dialogs.append(add_dialog(2, 3, id="bad-answer", answer={"sum": 5}, said=6))
    out = tmp_path / "out"
    report = verify(dialogs=dialogs, stages=[RuleStage(), ExecutionStage(FakeEngine({5: {"error": "boom"}}))], out=out)
    assert (report.funnel.total, report.funnel.accepted) == (7, 5)
    rules, exe = report.funnel.counts["rules"], report.funnel.counts["exec"]
    assert (rules.entered, rules.failed, exe.entered, exe.failed) == (7, 1, 6, 1)
    assert rules.codes == {"answer.unsupported": 1} and exe.codes == {"exec.error_payload": 1}
    rejected = stream(out, "rejected")
    assert {r["id"] for r in rejected} == {"bad-answer", "d5"}
    assert all(r["stages"][-1]["verdicts"] for r in rejected)
    funnel = orjson.loads((out / "funnel.json").read_bytes())
    assert funnel["accepted"] == 5 and funnel["stages"][1]["codes"] == {"exec.error_payload": 1}

    # a kill mid-line: the half line is cut and that dialog redone; nothing else is redone
    accepted = out / "accepted" / "part-0001.jsonl"
    data = accepted.read_bytes()
    accepted.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1] + b'{"id": "d7", "ok": tr')
    engine = FakeEngine()
    again = verify(dialogs=dialogs, stages=[RuleStage(), ExecutionStage(engine)], out=out)
    assert again.progress.resumed == 6 and again.progress.done == 1 and engine.calls == 1
    assert again.funnel.total == 7
    ids = [r["id"] for name in ("accepted", "rejected") for r in stream(out, name)]
    assert sorted(ids) == sorted(d.meta.id for d in dialogs)


class FlakyStage:
    name = "judge"

    def __init__(self, fail: set[str], retryable: bool = True) -> None:
        self.fail = fail
        self.retryable = retryable

    async def check(self, dialog: Dialog) -> StageResult:
        if dialog.meta.id in self.fail:
            raise BackendError("endpoint down after 6 attempts", retryable=self.retryable)
        return StageResult(stage=self.name)


def test_a_stage_that_fails_outside_the_data_is_logged_and_retried_next_run(tmp_path: Path) -> None:
    dialogs = [add_dialog(i, i + 1, id=f"d{i}") for i in range(2, 6)]
    out = tmp_path / "out"
    first = verify(dialogs=dialogs, stages=[RuleStage(), FlakyStage({"d3"})], out=out)
    assert first.progress.errors == 1 and first.funnel.total == 3
    assert orjson.loads((out / "errors.jsonl").read_bytes().splitlines()[0])["id"] == "d3"
    second = verify(dialogs=dialogs, stages=[RuleStage(), FlakyStage(set())], out=out)
    assert second.progress.done == 1 and second.funnel.total == 4 and second.funnel.accepted == 4


def test_a_setup_error_stops_the_run(tmp_path: Path) -> None:
    dialogs = [add_dialog(i, i + 1, id=f"d{i}") for i in range(2, 5)]
    with pytest.raises(BackendError, match="endpoint down"):
        verify(dialogs=dialogs, stages=[RuleStage(), FlakyStage({"d2"}, retryable=False)], out=tmp_path / "out", concurrency=1)


def test_repeated_source_ids_stay_distinct(tmp_path: Path) -> None:
    dialogs = [add_dialog(2, 3, id="same"), add_dialog(4, 5, id="same")]
    report = verify(dialogs=dialogs, stages=[RuleStage()], out=tmp_path / "o")
    ids = sorted(stream_ids(tmp_path / "o", "accepted"))
    assert ids == ["same", "same~2"] and report.funnel.total == 2


def test_verify_without_out_returns_the_records() -> None:
    invented = add_dialog(2, 3).model_copy(update={"messages": (Message(role="user", content="What is 2 plus 3?"), Message(role="assistant", tool_calls=(ToolCall(name="add", arguments={"a": 2, "b": 37}, id="c1"),)))})
    report = verify(dialogs=[add_dialog(2, 3), invented], stages=[RuleStage()])
    assert [r.ok for r in report.records] == [True, False]
    assert report.funnel.top_codes() == [("arg.ungrounded", 1)]
