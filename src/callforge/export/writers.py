"""Dialogs as training records: OpenAI chat-completions JSONL and LLaMA-Factory ShareGPT.

Each writer is one function from a Dialog to one JSON-able record, so every format streams and the
formats readers (`callforge.formats`) read each record back into the same Dialog: the round trip
is what the tests hold the writers to. A call a generator made fail on purpose (error recovery,
`Dialog.masked_calls()`) must not be learned as a good call: the OpenAI record gives its
assistant message `"weight": 0` (OpenAI fine-tuning's per-message switch), and formats with no
such switch cannot say it, so the export refuses those dialogs there unless told to keep them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson

from callforge.core import Dialog, Message, ToolSpec


def _tool_json(tool: ToolSpec) -> dict[str, Any]:
    return tool.to_openai()


ReasoningMode = Literal["keep", "field", "drop"]
"""Where an export puts an assistant's thought: the template's thinking slot (or inline `<think>`), a
`reasoning_content` field, or nowhere (see `with_reasoning`)."""
REASONING_MODES: tuple[str, ...] = ("keep", "field", "drop")


def think_block(thought: str) -> str:
    """A thought as Qwen3/DeepSeek-R1 write it before the answer or calls: a `<think>` block and a blank line."""
    return f"<think>\n{thought.strip()}\n</think>\n\n"


def with_reasoning(dialog: Dialog, mode: ReasoningMode, *, inline: bool) -> Dialog:
    """The dialog with each thought where an export `mode` puts it, so every writer stays mode-free.

    `drop` removes thoughts; `keep` with `inline` moves each into its message's text as a leading
    `<think>` block (formats with no thinking slot of their own: OpenAI-shaped records, templates
    without one); `keep` without `inline` and `field` leave `Message.reasoning` for the writer
    (a template's slot, ShareGPT's `<think>` prefix, the `reasoning_content` field).
    """
    if mode == "field" or (mode == "keep" and not inline) or not any(m.reasoning for m in dialog.messages):
        return dialog
    messages = tuple(
        m.model_copy(
            update={"reasoning": None}
            if mode == "drop"
            else {"reasoning": None, "content": think_block(m.reasoning) + m.content if m.content else think_block(m.reasoning).rstrip("\n")}
        )
        if m.reasoning
        else m
        for m in dialog.messages
    )
    return dialog.model_copy(update={"messages": messages})


def openai_message(message: Message, masked: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """One message in the chat-completions wire shape; `"weight": 0` when it carries a call in `masked`.

    A thought goes to `reasoning_content`, the field vLLM and DeepSeek use (and Qwen3's template reads).
    """
    row: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.reasoning:
        row["reasoning_content"] = message.reasoning
    if message.tool_calls:
        row["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": orjson.dumps(call.arguments).decode()},
            }
            for call in message.tool_calls
        ]
        if any(call.id in masked for call in message.tool_calls):
            row["weight"] = 0
    if message.role == "tool":
        row["tool_call_id"] = message.tool_call_id
        if message.name:
            row["name"] = message.name
    return row


def to_openai(dialog: Dialog) -> dict[str, Any]:
    """`{"messages", "tools"}` in the chat-completions shape TRL's SFTTrainer and OpenAI fine-tuning take.

    Arguments become JSON strings (the wire shape); an assistant message carrying an injected
    wrong call gets `"weight": 0`.
    """
    injected = dialog.masked_calls()
    messages = [openai_message(m, injected) for m in dialog.messages]
    record: dict[str, Any] = {"messages": messages, "tools": [_tool_json(t) for t in dialog.tools]}
    if dialog.meta.id is not None:
        record["id"] = dialog.meta.id
    return record


def learned_turns(dialog: Dialog) -> list[int]:
    """The indices of the assistant turns a trainer may learn: every one but those carrying a masked call.

    `steps` and `grpo` make one example of each, so both formats agree on what a turn to learn is.
    """
    injected = dialog.masked_calls()
    return [
        index
        for index, message in enumerate(dialog.messages)
        if message.role == "assistant" and not any(c.id in injected for c in message.tool_calls)
    ]


def to_steps(dialog: Dialog) -> list[dict[str, Any]]:
    """One example per assistant turn (ActionStudio-style), in TRL's conversational prompt-completion shape.

    `prompt` is the conversation before the turn, `completion` the turn, so a trainer learns every
    step once and never the context. A turn carrying a call made wrong on purpose is no example
    (it stays in later prompts, where it is context).
    """
    tools = [_tool_json(t) for t in dialog.tools]
    base = dialog.meta.id or "dialog"
    return [
        {
            "id": f"{base}:{index}",
            "prompt": [openai_message(m) for m in dialog.messages[:index]],
            "completion": [openai_message(dialog.messages[index])],
            "tools": tools,
        }
        for index in learned_turns(dialog)
    ]


def to_grpo(dialog: Dialog) -> list[dict[str, Any]]:
    """One GRPO prompt per learned assistant turn: the turns of `steps`, with the answer as reference calls.

    An RL trainer generates the turn itself and a reward (`callforge.reward`) judges it against
    `reference_calls` (`[]` where the right answer is words, not a call), so the row carries no
    completion. An episode (`generate --env`) adds its `environment` (file paths made absolute from
    the working directory, as `--format bfcl` reads them) and, from its second call on, the
    `prior_calls` to replay on it first, which the end-state reward needs.
    """
    episode = dialog.meta.episode
    environment = _absolute_environment(episode.environment) if episode is not None else None
    tools = [_tool_json(t) for t in dialog.tools]
    base = dialog.meta.id or "dialog"
    rows = []
    for index in learned_turns(dialog):
        turn = dialog.messages[index]
        row: dict[str, Any] = {
            "id": f"{base}:{index}",
            "prompt": [openai_message(m) for m in dialog.messages[:index]],
            "tools": tools,
            "reference_calls": [{"name": c.name, "arguments": c.arguments} for c in turn.tool_calls],
        }
        if environment is not None:
            row["environment"] = environment
            prior = [
                {"name": c.name, "arguments": c.arguments}
                for m in dialog.messages[:index]
                if m.role == "assistant"
                for c in m.tool_calls
            ]
            if prior:
                row["prior_calls"] = prior
        rows.append(row)
    return rows


def _absolute_environment(environment: dict[str, Any]) -> dict[str, Any]:
    """An episode's environment with its file path absolute, so the rows work wherever the export lands."""
    out = dict(environment)
    for key in ("python", "service"):
        value = out.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            out[key] = str((Path.cwd() / value).resolve())
    return out


def to_sharegpt(dialog: Dialog) -> dict[str, Any]:
    """LLaMA-Factory's ShareGPT tool format: `conversations` of human/gpt/function_call/observation turns.

    `tools` is a JSON string and the system message moves to `system`, as LLaMA-Factory expects.
    Parallel calls go in one `function_call` turn as a JSON list, their results in one
    `observation` turn as a JSON list of the outputs, in call order. A thought leads its turn's
    value in `<think>` tags, as ToolACE writes them (the ShareGPT reader takes it back out).
    """
    system = [m.content or "" for m in dialog.messages if m.role == "system"]
    turns: list[dict[str, str]] = []
    pending: list[Message] = []

    def flush() -> None:
        if not pending:
            return
        outputs = [m.content or "" for m in pending]
        value = outputs[0] if len(outputs) == 1 else orjson.dumps(outputs).decode()
        turns.append({"from": "observation", "value": value})
        pending.clear()

    for message in dialog.messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            pending.append(message)
            continue
        flush()
        if message.role == "user":
            turns.append({"from": "human", "value": message.content or ""})
        elif message.tool_calls:
            calls = [{"name": c.name, "arguments": c.arguments} for c in message.tool_calls]
            value = orjson.dumps(calls[0] if len(calls) == 1 else calls).decode()
            turns.append({"from": "function_call", "value": _thought_first(message, value)})
        else:
            turns.append({"from": "gpt", "value": _thought_first(message, message.content or "")})
    flush()
    record: dict[str, Any] = {
        "conversations": turns,
        "tools": orjson.dumps([t.to_openai()["function"] for t in dialog.tools]).decode(),
    }
    if system:
        record["system"] = "\n\n".join(system)
    if dialog.meta.id is not None:
        record["id"] = dialog.meta.id
    return record


def _thought_first(message: Message, value: str) -> str:
    """A ShareGPT turn's value with the message's thought before it in `<think>` tags (ToolACE's layout)."""
    return think_block(message.reasoning) + value if message.reasoning else value


SHAREGPT_DATASET_INFO = {
    "formatting": "sharegpt",
    "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
    "tags": {
        "role_tag": "from",
        "content_tag": "value",
        "user_tag": "human",
        "assistant_tag": "gpt",
        "observation_tag": "observation",
        "function_tag": "function_call",
        "system_tag": "system",
    },
}
"""The `dataset_info.json` entry LLaMA-Factory needs to read the ShareGPT export (file_name added per export)."""
