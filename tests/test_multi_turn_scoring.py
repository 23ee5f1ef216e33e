"""`score()` and `callforge eval --results` on saved multi-turn result files, as BFCL writes them."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Category
from callforge.evaluate import score
from tests.conftest import EXAMPLES, read_jsonl

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None,
    reason="BFCL's simulators are not installed: pip install --no-deps bfcl-eval==2026.3.23 mpmath",
)

CATEGORIES = ("multi_turn_base", "multi_turn_miss_func")


@pytest.fixture(scope="module")
def results(bfcl_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One fixture record per entry (each entry a different mutation in turn), written as BFCL result files."""
    folder = tmp_path_factory.mktemp("results")
    by_id: dict[str, list[dict[str, Any]]] = {}
    for record in read_jsonl(bfcl_dir / "conformance" / "multi_turn.jsonl"):
        if record["category"] in CATEGORIES:
            by_id.setdefault(record["id"], []).append(record)
    chosen = {entry_id: records[n % len(records)] for n, (entry_id, records) in enumerate(by_id.items())}
    for category in CATEGORIES:
        with (folder / f"BFCL_v4_{category}_result.json").open("w", encoding="utf-8") as fh:
            for record in chosen.values():
                if record["category"] == category:
                    fh.write(json.dumps({"id": record["id"], "result": record["model_output"]}) + "\n")
    return folder, chosen


def test_score_judges_multi_turn_results_as_bfcl(
    bfcl_dir: Path, results: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, chosen = results
    report = score(results=folder, data=bfcl_dir / "data", style="fc", out=tmp_path)
    for category in CATEGORIES:
        records = [r for r in chosen.values() if r["category"] == category]
        got = report.categories[Category(category)]
        assert (got.correct, got.total, got.size) == (sum(r["valid"] for r in records), 200, 200)
        assert got.errors == Counter(r["error_type"] for r in records if not r["valid"])
    verdicts = {j.case.id: (j.verdict.ok, j.verdict.evidence.get("bfcl_error_type")) for j in report.judged}
    assert verdicts == {i: (r["valid"], r["error_type"]) for i, r in chosen.items()}
    failures = [
        json.loads(line)
        for line in (tmp_path / "failures" / "multi_turn_base.jsonl").read_text().splitlines()
    ]
    assert failures and all(f["error_type"].startswith("multi_turn:") for f in failures)
    assert report.groups["multi_turn"].missing  # two of the four multi-turn categories


def test_multi_turn_and_single_turn_results_score_together(
    bfcl_dir: Path, results: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, _ = results
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "BFCL_v4_multi_turn_base_result.json").write_bytes(
        (folder / "BFCL_v4_multi_turn_base_result.json").read_bytes()
    )
    (mixed / "BFCL_v4_simple_python_result.json").write_text(
        json.dumps(
            {"id": "simple_python_0", "result": [{"calculate_triangle_area": '{"base": 10, "height": 5}'}]}
        )
        + "\n"
    )
    report = score(results=mixed, data=bfcl_dir / "data", style="fc")
    assert set(report.categories) == {Category.MULTI_TURN_BASE, Category.SIMPLE_PYTHON}
    assert report.categories[Category.SIMPLE_PYTHON].correct == 1
    assert report.categories[Category.MULTI_TURN_BASE].total == 200


def test_cli_eval_scores_multi_turn_results(
    bfcl_dir: Path, results: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, chosen = results
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "callforge",
            "eval",
            "--data",
            str(bfcl_dir / "data"),
            "--results",
            str(folder),
            "--style",
            "fc",
            "--out",
            str(tmp_path),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "multi_turn_base" in done.stdout
    scores = json.loads((tmp_path / "scores.json").read_text())
    base = [r for r in chosen.values() if r["category"] == "multi_turn_base"]
    assert scores["categories"]["multi_turn_base"]["correct"] == sum(r["valid"] for r in base)


def test_missing_multi_turn_data_is_one_clear_line(tmp_path: Path) -> None:
    mini = EXAMPLES / "bfcl-mini"
    report_dir = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "callforge",
            "eval",
            "--data",
            str(mini / "data"),
            "--results",
            str(mini / "results" / "fc"),
            "--categories",
            "multi_turn_base",
            "--quiet",
            "--out",
            str(report_dir),
        ],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2
    assert "no question file for multi-turn category 'multi_turn_base'" in done.stderr
    assert "Traceback" not in done.stderr
