"""`train --mask-reasoning`: the loss falls on an assistant's calls and answer, not on its thought.

A tiny BPE tokenizer is trained here on the records (no download); two ChatML-like templates, one
without a thinking slot (the thought travels inline) and one that renders `reasoning_content`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.export import to_openai, with_reasoning
from callforge.train import read_train_data
from callforge.train.data import ChatExample
from callforge.train.tokens import IGNORE, tokenise, tokenise_chat
from tests.tiny_lm import bpe_tokenizer

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
THOUGHT = 'One call: get_weather with city = "Oslo" from the user.'
PLAIN = (
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{% if m.content %}{{ m.content }}{% endif %}"
    "{%- for c in m.tool_calls or [] %}<tool_call>{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}</tool_call>{% endfor %}"
    "<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
THINKING = PLAIN.replace(
    "{% if m.content %}", "{% if m.reasoning_content %}<think>\n{{ m.reasoning_content }}\n</think>\n\n{% endif %}{% if m.content %}"
)


def _dialog() -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="Weather in Oslo?"),
            Message(role="assistant", reasoning=THOUGHT, tool_calls=(ToolCall(name="get_weather", arguments={"city": "Oslo"}, id="c1"),)),
            Message(role="tool", tool_call_id="c1", content='{"temp_c": 3}'),
            Message(role="assistant", content="3 °C in Oslo.", reasoning="The tool said 3."),
        ),
        meta={"id": "w-Oslo"},
    )


def _tokenizer(template: str) -> Any:
    corpus = [json.dumps(to_openai(_dialog())), THOUGHT, "<think>\n</think>\n\n"]
    return bpe_tokenizer(corpus * 3, vocab_size=300, chat_template=template)


def _example(tmp_path: Path, mode: str) -> ChatExample:
    dialog = with_reasoning(_dialog(), "keep", inline=True) if mode == "keep" else _dialog()
    path = tmp_path / f"{mode}.jsonl"
    path.write_text(json.dumps(to_openai(dialog)) + "\n", encoding="utf-8")
    example = read_train_data(path).examples[0]
    assert isinstance(example, ChatExample)
    return example


def _learned(tokenizer: Any, example: ChatExample, *, mask: bool) -> str:
    tokens = tokenise_chat(tokenizer, example, max_length=2048, mask_reasoning=mask)
    return str(tokenizer.decode([t for t, label in zip(tokens.input_ids, tokens.labels, strict=True) if label != IGNORE]))


CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call><|im_end|>\n'
ANSWER = "3 °C in Oslo.<|im_end|>\n"


@pytest.mark.parametrize(("template", "mode"), [("plain", "field"), ("plain", "keep"), ("thinking", "field"), ("thinking", "keep")])
def test_masking_leaves_the_loss_on_the_calls_and_the_answer_only(tmp_path: Path, template: str, mode: str) -> None:
    tokenizer = _tokenizer(PLAIN if template == "plain" else THINKING)
    example = _example(tmp_path, mode)
    if mode == "field":
        assert example.messages[1]["reasoning_content"] == THOUGHT  # the reader keeps the field for the template
    learned = _learned(tokenizer, example, mask=False)
    # unmasked, the thought is learned wherever it travelled (a slot, inline text, or a field the template lacks)
    assert learned.startswith(f"<think>\n{THOUGHT}\n</think>") and "<think>\nThe tool said 3.\n</think>\n\n3 °C" in learned
    assert re.sub(r"<think>.*?</think>\s*", "", learned, flags=re.DOTALL) == CALL + ANSWER
    assert _learned(tokenizer, example, mask=True) == CALL + ANSWER


def test_tokenise_passes_the_switch_and_leaves_thoughtless_examples_alone(tmp_path: Path) -> None:
    tokenizer = _tokenizer(PLAIN)
    example = _example(tmp_path, "field")
    masked = tokenise(tokenizer, [example], max_length=2048, mask_reasoning=True).sft[0]
    whole = tokenise(tokenizer, [example], max_length=2048).sft[0]
    assert masked.input_ids == whole.input_ids  # the same text: only the labels differ
    assert sum(label != IGNORE for label in masked.labels) < sum(label != IGNORE for label in whole.labels)
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps(to_openai(with_reasoning(_dialog(), "drop", inline=False))) + "\n", encoding="utf-8")
    plain = read_train_data(path).examples[0]
    assert isinstance(plain, ChatExample)
    assert _learned(tokenizer, plain, mask=True) == _learned(tokenizer, plain, mask=False) == CALL + ANSWER
