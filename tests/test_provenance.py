"""Typed provenance: the fields every package shares, old records read back, unknown keys kept, flat on disk."""

from __future__ import annotations

import orjson
import pytest

from callforge.core import Category, Dialog, MaskedCall, MaskReason, Provenance, Scenario, ToolCall


def test_records_of_earlier_versions_read_into_the_typed_fields() -> None:
    old = {
        "id": "g000003",
        "scenario": "simple",
        "injected_errors": ["call_1"],
        "wrong_calls": ["call_4", "call_5"],
        "bfcl_category": "live_simple",
        "plan": [{"name": "get_weather", "arguments": {"city": "Oslo"}}],
        "usage": {"roles": {"user": {"requests": 2, "prompt_tokens": 10}}, "phases": {"plan": 0.5}},
        "voice": {"persona": "a nurse", "style": "terse"},
        "dataset_row": 17,
    }
    meta = Dialog.model_validate({"meta": old}).meta
    assert meta.scenario is Scenario.SINGLE and meta.category is Category.LIVE_SIMPLE
    assert meta.masked_ids(MaskReason.INJECTED) == {"call_1"}
    assert meta.masked_ids(MaskReason.CORRECTED) == {"call_4", "call_5"}
    assert meta.plan == (ToolCall(name="get_weather", arguments={"city": "Oslo"}),)
    assert meta.usage is not None and meta.usage.roles["user"].requests == 2 and meta.usage.tokens == 10
    assert meta.voice is not None and meta.voice.style == "terse"
    assert meta.extra == {"dataset_row": 17}


def test_on_disk_the_record_is_one_flat_object_without_defaults_and_reads_back_equal() -> None:
    meta = Provenance(
        id="d1",
        scenario=Scenario.NO_CALL,
        plan=(),
        masked=(MaskedCall(id="bad", reason=MaskReason.INJECTED),),
        extra={"row": 3},
    )
    line = orjson.loads(Dialog(meta=meta).model_dump_json())["meta"]
    assert line == {
        "id": "d1",
        "scenario": "no_call",
        "plan": [],  # an empty plan says "call nothing" and is kept; empty defaults are not
        "masked": [{"id": "bad", "reason": "injected"}],
        "row": 3,
    }
    assert Dialog.model_validate({"meta": line}).meta == meta


def test_masked_calls_is_the_one_answer_for_every_reason() -> None:
    dialog = Dialog(
        meta=Provenance(
            masked=(MaskedCall(id="a", reason=MaskReason.INJECTED), MaskedCall(id="b", reason=MaskReason.CORRECTED))
        )
    )
    assert dialog.masked_calls() == {"a", "b"}
    assert dialog.masked_calls(MaskReason.INJECTED) == {"a"}


def test_scenario_synonyms_and_unknown_kinds() -> None:
    assert Scenario.parse("irrelevance") is Scenario.NO_CALL and Scenario.parse("dependent") is Scenario.NESTED
    assert Scenario.SINGLE.one_call and Scenario.PARALLEL_MULTIPLE.parallel and not Scenario.NESTED.one_call
    with pytest.raises(ValueError, match="the kinds are single, multiple"):
        Scenario.parse("bogus")
    meta = Provenance.model_validate({"scenario": "bogus"})  # a dataset's own label is kept, not lost
    assert meta.scenario is None and meta.extra == {"declared_scenario": "bogus"}
