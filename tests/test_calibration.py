"""`calibrate`: a cascade measured on the labelled set, per stage, resumable; the CLI and the shipped figures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from callforge.llm.scripted import FunctionBackend, Request
from callforge.verify import (
    Cascade,
    CaseOutcome,
    RuleStage,
    calibrate,
    calibration_cases,
    measured_figures,
    save_figures,
    stratified,
)
from callforge.verify.judge import LLMJudge
from tests.test_cli_generate import cli


def _verdicts(verdict: str) -> FunctionBackend:
    """A judge model that gives `verdict` to every question it is asked (the keys come from the schema)."""

    def answer(request: Request) -> str:
        schema = request.options.json_schema or {}
        keys = list(schema.get("properties", {}))
        return json.dumps({key: {"reason": f"said {verdict}", "verdict": verdict} for key in keys})

    return FunctionBackend(answer)


def test_the_sample_keeps_every_kind_with_its_good_twins() -> None:
    cases = calibration_cases()
    sample = stratified(cases, 1)
    kinds = {c.kind for c in cases if c.label == "defect"}
    assert {c.kind for c in sample if c.label == "defect"} == kinds
    pairs = {c.pair for c in sample}
    assert sum(c.label == "good" for c in sample) == len(pairs) == len(kinds)


def test_stage_figures_count_what_reached_each_stage_and_a_rerun_resumes() -> None:
    sample = stratified(calibration_cases(), 1)
    backend = _verdicts("fail")
    outcomes: list[CaseOutcome] = []
    cascade = Cascade([RuleStage(), LLMJudge(backend)])
    figures = asyncio.run(calibrate(cascade, sample, on_outcome=outcomes.append, model="function"))
    rules, judge = figures.stages["rules"], figures.stages["judge"]
    good = sum(c.label == "good" for c in sample)
    assert rules.good == figures.cascade.good == good and figures.cases == len(sample) == len(outcomes)
    assert judge.good == good - rules.good_rejected and judge.defects == rules.defects - rules.defects_rejected
    assert judge.good_rejected == judge.good and judge.recall == 1.0  # a judge that fails everything
    assert figures.cascade.recall == 1.0 and figures.cascade.false_reject_rate == 1.0
    assert sum(n for _, n in figures.kinds.values()) == rules.defects
    asked = len(backend.requests)
    assert asked == judge.good + judge.defects

    again = asyncio.run(calibrate(cascade, sample, done=outcomes, model="function"))
    assert len(backend.requests) == asked and again.cascade == figures.cascade  # nothing re-asked

    lenient = asyncio.run(calibrate(Cascade([RuleStage(), LLMJudge(_verdicts("pass"))]), sample))
    assert lenient.stages["judge"].defects_rejected == 0
    assert lenient.cascade.recall == rules.recall and lenient.cascade.precision == rules.precision


def test_figures_are_saved_by_model_and_unknown_models_have_none(tmp_path: Path) -> None:
    sample = stratified(calibration_cases(), 1)
    figures = asyncio.run(calibrate(Cascade([RuleStage()]), sample))
    table = tmp_path / "measured.json"
    save_figures(figures.model_copy(update={"model": "a"}), table)
    save_figures(figures.model_copy(update={"model": "b"}), table)
    assert sorted(json.loads(table.read_text())) == ["a", "b"]
    assert measured_figures("openai:never-measured") is None


@pytest.mark.parametrize("model", ["local:qwen2.5-coder-0.5b", "local:qwen2.5-coder-1.5b"])
def test_the_embedded_judges_ship_their_measured_figures(model: str) -> None:
    figures = measured_figures(model)
    assert figures is not None and figures.model == model
    judge = figures.stages["judge"]
    assert judge.good + judge.defects > 0 and figures.cascade.good == figures.stages["rules"].good


def test_cli_calibrate_prints_rates_resumes_and_saves(tmp_path: Path) -> None:
    out, saved = tmp_path / "rules.jsonl", tmp_path / "figures.json"
    args = ["calibrate", "--stages", "rules", "--per-kind", "1", "--out", str(out), "--save", str(saved)]
    first = cli(*args, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["model"] is None and report["cascade"]["defects"] == report["stages"]["rules"]["defects"] > 0
    lines = out.read_text().splitlines()
    table = cli(*args)
    assert table.returncode == 0, table.stderr
    assert "false rejects (good)" in table.stdout and "missed_parallel_call" in table.stdout
    assert out.read_text().splitlines() == lines  # resumed from the outcomes: nothing run twice
    assert "rules" in json.loads(saved.read_text())
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    refused = cli("calibrate", "--stages", "rules", "--cases", str(bad), "--out", str(tmp_path / "o.jsonl"))
    assert refused.returncode == 2 and "bad.jsonl, line 1: not a labelled case" in refused.stderr
    missing = cli("calibrate", "--stages", "rules", "--cases", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o.jsonl"))
    assert missing.returncode == 2 and "none.jsonl: no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_verify_says_how_far_its_judge_can_be_trusted(capsys: pytest.CaptureFixture[str]) -> None:
    from callforge.cli.verify import print_judge_figures

    print_judge_figures("openai:never-measured")
    untried = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "is not calibrated: `callforge calibrate --judge openai:never-measured`" in untried
    print_judge_figures("local:qwen2.5-coder-0.5b")
    shown = " ".join(capsys.readouterr().out.split())
    assert "labelled dialogs: rules + judge reject" in shown and "of good dialogs" in shown
