from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import callforge.llm.parse as parse_module
from callforge.core import ToolSpec
from callforge.llm.parse import MAX_TEXT_CHARS, ParsedText, parse_tool_calls

WEATHER = ToolSpec(
    name="get_weather",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
)
HYPOT = ToolSpec(
    name="math.hypot",
    parameters={"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}},
)
TOOLS = [WEATHER, HYPOT]

Call = tuple[str, dict[str, Any]]
P = "<|python_tag|>"


def _row(
    id: str, text: str, calls: list[Call], code: str, fmt: str | None, leftover: str, tools: bool = False
) -> Any:
    return pytest.param(text, calls, code, fmt, leftover, tools, id=id)


PARIS: Call = ("get_weather", {"city": "Paris"})
ROME: Call = ("get_weather", {"city": "Rome", "unit": "celsius"})

# (text, expected calls, verdict code, evidence["format"], leftover text, pass TOOLS)
# fmt: off
CASES = [
    # ---- plain text: no call attempt at all
    _row("prose", "The capital of France is Paris.", [], "ok", "none", "The capital of France is Paris."),
    _row("prose-parens-brackets", "It rains (a lot) in [some] cities.", [], "ok", "none",
         "It rains (a lot) in [some] cities."),
    _row("empty", "", [], "ok", "none", ""),
    _row("whitespace", "  \n\t ", [], "ok", "none", ""),
    _row("json-answer-not-a-call", '{"temperature": 21, "unit": "C"}', [], "ok", "none",
         '{"temperature": 21, "unit": "C"}'),
    _row("json-answer-with-name-key", 'Here: {"name": "Paris", "population": 2100000}', [], "ok", "none",
         'Here: {"name": "Paris", "population": 2100000}'),
    _row("json-function-description", '{"name": "sum", "parameters": {"a": "int"}, "returns": "int"}', [], "ok",
         "none", '{"name": "sum", "parameters": {"a": "int"}, "returns": "int"}'),
    _row("json-answer-wrapping-call-shape", '{"log": [{"name": "f", "arguments": {}}]}', [], "ok", "none",
         '{"log": [{"name": "f", "arguments": {}}]}'),
    _row("json-name-not-string", '{"name": 5, "arguments": {}}', [], "ok", "none",
         '{"name": 5, "arguments": {}}'),
    _row("fenced-json-answer", '```json\n{"temperature": 21}\n```', [], "ok", "none",
         '```json\n{"temperature": 21}\n```'),
    _row("fenced-bash", "```bash\nls -la (x)\n```", [], "ok", "none", "```bash\nls -la (x)\n```"),
    _row("prose-about-json", 'Set {"name": value} in the config.', [], "ok", "none",
         'Set {"name": value} in the config.'),
    # ---- 1. Hermes / Qwen <tool_call>
    _row("hermes-one", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
         [PARIS], "ok", "hermes", ""),
    _row("hermes-parallel",
         '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
         '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}\n</tool_call>',
         [PARIS, ROME], "ok", "hermes", ""),
    _row("hermes-list-in-block",
         '<tool_call>[{"name": "get_weather", "arguments": {"city": "Paris"}}, '
         '{"name": "math.hypot", "arguments": {"x": 3, "y": 4}}]</tool_call>',
         [PARIS, ("math.hypot", {"x": 3, "y": 4})], "ok", "hermes", ""),
    _row("hermes-prose-around",
         'Let me look that up.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
         "</tool_call>\nOne moment.",
         [PARIS], "ok", "hermes", "Let me look that up.\nOne moment."),
    _row("hermes-arguments-json-string",
         '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}</tool_call>',
         [PARIS], "ok", "hermes", ""),
    _row("hermes-unclosed-complete",
         'Checking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}',
         [PARIS], "ok", "hermes", "Checking."),
    _row("hermes-unclosed-then-next-block",
         '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
         '<tool_call>{"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}</tool_call>',
         [PARIS, ROME], "ok", "hermes", ""),
    _row("hermes-missing-arguments", '<tool_call>{"name": "get_time"}</tool_call>',
         [("get_time", {})], "ok", "hermes", ""),
    _row("hermes-openai-shape",
         '<tool_call>{"type": "function", "function": {"name": "get_weather", '
         '"arguments": "{\\"city\\": \\"Paris\\"}"}}</tool_call>',
         [PARIS], "ok", "hermes", ""),
    _row("hermes-fence-inside",
         '<tool_call>\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\n</tool_call>',
         [PARIS], "ok", "hermes", ""),
    _row("hermes-broken-json",
         '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}\n</tool_call>',
         [], "parse.invalid_json", "hermes", ""),
    _row("hermes-single-quotes", "<tool_call>{'name': 'get_weather', 'arguments': {}}</tool_call>",
         [], "parse.invalid_json", "hermes", ""),
    _row("hermes-unclosed-truncated", 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"ci',
         [], "parse.invalid_json", "hermes", "Sure."),
    _row("hermes-empty-block", "<tool_call></tool_call>", [], "parse.invalid_json", "hermes", ""),
    _row("hermes-not-a-call", '<tool_call>{"city": "Paris"}</tool_call>', [], "parse.not_a_call", "hermes", ""),
    _row("hermes-empty-name", '<tool_call>{"name": "", "arguments": {}}</tool_call>',
         [], "parse.not_a_call", "hermes", ""),
    _row("hermes-list-of-strings", '<tool_call>["get_weather"]</tool_call>', [], "parse.not_a_call", "hermes", ""),
    _row("hermes-bad-arguments-list", '<tool_call>{"name": "get_weather", "arguments": ["Paris"]}</tool_call>',
         [], "parse.bad_arguments", "hermes", ""),
    _row("hermes-bad-arguments-string",
         '<tool_call>{"name": "get_weather", "arguments": "city=Paris"}</tool_call>',
         [], "parse.bad_arguments", "hermes", ""),
    _row("hermes-one-good-one-broken",
         '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
         '<tool_call>{"name": "get_weather", "arguments": {"city": "Rome",}}</tool_call>',
         [PARIS], "parse.invalid_json", "hermes", ""),
    # ---- 2. fenced code blocks (Qwen2.5-Coder's favourite)
    _row("fenced-json-object",
         'I will check the weather.\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
         [PARIS], "ok", "fenced", "I will check the weather."),
    _row("fenced-json-list",
         '```json\n[{"name": "get_weather", "arguments": {"city": "Paris"}}, '
         '{"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}]\n```',
         [PARIS, ROME], "ok", "fenced", ""),
    _row("fenced-json-objects-per-line",
         '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
         '{"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}\n```',
         [PARIS, ROME], "ok", "fenced", ""),
    _row("fenced-plain", '```\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
         [PARIS], "ok", "fenced", ""),
    _row("fenced-inline", 'Call: ```json {"name": "get_weather", "arguments": {"city": "Paris"}}```',
         [PARIS], "ok", "fenced", "Call:"),
    _row("fenced-tool-call-lang", '```tool_call\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',
         [PARIS], "ok", "fenced", ""),
    _row("fenced-python", '```python\n[get_weather(city="Paris"), math.hypot(x=3, y=4)]\n```',
         [PARIS, ("math.hypot", {"x": 3, "y": 4})], "ok", "fenced", ""),
    _row("fenced-unclosed", '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}',
         [PARIS], "ok", "fenced", ""),
    _row("fenced-broken-json", '```json\n{"name": "get_weather", "arguments": {"city": "Paris",}}\n```',
         [], "parse.invalid_json", "fenced", ""),
    _row("fenced-tool-call-not-a-call", '```tool_call\n{"city": "Paris"}\n```', [], "parse.not_a_call", "fenced", ""),
    _row("fenced-python-non-literal", "```python\nget_weather(city=my_city)\n```",
         [], "parse.invalid_python", "fenced", ""),
    # ---- 3. Llama 3.1
    _row("llama-python-tag", P + '{"name": "get_weather", "parameters": {"city": "Paris"}}',
         [PARIS], "ok", "llama3", ""),
    _row("llama-semicolons-eom",
         P + '{"name": "get_weather", "parameters": {"city": "Paris"}}; '
         '{"name": "get_weather", "parameters": {"city": "Rome", "unit": "celsius"}}<|eom_id|>',
         [PARIS, ROME], "ok", "llama3", ""),
    _row("llama-newlines-no-tag",
         '{"name": "get_weather", "parameters": {"city": "Paris"}}\n'
         '{"name": "get_weather", "parameters": {"city": "Rome", "unit": "celsius"}}',
         [PARIS, ROME], "ok", "llama3", ""),
    _row("llama-builtin-python", P + 'brave_search.call(query="weather Paris")',
         [("brave_search.call", {"query": "weather Paris"})], "ok", "llama3", ""),
    _row("llama-broken", P + '{"name": "get_weather", "parameters": {"city": }}',
         [], "parse.invalid_json", "llama3", ""),
    _row("llama-empty-after-tag", P, [], "parse.invalid_json", "llama3", ""),
    # ---- 4. bare JSON
    _row("bare-object", '{"name": "get_weather", "arguments": {"city": "Paris"}}', [PARIS], "ok", "json", ""),
    _row("bare-objects-per-line",
         '{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
         '{"name": "get_weather", "arguments": {"city": "Rome", "unit": "celsius"}}',
         [PARIS, ROME], "ok", "json", ""),
    _row("bare-list", '[{"name": "get_weather", "arguments": {"city": "Paris"}}]', [PARIS], "ok", "json", ""),
    _row("bare-prose-around",
         'I need the weather first. {"name": "get_weather", "arguments": {"city": "Paris"}} Then I answer.',
         [PARIS], "ok", "json", "I need the weather first. Then I answer."),
    _row("bare-arguments-json-string",
         '{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\"}"}', [PARIS], "ok", "json", ""),
    _row("bare-openai-shape",
         '{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}',
         [PARIS], "ok", "json", ""),
    _row("bare-function-wrapper", '{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}',
         [PARIS], "ok", "json", ""),
    _row("bare-answer-then-call",
         'Data: {"unit": "C"}\n{"name": "get_weather", "arguments": {"city": "Paris"}}',
         [PARIS], "ok", "json", 'Data: {"unit": "C"}'),
    _row("bare-bad-arguments", '{"name": "get_weather", "arguments": 42}', [], "parse.bad_arguments", "json", ""),
    _row("bare-truncated", '{"name": "get_weather", "arguments": {"city": "Par',
         [], "parse.invalid_json", "json", '{"name": "get_weather", "arguments": {"city": "Par'),
    _row("bare-good-then-truncated",
         '{"name": "get_weather", "arguments": {"city": "Paris"}}\n{"name": "get_weather", "arguments": {',
         [PARIS], "parse.invalid_json", "json", '{"name": "get_weather", "arguments": {'),
    # ---- 5. Python call lists (BFCL prompting style)
    _row("python-list", '[get_weather(city="Paris"), get_weather(city="Rome", unit="celsius")]',
         [PARIS, ROME], "ok", "python", ""),
    _row("python-single", 'get_weather(city="Paris")', [PARIS], "ok", "python", ""),
    _row("python-dotted", "[math.hypot(x=3, y=-4.5)]", [("math.hypot", {"x": 3, "y": -4.5})], "ok", "python", ""),
    _row("python-nested-values",
         "[book(guests=[{'name': 'Ann', 'age': 30}, {'name': 'Bo', 'tags': ('a', 'b')}], "
         "opts={'late': True, 'note': None, 'n': [1, [2, 3]]})]",
         [("book", {"guests": [{"name": "Ann", "age": 30}, {"name": "Bo", "tags": ["a", "b"]}],
                    "opts": {"late": True, "note": None, "n": [1, [2, 3]]}})],
         "ok", "python", ""),
    _row("python-json-looking-dict-argument", 'search(filter={"name": "x", "arguments": {}})',
         [("search", {"filter": {"name": "x", "arguments": {}}})], "ok", "python", ""),
    _row("python-positional-bound", 'get_weather("Paris", unit="celsius")',
         [("get_weather", {"city": "Paris", "unit": "celsius"})], "ok", "python", "", True),
    _row("python-positional-unbound", 'get_weather("Paris")', [], "parse.positional_args", "python", ""),
    _row("python-positional-too-many", 'get_weather("Paris", "C", 3)', [], "parse.positional_args", "python", "",
         True),
    _row("python-positional-and-keyword", 'get_weather("Paris", city="Rome")', [], "parse.positional_args",
         "python", "", True),
    _row("python-name-value", "[get_weather(city=paris)]", [], "parse.invalid_python", "python", ""),
    _row("python-nested-call", "[get_weather(city=lookup(q='x'))]", [], "parse.invalid_python", "python", ""),
    _row("python-arithmetic", "[math.hypot(x=1+2, y=4)]", [], "parse.invalid_python", "python", ""),
    _row("python-json-literals", "[f(flag=true)]", [], "parse.invalid_python", "python", ""),
    _row("python-kwargs-unpacking", "[f(**opts)]", [], "parse.invalid_python", "python", ""),
    _row("python-syntax-error", '[get_weather(city="Paris"', [], "parse.invalid_python", "python",
         '[get_weather(city="Paris"'),
    _row("python-one-good-one-bad", '[get_weather(city="Paris"), f(a=x)]', [PARIS], "parse.invalid_python",
         "python", ""),
]
# fmt: on


@pytest.mark.parametrize(("text", "calls", "code", "fmt", "leftover", "with_tools"), CASES)
def test_parse_table(
    text: str, calls: list[Call], code: str, fmt: str | None, leftover: str, with_tools: bool
) -> None:
    result = parse_tool_calls(text, tools=TOOLS if with_tools else None)
    assert [(c.name, c.arguments) for c in result.calls] == calls
    assert result.verdict.code == code
    assert result.verdict.ok is (code == "ok")
    assert result.verdict.evidence.get("format") == fmt
    assert result.text == leftover


def test_table_is_large_and_covers_every_format_and_code() -> None:
    assert len(CASES) >= 40
    formats = {case.values[3] for case in CASES}
    codes = {case.values[2] for case in CASES}
    assert {"hermes", "fenced", "llama3", "json", "python", "none"} <= formats
    assert {
        "ok",
        "parse.invalid_json",
        "parse.not_a_call",
        "parse.bad_arguments",
        "parse.positional_args",
        "parse.invalid_python",
    } <= codes


def test_none_is_plain_empty_text() -> None:
    result = parse_tool_calls(None)
    assert result == ParsedText(calls=(), text="", verdict=result.verdict)
    assert result.verdict.ok and result.verdict.evidence == {"format": "none"}


def test_call_ids_are_kept() -> None:
    text = '<tool_call>{"id": "call_7", "type": "function", "function": {"name": "f", "arguments": {}}}</tool_call>'
    [call] = parse_tool_calls(text).calls
    assert (call.name, call.id) == ("f", "call_7")


def test_failure_evidence_lists_every_broken_snippet_and_keeps_good_calls() -> None:
    text = (
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n'
        '<tool_call>{"name": "a", "arguments": {</tool_call>\n'
        '<tool_call>{"name": "b", "arguments": [1]}</tool_call>'
    )
    result = parse_tool_calls(text)
    assert [c.name for c in result.calls] == ["get_weather"]
    verdict = result.verdict
    assert verdict.code == "parse.invalid_json"  # the first failure names the verdict
    assert verdict.evidence["broken_count"] == 2
    assert [b["code"] for b in verdict.evidence["broken"]] == ["parse.invalid_json", "parse.bad_arguments"]
    assert '"name": "a"' in verdict.evidence["snippet"]
    assert verdict.evidence["error"] == verdict.evidence["broken"][0]["error"]
    assert verdict.evidence["broken"][1]["name"] == "b"
    assert "1 more broken call" in verdict.message and "1 other call could be read" in verdict.message


@pytest.mark.parametrize(
    ("text", "code", "needles"),
    [
        (
            '<tool_call>{"name": "f", "arguments": {,}}</tool_call>',
            "parse.invalid_json",
            ["valid JSON", "<tool_call>", "Expecting property name"],
        ),
        ('<tool_call>{"tool": "f"}</tool_call>', "parse.not_a_call", ['"name"', "<tool_call>"]),
        ('{"name": "f", "arguments": "x"}', "parse.bad_arguments", ["'f'", "JSON object"]),
        ("get_weather('Paris')", "parse.positional_args", ["get_weather(param=value)", "position"]),
        ("[f(a=b)]", "parse.invalid_python", ["literal values only", "'b' is not a literal value"]),
    ],
)
def test_messages_tell_the_model_what_to_send(text: str, code: str, needles: list[str]) -> None:
    verdict = parse_tool_calls(text).verdict
    assert verdict.code == code
    for needle in needles:
        assert needle in verdict.message


def test_positional_binding_follows_schema_property_order() -> None:
    [call] = parse_tool_calls("math.hypot(3, 4)", tools=TOOLS).calls
    assert list(call.arguments.items()) == [("x", 3), ("y", 4)]


def test_unknown_tool_names_are_not_a_parse_failure() -> None:
    result = parse_tool_calls('<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>', tools=TOOLS)
    assert result.verdict.ok and [c.name for c in result.calls] == ["no_such_tool"]


def test_python_rejects_non_finite_and_non_string_keys() -> None:
    assert parse_tool_calls("[f(x=1e999)]").verdict.code == "parse.invalid_python"
    assert parse_tool_calls("[f(x={1: 'a'})]").verdict.code == "parse.invalid_python"
    assert parse_tool_calls("[f(x=b'raw')]").verdict.code == "parse.invalid_python"


def test_json_rejects_nan() -> None:
    result = parse_tool_calls('<tool_call>{"name": "f", "arguments": {"x": NaN}}</tool_call>')
    assert result.verdict.code == "parse.invalid_json" and result.calls == ()


def test_llama_prose_after_calls_is_kept() -> None:
    result = parse_tool_calls('Sure.<|python_tag|>{"name": "f", "parameters": {"a": 1}}\nDone, waiting.')
    assert [(c.name, c.arguments) for c in result.calls] == [("f", {"a": 1})]
    assert result.text == "Sure.\nDone, waiting."


def test_end_tokens_are_dropped_only_at_the_end() -> None:
    text = P + '{"name": "f", "parameters": {"stop": "<|eot_id|>"}}<|eom_id|> \n<|eot_id|>\n'
    result = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in result.calls] == [("f", {"stop": "<|eot_id|>"})]
    assert result.verdict.ok and result.text == ""
    assert parse_tool_calls("Plain answer.<|eot_id|>").text == "Plain answer."


def test_bytes_input_is_decoded() -> None:
    result = parse_tool_calls(b'{"name": "f", "arguments": {}}')  # type: ignore[arg-type]
    assert [c.name for c in result.calls] == ["f"]


def test_too_long_reply_with_markers() -> None:
    text = "(" + "a" * MAX_TEXT_CHARS
    result = parse_tool_calls(text)
    assert result.verdict.code == "parse.too_long" and result.calls == ()
    assert result.verdict.evidence["length"] == len(text)


def test_too_long_prose_without_markers_is_plain_text() -> None:
    result = parse_tool_calls("word " * (MAX_TEXT_CHARS // 4))
    assert result.verdict.ok and result.verdict.evidence["format"] == "none"


def test_internal_errors_become_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(parse_module, "_hermes", boom)
    result = parse_tool_calls('<tool_call>{"name": "f"}</tool_call>')
    assert result.verdict.code == "parse.internal_error"
    assert "KeyError" in result.verdict.evidence["error"]
    assert result.text == '<tool_call>{"name": "f"}</tool_call>'


def test_fast_path_skips_every_recogniser(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_args: Any) -> None:
        raise AssertionError("a recogniser ran on plain prose")

    for name in ("_hermes", "_fenced", "_llama3", "_whole_python", "_bare_json"):
        monkeypatch.setattr(parse_module, name, boom)
    result = parse_tool_calls("Paris is sunny today; no tool is needed.")
    assert result.verdict.evidence == {"format": "none"}
    assert result.text == "Paris is sunny today; no tool is needed."


@pytest.mark.parametrize(
    "text",
    [
        "[" * 200_000,
        "{" * 200_000,
        "<tool_call>" + "[" * 200_000,
        "```json\n" + "[" * 200_000,
        "f(" + "[" * 200_000,
        P + "{" * 200_000,
        "[f(a=" + "[" * 150 + "]" * 150 + ")]",
        '{"name": ' * 50_000,
        "<tool_call>" * 50_000,
        "```" * 100_000,
        "(" + "<|eot_id|>\n" * 80_000,
        ("[1," + "1," * 300) * 1500,
        ('{"a": [' + "1," * 300) * 1500,
        "\x00\ud800\udfff<tool_call>\x00</tool_call>f(\x00)",
    ],
    ids=lambda t: repr(t[:24]),
)
def test_adversarial_inputs_are_bounded(text: str) -> None:
    start = time.perf_counter()
    result = parse_tool_calls(text)
    assert time.perf_counter() - start < 2.0
    assert isinstance(result, ParsedText)
    assert result.verdict.code != "parse.internal_error", result.verdict.message


FRAGMENTS = [
    "<tool_call>", "</tool_call>", "<|python_tag|>", "<|eom_id|>", "{", "}", "[", "]", "(", ")",
    '"name"', '"arguments"', '"parameters"', '"function"', ":", ",", ";", '"', "'", "\\", "```", "```json\n",
    "```python\n", "\n", " ", "get_weather", "f(", "a=", "1", "-2.5", "null", "true", "None", "**", "=",
    '{"name": "f", "arguments": {}}', "[f(a=1)]", '"x"', "\x00", "\ud800", "é",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    result = parse_tool_calls(text)
    assert isinstance(result, ParsedText)
    assert result.verdict.code != "parse.internal_error", result.verdict.message
    assert result.verdict.ok or result.verdict.code.startswith("parse.")


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join))
def test_never_raises_on_confusing_fragments(text: str) -> None:
    result = parse_tool_calls(text, tools=TOOLS)
    assert isinstance(result, ParsedText)
    assert result.verdict.code != "parse.internal_error", result.verdict.message
    if result.verdict.ok:
        assert result.verdict.evidence["format"] in {"hermes", "fenced", "llama3", "json", "python", "none"}
        assert (result.verdict.evidence["format"] == "none") is (not result.calls)
    for call in result.calls:
        assert call.name.strip() == call.name != ""
        assert isinstance(call.arguments, dict)
