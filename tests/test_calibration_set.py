"""The judge calibration set (src/callforge/verify/judge/calibration.jsonl): shape, balance and sanity.

The labels are ours, written by hand; these tests check the file is well-formed, balanced and in
step with its generator (bench/make_calibration.py), not that the rules agree with every label.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Dialog
from callforge.verify import RuleStage

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "callforge" / "verify" / "judge" / "calibration.jsonl"
GENERATOR = ROOT / "bench" / "make_calibration.py"

DEFECT_KINDS = (
    "misread_value",
    "wrong_relative_date",
    "flipped_boolean_or_enum",
    "swapped_values",
    "invented_value",
    "missed_parallel_call",
    "missing_call",
    "wrong_tool",
    "extra_call",
    "useless_answer",
    "unfaithful_answer",
    "should_not_call",
    "should_call",
)
# Codes that say a dialog is malformed or breaks its tool's schema: a good dialog must never earn one.
SCHEMA_CODES = {
    "arg.type",
    "arg.enum",
    "arg.schema",
    "call.missing_required",
    "call.unexpected_param",
    "call.unknown_function",
}


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def dialogs(records: list[dict[str, Any]]) -> dict[str, Dialog]:
    return {r["id"]: Dialog.model_validate(r["dialog"]) for r in records}


def test_records_have_the_documented_fields(records: list[dict[str, Any]]) -> None:
    assert len(records) >= 200
    for r in records:
        assert set(r) == {"id", "label", "kind", "pair", "note", "dialog"}, r["id"]
        assert r["label"] in ("good", "defect"), r["id"]
        assert (r["kind"] == "good") == (r["label"] == "good"), r["id"]
        assert r["label"] == "good" or r["kind"] in DEFECT_KINDS, r["id"]
        assert r["id"] == f"{r['pair']}-{r['kind']}", r["id"]
        assert r["note"].strip() and "\n" not in r["note"], r["id"]


def test_ids_are_unique_and_sorted(records: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)


def test_every_dialog_validates(dialogs: dict[str, Dialog]) -> None:
    for rid, dialog in dialogs.items():
        assert 1 <= len(dialog.tools) <= 4, rid
        assert dialog.messages[-1].role == "assistant" and dialog.messages[-1].content, rid


def test_labels_are_balanced(records: list[dict[str, Any]]) -> None:
    labels = Counter(r["label"] for r in records)
    for label in ("good", "defect"):
        assert 0.45 <= labels[label] / len(records) <= 0.55, labels


def test_every_defect_kind_is_well_represented(records: list[dict[str, Any]]) -> None:
    kinds = Counter(r["kind"] for r in records if r["label"] == "defect")
    assert set(kinds) == set(DEFECT_KINDS)
    for kind in DEFECT_KINDS:
        assert kinds[kind] >= 8, (kind, kinds[kind])


def test_every_defect_has_a_good_twin(records: list[dict[str, Any]]) -> None:
    good_pairs = Counter(r["pair"] for r in records if r["label"] == "good")
    assert all(n == 1 for n in good_pairs.values())
    for r in records:
        if r["label"] == "defect":
            assert r["pair"] in good_pairs, r["id"]


def test_twins_share_tools_and_request(records: list[dict[str, Any]]) -> None:
    by_pair: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_pair.setdefault(r["pair"], []).append(r)
    for pair, twins in by_pair.items():
        first, *rest = twins
        for other in rest:
            assert other["dialog"]["tools"] == first["dialog"]["tools"], pair
            head = [m for m in first["dialog"]["messages"] if m["role"] in ("system", "user")]
            assert [m for m in other["dialog"]["messages"] if m["role"] in ("system", "user")] == head, pair


def test_calls_name_offered_tools_and_replies_answer_calls(dialogs: dict[str, Dialog]) -> None:
    for rid, dialog in dialogs.items():
        offered = {t.name for t in dialog.tools}
        call_ids: list[str] = []
        replied: list[str] = []
        for message in dialog.messages:
            for call in message.tool_calls:
                assert message.role == "assistant", rid
                assert call.name in offered, (rid, call.name)
                assert call.id, rid
                call_ids.append(call.id)
            if message.role == "tool":
                assert message.tool_call_id in call_ids, (rid, message.tool_call_id)
                json.loads(message.content or "")
                replied.append(message.tool_call_id)
        assert len(call_ids) == len(set(call_ids)), rid
        assert sorted(replied) == sorted(call_ids), rid


def test_regenerating_gives_the_shipped_file(records: list[dict[str, Any]]) -> None:
    spec = importlib.util.spec_from_file_location("make_calibration", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        rebuilt = json.loads(json.dumps(module.build_records()))
    finally:
        del sys.modules[spec.name]
    assert rebuilt == records


def test_good_dialogs_pass_the_schema_and_structure_rules(
    records: list[dict[str, Any]], dialogs: dict[str, Dialog]
) -> None:
    stage = RuleStage()
    rejected: dict[str, list[str]] = {}
    broken: dict[str, list[str]] = {}
    for r in records:
        if r["label"] != "good":
            continue
        verdicts = stage.run(dialogs[r["id"]])
        if verdicts:
            rejected[r["id"]] = [f"{v.code}: {v.message}" for v in verdicts]
        bad = [v.code for v in verdicts if v.code in SCHEMA_CODES or v.code.startswith("dialog.")]
        if bad:
            broken[r["id"]] = bad
    print(f"\n{len(rejected)} good dialogs rejected by the rules:")
    for rid, found in sorted(rejected.items()):
        for line in found:
            print(f"  {rid}: {line}")
    assert not broken
    # The target is at most 1% false rejects by the rules: 1 of 116 good dialogs. None is
    # rejected today (the last four were facts now known: capitals, demonyms, a Tokyo ticker as
    # unsure, words of a tool's description in its answer).
    assert len(rejected) <= 1, sorted(rejected)
