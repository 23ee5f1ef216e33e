"""Tokenising examples ourselves, so that exactly the right tokens carry a loss.

SFT: the conversation is rendered once with the model's chat template and tokenised with offsets;
each learned assistant turn is located by rendering the growing prefixes (the prompt before the
turn with the generation prompt, then the prompt plus the turn), and a token is labelled when its
first character lies in such a span. Every other token (system, user, tool results, the generation
prompt, and assistant turns marked `"weight": 0`) gets the label -100. The tokens are those of the
whole rendered text, exactly what the model will see at inference.

DPO: prompt, prompt+chosen and prompt+rejected are rendered the same way and split where the
prompt ends, giving TRL's `prompt_ids` / `chosen_ids` / `rejected_ids`.

GRPO: each prompt is rendered to text here, with its own row's tools and the generation prompt,
because TRL's GRPOTrainer renders every conversational prompt with the one `tools=` list given to
the trainer (Python callables), not a per-row column; the trainer then samples completions after
exactly that text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callforge.core import ConfigError
from callforge.train.data import ChatExample, Example, PreferenceExample, PromptExample, TextExample

IGNORE = -100
"""The label PyTorch's cross-entropy (and so every HF trainer) skips."""


@dataclass(frozen=True)
class SFTTokens:
    """One tokenised SFT example: `labels[i]` is `input_ids[i]` where learned, else -100."""

    id: str
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]


@dataclass(frozen=True)
class DPOTokens:
    """One tokenised preference pair in the columns TRL's DPO collator reads."""

    id: str
    prompt_ids: tuple[int, ...]
    chosen_ids: tuple[int, ...]
    rejected_ids: tuple[int, ...]


@dataclass(frozen=True)
class GRPOPrompt:
    """One GRPO prompt rendered as the model will see it, with the reward's columns as JSON text."""

    id: str
    text: str
    tools: str
    reference_calls: str
    environment: str | None = None
    prior_calls: str | None = None


@dataclass(frozen=True)
class Tokenised:
    """What tokenising a data file kept, and what it dropped by reason."""

    sft: tuple[SFTTokens, ...]
    dpo: tuple[DPOTokens, ...]
    dropped: dict[str, int]
    dropped_ids: dict[str, tuple[str, ...]]
    """Up to five ids per reason, to find the records."""
    grpo: tuple[GRPOPrompt, ...] = ()


class Skip(Exception):
    """An example that cannot be trained on; the message is the reason, counted in the report."""


def check_tokenizer(tokenizer: Any, *, conversational: bool, model: str) -> None:
    """Refuse tokenizers the masking cannot work with, naming the model and the way out."""
    if conversational and not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"{model}: the tokenizer has no chat template, so conversations cannot be rendered; "
            "use an instruct/chat model, pass `chat_template` (a .jinja file), or export with `format='chat'` and train on the text"
        )
    if conversational and not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"{model}: the tokenizer is not a fast (Rust) tokenizer; labelling assistant turns needs its character "
            "offsets. Most models ship one (tokenizer.json)"
        )


def render(tokenizer: Any, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]], *, prompt: bool) -> str:
    """The chat template's text for `messages`; `prompt=True` appends the assistant's generation prompt."""
    try:
        text = tokenizer.apply_chat_template(
            list(messages), tools=list(tools) or None, tokenize=False, add_generation_prompt=prompt
        )
    except Exception as exc:  # jinja raises TemplateError, templates raise their own exceptions
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise Skip(f"chat template failed: {type(exc).__name__}: {detail}".rstrip(": ")) from exc
    if not isinstance(text, str):
        raise Skip("chat template did not return text")
    return text


def assistant_spans(tokenizer: Any, example: ChatExample) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its learned assistant turns.

    A span runs from the end of the generation prompt to the end of the turn's own text (the
    end-of-turn token included, so the model learns to stop). Templates that render a prefix
    differently from the same messages inside the whole conversation (some drop earlier
    reasoning) cannot be masked this way and the example is skipped.
    """
    full = render(tokenizer, example.messages, example.tools, prompt=False)
    spans: list[tuple[int, int]] = []
    for i, learned in enumerate(example.trained):
        if not learned:
            continue
        before = render(tokenizer, example.messages[:i], example.tools, prompt=True) if i else ""
        upto = render(tokenizer, example.messages[: i + 1], example.tools, prompt=False)
        if not (full.startswith(before) and full.startswith(upto) and len(upto) > len(before)):
            raise Skip("chat template renders a turn differently when it is the last one")
        spans.append((len(before), len(upto)))
    if not spans:
        raise Skip("no assistant turn to learn")
    return full, spans


_THOUGHT = re.compile(r"<think>.*?</think>\s*", re.DOTALL)


def thoughts_placed(tokenizer: Any, example: ChatExample) -> ChatExample:
    """The example with each `reasoning_content` inline as `<think>` text when the template has no slot for it.

    A template without a thinking slot (Qwen2.5's) drops the field silently; inline, the thought is
    learned (or masked) like one a thinking template renders.
    """
    if "reasoning_content" in str(getattr(tokenizer, "chat_template", "") or ""):
        return example
    if not any("reasoning_content" in m for m in example.messages):
        return example
    messages = []
    for message in example.messages:
        thought = message.get("reasoning_content")
        if isinstance(thought, str) and thought:
            body = message.get("content") or ""
            block = f"<think>\n{thought.strip()}\n</think>"
            message = {k: v for k, v in message.items() if k != "reasoning_content"}
            message["content"] = f"{block}\n\n{body}" if body else block
        messages.append(message)
    return ChatExample(id=example.id, messages=tuple(messages), tools=example.tools, trained=example.trained)


def thought_spans(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The `<think>...</think>` blocks (and the whitespace after them) inside learned spans: what `mask_reasoning` unlabels."""
    return [
        (m.start(), m.end())
        for m in _THOUGHT.finditer(text)
        if any(start <= m.start() < end for start, end in spans)
    ]


def tokenise_chat(tokenizer: Any, example: ChatExample, max_length: int, *, mask_reasoning: bool = False) -> SFTTokens:
    """Input ids of the rendered conversation, labelled only inside learned assistant spans.

    With `mask_reasoning`, tokens inside a thought are not labelled either: the loss falls on the
    calls and answers, so a model learns to act on its thinking without being taught its wording.
    """
    text, spans = assistant_spans(tokenizer, thoughts_placed(tokenizer, example))
    hidden = thought_spans(text, spans) if mask_reasoning else []
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(encoded["input_ids"])
    labels = [
        token
        if any(start <= begin < end for start, end in spans) and not any(start <= begin < end for start, end in hidden)
        else IGNORE
        for token, (begin, _) in zip(ids, encoded["offset_mapping"], strict=True)
    ]
    _check_length(len(ids), max_length)
    if all(label == IGNORE for label in labels):
        raise Skip("no assistant turn to learn")
    return SFTTokens(id=example.id, input_ids=tuple(ids), labels=tuple(labels))


def tokenise_text(tokenizer: Any, example: TextExample, max_length: int) -> SFTTokens:
    """Input ids of a pre-rendered text, every token learned; EOS appended when the text lacks it."""
    text = example.text
    bos, eos = tokenizer.bos_token, tokenizer.eos_token
    ids = list(tokenizer(text, add_special_tokens=not (bos and text.startswith(bos)))["input_ids"])
    if eos and not text.rstrip().endswith(eos):
        ids.append(tokenizer.eos_token_id)
    _check_length(len(ids), max_length)
    return SFTTokens(id=example.id, input_ids=tuple(ids), labels=tuple(ids))


def tokenise_pair(tokenizer: Any, example: PreferenceExample, max_length: int) -> DPOTokens:
    """Prompt, chosen and rejected ids, split where the rendered prompt ends."""
    prompt = render(tokenizer, example.prompt, example.tools, prompt=True)
    sides = []
    for turn in (example.chosen, example.rejected):
        text = render(tokenizer, [*example.prompt, *turn], example.tools, prompt=False)
        if not text.startswith(prompt) or len(text) == len(prompt):
            raise Skip("chat template renders the prompt differently from prompt + answer")
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        in_prompt = sum(1 for begin, _ in encoded["offset_mapping"] if begin < len(prompt))
        sides.append((ids, in_prompt))
    (chosen, chosen_prompt), (rejected, rejected_prompt) = sides
    # A token merged across the prompt's end could differ between the two; split at the common part.
    split = min(chosen_prompt, rejected_prompt, _common_prefix(chosen, rejected))
    if split == len(chosen) or split == len(rejected):
        raise Skip("chosen and rejected answers are identical")
    _check_length(max(len(chosen), len(rejected)), max_length)
    return DPOTokens(
        id=example.id,
        prompt_ids=tuple(chosen[:split]),
        chosen_ids=tuple(chosen[split:]),
        rejected_ids=tuple(rejected[split:]),
    )


def render_prompt(tokenizer: Any, example: PromptExample, max_length: int) -> GRPOPrompt:
    """The prompt as text with its row's tools and the generation prompt; a leading BOS is left to the tokenizer.

    TRL tokenises a text prompt with the tokenizer's special tokens, so a BOS the template wrote
    too would be doubled. `max_length` here is what the prompt may take (the run's `max_length`
    minus the completion's room).
    """
    text = render(tokenizer, example.prompt, example.tools, prompt=True)
    bos = tokenizer.bos_token
    ids = tokenizer(text)["input_ids"]
    if bos and text.startswith(bos) and len(ids) > 1 and ids[0] == ids[1] == tokenizer.bos_token_id:
        text = text[len(bos) :]
        ids = ids[1:]
    _check_length(len(ids), max_length)
    return GRPOPrompt(
        id=example.id,
        text=text,
        tools=json.dumps(list(example.tools), ensure_ascii=False),
        reference_calls=example.reference_calls,
        environment=example.environment,
        prior_calls=example.prior_calls,
    )


def tokenise(
    tokenizer: Any,
    examples: Sequence[Example],
    *,
    max_length: int,
    completion_length: int = 0,
    mask_reasoning: bool = False,
) -> Tokenised:
    """Tokenise every example, counting those skipped by reason instead of failing the run on one.

    `completion_length` is the room GRPO keeps for sampled completions within `max_length`;
    `mask_reasoning` keeps the loss off SFT thoughts (`tokenise_chat`).
    """
    sft: list[SFTTokens] = []
    dpo: list[DPOTokens] = []
    grpo: list[GRPOPrompt] = []
    dropped: Counter[str] = Counter()
    dropped_ids: dict[str, list[str]] = {}
    for example in examples:
        try:
            if isinstance(example, ChatExample):
                sft.append(tokenise_chat(tokenizer, example, max_length, mask_reasoning=mask_reasoning))
            elif isinstance(example, TextExample):
                sft.append(tokenise_text(tokenizer, example, max_length))
            elif isinstance(example, PromptExample):
                grpo.append(render_prompt(tokenizer, example, max_length - completion_length))
            else:
                dpo.append(tokenise_pair(tokenizer, example, max_length))
        except Skip as skip:
            reason = str(skip)
            dropped[reason] += 1
            ids = dropped_ids.setdefault(reason, [])
            if len(ids) < 5:
                ids.append(example.id)
    return Tokenised(
        sft=tuple(sft),
        dpo=tuple(dpo),
        dropped=dict(dropped),
        dropped_ids={reason: tuple(ids) for reason, ids in dropped_ids.items()},
        grpo=tuple(grpo),
    )


def _check_length(length: int, max_length: int) -> None:
    if length > max_length:
        raise Skip("longer than max_length")


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
