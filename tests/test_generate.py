"""Generation end to end: every scenario kind through the real sandbox and cascade, the Run folder, resume, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from callforge.core import ConfigError, Dialog, MaskReason, Message, ToolCall, ToolSpec
from callforge.execute import PythonEngine
from callforge.generate import DEFAULT_MIX, KINDS, GenerationFailure, Plan, PlannedCall, Turn, generate
from callforge.generate.kinds import breakages, parse_mix, standalone
from callforge.generate.plan import resolve
from callforge.generate.roles import ANSWER_NUDGE, BRIEF_NUDGE
from callforge.llm.backend import BackendError
from callforge.llm.scripted import FunctionBackend, Request
from callforge.run import RunAborted
from callforge.tools.graph import ToolGraph
from tests.gen_world import _told, world_backend

HERE = Path(__file__).resolve().parent
TOOLS = HERE / "data" / "gen_tools.py"


def rows(out: Path, which: str) -> list[dict[str, Any]]:
    found = []
    for shard in sorted((out / which).glob("part-*.jsonl")):
        for line in shard.read_text().splitlines():
            if line.strip():
                found.append(json.loads(line))
    return found


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    """A record's id, verdict and dialog, without what legitimately differs between two runs (timings)."""
    meta = dict(row["dialog"]["meta"])
    meta.pop("usage", None)
    return {"id": row["id"], "ok": row["ok"], "dialog": {**row["dialog"], "meta": meta}}


@pytest.fixture(scope="module")
def tools() -> tuple[ToolSpec, ...]:
    return PythonEngine(TOOLS).describe()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "run"
    generate(tools=TOOLS, n=18, out=out, model=world_backend(), seed=1, concurrency=4)
    return out


# -- plans, mixes, values -------------------------------------------------------------------------


def test_resolve_reads_paths_of_the_graph() -> None:
    output = {"hotels": [{"hotel_id": "H-1"}, {"hotel_id": "H-2"}], "n": 2}
    assert resolve(output, "hotels[].hotel_id") == "H-1"
    assert resolve([{"id": 7}], "[].id") == 7
    assert resolve(output, "$") is output
    with pytest.raises(LookupError, match="non-empty list"):
        resolve({"hotels": []}, "hotels[].hotel_id")
    with pytest.raises(LookupError, match="no field 'price'"):
        resolve(output, "price")


def test_plan_expects_neither_planted_failures_nor_calls_of_a_turn_missing_a_value(tools: tuple[ToolSpec, ...]) -> None:
    good = PlannedCall(name="get_weather", arguments={"city": "Paris"})
    bad = PlannedCall(name="get_weather", arguments={"city": "Par"}, fails=True)
    plan = Plan(kind="error_recovery", tools=tools, turns=(Turn(steps=((bad,), (good,))),))
    assert plan.expected() == (ToolCall(name="get_weather", arguments={"city": "Paris"}),)
    clarify = Plan(kind="clarify", tools=tools, turns=(Turn(steps=((good,),), missing=("city",)),))
    assert clarify.expected() == ()


def test_mix_parsing() -> None:
    assert parse_mix(None) == DEFAULT_MIX
    assert abs(sum(DEFAULT_MIX.values()) - 1) < 1e-9 and set(DEFAULT_MIX) == set(KINDS)
    assert parse_mix("single=3,nested=1") == {"single": 0.75, "nested": 0.25}
    assert parse_mix("single,parallel") == {"single": 0.5, "parallel": 0.5}
    with pytest.raises(ConfigError, match=r"unknown scenario kind.*bogus"):
        parse_mix("single=1,bogus=2")
    with pytest.raises(ConfigError, match="no number"):
        parse_mix("single=lots")
    with pytest.raises(ConfigError, match="not all zero"):
        parse_mix("single=0")


def test_breakages_change_one_value_at_a_time(tools: tuple[ToolSpec, ...]) -> None:
    import random

    tool = next(t for t in tools if t.name == "search_hotels")
    good = {"city": "Lisbon", "max_price": 120}
    variants = breakages(good, tool, random.Random(0))
    assert variants and good not in variants
    for variant in variants:
        changed = [k for k in good if variant.get(k, "<gone>") != good[k]]
        assert len(changed) == 1, variant
    assert {"max_price": 120} in variants  # a required value dropped
    assert any(v.get("max_price", 0) < 0 for v in variants)


def test_tools_fed_an_id_by_another_tool_are_not_standalone(tools: tuple[ToolSpec, ...]) -> None:
    names = {t.name for t in standalone(tools, ToolGraph.build(tools))}
    assert names == {"get_weather", "search_hotels"}  # book_hotel needs a hotel_id from search_hotels


# -- a whole run ----------------------------------------------------------------------------------


def test_every_kind_is_generated_and_verified(full_run: Path) -> None:
    accepted = rows(full_run, "accepted")
    assert len(accepted) == 18
    kinds = {r["dialog"]["meta"]["scenario"] for r in accepted}
    assert kinds == set(KINDS), f"kinds never accepted: {set(KINDS) - kinds}"
    for row in accepted:
        assert row["ok"] and [s["stage"] for s in row["stages"]] == ["rules", "exec", "dedup"]
        meta = Dialog.model_validate(row["dialog"]).meta
        assert meta.source == "callforge.generate" and meta.id == row["id"]
        assert meta.usage is not None and meta.usage.roles["user"].requests >= 1


def test_kinds_have_their_shape(full_run: Path) -> None:
    by_kind: dict[str, Dialog] = {}
    for row in rows(full_run, "accepted"):
        by_kind.setdefault(row["dialog"]["meta"]["scenario"], Dialog.model_validate(row["dialog"]))

    def calls(dialog: Dialog) -> list[list[ToolCall]]:
        return [list(m.tool_calls) for m in dialog.messages if m.role == "assistant" and m.tool_calls]

    assert len(calls(by_kind["parallel"])[0]) >= 2
    assert len({c.name for c in calls(by_kind["parallel"])[0]}) == 1
    assert len({c.name for c in calls(by_kind["parallel_multiple"])[0]}) >= 2
    nested = calls(by_kind["nested"])
    assert len(nested) >= 2  # the second call waits for the first one's output
    assert calls(by_kind["no_call"]) == [] and calls(by_kind["clarify"]) == []
    assert (by_kind["clarify"].messages[-1].content or "").endswith("?")
    assert by_kind["clarify"].meta.missing
    assert sum(m.role == "user" for m in by_kind["multi_turn"].messages) >= 2
    recovery = by_kind["error_recovery"]
    planted = sorted(recovery.masked_calls(MaskReason.INJECTED))
    assert planted
    tool_replies = {m.tool_call_id: m.content or "" for m in recovery.messages if m.role == "tool"}
    assert "error" in tool_replies[planted[0]]
    assert recovery.messages[0].role == "system"


def test_manifest_accounts_for_every_record(full_run: Path) -> None:
    manifest = json.loads((full_run / "manifest.json").read_text())
    accepted, rejected = rows(full_run, "accepted"), rows(full_run, "rejected")
    assert manifest["job"] == "generate" and manifest["status"] == "complete"
    assert manifest["counts"]["accepted"] == len(accepted) == 18
    assert manifest["counts"]["rejected"] == len(rejected)
    kinds = manifest["accounting"]["kinds"]
    assert sum(k["attempts"] for k in kinds.values()) == len(accepted) + len(rejected)
    assert sum(k["accepted"] for k in kinds.values()) == 18
    roles = manifest["accounting"]["roles"]
    assert {"planner", "user", "assistant", "tool"} <= set(roles)
    total = sum(r["prompt_tokens"] + r["completion_tokens"] for r in roles.values())
    assert manifest["accounting"]["tokens"] == total > 0
    assert manifest["accounting"]["tokens_per_accepted"] == pytest.approx(total / 18, abs=0.1)
    assert manifest["config"]["seed"] == 1 and manifest["config"]["mix"] == DEFAULT_MIX
    assert set(manifest["accounting"]["phase_seconds"]) == {"plan", "play", "verify"}
    reasons = manifest["accounting"]["reasons"]
    assert sum(reasons.values()) == len(rejected)
    ids = [r["id"] for r in accepted + rejected]
    assert len(ids) == len(set(ids))


def test_the_plan_check_rejects_text_that_does_not_carry_the_plan(tmp_path: Path) -> None:
    report = generate(tools=TOOLS, n=3, out=tmp_path / "run", model=world_backend(broken_user=True), mix="single=1", max_attempts=6
    )
    assert report.accepted == 0 and not report.complete
    assert "attempt budget" in report.stop_reason
    codes = {code for code, _ in report.tally.top_reasons(10)}
    assert codes & {"scenario.plan_mismatch", "scenario.call_count"}, codes


def test_a_planner_without_json_is_a_recorded_rejection(tmp_path: Path) -> None:
    def respond(request: Request) -> str:
        return "I think Paris would be nice."

    report = generate(tools=TOOLS, n=2, out=tmp_path / "run", model=FunctionBackend(respond), mix="single=1", max_attempts=3)
    assert report.tally.reasons == {"gen.plan_values": 3}
    (row,) = rows(tmp_path / "run", "rejected")[:1]
    assert row["stages"][0]["stage"] == "generate"
    assert "not JSON" in row["stages"][0]["verdicts"][0]["message"]


def test_a_value_the_tool_rejects_is_retried_with_its_error(tmp_path: Path) -> None:
    """The world's planner first proposes 'Atlantis' for some seeds; the tool's error names the real cities."""
    backend = world_backend()
    generate(tools=TOOLS, n=8, out=tmp_path / "run", model=backend, mix="single=1", seed=3)
    planner_prompts = [r.messages[-1].content or "" for r in backend.requests if r.options.json_schema and "call_1" in r.options.json_schema["properties"]]
    retried = [p for p in planner_prompts if "rejected by the tool" in p]
    assert retried and all("known cities" in p for p in retried)


def test_same_seed_same_dialogs(tmp_path: Path) -> None:
    first = generate(tools=TOOLS, n=6, out=tmp_path / "a", model=world_backend(), seed=5, concurrency=1)
    second = generate(tools=TOOLS, n=6, out=tmp_path / "b", model=world_backend(), seed=5, concurrency=1)
    assert first.accepted == second.accepted == 6
    assert [comparable(r) for r in rows(tmp_path / "a", "accepted")] == [comparable(r) for r in rows(tmp_path / "b", "accepted")]
    other = generate(tools=TOOLS, n=6, out=tmp_path / "c", model=world_backend(), seed=6, concurrency=1)
    assert other.accepted == 6
    assert [comparable(r) for r in rows(tmp_path / "a", "accepted")] != [comparable(r) for r in rows(tmp_path / "c", "accepted")]


# -- the Run folder: refuse, resume, extend ---------------------------------------------------------


def test_an_existing_run_needs_resume_and_the_same_config(tmp_path: Path) -> None:
    out = tmp_path / "run"
    generate(tools=TOOLS, n=3, out=out, model=world_backend(), seed=2)
    with pytest.raises(ConfigError, match="resume=True"):
        generate(tools=TOOLS, n=3, out=out, model=world_backend(), seed=2)
    with pytest.raises(ConfigError, match="`seed` was 2, now 9"):
        generate(tools=TOOLS, n=3, out=out, model=world_backend(), seed=9, resume=True)
    with pytest.raises(ConfigError, match="mix"):
        generate(tools=TOOLS, n=3, out=out, model=world_backend(), seed=2, mix="single=1", resume=True)


def test_resume_with_a_larger_n_adds_a_shard_and_no_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "run"
    generate(tools=TOOLS, n=4, out=out, model=world_backend(), seed=4, concurrency=1)
    again = generate(tools=TOOLS, n=4, out=out, model=world_backend(), seed=4, resume=True)
    assert again.accepted == 4 and again.complete  # nothing to do
    more = generate(tools=TOOLS, n=9, out=out, model=world_backend(), seed=4, resume=True, concurrency=1)
    assert more.accepted == 9
    assert len(list((out / "accepted").glob("part-*.jsonl"))) == 2
    ids = [r["id"] for r in rows(out, "accepted") + rows(out, "rejected")]
    assert len(ids) == len(set(ids))
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["sessions"]) == 3 and manifest["counts"]["accepted"] == 9
    one_go = generate(tools=TOOLS, n=9, out=tmp_path / "one", model=world_backend(), seed=4, concurrency=1)
    assert one_go.accepted == 9
    assert sorted(comparable(r)["dialog"]["messages"].__repr__() for r in rows(out, "accepted")) == sorted(
        comparable(r)["dialog"]["messages"].__repr__() for r in rows(tmp_path / "one", "accepted")
    )


def test_a_down_endpoint_stops_the_run_without_recording_anything(tmp_path: Path) -> None:
    def respond(request: Request) -> Any:
        raise BackendError("connection refused", retryable=True)

    out = tmp_path / "run"
    with pytest.raises(RunAborted, match=r"in a row.*resume=True"):
        generate(tools=TOOLS, n=3, out=out, model=FunctionBackend(respond, model="world"), concurrency=1)
    assert rows(out, "accepted") == rows(out, "rejected") == []
    errors = (out / "errors.jsonl").read_text().splitlines()
    assert len(errors) == 5 and "connection refused" in errors[0]
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
    # the endpoint is back: the resumed run redoes those attempts
    assert generate(tools=TOOLS, n=3, out=out, model=world_backend(), resume=True).accepted == 3


def test_kinds_the_tools_cannot_make_are_dropped_from_the_default_mix_only(tmp_path: Path) -> None:
    lone = tmp_path / "lone.py"
    lone.write_text('def ping(host: str) -> str:\n    """Ping a host.\n\n    Args:\n        host: Host name.\n    """\n    return "pong " + host\n')
    report = generate(tools=lone, n=2, out=tmp_path / "run", model=world_backend(), mix=None, max_attempts=10)
    dropped = json.loads((tmp_path / "run" / "manifest.json").read_text())["kinds_dropped"]
    assert {"nested", "parallel_multiple"} <= set(dropped)
    assert report.tally.kinds.keys().isdisjoint(dropped)
    with pytest.raises(ConfigError, match="`mix` asks for nested"):
        generate(tools=lone, n=2, out=tmp_path / "other", model=world_backend(), mix="nested=1")


def test_bad_tool_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        generate(tools=tmp_path / "missing.py", n=1, out=tmp_path / "run", model=world_backend())
    with pytest.raises(ConfigError, match="defined in both"):
        generate(tools=[TOOLS, TOOLS], n=1, out=tmp_path / "run2", model=world_backend())


# -- kill -9 ---------------------------------------------------------------------------------------

_CHILD = """
import asyncio, sys
sys.path.insert(0, {tests!r})
from tests.gen_world import world_backend
from callforge.generate import generate
from callforge.llm.scripted import FunctionBackend

inner = world_backend()
async def slow(request):
    await asyncio.sleep(0.05)
    return await inner.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

generate(tools={tools!r}, n=14, out={out!r}, model=FunctionBackend(slow, model="world"), seed=7, concurrency=3)
"""


def test_kill_9_then_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = _CHILD.format(tests=str(HERE), tools=str(TOOLS), out=str(out))
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(rows(out, "accepted")) >= 4 if (out / "accepted").is_dir() else False:
            break
        if child.poll() is not None:
            pytest.fail(f"the child ended before the kill: {child.stderr.read().decode()[-2000:] if child.stderr else ''}")
        time.sleep(0.05)
    else:
        child.kill()
        pytest.fail("the child wrote no records within 120 s")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    survived = {json.dumps(r, sort_keys=True) for r in rows(out, "accepted") + rows(out, "rejected")}
    assert 4 <= len(rows(out, "accepted")) < 14

    report = generate(tools=TOOLS, n=14, out=out, model=world_backend(), seed=7, resume=True, concurrency=3)
    assert report.accepted == 14
    accepted = rows(out, "accepted")
    everything = accepted + rows(out, "rejected")
    ids = [r["id"] for r in everything]
    assert len(ids) == len(set(ids)), "an attempt was written twice"
    assert len(accepted) == 14
    # nothing lost: every record the killed session wrote is still there, unchanged
    assert survived <= {json.dumps(r, sort_keys=True) for r in everything}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["accepted"] == 14 and len(manifest["sessions"]) == 2
    assert manifest["counts"]["accepted"] + manifest["counts"]["rejected"] == len(everything)


# -- roles ----------------------------------------------------------------------------------------


def test_a_user_turn_that_sounds_like_the_assistant_is_rejected(tools: tuple[ToolSpec, ...]) -> None:
    import asyncio

    from callforge.generate import UserRole
    from callforge.generate.personas import Voice

    backend = FunctionBackend(lambda r: '{"message": "I\'m sorry, but I can\'t assist with that. How can I help you today?"}')
    turn = Turn(steps=((PlannedCall(name="get_weather", arguments={"city": "Paris"}),),))
    voice = Voice("a nurse", "terse", "Short.", "a trip")
    with pytest.raises(GenerationFailure) as caught:
        asyncio.run(UserRole(backend).write(turn, tools, [], voice, seed=1))
    assert caught.value.code == "gen.user_text"


def test_the_user_prompt_states_values_and_hides_the_missing_one(tools: tuple[ToolSpec, ...]) -> None:
    from callforge.generate import UserRole
    from callforge.generate.personas import Voice

    call = PlannedCall(name="search_hotels", arguments={"city": "Lima", "max_price": 90})
    voice = Voice("a nurse", "terse", "Short.", "a trip")
    prompt = UserRole(world_backend()).prompt(Turn(steps=((call,),), missing=("max_price",)), tools, [], voice)
    text = prompt[-1].content or ""
    assert "(city Lima)" in text and "90" not in text and "forgot to say the max price" in text
    history = [Message(role="user", content="hi"), Message(role="assistant", content="Hello!")]
    follow = UserRole(world_backend()).prompt(Turn(steps=((call,),)), tools, history, voice)[-1].content or ""
    assert "You: hi" in follow and "Assistant: Hello!" in follow


def test_a_repeated_call_ends_the_calling_phase_with_an_answer_without_tools(tmp_path: Path) -> None:
    """Small models re-call after every result; the Director then asks for the answer with calling off."""
    world = world_backend()

    async def looping(request: Request) -> Any:
        if request.options.tool_choice == "none":
            assert request.messages[-1].content == ANSWER_NUDGE  # asked for words; the nudge is not recorded
            return "Here it is: " + _told(orjson.loads(request.messages[-2].content or "null"))
        if request.tools and request.messages[-1].role == "tool":  # call the same thing again
            previous = next(m for m in reversed(request.messages) if m.role == "assistant" and m.tool_calls)
            return [ToolCall(name=c.name, arguments=c.arguments) for c in previous.tool_calls]
        return await world.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

    backend = FunctionBackend(looping, model="world")
    report = generate(tools=TOOLS, n=2, out=tmp_path / "run", model=backend, mix="single=1", seed=11)
    assert report.accepted == 2, report.tally.reasons
    for row in rows(tmp_path / "run", "accepted"):
        dialog = Dialog.model_validate(row["dialog"])
        assert sum(bool(m.tool_calls) for m in dialog.messages) == 1  # the repeat is not recorded
        assert (dialog.messages[-1].content or "").startswith("Here it is: ")
        assert all(m.content != ANSWER_NUDGE for m in dialog.messages)
    assert any(r.options.tool_choice == "none" for r in backend.requests)


def test_an_answer_that_says_nothing_is_asked_for_once_more_in_words(tmp_path: Path) -> None:
    """"Thank you for the quote." after the results: the Director asks again and keeps the real answer."""
    world = world_backend()

    async def thankful(request: Request) -> Any:
        if request.options.tool_choice == "none":
            assert request.messages[-1].content == BRIEF_NUDGE  # the second ask is worded otherwise
            return "Here it is: " + _told(orjson.loads(request.messages[-2].content or "null"))
        if request.tools and request.messages[-1].role == "tool":
            return "Thank you for the information."
        return await world.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

    backend = FunctionBackend(thankful, model="world")
    report = generate(tools=TOOLS, n=2, out=tmp_path / "run", model=backend, mix="single=1", seed=11)
    assert report.accepted == 2, report.tally.reasons
    for row in rows(tmp_path / "run", "accepted"):
        answer = Dialog.model_validate(row["dialog"]).messages[-1].content or ""
        assert answer.startswith("Here it is: ") and "Thank you" not in answer


@pytest.mark.parametrize("flaw", ["cut", "leak"])
def test_an_answer_cut_by_the_token_limit_or_quoting_the_ask_is_asked_for_briefly_and_fails_if_it_stays(
    tmp_path: Path, flaw: str
) -> None:
    """Neither shows in the dialog the verifier reads, so the Director itself asks again, then gives up."""
    from callforge.llm import Completion

    world = world_backend()

    def bad(request: Request) -> Completion:
        told = _told(orjson.loads(request.messages[-2 if request.options.tool_choice == "none" else -1].content or "null"))
        if flaw == "cut":
            return Completion(text=f"Here it is: {told}, and then the next row of the list, which goes on 2025-", finish_reason="length")
        return Completion(text=f"Sure, here's the answer in plain words: {told}", finish_reason="stop")

    def script(fixable: bool) -> Any:
        async def answer(request: Request) -> Any:
            if request.options.tool_choice == "none":
                assert request.messages[-1].content == BRIEF_NUDGE
                return "Here it is: " + _told(orjson.loads(request.messages[-2].content or "null")) if fixable else bad(request)
            if request.tools and request.messages[-1].role == "tool":
                return bad(request)
            return await world.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

        return answer

    report = generate(tools=TOOLS, n=2, out=tmp_path / "fixed", model=FunctionBackend(script(True), model="world"), mix="single=1", seed=11)
    assert report.accepted == 2, report.tally.reasons
    for row in rows(tmp_path / "fixed", "accepted"):
        assert (Dialog.model_validate(row["dialog"]).messages[-1].content or "").startswith("Here it is: ")
    report = generate(tools=TOOLS, n=2, out=tmp_path / "stays", model=FunctionBackend(script(False), model="world"), mix="single=1", seed=11, max_attempts=3)
    assert report.accepted == 0
    code = "gen.answer_cut" if flaw == "cut" else "gen.answer_leak"
    assert set(report.tally.reasons) == {code}, report.tally.reasons


def test_chains_start_at_a_tool_callable_on_its_own() -> None:
    import random

    from callforge.execute import load_toolbox
    from callforge.generate.kinds import Nested

    examples = HERE.parent / "examples" / "tools"
    toolbox = load_toolbox([examples / "calendar_tools.py", examples / "shop.py"])
    graph = ToolGraph.build(toolbox.tools)
    starts = {t.name for t in standalone(toolbox.tools, graph)}
    assert "cancel_event" not in starts and "get_order_status" not in starts
    sampler = Nested().sampler(toolbox.tools, graph)
    for seed in range(60):
        sample = sampler.sample(random.Random(seed))
        assert sample.tools[0].name in starts
        pos = {t.name: i for i, t in enumerate(sample.tools)}  # chains, fans and DAGs: edges point forward
        assert all(pos[e.source] < pos[e.target] and e in graph.edges for e in sample.chain)
        assert {t.name for t in sample.tools if t.name not in {e.target for e in sample.chain}} <= starts


def test_a_rejected_dialog_is_replayed_from_its_plan(tmp_path: Path) -> None:
    """The user drops every value the first time a prompt is seen; the replay of the same plan succeeds."""
    good, broken = world_backend(), world_backend(broken_user=True)
    seen: set[str] = set()

    async def flaky(request: Request) -> Any:
        options = request.options.model_dump(exclude_none=True)
        schema = request.options.json_schema or {}
        if "message" in (schema.get("properties") or {}):
            prompt = request.messages[-1].content or ""
            if prompt not in seen:
                seen.add(prompt)
                return await broken.complete(request.messages, request.tools, **options)
        return await good.complete(request.messages, request.tools, **options)

    report = generate(tools=TOOLS, n=3, out=tmp_path / "run", model=FunctionBackend(flaky, model="world"), mix="single=1", seed=21)
    assert report.accepted == 3
    for row in rows(tmp_path / "run", "accepted"):
        meta = Dialog.model_validate(row["dialog"]).meta
        assert meta.replays and meta.replays[0] in ("scenario.plan_mismatch", "scenario.call_count")
        assert meta.usage is not None
        assert meta.usage.roles["user"].requests == 2 and meta.usage.roles["planner"].requests == 1
    seen.clear()
    none = generate(tools=TOOLS, n=3, out=tmp_path / "run0", model=FunctionBackend(flaky, model="world"), mix="single=1", seed=21, replays=0, max_attempts=3)
    assert none.accepted == 0


def test_a_request_too_long_for_the_model_is_a_rejected_attempt_not_a_crash(tmp_path: Path) -> None:
    from callforge.llm.backend import RequestRejected

    world = world_backend()

    async def short_context(request: Request) -> Any:
        if request.tools and request.messages[-1].role == "tool":
            raise RequestRejected("the request is 5997 tokens but the context window holds 4096")
        return await world.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

    report = generate(tools=TOOLS, n=1, out=tmp_path / "run", model=FunctionBackend(short_context, model="world"), mix="single=1", max_attempts=3)
    assert report.tally.reasons == {"gen.request_rejected": 3} and not report.complete
    (row,) = [r for r in rows(tmp_path / "run", "rejected") if r["stages"][0]["verdicts"][0]["code"] == "gen.request_rejected"][:1]
    assert row["dialog"]["meta"]["usage"]["roles"]["planner"]["requests"] == 1  # what it spent before is kept

    def always(request: Request) -> Any:
        raise RequestRejected("HTTP 400: unknown parameter 'seed'")

    with pytest.raises(BackendError, match="refused 5 attempts in a row"):
        generate(tools=TOOLS, n=1, out=tmp_path / "run2", model=FunctionBackend(always, model="world"), mix="single=1")


@pytest.mark.parametrize(
    "text",
    [
        "Sure! What do you want me to do? I can help you with that.",
        "Sure, I'd be happy to help with that. What do you need help with?",
        "I'm not able to do that.",
        "Hello there! How can I assist you today?",
        "I can't help with that.",
        "Please provide the amount of money you wish to convert (10000 USD). I will convert it to EUR.",
    ],
)
def test_role_swapped_user_turns_seen_in_real_runs_are_refused(text: str) -> None:
    from callforge.generate.roles import _sounds_like_assistant

    assert _sounds_like_assistant(text)
    assert not _sounds_like_assistant("Could you check the weather in Lisbon for the next 3 days? I can help you carry the bags.")


LECTURE = (
    "Finding the coordinates of Paris involves using a GPS app or online services that can pinpoint the exact location "
    "of Paris. It's also possible to use the Google Maps app if you have a phone with a GPS device. Once you have the "
    "coordinates, you can use a tool like this one to convert them to latitude and longitude format for further use."
)  # a user turn the embedded 0.5B wrote, which the rules then let through


@pytest.mark.parametrize(
    ("text", "lecture"),
    [
        (LECTURE, True),
        ("The weather in a city depends on many things, and it is measured by stations that report the temperature "
         "and the wind every hour.", True),
        ("Geocode the address of the Louvre museum in Paris and give the latitude and the longitude of it in decimal degrees.", False),
        ("Using the key vt_key789, retrieve files communicating with the domain microsoft.com from the VirusTotal service.", False),
        ("What is the rate of return for a business with $15000 total revenue and $22000 total cost in this year.", False),
        ("Convert 100 US dollars to euros at today's rate, then book a hotel in Paris for two nights with breakfast.", False),
        ("Looking for a housekeeper who can provide services in Chatuchak District, Bangkok on March 19 at 1 pm for ironing.", False),
        ("The hotel should be near the station, and it needs a pool: the kids would love that, so I count on you.", False),
        ("Weather in Oslo tomorrow.", False),
        ("Quiero calcular el pago mensual para un crédito de auto de 1,000,000 de pesos a 12 meses, con un enganche del 20%.", False),
    ],
)  # fmt: skip
def test_a_user_turn_that_explains_instead_of_asking_is_refused(text: str, lecture: bool, tools: tuple[ToolSpec, ...]) -> None:
    from callforge.generate.roles import _explains_instead_of_asking

    geocode = ToolSpec(name="geocode", description="Coordinates of an address", parameters={"type": "object", "properties": {}})
    assert _explains_instead_of_asking(text, (*tools, geocode)) is lecture


def test_a_lecturing_user_turn_is_sampled_once_more(tools: tuple[ToolSpec, ...]) -> None:
    import asyncio

    from callforge.generate import UserRole
    from callforge.generate.personas import Voice

    answers = iter([orjson.dumps({"message": LECTURE}).decode(), '{"message": "What is the weather in Paris right now?"}'])
    backend = FunctionBackend(lambda request: next(answers))
    turn = Turn(steps=((PlannedCall(name="get_weather", arguments={"city": "Paris"}),),))
    text = asyncio.run(UserRole(backend).write(turn, tools, [], Voice("a nurse", "terse", "Short.", "a trip"), seed=1))
    assert text == "What is the weather in Paris right now?" and len(backend.requests) == 2


def test_values_that_break_a_bound_the_grammar_cannot_hold_get_one_more_try_told_why() -> None:
    import asyncio

    from callforge.generate.planner import Planner, Slot

    place = ToolSpec(
        name="nearby",
        parameters={"type": "object", "properties": {"latitude": {"type": "number", "minimum": -90, "maximum": 90}},
                    "required": ["latitude"]},
    )  # fmt: skip
    answers = iter(['{"call_1": {"latitude": 2025}}', '{"call_1": {"latitude": 48.85}}'])
    backend = FunctionBackend(lambda request: next(answers))
    planner = Planner(backend, None, today="2025-06-01")  # type: ignore[arg-type]  # values only: no engine runs
    values = asyncio.run(planner.arguments([Slot(place)], persona="a nurse", topic="a trip", seed=3))
    assert values == [{"latitude": 48.85}]
    retry = backend.requests[1].messages[-1].content or ""
    assert "Your previous values were rejected" in retry and "call_1/latitude" in retry and "90" in retry


def test_a_user_turn_written_as_an_assistant_is_sampled_once_more_and_a_broken_call_is_asked_for_constrained() -> None:
    import asyncio

    from callforge.core import Verdict
    from callforge.generate import AssistantRole, UserRole
    from callforge.generate.personas import Voice
    from callforge.llm import Completion

    weather = ToolSpec(
        name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    )
    voice = Voice("a nurse", "terse", "Short.", "a trip")
    turn = Turn(steps=((PlannedCall(name="get_weather", arguments={"city": "Paris"}),),))
    users = iter(['{"message": "Sure, I\'d be happy to help with that."}', '{"message": "Weather in Paris?"}'])
    user = FunctionBackend(lambda request: next(users))
    assert asyncio.run(UserRole(user).write(turn, (weather,), [], voice, seed=1)) == "Weather in Paris?"
    assert user.requests[0].options.seed != user.requests[1].options.seed

    broken = Completion(text='{"name": "get_weather", "arguments": {"city": "Par', parse=Verdict.failed("parse.invalid_json", "cut"))
    replies = iter([broken, ToolCall(name="get_weather", arguments={"city": "Paris"})])
    model = FunctionBackend(lambda request: next(replies))
    reply = asyncio.run(AssistantRole(model, today="2025-06-01").reply([Message(role="user", content="Weather in Paris?")], (weather,), seed=3))
    assert reply.tool_calls[0].arguments == {"city": "Paris"}
    assert model.requests[1].options.tool_choice == "required"  # a constrained call: valid JSON by grammar


def test_the_assistant_model_sees_long_tool_outputs_cut_and_the_dialog_keeps_them_whole() -> None:
    from callforge.generate.play import SHOWN_OUTPUT_CHARS, shown

    long = "x" * (SHOWN_OUTPUT_CHARS + 500)
    messages = [Message(role="user", content="prices?"), Message(role="tool", tool_call_id="c1", content=long)]
    seen = shown(messages)
    assert seen[0] is messages[0]
    assert (seen[1].content or "").endswith("... [500 more characters cut]") and len(seen[1].content or "") < len(long)
    assert messages[1].content == long  # the dialog's own message is untouched


def test_the_planner_schema_keeps_a_tools_recursive_defs_reachable() -> None:
    from callforge.execute import load_toolbox
    from callforge.generate.planner import Planner, Slot
    from callforge.tools.schema import validator_for

    tools = {t.name: t for t in load_toolbox([HERE / "data" / "openapi" / "library.yaml"]).tools}
    category = tools["createCategory"]
    assert "$defs" in category.parameters  # Category nests Categories: OpenAPI tools keep the cycle in $defs
    planner = Planner(FunctionBackend(lambda request: "{}"), None, today="2025-06-01")  # type: ignore[arg-type]
    schema = planner.schema([Slot(category), Slot(category)])
    valid = {"name": "fiction", "children": [{"name": "sf", "children": [{"name": "space opera"}]}]}
    check = validator_for(schema)
    assert check({"call_1": valid, "call_2": {"name": "poetry"}}) == []  # was: "Pointer '/$defs/Category' does not exist"
    assert check({"call_1": {"name": "x", "children": [{"children": []}]}, "call_2": valid})  # a nested one without a name
    assert set(schema["$defs"]) == {"call_1__Category", "call_2__Category"}
