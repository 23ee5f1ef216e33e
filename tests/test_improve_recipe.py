"""docs/recipes/improve_loop.sh runs two rounds at toy scale: fake:world dialogs, a tiny random model, 2 SFT steps.

Each round selects what the current model (round 1 the base, round 2 the base with round 1's
adapter) gets wrong in the pool, generates focused dialogs from that selection, trains from the base
and ends with the held-out evaluation; the held-out export stands in for BFCL's data so the
public-categories step runs too. 70-110 s on a 2-core machine (selection and the hf: evals of a
random model dominate).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

from tests.test_recipe import _tiny_model

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "recipes" / "improve_loop.sh"
TOOLS = ROOT / "examples" / "tools" / "travel.py"
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def test_improve_loop_runs_two_rounds_at_toy_scale(tmp_path: Path) -> None:
    model = _tiny_model(tmp_path / "tiny")
    out = tmp_path / "loop"
    env = {
        **os.environ,
        "CALLFORGE": f"{sys.executable} -m callforge",
        "PYTHON": sys.executable,
        "MODEL": str(model),
        "GEN_MODEL": "fake:world",
        "TOOLS": str(TOOLS),
        "OUT": str(out),
        "ROUNDS": "2",
        "POOL_N": "4",
        "HELDOUT_N": "4",
        "N": "4",
        "STEPS": "2",
        "BATCH": "2",
        "MAX_LENGTH": "8192",
        "EVAL_LIMIT": "1",
        "BFCL_DATA": str(out / "heldout"),  # the held-out export, read as BFCL data: exercises the BFCL step cheaply
        "BFCL_CATEGORIES": "simple_python,irrelevance",
        "EVAL_ARGS": "--max-tokens 8",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for stage in ("generate", "round 1/2, select", "round 2, focused generate", "round 2, SFT", "round 2, BFCL", "report"):
        assert f"== {stage}" in done.stdout, stage

    # The table: two rounds, every cell a number (held-out accuracies, gains, losses, counts).
    table = [line for line in (out / "rounds.md").read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    header, rows = table[0], table[2:]
    assert "gain" in header and [row.split("|")[1].strip() for row in rows] == ["1", "2"]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == len(header.strip("|").split("|")), row
        assert all(NUMBER.search(cell) for cell in cells), row
        assert "-" not in cells, row
    assert "\n".join(table) in done.stdout  # printed at the end too

    rounds = json.loads((out / "rounds.json").read_text(encoding="utf-8"))
    assert [row["round"] for row in rounds] == [1, 2]
    assert rounds[0]["target"] == f"hf:{model}"
    assert rounds[1]["target"] == f"hf:{model}@{out / 'r1' / 'adapter'}"
    for row in rounds:
        assert row["select"]["kept"] >= 1 and row["select"]["steps"] >= 1
        assert row["focus"]["accepted"] == 4 and row["train"]["steps"] == 2
        assert set(row["heldout"]["gain"]) == {"bfcl", "semantic"} and set(row["bfcl"]["gain"]) == {"bfcl", "semantic"}

    for r in (1, 2):
        report = json.loads((out / f"r{r}" / "adapter" / "train_report.json").read_text(encoding="utf-8"))
        assert report["method"] == "sft" and report["steps"] == 2 and report["model"] == str(model)
        evaluation = report["evaluation"]
        assert evaluation["data"] == str(out / "heldout")
        assert set(evaluation["adapter"]["accuracy"]) == {"bfcl", "semantic"}
        assert (evaluation["base"] is not None) == (r == 1)  # EVAL_BASE=first: the base is evaluated once
        assert (out / f"r{r}" / "eval-bfcl" / "scores" / "semantic" / "scores.json").is_file()

    # Round 2's focused run was steered by round 2's selection (the adapted model's failures).
    manifest = json.loads((out / "r2" / "focus" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["focus"] == str(out / "r2" / "select")
    assert manifest["steering"]["focus"]["model"] == rounds[1]["target"]
    select = json.loads((out / "r2" / "select" / "manifest.json").read_text(encoding="utf-8"))
    assert select["config"]["model"] == rounds[1]["target"] and select["config"]["src"] == str(out / "pool")

    # Round 2 trains on round 1's data too (ACCUMULATE=1), each record once.
    first = (out / "r1" / "train" / "data.jsonl").read_text(encoding="utf-8").splitlines()
    second = (out / "r2" / "train" / "data.jsonl").read_text(encoding="utf-8").splitlines()
    assert set(first) <= set(second) and len(second) == len(set(second))
    assert report["examples"] + sum(report["dropped"].values()) == len(second) == rounds[1]["train"]["records"]

    for page in ("report.html", "data.html", "bfcl.html"):
        assert (out / page).stat().st_size > 1000
