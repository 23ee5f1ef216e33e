"""Build one Dialog from a foreign record: call ids, tool-result links and read errors, done once.

Every format reader walks its own layout and hands the pieces to a `DialogBuilder`, so the
conventions the verification rules rely on hold for all of them alike: every call has an id
(the source's, else `call_<n>`), every tool message names the call it answers, and whatever could
not be read is written into `meta["read_errors"]` instead of being dropped or raised.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from callforge.core import Dialog, Message, Provenance, ReadError, SpecError, ToolCall, ToolSpec, kind_of
from callforge.formats.records import Record, iter_records

MALFORMED = "record.malformed"
CALL_FORMAT = "call.format"
TOOL_MALFORMED = "tool.malformed"
RESULT_FORMAT = "result.format"
RESULT_UNLINKED = "result.unlinked"

_TOOL_CACHE_LIMIT = 20_000


class RecordError(ValueError):
    """A record that cannot be read at all; its reader turns it into a `record.malformed` Dialog."""


@dataclass(frozen=True, slots=True)
class RawCall:
    """A call as read from a source, before it gets its id inside a dialog."""

    name: str
    arguments: dict[str, Any]
    id: str | None = None


def text_of(value: Any) -> str:
    """Tool output or message content as a string: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # integers beyond 64 bits and other values orjson refuses
        return json.dumps(value, ensure_ascii=False, default=str)


def decode_json_string(value: Any) -> Any:
    """A column that datasets store either as a JSON string or already decoded, decoded.

    Raises ValueError (with orjson's position) when a string is not valid JSON.
    """
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
    return value


def read_call(item: Any) -> RawCall:
    """Read `{"name", "arguments"}` (or `"parameters"`), arguments a dict or a JSON string of one.

    Raises ValueError saying what was expected; the caller turns it into a `call.format` error.
    """
    if isinstance(item, dict) and isinstance(item.get("function"), dict):  # OpenAI tool_calls entry
        call_id = item.get("id")
        inner = read_call(item["function"])
        return RawCall(inner.name, inner.arguments, call_id if isinstance(call_id, str) else None)
    if not isinstance(item, dict):
        raise ValueError(f'a call must be an object {{"name", "arguments"}}, not {kind_of(item)}')
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f'a call needs a "name" string, got {text_of(name)}')
    key = "arguments" if "arguments" in item else "parameters"
    arguments = item.get(key, {})
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):
        if not arguments.strip():
            arguments = {}
        else:
            try:
                arguments = orjson.loads(arguments)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"call {name!r}: arguments are not valid JSON ({exc})") from None
    if not isinstance(arguments, dict):
        raise ValueError(f"call {name!r}: arguments must be an object, not {kind_of(arguments)}")
    call_id = item.get("id")
    return RawCall(name, arguments, call_id if isinstance(call_id, str) and call_id else None)


def read_calls(value: Any) -> list[RawCall]:
    """One call object or a list of them, as RawCalls (ValueError names the bad item)."""
    items = value if isinstance(value, list) else [value]
    calls = []
    for i, item in enumerate(items):
        try:
            calls.append(read_call(item))
        except ValueError as exc:
            raise ValueError(f"call #{i}: {exc}" if len(items) > 1 else str(exc)) from None
    return calls


def record_id(value: Any, record: Record) -> str:
    """The record's own `id` when it has a usable one, else `stem:line` / `stem:index`."""
    if isinstance(value, dict):
        own = value.get("id")
        if isinstance(own, str) and own:
            return own
        if isinstance(own, int) and not isinstance(own, bool):
            return str(own)
    return record.fallback_id


def malformed(record: Record, source: str, problem: str) -> Dialog:
    """The Dialog of a record that cannot be read at all: no messages, the raw record kept.

    A broken record still counts, so a verification report's totals match the file's records.
    """
    raw = record.value
    return Dialog(
        meta=Provenance(
            id=record_id(raw, record),
            source=source,
            raw=raw,
            read_errors=(ReadError(code=MALFORMED, message=f"{record.where}: {problem}"),),
        )
    )


class ToolCache:
    """Converted tools by their JSON, so datasets that repeat a tool in every row convert it once.

    ToolSpecs are frozen, so sharing one between dialogs is safe. The cache is bounded because
    some datasets have a distinct tool in nearly every row.
    """

    def __init__(self, convert: Callable[[Any], ToolSpec]) -> None:
        self._convert = convert
        self._specs: dict[bytes, ToolSpec] = {}

    def get(self, obj: Any) -> ToolSpec:
        """The ToolSpec for `obj`, converting it on first sight (SpecError/ValueError propagate)."""
        try:
            key = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
        except TypeError:
            return self._convert(obj)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._convert(obj)
            if len(self._specs) >= _TOOL_CACHE_LIMIT:
                self._specs.clear()
            self._specs[key] = spec
        return spec


class DialogBuilder:
    """Collects one dialog's tools, messages and read errors, and keeps calls and results linked.

    Calls without a source id get `call_<n>`, n counting the dialog's calls from 1. A tool message
    without an id answers the oldest call of the latest assistant turn that is still unanswered.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.tools: list[ToolSpec] = []
        self.messages: list[Message] = []
        self.errors: list[ReadError] = []
        self._calls = 0
        self._pending: deque[ToolCall] = deque()

    @property
    def pending(self) -> int:
        """How many calls of the latest assistant turn have no result yet."""
        return len(self._pending)

    def pending_id(self, name: str) -> str | None:
        """The id of the oldest unanswered call of `name` in the latest assistant turn, if any.

        Formats whose results name their tool (Hermes' `<tool_response>{"name": ...}`) link by it,
        so a result given out of order still answers the call it belongs to.
        """
        return next((call.id for call in self._pending if call.name == name), None)

    def last_call_ids(self) -> tuple[str, ...]:
        """The ids of the calls of the latest message (none unless it is an assistant turn with calls)."""
        if not self.messages:
            return ()
        return tuple(call.id for call in self.messages[-1].tool_calls if call.id is not None)

    def error(self, code: str, problem: str, *, message_index: int | None = None) -> None:
        """Record a read error; the message is prefixed with the record's place in the file."""
        self.errors.append(ReadError(code=code, message=f"{self.where}: {problem}", message_index=message_index))

    def tools_column(self, raw: Any, convert: Callable[[Any], ToolSpec], *, expected: str) -> None:
        """Add every tool of a `tools` column: a list or one tool, either possibly as a JSON string.

        Parquet/Arrow exports store the column as a JSON string; a column that cannot be read is
        one `tool.malformed` error and no tools, never a lost record.
        """
        try:
            tools = decode_json_string(raw or [])
        except ValueError as exc:
            self.error("tool.malformed", f'"tools" is {exc}; expected {expected}')
            return
        if isinstance(tools, dict):
            tools = [tools]
        if not isinstance(tools, list):
            self.error("tool.malformed", f'"tools" must be a list of tools, not {kind_of(tools)}')
            return
        for index, tool in enumerate(tools):
            self.tool(index, tool, convert)

    def tool(self, index: int, obj: Any, convert: Callable[[Any], ToolSpec]) -> None:
        """Add a tool, or record `tool.malformed` for it and go on with the others."""
        try:
            self.tools.append(convert(obj))
        except (SpecError, ValueError) as exc:
            name = obj.get("name") if isinstance(obj, dict) else None
            label = f"tool #{index}" + (f" {name!r}" if isinstance(name, str) else "")
            self.error(TOOL_MALFORMED, f"{label} skipped: {exc}")

    def text(self, role: str, content: str | None, reasoning: str | None = None) -> None:
        """A system, user or plain assistant message (an assistant's may carry its thought)."""
        if role == "assistant":
            self._pending.clear()
        row = {"role": role, "content": content, **({"reasoning": reasoning} if reasoning else {})}
        self.messages.append(Message.model_validate(row))

    def assistant(self, calls: Sequence[RawCall], content: str | None = None, reasoning: str | None = None) -> None:
        """An assistant turn with calls (and the thought before them); ids are kept or assigned, the calls await results."""
        made = []
        for call in calls:
            self._calls += 1
            made.append(
                ToolCall(name=call.name, arguments=call.arguments, id=call.id or f"call_{self._calls}")
            )
        self._pending = deque(made)
        self.messages.append(Message(role="assistant", content=content, tool_calls=tuple(made), reasoning=reasoning or None))

    def unparsed(self, raw: str, problem: str) -> None:
        """An assistant turn whose calls could not be read: its raw text as content, no calls."""
        self._pending.clear()
        self.error(CALL_FORMAT, problem, message_index=len(self.messages))
        self.messages.append(Message(role="assistant", content=raw))

    def result(self, content: str, *, call_id: str | None = None, name: str | None = None) -> None:
        """One tool message, linked to `call_id` or else to the oldest unanswered call."""
        if call_id is not None:
            for call in self._pending:
                if call.id == call_id:
                    self._pending.remove(call)
                    name = name or call.name
                    break
        elif self._pending:
            call = self._pending.popleft()
            call_id, name = call.id, name or call.name
        else:
            self.error(
                RESULT_UNLINKED,
                "a tool result with no call before it to answer; expected it after an assistant call",
                message_index=len(self.messages),
            )
        self.messages.append(Message(role="tool", content=content, tool_call_id=call_id, name=name))

    def results(self, outputs: list[str] | None, raw: str, what: str) -> None:
        """The results of the pending calls given in one source turn (ShareGPT, ToolACE).

        `outputs` holds one result per call when the turn could be split; when it is None or its
        length does not match the pending calls, the whole turn becomes one message answering the
        first call, and the mismatch is recorded.
        """
        pending = self.pending
        if outputs is not None and len(outputs) == pending and pending > 0:
            for output in outputs:
                self.result(output)
            return
        if pending > 1:
            if outputs is None:
                found = "a value that is not a list of them"
            else:
                found = f"{len(outputs)} result{'s' if len(outputs) != 1 else ''}"
            self.error(
                RESULT_FORMAT,
                f"{what}: {pending} calls need {pending} results, found {found}; kept as one result "
                "answering the first call",
                message_index=len(self.messages),
            )
        if outputs is not None and len(outputs) == 1 and pending <= 1:
            raw = outputs[0]
        self.result(raw)

    def build(self, meta: Provenance) -> Dialog:
        """The Dialog, with `read_errors` in `meta` when anything could not be read."""
        if self.errors:
            meta = meta.model_copy(update={"read_errors": tuple(self.errors)})
        return Dialog(tools=tuple(self.tools), messages=tuple(self.messages), meta=meta)


def read_records(
    path: Path, source: str, convert: Callable[[Any, Record], Dialog], expected: str
) -> Iterator[Dialog]:
    """Convert each record of `path` with `convert`; a record it rejects becomes `record.malformed`.

    `expected` describes one good record of the format, for the message of a bad one.
    """
    return convert_records(iter_records(path), source, convert, expected)


def convert_records(
    records: Iterable[Record], source: str, convert: Callable[[Any, Record], Dialog], expected: str
) -> Iterator[Dialog]:
    """`read_records` for records read elsewhere (a run folder's shards, under the run's torn-line policy)."""
    for record in records:
        if record.error is not None:
            yield malformed(record, source, f"{record.error}; expected {expected}")
            continue
        try:
            dialog = convert(record.value, record)
        except RecordError as exc:
            dialog = malformed(record, source, f"{exc}; expected {expected}")
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            dialog = malformed(record, source, f"{problem}; expected {expected}")
        except Exception as exc:  # a bug of ours must not cost the rest of the file; the record says so
            problem = f"callforge could not read this record ({type(exc).__name__}: {exc}); please report it"
            dialog = malformed(record, source, problem)
        yield dialog


_THINK = re.compile(r"\A\s*<think>(.*?)</think>\s*", re.DOTALL)


def split_think(content: str | None) -> tuple[str | None, str | None]:
    """A leading `<think>...</think>` block of an assistant's text as its thought, and the text after it.

    How a thought travels inline (Qwen3/DeepSeek-R1 text, ShareGPT `function_call` turns, `export
    --reasoning keep`): reading it into `Message.reasoning` makes those records round-trip.
    """
    if not content:
        return None, content
    match = _THINK.match(content)
    if match is None:
        return None, content
    rest = content[match.end() :]
    return match.group(1).strip() or None, rest or None
