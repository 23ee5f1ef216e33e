"""score() and `callforge eval` end to end on the shipped demo suite, plus the score arithmetic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from callforge.core import Category, DataError
from callforge.evaluate import CategoryScore, score
from callforge.evaluate.scores import group_scores
from tests.conftest import EXAMPLES

MINI = EXAMPLES / "bfcl-mini"
DATA = MINI / "data"


def test_prompting_demo_scores_and_files(tmp_path: Path) -> None:
    report = score(data=DATA, results=MINI / "results" / "prompting", style="prompting", out=tmp_path)
    got = {c.value: (s.correct, s.total) for c, s in report.categories.items()}
    assert got == {
        "simple_python": (2, 4),
        "multiple": (1, 2),
        "parallel": (1, 2),
        "parallel_multiple": (1, 1),
        "irrelevance": (1, 2),
    }
    simple = report.categories[Category.SIMPLE_PYTHON]
    assert simple.errors == {"type_error:nested": 1, "type_error:simple": 1}  # [2.5, 3.5, 6]: int in array<float>
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["categories"]["parallel"]["accuracy"] == 0.5
    assert scores["groups"]["non_live"]["complete"] is False
    assert "simple_java" in scores["groups"]["non_live"]["missing"]
    failures = [
        json.loads(line) for line in (tmp_path / "failures" / "simple_python.jsonl").read_text().splitlines()
    ]
    assert {f["id"] for f in failures} == {"simple_python_2", "simple_python_3"}
    by_id = {f["id"]: f for f in failures}
    assert by_id["simple_python_2"]["error_type"] == "type_error:simple"
    assert by_id["simple_python_2"]["code"] == "arg.type"
    assert by_id["simple_python_2"]["expected"][0]["book_table"]["people"] == [4]
    assert by_id["simple_python_3"]["decoded"] == [{"stats.mean": {"values": [2.5, 3.5, 6]}}]


def test_fc_demo_and_semantic_mode_differ_where_documented(tmp_path: Path) -> None:
    bfcl = score(data=DATA, results=MINI / "results" / "fc", style="fc")
    semantic = score(data=DATA, results=MINI / "results" / "fc", style="fc", mode="semantic")
    assert bfcl.categories[Category.SIMPLE_PYTHON].correct == 3
    assert bfcl.categories[Category.IRRELEVANCE].correct == 2
    # int for a float inside BFCL is fine at the top level; both modes agree on these outputs
    assert semantic.categories[Category.PARALLEL].correct == 2


def test_category_selection_and_unknown_ids(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    rows = [
        {"id": "simple_python_0", "result": "[weather.forecast(city='Lisbon', days=3)]"},
        {"id": "multiple_0", "result": "[]"},
        {"id": "simple_python_99", "result": "[]"},
        {"id": "nonsense", "result": ""},
    ]
    results.write_text("\n".join(json.dumps(r) for r in rows))
    report = score(data=DATA, results=results, categories=["simple_python"])
    assert list(report.categories) == [Category.SIMPLE_PYTHON]
    assert report.categories[Category.SIMPLE_PYTHON].correct == 1
    assert report.categories[Category.SIMPLE_PYTHON].size == 4
    assert sorted(report.unknown_ids) == ["nonsense", "simple_python_99"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"id": "simple_python_0", "result": "x"}', '{"id": "simple_python_0", "result": "y"}'],
            "already read at",
        ),
        (["{not json"], ":1: not valid JSON"),
        (['{"id": "simple_python_0"}'], 'expected an object with "id" and "result"'),
    ],
)
def test_bad_result_files_name_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    results = tmp_path / "bad.jsonl"
    results.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=message) as info:
        score(data=DATA, results=results)
    assert str(results) in str(info.value)


def test_duplicate_ids_can_be_allowed(tmp_path: Path) -> None:
    results = tmp_path / "samples.jsonl"
    results.write_text(
        '{"id": "simple_python_0", "result": "[weather.forecast(city=\'Lisbon\', days=3)]"}\n'
        '{"id": "simple_python_0", "result": "[weather.forecast(city=\'Lisbon\')]"}\n'
    )
    report = score(data=DATA, results=results, allow_duplicate_ids=True)
    simple = report.categories[Category.SIMPLE_PYTHON]
    assert (simple.correct, simple.total) == (1, 2)


def test_missing_data_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist; pass `data`"):
        score(data=tmp_path / "nope", results=MINI / "results" / "prompting")


def test_group_scores_follow_bfcl_weighting() -> None:
    c = Category
    scores = {
        c.SIMPLE_PYTHON: CategoryScore(c.SIMPLE_PYTHON, 80, 100, 100),
        c.SIMPLE_JAVA: CategoryScore(c.SIMPLE_JAVA, 50, 100, 100),
        c.SIMPLE_JAVASCRIPT: CategoryScore(c.SIMPLE_JAVASCRIPT, 20, 50, 50),
        c.MULTIPLE: CategoryScore(c.MULTIPLE, 100, 200, 200),
        c.PARALLEL: CategoryScore(c.PARALLEL, 200, 200, 200),
        c.PARALLEL_MULTIPLE: CategoryScore(c.PARALLEL_MULTIPLE, 0, 200, 200),
        c.LIVE_SIMPLE: CategoryScore(c.LIVE_SIMPLE, 100, 100, 100),
        c.LIVE_MULTIPLE: CategoryScore(c.LIVE_MULTIPLE, 0, 300, 300),
        c.IRRELEVANCE: CategoryScore(c.IRRELEVANCE, 240, 240, 240),
    }
    sizes = {c.LIVE_PARALLEL: 16, c.LIVE_PARALLEL_MULTIPLE: 24, c.LIVE_IRRELEVANCE: 884}
    groups = group_scores(scores, sizes)
    simple = (0.8 + 0.5 + 0.4) / 3
    assert groups["non_live"].accuracy == pytest.approx((simple + 0.5 + 1.0 + 0.0) / 4)
    assert groups["non_live"].complete
    # live: weighted by count; the missing live_parallel* count as 0 with their dataset sizes
    assert groups["live"].accuracy == pytest.approx(100 / (100 + 300 + 16 + 24))
    assert groups["live"].missing == ("live_parallel", "live_parallel_multiple")
    assert groups["hallucination"].accuracy == pytest.approx(0.5)
    expected_overall = 0.1 * groups["non_live"].accuracy + 0.1 * groups["live"].accuracy + 0.1 * 0.5
    assert groups["overall"].accuracy == pytest.approx(expected_overall)
    assert not groups["overall"].complete



def test_overall_uses_bfcls_real_weights_once_every_group_is_present() -> None:
    # Every category callforge runs, each at a known accuracy: the overall is complete, and agentic
    # (not run) counts 0 with its 40% weight, as BFCL counts a group without results.
    scores = {c: CategoryScore(c, 1, 2, 2) for c in Category if c is not Category.LIVE_RELEVANCE}
    scores[Category.MULTI_TURN_BASE] = CategoryScore(Category.MULTI_TURN_BASE, 2, 2, 2)
    groups = group_scores(scores, {})
    assert "agentic" not in groups
    multi_turn = (1.0 + 0.5 + 0.5 + 0.5) / 4
    assert groups["multi_turn"].accuracy == pytest.approx(multi_turn) and groups["multi_turn"].complete
    overall = 0.1 * 0.5 + 0.1 * 0.5 + 0.1 * 0.5 + 0.3 * multi_turn
    assert groups["overall"].accuracy == pytest.approx(overall)
    assert groups["overall"].complete
    assert groups["overall_without_agentic"].accuracy == pytest.approx(overall / 0.6)

def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callforge", *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_cli_eval_prints_tables_and_writes_scores(tmp_path: Path) -> None:
    done = run_cli(
        "eval",
        "--data",
        str(DATA),
        "--results",
        str(MINI / "results" / "fc"),
        "--style",
        "fc",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    assert "simple_python" in done.stdout
    assert "75.00%" in done.stdout
    assert "overall" in done.stdout
    assert json.loads((tmp_path / "scores.json").read_text())["style"] == "fc"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--style", "json"], "--style: Input should be 'prompting' or 'fc'"),
        (["--categories", "simple_pyton"], "unknown BFCL category 'simple_pyton'"),
        (["--categories", "multi_turn_base"], "multi-turn"),
    ],
)
def test_cli_eval_errors_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_cli(
        "eval",
        "--data",
        str(DATA),
        "--results",
        str(MINI / "results" / "fc"),
        "--quiet",
        "--out",
        str(tmp_path),
        *args,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_tools_show(tmp_path: Path) -> None:
    done = run_cli("tools", "show", str(DATA / "BFCL_v4_multiple.json"), "--json")
    assert done.returncode == 0, done.stderr
    tools = json.loads(done.stdout)
    assert [t["function"]["name"] for t in tools] == ["currency_convert", "weather.forecast", "book_table"]
    assert tools[0]["function"]["parameters"]["properties"]["amount"]["type"] == "number"
    bad = tmp_path / "bad.json"
    bad.write_text(
        '[{"name": "x", "parameters": {"type": "object", "properties": {"a": {"type": "strin"}}}}]'
    )
    done = run_cli("tools", "show", str(bad))
    assert done.returncode == 2
    assert "tool 'x'" in done.stderr and "$[0].parameters.properties.a.type" in done.stderr
