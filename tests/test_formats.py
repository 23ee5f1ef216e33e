"""Dataset readers: every format into Dialogs with ids, linked results and recorded read errors."""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, DataError, Dialog
from callforge.formats import FORMATS, detect_format, read_dialogs
from callforge.formats.bfcl import NO_CALL_TEXT, choose_arguments, choose_value
from callforge.formats.toolace import literal, parse_bracket_calls
from callforge.formats.xlam import tool_from_xlam, xlam_type
from tests.conftest import EXAMPLES

DATA = Path(__file__).parent / "data" / "formats"


def by_id(path: Path | str, format: str = "auto") -> dict[str, Dialog]:
    return {d.meta.id: d for d in read_dialogs(path, format)}


def error_codes(dialog: Dialog) -> list[str]:
    return [e.code for e in dialog.meta.read_errors]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- every fixture: ids, source and the read errors each record carries ---------------------------

FIXTURES = [
    (
        "openai.jsonl",
        "openai",
        {
            "oa-parallel": [],
            "openai:2": [],
            "openai:3": ["record.malformed"],
            "oa-bad-arguments": ["call.format"],
            "oa-bad-tool": ["tool.malformed"],
        },
    ),
    (
        "sharegpt.json",
        "sharegpt",
        {
            "sharegpt:0": [],
            "sg-single-list-result": [],
            "sg-count-mismatch": ["result.format"],
            "sg-bad-call": ["call.format"],
            "sg-messages": [],
            "sg-malformed": ["record.malformed"],
        },
    ),
    (
        "toolace.jsonl",
        "toolace",
        {
            "toolace:1": [],
            "ace-clarify": [],
            "ace-bad-call": ["call.format"],
            "ace-no-tools": ["tool.malformed"],
        },
    ),
    ("xlam.json", "xlam", {"7": [], "8": ["tool.malformed"], "9": ["record.malformed"]}),
    ("callforge.jsonl", "callforge", {"gen-001": [], "verified-7": [], "callforge:3": ["record.malformed"]}),
]


@pytest.mark.parametrize(("name", "format", "expected"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_fixture_ids_sources_and_read_errors(name: str, format: str, expected: dict[str, list[str]]) -> None:
    path = DATA / name
    assert detect_format(path) == format
    dialogs = list(read_dialogs(path))
    assert [d.meta.id for d in dialogs] == list(expected)  # file order, nothing dropped
    for dialog in dialogs:
        assert error_codes(dialog) == expected[dialog.meta.id], dialog.meta.read_errors
        for error in dialog.meta.read_errors:
            assert str(path) in error.message  # every message names the file and the place
    # an explicit --format reads the same as auto
    assert [d.meta.id for d in read_dialogs(path, format)] == list(expected)


@pytest.mark.parametrize(("name", "format", "expected"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_every_call_has_an_id_and_every_result_names_a_call(
    name: str, format: str, expected: dict[str, list[str]]
) -> None:
    for dialog in read_dialogs(DATA / name):
        call_ids = [c.id for m in dialog.messages for c in m.tool_calls]
        assert all(call_ids), dialog.meta.id
        assert len(set(call_ids)) == len(call_ids)
        for message in dialog.messages:
            if message.role == "tool":
                assert message.tool_call_id in call_ids
                assert isinstance(message.content, str)


def test_malformed_record_keeps_the_raw_record() -> None:
    dialogs = by_id(DATA / "openai.jsonl")
    broken = dialogs["openai:3"]
    assert broken.messages == ()
    assert broken.meta.source == "openai"
    assert broken.meta.raw == '{"messages": [oops'
    assert "openai.jsonl:3" in broken.meta.read_errors[0].message
    assert "not valid JSON" in broken.meta.read_errors[0].message
    assert by_id(DATA / "sharegpt.json")["sg-malformed"].meta.raw == {
        "id": "sg-malformed",
        "conversations": "not a list",
    }


# --- openai ----------------------------------------------------------------------------------------


def test_openai_keeps_ids_links_by_id_and_parses_arguments() -> None:
    dialog = by_id(DATA / "openai.jsonl")["oa-parallel"]
    assert [t.name for t in dialog.tools] == ["get_weather", "get_time"]
    assert [m.role for m in dialog.messages] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    calls = dialog.messages[2].tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_w", "get_weather", {"city": "Oslo"}),
        ("call_t", "get_time", {"city": "Oslo"}),
    ]
    assert [(m.tool_call_id, m.name, m.content) for m in dialog.messages[3:5]] == [
        ("call_t", "get_time", "09:15"),
        ("call_w", "get_weather", '{"temp_c": 4}'),
    ]
    assert dialog.messages[5].content == "It is 4 °C and 09:15 in Oslo."  # text parts joined
    assert "scenario" not in dialog.meta  # never inferred from the calls


def test_openai_without_ids_assigns_and_links_in_order() -> None:
    dialog = by_id(DATA / "openai.jsonl")["openai:2"]
    assert dialog.messages[1].tool_calls[0].id == "call_1"
    assert dialog.messages[2].tool_call_id == "call_1"
    assert dialog.messages[2].name == "get_time"


def test_openai_bad_arguments_keep_the_raw_text_and_no_calls() -> None:
    dialog = by_id(DATA / "openai.jsonl")["oa-bad-arguments"]
    message = dialog.messages[1]
    assert message.role == "assistant"
    assert message.tool_calls == ()
    assert message.content is not None and '{\\"city\\": \\"Rome\\"' in message.content
    [error] = dialog.meta.read_errors
    assert error.message_index == 1
    assert "arguments are not valid JSON" in error.message


# --- sharegpt --------------------------------------------------------------------------------------


def test_sharegpt_splits_parallel_observation() -> None:
    dialog = by_id(DATA / "sharegpt.json")["sharegpt:0"]
    assert dialog.messages[0].role == "system"
    assert dialog.tools[0].name == "get_weather"
    calls = dialog.messages[2].tool_calls
    assert [(c.id, c.arguments) for c in calls] == [
        ("call_1", {"city": "Paris"}),
        ("call_2", {"city": "Rome"}),
    ]
    results = dialog.messages[3:5]
    assert [(m.tool_call_id, json.loads(m.content or "")) for m in results] == [
        ("call_1", {"temp_c": 22}),
        ("call_2", {"temp_c": 25}),
    ]


def test_sharegpt_one_call_with_a_list_result_is_not_split() -> None:
    dialog = by_id(DATA / "sharegpt.json")["sg-single-list-result"]
    assert dialog.messages[1].content is None and dialog.messages[1].reasoning == "One call is enough."
    assert dialog.messages[1].tool_calls[0].arguments == {"city": "Paris"}
    tool_messages = [m for m in dialog.messages if m.role == "tool"]
    assert len(tool_messages) == 1
    assert json.loads(tool_messages[0].content or "") == [{"day": 1, "temp_c": 20}, {"day": 2, "temp_c": 21}]


def test_sharegpt_count_mismatch_keeps_one_message_on_the_first_call() -> None:
    dialog = by_id(DATA / "sharegpt.json")["sg-count-mismatch"]
    tool_messages = [m for m in dialog.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == ["call_1"]
    [error] = dialog.meta.read_errors
    assert error.message_index == 2
    assert "2 calls need 2 results, found 1 result;" in error.message


def test_sharegpt_role_content_spelling() -> None:
    dialog = by_id(DATA / "sharegpt.json")["sg-messages"]
    assert [m.role for m in dialog.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert dialog.messages[3].tool_call_id == dialog.messages[2].tool_calls[0].id == "call_1"


# --- toolace ---------------------------------------------------------------------------------------


def test_toolace_tools_from_the_system_prompt_and_bracket_calls() -> None:
    dialog = by_id(DATA / "toolace.jsonl")["toolace:1"]
    assert [(t.name, t.source, t.dialect) for t in dialog.tools] == [
        ("Market Trends API", "toolace", "bfcl"),
        ("convert_units", "toolace", "bfcl"),
    ]
    assert dialog.tools[1].properties["value"]["type"] == "number"  # BFCL "float"
    system = dialog.messages[0]
    assert system.role == "system" and system.content is not None
    assert system.content.endswith("put them in the format above.")  # kept whole
    calls = dialog.messages[2].tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_1", "Market Trends API", {"trend_type": "MARKET_INDEXES", "country": "us"}),
        ("call_2", "convert_units", {"value": 3.5, "units": ["mi", "km"]}),
    ]
    results = [(m.tool_call_id, m.name, m.content) for m in dialog.messages if m.role == "tool"]
    assert results == [
        ("call_1", "Market Trends API", '{"trends":[{"name":"S&P 500","change":"+0.4%"}]}'),
        ("call_2", "convert_units", "5.63"),
    ]
    assert dialog.messages[-1].content == "The S&P 500 is up 0.4%, and 3.5 miles are 5.63 km."


def test_toolace_prose_stays_prose_and_a_broken_call_is_recorded() -> None:
    dialogs = by_id(DATA / "toolace.jsonl")
    clarify = dialogs["ace-clarify"].messages[-1]
    assert clarify.tool_calls == () and clarify.content is not None and clarify.content.startswith("Which")
    bad = dialogs["ace-bad-call"]
    assert bad.messages[-1].content == '[Market Trends API(trend_type="MARKET_INDEXES", country=de)]'
    assert bad.meta.read_errors[0].message_index == 2
    assert "'de' is not a literal value" in bad.meta.read_errors[0].message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[Market Trends API(trend_type="MARKET_INDEXES", country="us")]',
            [("Market Trends API", {"trend_type": "MARKET_INDEXES", "country": "us"})],
        ),
        ("[f(x=[1, 2], y={'a': (1, 2)}), g()]", [("f", {"x": [1, 2], "y": {"a": [1, 2]}}), ("g", {})]),
        ("[s(q=\"a, b (c) [d]\", r='it\\'s')]", [("s", {"q": "a, b (c) [d]", "r": "it's"})]),
        ("[j(flag=true, none=null, neg=-2.5)]", [("j", {"flag": True, "none": None, "neg": -2.5})]),
        ("[ns.get_v2(key = 'k', )]", [("ns.get_v2", {"key": "k"})]),
        ("  [Weather Now 2(city='Oslo')]  ", [("Weather Now 2", {"city": "Oslo"})]),
    ],
)
def test_parse_bracket_calls(text: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert [(c.name, c.arguments) for c in parse_bracket_calls(text)] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("f(x=1)", "enclosed in [ ]"),
        ("[f(x=1]", "unclosed bracket"),
        ("[f(x='1)]", "unclosed string"),
        ("[f(1, 2)]", "positional"),
        ("[f(x=__import__('os'))]", "not a literal"),
        ("[f(x=1 + 2)]", "not a literal"),
        ("[]", "empty"),
        ("[f(x=1) g(y=2)]", "not one call (a comma missing"),
        ("[1f(x=1)]", "not a function name"),
        ("[f(2x=1)]", "not an argument name"),
    ],
)
def test_parse_bracket_calls_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_bracket_calls(text)


def test_literal_never_evaluates() -> None:
    assert literal("{'a': [1, (2, 3)], 'b': None}") == {"a": [1, [2, 3]], "b": None}
    for source in ("open('x')", "a.b", "[x for x in y]", "lambda: 1", "2**1000000"):
        with pytest.raises(ValueError):
            literal(source)


# --- xlam ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "schema", "optional"),
    [
        ("str", {"type": "string"}, False),
        ("int", {"type": "integer"}, False),
        ("float, optional", {"type": "number"}, True),
        ("bool, Optional", {"type": "boolean"}, True),
        ("List[int]", {"type": "array", "items": {"type": "integer"}}, False),
        ("List[Dict[str, Any]]", {"type": "array", "items": {"type": "object"}}, False),
        ("list", {"type": "array"}, False),
        ("Tuple[int, int]", {"type": "array", "items": {"type": "integer"}}, False),
        ("Tuple[int, str]", {"type": "array"}, False),
        ("Dict[str, Any]", {"type": "object"}, False),
        ("dict, optional", {"type": "object"}, True),
        ("Optional[str]", {"type": "string"}, True),
        ("Union[int, float]", {"anyOf": [{"type": "integer"}, {"type": "number"}]}, False),
        ("Union[str, None]", {"type": "string"}, True),
        ("Any", {}, False),
        ("Callable[[float], float]", {}, False),
        ("set", {"type": "array"}, False),
        ("typing.List[str]", {"type": "array", "items": {"type": "string"}}, False),
        ("List[int", {}, False),
        ("", {}, False),
    ],
)
def test_xlam_type(text: str, schema: dict[str, Any], optional: bool) -> None:
    assert xlam_type(text) == (schema, optional)


def test_xlam_tool_required_defaults_and_original() -> None:
    flat = {
        "name": "live_giveaways",
        "description": "Giveaways by type.",
        "parameters": {
            "type": {"description": "game, loot or beta", "type": "str", "default": "game"},
            "platform": {"description": "Platform.", "type": "str"},
            "limit": {"description": "How many.", "type": "int, optional"},
        },
    }
    tool = tool_from_xlam(flat)
    assert (tool.source, tool.dialect, tool.original) == ("xlam", "xlam", flat)
    assert tool.required == ["platform"]
    assert tool.properties["type"] == {
        "type": "string",
        "description": "game, loot or beta",
        "default": "game",
    }
    assert tool.properties["limit"]["type"] == "integer"


def test_xlam_tool_with_json_schema_parameters() -> None:
    tool = tool_from_xlam(
        {
            "name": "f",
            "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
        }
    )
    assert (tool.source, tool.required, tool.properties["x"]) == ("xlam", ["x"], {"type": "string"})


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ([], "must be an object"),
        ({"description": "x"}, '"name"'),
        ({"name": "f", "parameters": []}, "name -> spec"),
        ({"name": "f", "parameters": {"x": "str"}}, "parameter 'x'"),
    ],
)
def test_xlam_tool_errors(tool: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tool_from_xlam(tool)


def test_xlam_record_is_call_only() -> None:
    dialog = by_id(DATA / "xlam.json")["7"]
    assert [m.role for m in dialog.messages] == ["user", "assistant"]
    assert [(c.id, c.name) for c in dialog.messages[1].tool_calls] == [
        ("call_1", "reverse_string"),
        ("call_2", "is_palindrome"),
    ]
    assert dialog.tools[1].required == ["text"]  # ignore_case has a default


def test_xlam_example_sample_and_its_documented_defects() -> None:
    path = EXAMPLES / "verify" / "xlam-sample.jsonl"
    dialogs = list(read_dialogs(path))
    assert len(dialogs) == 40
    assert [d.meta.id for d in dialogs] == [str(i) for i in range(40)]
    assert {d.meta.id for d in dialogs if d.meta.read_errors} == {"29"}
    by = {d.meta.id: d for d in dialogs}
    calls = {i: by[i].messages[-1].tool_calls for i in by}
    assert calls["5"][0].name == "get_weather" and {t.name for t in by["5"].tools} == {"get_weather_forecast"}
    assert "author" in calls["9"][0].arguments and "author" not in by["9"].tools[0].properties
    assert "to_currency" not in calls["13"][0].arguments and "to_currency" in by["13"].tools[0].required
    assert calls["17"][0].arguments == {"n": "10"}
    assert calls["21"][0].arguments["symbol"] not in (by["21"].messages[0].content or "")
    assert calls["25"][0].arguments["cabin"] == "luxury"
    assert calls["29"] == ()
    assert calls["33"][0].arguments == calls["33"][1].arguments
    readme = (EXAMPLES / "verify" / "README.md").read_text(encoding="utf-8")
    for defect_id in ("5", "9", "13", "17", "21", "25", "29", "33"):
        assert f"| {defect_id} |" in readme


# --- callforge -------------------------------------------------------------------------------------


def test_callforge_reads_dialogs_and_verify_records() -> None:
    dialogs = by_id(DATA / "callforge.jsonl")
    plain = dialogs["gen-001"]
    assert plain.meta.model_dump(mode="json") == {"id": "gen-001", "scenario": "single", "seed": 7, "source": "callforge"}
    assert plain.messages[2].tool_call_id == "call_1"
    wrapped = dialogs["verified-7"]
    assert wrapped.meta.source == "xlam"  # the dialog's own provenance is kept
    assert wrapped.meta.scenario == "no_call"


def test_callforge_roundtrip_of_another_reader(tmp_path: Path) -> None:
    originals = list(read_dialogs(DATA / "toolace.jsonl"))
    out = write_jsonl(tmp_path / "dialogs.jsonl", [d.model_dump(mode="json") for d in originals])
    assert list(read_dialogs(out)) == originals


# --- detection, DataError and laziness -------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "format"),
    [
        ({"query": "q", "tools": "[]", "answers": "[]"}, "xlam"),
        ({"conversations": [{"from": "human", "value": "hi"}]}, "sharegpt"),
        ({"messages": [{"from": "human", "value": "hi"}]}, "sharegpt"),
        (
            {
                "system": "Here is a list of functions in JSON format that you can invoke:\n[]",
                "conversations": [],
            },
            "toolace",
        ),
        ({"messages": [{"role": "user", "content": "hi"}]}, "openai"),
        ({"messages": [], "tools": [], "meta": {}}, "callforge"),
        ({"id": "x", "ok": True, "dialog": {"messages": []}}, "callforge"),
    ],
)
def test_detect_format_from_the_first_record(tmp_path: Path, record: dict[str, Any], format: str) -> None:
    assert detect_format(write_jsonl(tmp_path / "data.jsonl", [record])) == format
    array = tmp_path / "data.json"
    array.write_text(json.dumps([record, record]), encoding="utf-8")
    assert detect_format(array) == format


def test_detect_format_large_json_array_reads_only_a_prefix(tmp_path: Path) -> None:
    record = {"query": "q" * 1000, "tools": "[]", "answers": "[]"}
    path = tmp_path / "big.json"
    path.write_text(
        json.dumps([record] * 3000) + "\n garbage that a full parse would reject", encoding="utf-8"
    )
    assert detect_format(path) == "xlam"


def test_detect_format_errors(tmp_path: Path) -> None:
    unknown = write_jsonl(tmp_path / "rows.jsonl", [{"text": "hello", "label": 1}])
    with pytest.raises(DataError, match=r"keys label, text.*pass `format` with one of: callforge, openai"):
        detect_format(unknown)
    with pytest.raises(DataError, match="file not found"):
        detect_format(tmp_path / "missing.jsonl")
    with pytest.raises(DataError, match="nor a BFCL data folder"):
        detect_format(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("just some text\n", encoding="utf-8")
    with pytest.raises(DataError, match="not JSON"):
        detect_format(text)


def test_wrong_format_raises_with_the_fix() -> None:
    with pytest.raises(
        DataError, match=r"cannot be read as xlam .*look like sharegpt: pass `format=.sharegpt.`"
    ):
        list(read_dialogs(DATA / "sharegpt.json", "xlam"))


def test_not_json_lines_raises_after_five_bad_records(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text("a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"the first 5 records cannot be read as openai"):
        list(read_dialogs(path, "openai"))


def test_a_bad_record_after_a_good_one_does_not_raise(tmp_path: Path) -> None:
    good = {"query": "q", "tools": "[]", "answers": "[]"}
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(good) + "\n" + "not json\n" * 10, encoding="utf-8")
    dialogs = list(read_dialogs(path))
    assert len(dialogs) == 11
    assert Counter(c for d in dialogs for c in error_codes(d)) == {"record.malformed": 10}


def test_invalid_json_array_raises(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('[{"query": "q", "answers": "[]"},', encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON"):
        list(read_dialogs(path, "xlam"))


def test_read_dialogs_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="auto or one of"):
        read_dialogs(DATA / "xlam.json", "csv")
    with pytest.raises(ConfigError, match="limit"):
        read_dialogs(DATA / "xlam.json", limit=-1)
    with pytest.raises(DataError, match="file not found"):
        read_dialogs(tmp_path / "nope.jsonl", "xlam")
    with pytest.raises(DataError, match="only the formats bfcl"):
        read_dialogs(tmp_path, "xlam")


def test_limit_and_streaming(tmp_path: Path) -> None:
    good = {"query": "q", "tools": "[]", "answers": "[]"}
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    dialogs = read_dialogs(path, limit=1)
    with path.open("a", encoding="utf-8") as fh:  # appended after the call: read lazily
        fh.write(json.dumps({**good, "id": "late"}) + "\n")
    assert [d.meta.id for d in dialogs] == ["data:1"]
    assert [d.meta.id for d in read_dialogs(path)] == ["data:1", "data:2", "late"]
    assert list(read_dialogs(path, limit=0)) == []


def test_formats_lists_every_reader() -> None:
    assert FORMATS[:6] == ("callforge", "openai", "xlam", "toolace", "bfcl", "sharegpt")  # the rest: test_formats_more


def test_xlam_60k_records_read_in_seconds(tmp_path: Path) -> None:
    tools = [
        {"name": f"tool_{i}", "description": "d", "parameters": {"x": {"type": "str", "description": "x"}}}
        for i in range(300)
    ]
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(60_000):
            row = {
                "id": i,
                "query": f"query {i}",
                "tools": json.dumps(tools[i % 300 : i % 300 + 3]),
                "answers": json.dumps([{"name": f"tool_{i % 300}", "arguments": {"x": str(i)}}]),
            }
            fh.write(json.dumps(row) + "\n")
    start = time.perf_counter()
    count = sum(1 for _ in read_dialogs(path))
    assert count == 60_000
    assert time.perf_counter() - start < 30  # measured ~3 s; the bound only catches a blow-up


# --- bfcl ------------------------------------------------------------------------------------------


def _bfcl_folder(root: Path) -> Path:
    """A tiny invented BFCL-layout folder: questions, possible answers, and a multi-turn file."""
    fn = {
        "name": "shop.find",
        "description": "Find products.",
        "parameters": {
            "type": "dict",
            "properties": {
                "query": {"type": "string", "description": "What to find."},
                "limit": {"type": "integer", "description": "How many.", "default": 10},
                "filters": {
                    "type": "dict",
                    "properties": {"color": {"type": "string"}, "size": {"type": "string"}},
                    "description": "Filters.",
                },
                "sort": {"type": "string", "description": "Order."},
            },
            "required": ["query"],
        },
    }
    question = [
        [{"role": "system", "content": "Shop assistant."}, {"role": "user", "content": "Red shoes, size 9"}]
    ]
    write_jsonl(
        root / "BFCL_v4_simple_python.json",
        [{"id": "simple_python_0", "question": question, "function": [fn]}],
    )
    write_jsonl(
        root / "BFCL_v4_parallel.json", [{"id": "parallel_0", "question": question, "function": [fn]}]
    )
    write_jsonl(
        root / "BFCL_v4_irrelevance.json", [{"id": "irrelevance_0", "question": question, "function": [fn]}]
    )
    write_jsonl(
        root / "BFCL_v4_live_relevance.json",
        [{"id": "live_relevance_0-0-0", "question": question, "function": [fn]}],
    )
    write_jsonl(root / "BFCL_v4_multi_turn_base.json", [{"id": "multi_turn_base_0", "question": [[]]}] * 3)
    answers = root / "possible_answer"
    answers.mkdir()
    truth = {
        "query": ["red shoes"],
        "limit": ["", 10],
        "filters": [{"color": ["red"], "size": ["", "9"]}],
        "sort": ["price", ""],
    }
    write_jsonl(
        answers / "BFCL_v4_simple_python.json",
        [{"id": "simple_python_0", "ground_truth": [{"shop.find": truth}]}],
    )
    write_jsonl(
        answers / "BFCL_v4_parallel.json",
        [
            {
                "id": "parallel_0",
                "ground_truth": [{"shop.find": {"query": ["a"]}}, {"shop.find": {"query": ["b"]}}],
            }
        ],
    )
    write_jsonl(answers / "BFCL_v4_multi_turn_base.json", [{"id": "multi_turn_base_0", "ground_truth": []}])
    return root


def test_bfcl_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = _bfcl_folder(tmp_path)
    assert detect_format(root) == "bfcl"
    with caplog.at_level(logging.WARNING, logger="callforge.formats.bfcl"):
        dialogs = by_id(root)
    assert "skipped 3 multi-turn entries (multi_turn_base)" in caplog.text
    assert list(dialogs) == ["simple_python_0", "parallel_0", "irrelevance_0", "live_relevance_0-0-0"]
    assert {i: d.meta.scenario for i, d in dialogs.items()} == {
        "simple_python_0": "single",
        "parallel_0": "parallel",
        "irrelevance_0": "no_call",
        "live_relevance_0-0-0": None,  # no reference answer, so no scenario to check it against
    }
    simple = dialogs["simple_python_0"]
    assert [m.role for m in simple.messages] == ["system", "user", "assistant"]
    [call] = simple.messages[-1].tool_calls
    # "" listed first: left out; a value listed first: kept; nested dict answers resolved the same way
    assert (call.id, call.name, call.arguments) == (
        "call_1",
        "shop.find",
        {"query": "red shoes", "filters": {"color": "red"}, "sort": "price"},
    )
    assert simple.meta.extra["possible_answers"][0]["shop.find"]["limit"] == ["", 10]
    assert simple.tools[0].dialect == "bfcl" and simple.tools[0].properties["filters"]["type"] == "object"
    assert [c.id for c in dialogs["parallel_0"].messages[-1].tool_calls] == ["call_1", "call_2"]
    refusal = dialogs["irrelevance_0"]
    assert refusal.messages[-1].content == NO_CALL_TEXT and refusal.meta.extra["synthetic_answer"] is True
    relevance = dialogs["live_relevance_0-0-0"]
    assert relevance.messages[-1].role == "user" and relevance.meta.extra["no_reference_answer"] is True


def test_bfcl_single_file_and_errors(tmp_path: Path) -> None:
    root = _bfcl_folder(tmp_path)
    assert list(by_id(root / "BFCL_v4_parallel.json")) == ["parallel_0"]
    with pytest.raises(DataError, match="multi-turn"):
        read_dialogs(root / "BFCL_v4_multi_turn_base.json")
    (root / "possible_answer" / "BFCL_v4_parallel.json").unlink()
    with pytest.raises(DataError, match="possible_answer"):
        list(read_dialogs(root / "BFCL_v4_parallel.json"))
    renamed = tmp_path / "questions.json"
    renamed.write_text((root / "BFCL_v4_simple_python.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert detect_format(renamed) == "bfcl"
    with pytest.raises(DataError, match="must keep its BFCL name"):
        read_dialogs(renamed)


@pytest.mark.parametrize(
    ("options", "required", "prefer_values", "expected"),
    [
        (["units", ""], False, False, (True, "units")),
        (["", "units"], False, False, (False, None)),
        (["", "units"], True, False, (True, "units")),
        (["", "units"], False, True, (True, "units")),
        ([""], True, False, (False, None)),
        ([0, ""], False, False, (True, 0)),
        ([False], False, False, (True, False)),
        ([[], ""], False, False, (True, [])),
        ([["a", "b"]], False, False, (True, ["a", "b"])),
    ],
)
def test_choose_value(
    options: list[Any], required: bool, prefer_values: bool, expected: tuple[bool, Any]
) -> None:
    assert choose_value(options, required=required, prefer_values=prefer_values) == expected


def test_choose_arguments_resolves_lists_of_dicts() -> None:
    from callforge.tools import tool_from_bfcl

    tool = tool_from_bfcl(
        {
            "name": "f",
            "parameters": {
                "type": "dict",
                "properties": {"rows": {"type": "array", "items": {"type": "dict", "properties": {}}}},
            },
        }
    )
    accepted = {"rows": [[{"a": [1], "b": ["", 2]}, {"a": [3, 4], "b": ["x"]}]]}
    assert choose_arguments(accepted, tool) == {"rows": [{"a": 1}, {"a": 3, "b": "x"}]}
    assert choose_arguments(accepted, tool, prefer_values=True) == {
        "rows": [{"a": 1, "b": 2}, {"a": 3, "b": "x"}]
    }


# --- the real BFCL data, when it is present ---------------------------------------------------------

BFCL_COUNTS = {
    "simple_python": 400,
    "simple_java": 100,
    "simple_javascript": 50,
    "multiple": 200,
    "parallel": 200,
    "parallel_multiple": 200,
    "irrelevance": 240,
    "live_simple": 258,
    "live_multiple": 1053,
    "live_parallel": 16,
    "live_parallel_multiple": 24,
    "live_irrelevance": 884,
    "live_relevance": 16,
}
# Entries whose ground truth contradicts its own function schema (a required parameter absent from
# every answer, or an answered parameter the schema does not have): BFCL's checker rejects them too.
BFCL_SELF_INCONSISTENT = {
    "parallel_multiple_26",
    "live_simple_106-63-0",
    "live_simple_112-68-0",
    "live_multiple_507-149-4",
    "live_multiple_862-181-3",
    "live_multiple_964-207-0",
}


@pytest.fixture(scope="module")
def bfcl_dialogs(bfcl_dir: Path) -> list[Dialog]:
    return list(read_dialogs(bfcl_dir / "data"))


def test_bfcl_real_data_counts(bfcl_dialogs: list[Dialog]) -> None:
    assert Counter(d.meta.category for d in bfcl_dialogs) == BFCL_COUNTS
    assert len({d.meta.id for d in bfcl_dialogs}) == len(bfcl_dialogs) == 3641
    assert Counter(d.meta.scenario for d in bfcl_dialogs) == {
        "single": 808,
        "multiple": 1253,
        "parallel": 216,
        "parallel_multiple": 224,
        "no_call": 1124,
        None: 16,
    }
    assert not [d for d in bfcl_dialogs if d.meta.read_errors]


def test_bfcl_reference_calls_pass_bfcls_own_checker(bfcl_dir: Path, bfcl_dialogs: list[Dialog]) -> None:
    from callforge.evaluate import make_scorer
    from callforge.formats import load_bfcl_suite

    cases = {c.id: c for c in load_bfcl_suite(bfcl_dir / "data")}
    scorer = make_scorer("bfcl", "fc")
    failing = set()
    checked = 0
    for dialog in bfcl_dialogs:
        case = cases[dialog.meta.id]
        if "java" in case.category or dialog.meta.extra.get("no_reference_answer"):
            continue  # BFCL's FC path wants Java/JavaScript values as source text
        last = dialog.messages[-1]
        output = [{c.name.replace(".", "_"): json.dumps(c.arguments)} for c in last.tool_calls] or ""
        checked += 1
        if not scorer.score(case, output).ok:
            failing.add(case.id)
    assert checked == 3641 - 150 - 16
    assert failing == BFCL_SELF_INCONSISTENT


def test_openai_tools_as_a_json_string(tmp_path: Path) -> None:
    tool = {
        "type": "function",
        "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}},
    }
    rows = [
        {"tools": json.dumps([tool]), "messages": [{"role": "user", "content": "ping"}]},
        {"tools": "[{", "messages": [{"role": "user", "content": "ping"}]},
    ]
    first, second = read_dialogs(write_jsonl(tmp_path / "rows.jsonl", rows), "openai")
    assert [t.name for t in first.tools] == ["ping"] and "read_errors" not in first.meta
    assert second.tools == () and error_codes(second) == ["tool.malformed"]
