"""Verdict-for-verdict agreement with BFCL's own multi-turn checker on every multi-turn fixture record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from callforge.evaluate import MultiTurnEntry, check_multi_turn
from tests.conftest import needs_bfcl_eval, read_jsonl

pytestmark = needs_bfcl_eval


def test_multi_turn_checker_agrees_with_bfcl_on_every_record(
    bfcl_dir: Path, entries: dict[str, MultiTurnEntry]
) -> None:
    total = 0
    mismatches = []
    confusion: Counter[tuple[str, str]] = Counter()
    by_category: Counter[str] = Counter()
    for record in read_jsonl(bfcl_dir / "conformance" / "multi_turn.jsonl"):
        total += 1
        by_category[record["category"]] += 1
        verdict = check_multi_turn(entries[record["id"]], record["model_output"])
        got = (verdict.ok, verdict.evidence.get("bfcl_error_type"))
        expected = (record["valid"], record["error_type"])
        if got != expected:
            confusion[(_label(*expected), _label(*got))] += 1
            mismatches.append(
                f"{record['id']} [{record['mutation']}] expected {expected} got {got}: {verdict.message}"
            )
    summary = "\n".join(f"  BFCL {want} -> ours {have}: {n}" for (want, have), n in confusion.most_common())
    assert total == 4_800
    assert by_category == {
        "multi_turn_base": 1200,
        "multi_turn_miss_func": 1200,
        "multi_turn_miss_param": 1200,
        "multi_turn_long_context": 1200,
    }
    assert not mismatches, f"{len(mismatches)} of {total} disagree:\n{summary}\n" + "\n".join(mismatches[:30])


def _label(valid: bool, error_type: str | None) -> str:
    return "valid" if valid else error_type or "invalid, no error type"
