"""Reading `callforge export` output for training: the three record shapes, checked and normalised.

An export is JSON Lines (`--format openai`, `tasks`, `steps`, `chat`, `dpo` or `grpo`) or a Parquet
file or folder (`--format hf`, where `tools` is a JSON string and absent message fields are null). Every record is checked here, so a
bad line fails with its file and line number instead of deep inside a trainer, and tool-call
arguments are decoded from the wire's JSON strings into the dicts that chat templates expect.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callforge.core import DataError

DataShape = Literal["messages", "completion", "text", "preference", "prompts"]
SHAPE_KEYS: dict[str, str] = {
    "messages": '"messages" (+ "tools"), from callforge export --format openai, tasks or hf',
    "completion": '"prompt", "completion" (+ "tools"), from callforge export --format steps',
    "text": '"text", from callforge export --format chat',
    "preference": '"prompt", "chosen", "rejected" (+ "tools"), from callforge export --format dpo',
    "prompts": '"prompt", "reference_calls" (+ "tools", "environment", "prior_calls"), from callforge export --format grpo',
}
_ROLES = {"system", "user", "assistant", "tool"}


@dataclass(frozen=True)
class ChatExample:
    """A conversation to learn the assistant turns of; `trained[i]` says whether message i is learned."""

    id: str
    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]
    trained: tuple[bool, ...]


@dataclass(frozen=True)
class TextExample:
    """Already rendered text, learned whole."""

    id: str
    text: str


@dataclass(frozen=True)
class PreferenceExample:
    """One DPO pair: the same prompt, a chosen and a rejected assistant turn."""

    id: str
    prompt: tuple[dict[str, Any], ...]
    chosen: tuple[dict[str, Any], ...]
    rejected: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class PromptExample:
    """One GRPO prompt: the conversation before the turn, and the reward's columns for judging that turn.

    The reward columns stay JSON text (`reference_calls`, `environment`, `prior_calls`), which is how
    they travel through a `datasets` table and what `callforge.reward` reads back; `prior_calls` is
    filled from the prompt's own calls when the row has none, because the prompt reaches the
    trainer as rendered text, from which the reward could not read them.
    """

    id: str
    prompt: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]
    reference_calls: str
    environment: str | None = None
    prior_calls: str | None = None


Example = ChatExample | TextExample | PreferenceExample | PromptExample


@dataclass(frozen=True)
class TrainData:
    """The examples of one data file, all of one shape."""

    path: Path
    shape: str
    examples: tuple[Example, ...]


def read_train_data(src: str | os.PathLike[str]) -> TrainData:
    """Read an export (JSON Lines, or Parquet file/folder) into checked examples of a single shape.

    The shape comes from the first record's keys; a record of another shape is an error, because
    a file mixing SFT and DPO records is almost always two exports concatenated by mistake.
    """
    path = _data_file(Path(src))
    shape: str | None = None
    examples: list[Example] = []
    for where, row in _rows(path):
        row_shape = detect_shape(row, where)
        if shape is None:
            shape = row_shape
        elif row_shape != shape:
            raise DataError(f"{where}: a {row_shape} record in a file of {shape} records; export one format per file")
        examples.append(_example(row, row_shape, where, len(examples)))
    if shape is None:
        raise DataError(f"{path}: no records; export some dialogs first (`callforge export RUN --out DIR`)")
    return TrainData(path=path, shape=shape, examples=tuple(examples))


def detect_shape(row: Mapping[str, Any], where: str) -> str:
    """Which of the shapes a record is, by its keys; unknown records name what was expected."""
    if "prompt" in row and "chosen" in row and "rejected" in row:
        return "preference"
    if "prompt" in row and "reference_calls" in row:
        return "prompts"
    if "messages" in row:
        return "messages"
    if "prompt" in row and "completion" in row:
        return "completion"
    if "text" in row:
        return "text"
    keys = ", ".join(sorted(row)) or "none"
    expected = "; or ".join(SHAPE_KEYS.values())
    raise DataError(f"{where}: not a training record (keys: {keys}); expected {expected}")


def normalise_messages(raw: Any, where: str, *, field: str = "messages") -> list[dict[str, Any]]:
    """Messages as chat templates take them: arguments as dicts, content never None, no `weight` key.

    An assistant's `reasoning_content` (a thought, `export --reasoning field`) is kept for templates that
    render it; `callforge.train.tokens` puts it inline as `<think>` text for those that do not.

    A template renders `arguments` with `tojson`, so a JSON string would be rendered as a quoted
    string; arguments that are not valid JSON (a malformed call kept on purpose) stay a string.
    """
    if isinstance(raw, str):
        raw = _json(raw, where, field)
    if not isinstance(raw, list) or not raw:
        raise DataError(f"{where}: {field!r} must be a non-empty list of messages")
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        at = f"{where}: {field}[{i}]"
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise DataError(f"{at}: expected a message with a role of {', '.join(sorted(_ROLES))}")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise DataError(f"{at}: content must be a string or null")
        out: dict[str, Any] = {"role": message["role"], "content": content or ""}
        if message.get("tool_calls"):
            out["tool_calls"] = [_tool_call(call, f"{at}.tool_calls[{j}]") for j, call in enumerate(message["tool_calls"])]
        for key in ("tool_call_id", "name"):
            if message.get(key) is not None:
                out[key] = message[key]
        if message["role"] == "assistant" and isinstance(message.get("reasoning_content"), str) and message["reasoning_content"]:
            out["reasoning_content"] = message["reasoning_content"]  # the thought: a thinking template's slot
        messages.append(out)
    return messages


def _tool_call(call: Any, at: str) -> dict[str, Any]:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise DataError(f"{at}: expected {{'type': 'function', 'function': {{'name', 'arguments'}}}}")
    arguments = function.get("arguments", {})
    if isinstance(arguments, str):
        with contextlib.suppress(json.JSONDecodeError):  # a malformed call stays as the model wrote it
            arguments = json.loads(arguments) if arguments.strip() else {}
    out: dict[str, Any] = {"type": "function", "function": {"name": function["name"], "arguments": arguments}}
    if call.get("id") is not None:
        out["id"] = call["id"]
    return out


def _trained(raw: Sequence[Any]) -> tuple[bool, ...]:
    """Assistant turns are learned unless they carry `"weight": 0` (a wrong call kept as a lesson)."""
    flags = []
    for message in raw:
        weight = message.get("weight", 1) if isinstance(message, dict) else 1
        flags.append(isinstance(message, dict) and message.get("role") == "assistant" and weight not in (0, False))
    return tuple(flags)


def _tools(raw: Any, where: str) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = _json(raw, where, "tools")
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise DataError(f"{where}: 'tools' must be a list of OpenAI tool objects")
    return tuple(raw)


def _example(row: Mapping[str, Any], shape: str, where: str, index: int) -> Example:
    ident = str(row.get("id") if row.get("id") is not None else index)
    if shape == "text":
        if not isinstance(row["text"], str) or not row["text"]:
            raise DataError(f"{where}: 'text' must be a non-empty string")
        return TextExample(id=ident, text=row["text"])
    tools = _tools(row.get("tools"), where)
    if shape == "messages":
        raw = row["messages"]
        if isinstance(raw, str):
            raw = _json(raw, where, "messages")
        messages = normalise_messages(raw, where)
        return ChatExample(id=ident, messages=tuple(messages), tools=tools, trained=_trained(raw))
    if shape == "completion":  # one step: the prompt is context, the completion's assistant turns are learned
        prompt = _conversation(row["prompt"], where, "prompt")
        raw_completion = _decoded(row["completion"])
        completion = _conversation(raw_completion, where, "completion")
        trained = (False,) * len(prompt) + _trained(raw_completion)
        return ChatExample(id=ident, messages=(*prompt, *completion), tools=tools, trained=trained)
    if shape == "prompts":
        return _prompt_example(row, ident, tools, where)
    prompt, chosen, rejected = (_conversation(row[k], where, k) for k in ("prompt", "chosen", "rejected"))
    for field, turn in (("chosen", chosen), ("rejected", rejected)):
        if any(m["role"] != "assistant" for m in turn):
            raise DataError(f"{where}: {field!r} must hold assistant messages only")
    return PreferenceExample(
        id=ident,
        prompt=tuple(prompt),
        chosen=tuple(chosen),
        rejected=tuple(rejected),
        tools=tools,
    )


def _prompt_example(row: Mapping[str, Any], ident: str, tools: tuple[dict[str, Any], ...], where: str) -> PromptExample:
    prompt = _conversation(row["prompt"], where, "prompt")
    if prompt[-1]["role"] == "assistant":
        raise DataError(f"{where}: 'prompt' ends with an assistant turn; a GRPO prompt ends where the turn to learn begins")
    reference = _decoded(row["reference_calls"]) if isinstance(row["reference_calls"], str) else row["reference_calls"]
    if not isinstance(reference, list | dict):
        raise DataError(f"{where}: 'reference_calls' must be a list of calls ([] where the right answer calls nothing)")
    prior = row.get("prior_calls")
    if prior is None:
        calls = [
            {"name": call["function"]["name"], "arguments": call["function"]["arguments"]}
            for message in prompt
            if message["role"] == "assistant"
            for call in message.get("tool_calls", ())
        ]
        prior = calls or None
    environment = row.get("environment")
    return PromptExample(
        id=ident,
        prompt=tuple(prompt),
        tools=tools,
        reference_calls=json.dumps(reference, ensure_ascii=False),
        environment=_json_text(environment),
        prior_calls=_json_text(prior),
    )


def _json_text(value: Any) -> str | None:
    """A column value as JSON text (a string already is one: the reward reads `"bank.py:Bank"` and JSON alike)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _decoded(value: Any) -> Any:
    """A JSON string holding a list decoded (some Parquet exports store messages so); anything else as is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _conversation(value: Any, where: str, field: str) -> list[dict[str, Any]]:
    value = _decoded(value)
    if not isinstance(value, list):
        raise DataError(
            f"{where}: {field!r} is not a list of messages; callforge trains on conversational records "
            "(lists of messages), as callforge export writes them"
        )
    return normalise_messages(value, where, field=field)


def _data_file(path: Path) -> Path:
    if path.is_dir():
        for name in ("data.jsonl", "data.parquet"):
            if (path / name).is_file():
                return path / name
        parquet = sorted(path.glob("*.parquet"))
        if parquet:
            return path
        raise DataError(f"{path}: no data.jsonl or data.parquet in this folder; give the folder callforge export wrote")
    if not path.is_file():
        raise DataError(f"{path}: no such data file or folder")
    return path


def _rows(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if path.is_dir() or path.suffix == ".parquet":
        yield from _parquet_rows(path)
        return
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            row = _json(line, where, "line")
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected a JSON object per line")
            yield where, row


def _parquet_rows(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow comes with the [train] extra (datasets)
        raise DataError(f"{path}: reading Parquet needs pyarrow: pip install 'callforge[train]'") from exc
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    for file in files:
        try:
            rows = pq.read_table(file).to_pylist()
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise DataError(f"{file}: not a readable Parquet file ({exc})") from exc
        for number, row in enumerate(rows):
            yield f"{file}[{number}]", row


def _json(text: str, where: str, field: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: {field} is not valid JSON ({exc.msg})") from exc
