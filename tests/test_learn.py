"""Learning signal: failing variants, preference pairs, refinement trajectories and model-aware selection.

The runs here are real (sandboxed tools, the rule and execution stages, Run folders) with the
rule-based fake model of `tests/gen_world.py`; a "flawed" version of it drops a required argument
from its first call, which is the kind of mistake refinement has to correct.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from callforge.core import ConfigError, Dialog, MaskReason, Message, ToolCall
from callforge.export import export
from callforge.formats import read_dialogs
from callforge.generate import generate
from callforge.learn import failed_step, preference_pairs, refine, select
from callforge.learn.feedback import feedback_messages, trajectory_messages
from callforge.learn.mutate import MUTATIONS, failing_variant
from callforge.llm.scripted import FunctionBackend, Request
from callforge.verify.record import Checked
from callforge.verify.rules import RuleStage
from tests.gen_world import world_backend
from tests.test_cli_generate import cli
from tests.test_generate import TOOLS, rows


def flawed_backend() -> FunctionBackend:
    """The world model, except that a first call of a turn leaves out its first required argument."""
    world = world_backend()

    def respond(request: Request) -> Any:
        reply = world._respond(request)
        last_user = max((i for i, m in enumerate(request.messages) if m.role == "user"), default=0)
        fresh = not any(m.role == "tool" for m in request.messages[last_user:])
        if isinstance(reply, list) and reply and isinstance(reply[0], ToolCall) and fresh:
            tools = {t.name: t for t in request.tools}
            first = reply[0]
            required = [n for n in tools[first.name].required if n in first.arguments]
            if required:
                arguments = {k: v for k, v in first.arguments.items() if k != required[0]}
                return [first.model_copy(update={"arguments": arguments}), *reply[1:]]
        return reply

    return FunctionBackend(respond, model="flawed")


def attentive_backend() -> FunctionBackend:
    """The world model, reading the verifier's feedback only to know that its step did not run.

    The world fake answers by quoting every tool message of the turn; quoting the feedback would
    make its final answer cite what the verified dialog (which leaves the feedback out) never says.
    """
    world = world_backend()

    def respond(request: Request) -> Any:
        kept = tuple(m for m in request.messages if not (m.role == "tool" and '"codes"' in (m.content or "")))
        return world._respond(Request(kept, request.tools, request.options))

    return FunctionBackend(respond, model="world")


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("learn") / "run"
    generate(tools=TOOLS, n=8, out=out, model=world_backend(), seed=3, mix="single=1,parallel=1,nested=1,multiple=1")
    return out


@pytest.fixture(scope="module")
def flawed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("learn") / "flawed"
    generate(tools=TOOLS, n=4, out=out, model=flawed_backend(), seed=5, mix="single=1,parallel=1,nested=1", max_attempts=6)
    return out


@pytest.fixture(scope="module")
def refined(flawed_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("learn") / "refined"
    refine(run=flawed_run, out=out, model=attentive_backend())
    return out


def accepted(run: Path) -> list[Dialog]:
    return [Dialog.model_validate(r["dialog"]) for r in rows(run, "accepted")]


# -- failing variants and mutated pairs ------------------------------------------------------------


def test_every_variant_is_rejected_by_the_rules_at_its_step_with_the_code_it_carries(clean_run: Path) -> None:
    seen: set[str] = set()
    rules = RuleStage()
    for dialog in accepted(clean_run):
        for index, message in enumerate(dialog.messages):
            if message.role != "assistant" or not message.tool_calls:
                continue
            variant = failing_variant(dialog, index)
            assert variant is not None
            assert variant.message != message and variant.mutation in MUTATIONS
            kept = {c.id for c in variant.message.tool_calls}
            messages = [m for m in dialog.messages if not (m.role == "tool" and m.tool_call_id not in kept | {None} and m.tool_call_id in {c.id for c in message.tool_calls})]
            messages[index] = variant.message
            codes = {v.code for v in rules.run(dialog.model_copy(update={"messages": tuple(messages)}))}
            assert variant.code in codes
            assert failing_variant(dialog, index) == variant  # deterministic
            seen.add(variant.mutation)
    assert len(seen) >= 3, seen


def test_mutated_pairs_share_the_prompt_and_differ_in_the_step(clean_run: Path) -> None:
    dialogs = accepted(clean_run)
    pairs = [p for d in dialogs for p in preference_pairs(d)]
    steps = sum(1 for d in dialogs for m in d.messages if m.role == "assistant" and m.tool_calls)
    assert len(pairs) == steps
    for pair in pairs:
        assert pair["origin"] == "mutated" and pair["code"].split(".")[0] in ("call", "arg", "scenario")
        assert pair["chosen"] != pair["rejected"] and pair["chosen"][0]["role"] == "assistant"
        assert pair["prompt"][-1]["role"] in ("user", "tool")
        assert [t["function"]["name"] for t in pair["tools"]]


def test_mutations_cover_the_common_mistakes() -> None:
    from tests.test_export import TIME, WEATHER

    tools = {t.name: t for t in (WEATHER, TIME)}
    step = Message(
        role="assistant",
        tool_calls=(ToolCall(name="get_weather", arguments={"city": "Oslo"}, id="a"), ToolCall(name="get_time", arguments={"city": "Oslo", "h24": True}, id="b")),
    )
    import random

    rng = random.Random(0)
    dropped = MUTATIONS["drop_required"](step, tools, rng)
    assert dropped is not None and dropped.tool_calls[0].arguments == {}
    assert MUTATIONS["missing_call"](step, tools, rng) is not None
    retyped = MUTATIONS["wrong_type"](step, tools, random.Random(1))
    assert retyped is not None and retyped != step
    invented = MUTATIONS["invented_tool"](step, tools, rng)
    assert invented is not None and {c.name for c in invented.tool_calls} - set(tools)
    assert MUTATIONS["outside_enum"](step, tools, rng) is None  # no enum to break


# -- locating the failure, feedback ----------------------------------------------------------------


def test_failed_step_and_feedback_name_the_call_and_the_code(flawed_run: Path) -> None:
    records = [Checked.model_validate(r) for r in rows(flawed_run, "rejected")]
    assert records
    located = 0
    for record in records:
        found = failed_step(record.dialog, record.failures)
        if isinstance(found, str):
            continue
        located += 1
        step = record.dialog.messages[found.index]
        assert step.role == "assistant" and step.tool_calls
        assert "call.missing_required" in found.codes
        feedback = feedback_messages(step, found.verdicts)
        assert [m.tool_call_id for m in feedback] == [c.id for c in step.tool_calls]
        body = json.loads(feedback[0].content or "")
        assert "call.missing_required" in body["codes"] and "required" in body["problem"]
    assert located == len(records)


def test_feedback_of_several_findings_reads_as_sentences() -> None:
    from callforge.core import Verdict

    step = Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "X"}, id="c1"),))
    found = (
        Verdict.failed("arg.ungrounded", "argument city='X' appears nowhere in the user text", message_index=2, call="get_weather"),
        Verdict.failed("scenario.call_count", "a single sample makes exactly one call, not 2", message_index=2),
    )
    body = json.loads(feedback_messages(step, found)[0].content or "")
    assert body["problem"] == (
        "argument city='X' appears nowhere in the user text. "
        "The number of calls does not fit the request; make exactly the calls it needs."
    )


def test_a_failure_of_the_text_has_no_step_to_redo() -> None:
    from callforge.core import Verdict

    dialog = Dialog(messages=(Message(role="user", content="hi"), Message(role="assistant", content="hello")))
    assert failed_step(dialog, (Verdict.failed("judge.helpful", "unhelpful"),)) == "not_a_call_failure:judge.helpful"
    assert failed_step(dialog, (Verdict.failed("call.missing_required", "x", message_index=1),)) == "no_call_step"


# -- refinement ------------------------------------------------------------------------------------


def test_refinement_turns_rejected_dialogs_into_verified_trajectories(flawed_run: Path, refined: Path) -> None:
    rejected = rows(flawed_run, "rejected")
    trajectories = rows(refined, "accepted")
    assert len(trajectories) == len(rejected) >= 3
    for row in trajectories:
        dialog = Dialog.model_validate(row["dialog"])
        _, wrong, rest = trajectory_messages(dialog)
        assert dialog.meta.refined_from + "-refined" == row["id"]
        assert wrong[0].role == "assistant" and {c.id for c in wrong[0].tool_calls} == dialog.masked_calls(MaskReason.CORRECTED)
        feedback = [json.loads(m.content or "") for m in wrong[1:]]
        assert [m.role for m in wrong[1:]] == ["tool"] * len(wrong[0].tool_calls)
        assert "call.missing_required" in feedback[0]["codes"] and all(f["status"].startswith("not run") for f in feedback)
        assert rest[0].role == "assistant" and rest[0].tool_calls and rest[-1].role == "assistant" and rest[-1].content
        ids = [c.id for m in dialog.messages for c in m.tool_calls]
        assert len(ids) == len(set(ids))
        # the continuation alone is a verified dialog: the rules and execution passed it
        assert [s["stage"] for s in row["stages"]] == ["rules", "exec"] and row["ok"]
        corrected = rest[0].tool_calls
        assert [c.name for c in corrected] == [c.name for c in wrong[0].tool_calls]
        assert set(wrong[0].tool_calls[0].arguments) < set(corrected[0].arguments)
    manifest = json.loads((refined / "manifest.json").read_text())
    assert manifest["job"] == "refine" and manifest["counts"]["refined"] == len(trajectories)


def test_refinement_resumes_without_duplicates_and_refuses_an_existing_folder(flawed_run: Path, refined: Path) -> None:
    before = rows(refined, "accepted")
    with pytest.raises(ConfigError, match="resume=True"):
        refine(run=flawed_run, out=refined, model=world_backend())
    report = refine(run=flawed_run, out=refined, model=attentive_backend(), resume=True)
    assert rows(refined, "accepted") == before and report.refined == len(before)
    assert report.codes == {"call.missing_required": len(before)}


def test_trajectories_export_with_the_wrong_step_masked_and_as_refined_pairs(refined: Path, tmp_path: Path) -> None:
    export(refined, tmp_path / "openai", format="openai")
    records = [json.loads(line) for line in (tmp_path / "openai" / "data.jsonl").read_text().splitlines()]
    for record in records:
        weighted = [m for m in record["messages"] if m.get("weight") == 0]
        assert len(weighted) == 1 and weighted[0]["tool_calls"]
    report = export(refined, tmp_path / "dpo", format="dpo")
    pairs = [json.loads(line) for line in (tmp_path / "dpo" / "data.jsonl").read_text().splitlines()]
    assert report.categories == {"refined": len(records)} and len(pairs) == len(records)
    for pair in pairs:
        assert pair["code"] == "call.missing_required"
        rejected_args = json.loads(pair["rejected"][0]["tool_calls"][0]["function"]["arguments"])
        chosen_args = json.loads(pair["chosen"][0]["tool_calls"][0]["function"]["arguments"])
        assert len(rejected_args) < len(chosen_args)
    steps = export(refined, tmp_path / "steps", format="steps")
    completions = [json.loads(line)["completion"][0] for line in (tmp_path / "steps" / "data.jsonl").read_text().splitlines()]
    assert steps.records == len(completions) and not any(c.get("weight") == 0 for c in completions)
    assert export(refined, tmp_path / "sharegpt", format="sharegpt").skipped_injected == len(records)


def test_refine_needs_a_generation_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a generation run"):
        refine(run=tmp_path / "nothing", out=tmp_path / "out", model=world_backend())


# -- model-aware selection -------------------------------------------------------------------------


def test_selection_keeps_what_the_target_gets_wrong(clean_run: Path, tmp_path: Path) -> None:
    solved = select(src=clean_run, out=tmp_path / "world", model=world_backend())
    assert solved.evaluated == 8 and solved.kept == 0 and solved.steps_wrong == 0 and solved.steps >= 8
    missed = select(src=clean_run, out=tmp_path / "flawed", model=flawed_backend())
    assert missed.evaluated == 8 and missed.kept == 8 and 0 < missed.steps_wrong <= missed.steps
    assert set(missed.codes) and all(not c.startswith("select.") for c in missed.codes)
    kept = list(read_dialogs(next((tmp_path / "flawed" / "accepted").glob("part-*.jsonl")), format="callforge"))
    assert len(kept) == 8
    assert sum(k for k, _ in missed.by_scenario.values()) == 8
    again = select(src=clean_run, out=tmp_path / "flawed", model=flawed_backend(), resume=True)
    assert again.kept == 8 and len(rows(tmp_path / "flawed", "accepted")) == 8
    with pytest.raises(ConfigError, match="`model` was 'flawed', now 'world'"):
        select(src=clean_run, out=tmp_path / "flawed", model=world_backend(), resume=True)


# -- CLI -------------------------------------------------------------------------------------------


def test_cli_refine_and_select_print_their_counts(flawed_run: Path, clean_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from typer.testing import CliRunner

    from callforge.cli import app

    refine_module = importlib.import_module("callforge.learn.refinement")
    select_module = importlib.import_module("callforge.learn.selection")
    runner = CliRunner()
    monkeypatch.setattr(refine_module, "RunBackends", _fake_backends(refine_module.RunBackends))
    result = runner.invoke(app, ["refine", str(flawed_run), "--out", str(tmp_path / "r"), "-q"])
    assert result.exit_code == 0, result.output
    assert "refined 6 of 6" in result.output and "call.missing_required 6" in result.output
    monkeypatch.setattr(select_module, "_backend", lambda *a: world_backend())
    result = runner.invoke(app, ["select", str(clean_run), "--out", str(tmp_path / "s"), "--model", "world", "-q"])
    assert result.exit_code == 0, result.output
    assert "kept 0 of 8" in result.output
    result = runner.invoke(app, ["export", str(tmp_path / "r"), "--out", str(tmp_path / "e"), "--format", "dpo"])
    assert result.exit_code == 0 and "6 dialogs (dpo" in result.output and "refined 6" in result.output, result.output
    help_text = cli("refine", "--help").stdout + cli("select", "--help").stdout
    assert "--resume" in help_text and "--limit" in help_text


def _fake_backends(real: Any) -> Any:
    class Backends(real):  # type: ignore[misc, valid-type]
        def __init__(self, model: Any, *rest: Any) -> None:
            super().__init__(attentive_backend(), *rest)

    return Backends


def test_pairs_of_a_trajectory_without_a_correction_are_none() -> None:
    dialog = Dialog(
        messages=(
            Message(role="user", content="hi"),
            Message(role="assistant", tool_calls=(ToolCall(name="f", arguments={}, id="x"),)),
            Message(role="tool", tool_call_id="x", content=orjson.dumps({"error": "no"}).decode()),
        ),
        meta={"wrong_calls": ["x"], "feedback": ["call.unknown_function"]},
    )
    assert preference_pairs(dialog) == []


def test_refine_names_the_fix_when_the_runs_tools_are_gone(flawed_run: Path, tmp_path: Path) -> None:
    import shutil

    moved = tmp_path / "run"
    shutil.copytree(flawed_run, moved)
    manifest = json.loads((moved / "manifest.json").read_text())
    manifest["config"]["tools"] = [str(tmp_path / "gone.py")]
    (moved / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"gone\.py.*pass `tools`"):
        refine(run=moved, out=tmp_path / "out", model=attentive_backend())
    report = refine(run=moved, out=tmp_path / "out2", model=attentive_backend(), tools=[str(TOOLS)], limit=2)
    assert report.read == 2 and report.refined == 2


def test_a_refused_request_fails_one_item_of_refine_and_select_not_the_run(flawed_run: Path, clean_run: Path, tmp_path: Path) -> None:
    from callforge.llm import RequestRejected

    def too_long(request: Any) -> str:
        raise RequestRejected("the prompt is longer than the context")

    report = refine(run=flawed_run, out=tmp_path / "refined", model=FunctionBackend(too_long))
    failed = rows(tmp_path / "refined", "rejected")
    assert failed and all(r["stages"][0]["verdicts"][0]["code"] == "gen.request_rejected" for r in failed)
    assert report is not None
    kept = select(src=clean_run, out=tmp_path / "selected", model=FunctionBackend(too_long))
    codes = {v["code"] for r in rows(tmp_path / "selected", "accepted") for s in r["stages"] for v in s["verdicts"]}
    assert codes == {"select.request_rejected"} and kept is not None
