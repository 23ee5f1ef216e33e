"""Verdict-for-verdict agreement with BFCL's own checker on every single-turn fixture record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from callforge.core import Case
from callforge.evaluate import make_scorer
from callforge.formats import load_bfcl_suite
from tests.conftest import read_jsonl


@pytest.fixture(scope="module")
def cases(bfcl_dir: Path) -> dict[str, Case]:
    return {c.id: c for c in load_bfcl_suite(bfcl_dir / "data")}


def test_bfcl_mode_agrees_with_bfcl_on_every_single_turn_record(
    bfcl_dir: Path, cases: dict[str, Case]
) -> None:
    scorers = {style: make_scorer("bfcl", style) for style in ("prompting", "fc")}
    total = 0
    mismatches = []
    by_category: Counter[str] = Counter()
    for record in read_jsonl(bfcl_dir / "conformance" / "single_turn.jsonl"):
        total += 1
        by_category[record["category"]] += 1
        verdict = scorers[record["style"]].score(cases[record["id"]], record["model_output"])
        got = (verdict.ok, verdict.evidence.get("bfcl_error_type"))
        if got != (record["valid"], record["error_type"]):
            mismatches.append(
                f"{record['id']} [{record['style']}/{record['mutation']}] expected "
                f"{(record['valid'], record['error_type'])} got {got}: {verdict.message}"
            )
    assert total == 35_634
    assert len(by_category) == 13
    assert not mismatches, f"{len(mismatches)} of {total} disagree:\n" + "\n".join(mismatches[:50])
