"""The hack suite: no adversarial completion earns more than a plain wrong answer; false negatives earn full reward."""

from __future__ import annotations

from pathlib import Path

import pytest

from callforge.reward import CASES, SuiteReport, run_suite
from tests.conftest import REPO, run_cli

COMPONENTS = ("format", "exact", "exact_bfcl", "execution", "end_state", "mix", "mix_bfcl")


@pytest.fixture(scope="module")
def report() -> SuiteReport:
    return run_suite()


def test_the_suite_covers_every_pattern_of_the_issue() -> None:
    names = {c.name for c in CASES}
    for wanted in (
        "empty", "whitespace", "claims success", "repeated call", "extra call", "every optional arg",
        "JSON inside prose", "right + wrong", "look-alike name (Cyrillic a)", "huge padding", "huge repeat",
    ):
        assert wanted in names
    rows = {c.row for c in CASES}
    for row in rows:
        kinds = [c.kind for c in CASES if c.row == row]
        assert kinds.count("baseline") == 1 and kinds.count("right") == 1 and "hack" in kinds


def test_no_hack_earns_more_than_a_wrong_answer_from_any_component_or_mix(report: SuiteReport) -> None:
    bars = {o.case.row: o.scores for o in report.outcomes if o.case.kind == "baseline"}
    hacks = [o for o in report.outcomes if o.case.kind == "hack"]
    assert len(hacks) >= 30
    for o in hacks:
        bar = bars[o.case.row]
        for component in COMPONENTS:
            score, limit = o.scores[component], bar[component]
            assert (score is None) == (limit is None), (o.case.name, component)  # the row decides what applies
            if score is not None and limit is not None:
                assert score <= limit, f"{o.case.row}/{o.case.name}: {component} {score} > wrong answer's {limit}"
        assert o.holds, o.why


def test_the_wrong_answer_itself_is_well_formed_and_wrong(report: SuiteReport) -> None:
    for o in report.outcomes:
        if o.case.kind == "baseline":
            assert o.scores["format"] == 1.0
            assert o.scores["exact"] == o.scores["exact_bfcl"] == 0.0
            mix = o.scores["mix"]
            assert mix is not None and 0.0 < mix < 0.2


def test_the_right_answer_earns_everything(report: SuiteReport) -> None:
    for o in report.outcomes:
        if o.case.kind == "right":
            assert all(o.scores[c] in (1.0, None) for c in COMPONENTS), o.scores
            assert o.codes["mix"] == "mix.full"


def test_rule_based_false_negatives_earn_full_reward_in_semantic_mode(report: SuiteReport) -> None:
    negatives = [o for o in report.outcomes if o.case.kind == "false_negative"]
    assert len(negatives) >= 3
    for o in negatives:
        assert o.scores["exact"] == 1.0 and o.scores["mix"] == 1.0, o.case.name
        assert o.scores["exact_bfcl"] == 0.0, f"{o.case.name} is not a false negative of BFCL's rules"
        assert o.scores["execution"] == 1.0 and o.scores["end_state"] == 1.0


def test_the_table_in_the_docs_is_the_suites(report: SuiteReport) -> None:
    docs = (REPO / "docs" / "reward.md").read_text(encoding="utf-8")
    assert report.markdown() in docs, "regenerate with `callforge reward suite` and paste the table into docs/reward.md"


def test_cli_suite_prints_the_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], report: SuiteReport) -> None:
    code, out, _ = _cli(monkeypatch, capsys, "reward", "suite")
    assert code == 0
    assert report.markdown() in out and f"{len(report.outcomes)} of {len(report.outcomes)} cases hold" in out


_cli = run_cli


def test_cli_score_scores_a_file_of_completions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from callforge.reward.suite import ROWS

    data = tmp_path / "data.jsonl"
    row = {"id": "w", **ROWS["weather"]}
    steps = {  # a `steps` export row: the reference is its `completion`
        "id": "s",
        "prompt": [{"role": "user", "content": "Weather in Oslo?"}],
        "completion": [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}],
        "tools": ROWS["weather"]["tools"],
    }
    data.write_text(json.dumps(row) + "\n" + json.dumps(steps) + "\n")
    completions = tmp_path / "completions.jsonl"
    lines = [
        {"id": "w", "completions": ['<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>', "Nope."]},
        {"id": "s", "completion": [{"role": "assistant", "content": "[get_weather(city='Oslo')]"}]},
    ]
    completions.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "results.jsonl"
    code, text, err = _cli(monkeypatch, capsys, "reward", "score", str(data), str(completions), "--json", "--out", str(out))
    assert code == 0, err
    report = json.loads(text)
    summary = {c["component"]: c for c in report["components"]}
    assert summary["exact"]["full"] == 2 and summary["exact"]["scored"] == 3
    assert summary["execution"]["scored"] == 0 and summary["mix"]["codes"] == {"mix.full": 2, "format.no_call": 1}
    traced = [json.loads(line) for line in out.read_text().splitlines()]
    assert [t["id"] for t in traced] == ["w", "w", "s"] and traced[1]["code"] == "format.no_call"
    assert [p["component"] for p in traced[0]["parts"]] == ["format", "exact", "execution", "end_state"]

    code, text, err = _cli(monkeypatch, capsys, "reward", "score", str(data), str(completions), "--mix", "format=1,exact=3")
    assert code == 0 and "exact" in text and "format.no_call" in text

    completions.write_text(json.dumps({"id": "missing", "completion": "x"}) + "\n" + json.dumps(lines[1]) + "\n")
    code, _, err = _cli(monkeypatch, capsys, "reward", "score", str(data), str(completions))
    assert code == 3 and "name no dataset row" in err
    code, _, err = _cli(monkeypatch, capsys, "reward", "score", str(data), str(completions), "--mix", "judge=1")
    assert code == 2 and "judge" in err
