"""The dataset columns a reward reads, turned once per row into typed records (tools, reference calls, a Case).

Columns (each a JSON string or the decoded value, so Parquet/`datasets` rows and JSON Lines both work):

* `tools`: the offered tools, OpenAI `{"type": "function", "function": {...}}` objects, bare function
  objects, or BFCL functions (what `callforge export --format steps|openai|hf|bfcl` writes).
* `reference_calls`: what the turn should do. A list of calls, each `{"name", "arguments"}`
  (arguments an object or a JSON string), an OpenAI tool call, a BFCL possible answer
  `{name: {param: [accepted values]}}` or a Python call string `"f(a=1)"`; or the assistant
  message(s) of the turn (the `completion` of a `steps` export, renamed, since TRL does not pass a
  column named `completion` to reward functions). An empty list means the right answer calls nothing.
* `environment` (optional): where the stateful tools live, `{"python": "bank.py", "class": "Bank",
  "init": {...}}` or `"bank.py:Bank"`, for the end-state reward.
* `prior_calls` (optional): calls the dialog made before this turn, replayed on the environment first;
  when absent they are read from the conversational `prompt`'s assistant messages.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from callforge.core import (
    OMITTED,
    Case,
    Category,
    DataError,
    ExpectedCall,
    SpecError,
    ToolCall,
    ToolSpec,
)
from callforge.execute import EnvironmentSpec, parse_environment
from callforge.llm import parse_tool_calls
from callforge.tools import tool_from_bfcl, tool_from_openai

COLUMNS = ("tools", "reference_calls", "environment", "prior_calls")
"""The dataset columns the rewards read (`prompt`/`prompts` too, for prior calls)."""

_CACHE_SIZE = 4096


@dataclass(frozen=True)
class RewardRow:
    """One dataset row as the rewards need it: tools, reference calls, the Case the evaluator scores against.

    `reference` holds concrete calls (for execution and end state); `case.expected` the accepted
    values per parameter (for the exact match). A reference given as BFCL possible answers gives
    concrete calls made of each parameter's first accepted value.
    """

    key: str
    tools: tuple[ToolSpec, ...]
    reference: tuple[ToolCall, ...]
    case: Case
    environment: EnvironmentSpec | None = None
    prior_calls: tuple[ToolCall, ...] = ()

    def tool(self, name: str) -> ToolSpec | None:
        """The offered tool called exactly `name` (no normalisation: a look-alike name is another name)."""
        return self.case.tool(name)


_rows: OrderedDict[bytes, RewardRow] = OrderedDict()


def read_row(columns: Mapping[str, Any], *, base: Path | None = None) -> RewardRow:
    """The typed row for one dataset row's columns; rows are cached, so the G completions of a prompt parse it once."""
    raw = {name: columns.get(name) for name in COLUMNS}
    if raw["prior_calls"] is None:
        raw["prior_calls"] = _prompt_calls(columns.get("prompt", columns.get("prompts")))
    try:
        cache_key = orjson.dumps([raw, str(base)], option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:
        raise DataError(f"reward columns must be JSON values: {exc}") from None
    found = _rows.get(cache_key)
    if found is not None:
        _rows.move_to_end(cache_key)
        return found
    row = _read(raw, base, hashlib.sha1(cache_key).hexdigest()[:16])
    _rows[cache_key] = row
    if len(_rows) > _CACHE_SIZE:
        _rows.popitem(last=False)
    return row


def rows_from_columns(count: int, columns: Mapping[str, Any], *, base: Path | None = None) -> list[RewardRow]:
    """The rows of a batch as TRL passes it: every column a list with one value per completion."""
    if "reference_calls" not in columns:
        raise DataError(
            "the dataset has no `reference_calls` column; rewards need each row's reference calls "
            "(docs/reward.md lists the columns)"
        )
    lists: dict[str, Sequence[Any]] = {}
    for name in (*COLUMNS, "prompts", "prompt"):
        values = columns.get(name)
        if values is None:
            continue
        if not isinstance(values, list | tuple) or len(values) != count:
            raise DataError(f"column `{name}` must hold one value per completion ({count})")
        lists[name] = values
    return [read_row({name: values[i] for name, values in lists.items()}, base=base) for i in range(count)]


def _read(raw: dict[str, Any], base: Path | None, key: str) -> RewardRow:
    tools = tuple(read_tools(_json(raw["tools"], "tools") or []))
    by_name = {t.name: t for t in tools}
    reference, expected = _reference(_json(raw["reference_calls"], "reference_calls"), by_name)
    prior = tuple(read_calls(_json(raw["prior_calls"], "prior_calls") or [], "prior_calls"))
    environment = _environment(_json(raw["environment"], "environment", keep_text=True), base)
    case = Case(id=key, category=_category(expected, tools), tools=tools, expected=tuple(expected))
    return RewardRow(key, tools, tuple(reference), case, environment, prior)


def _json(value: Any, column: str, *, keep_text: bool = False) -> Any:
    """A column's value; a JSON string is decoded (an `environment` that is not JSON stays text)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if keep_text and not text.startswith(("{", "[")):
        return text or None
    try:
        return json.loads(text) if text else None
    except ValueError as exc:
        raise DataError(f"column `{column}` is a string but not JSON: {exc}") from None


def read_tools(items: Any) -> list[ToolSpec]:
    """ToolSpecs from OpenAI tool objects, bare function objects or BFCL functions."""
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise DataError(f"column `tools` must be a list of tool objects, got {type(items).__name__}")
    tools = []
    for item in items:
        try:
            tools.append(_tool(item))
        except SpecError as exc:
            raise DataError(f"column `tools`: {exc}") from None
    return tools


def _tool(item: Any) -> ToolSpec:
    if isinstance(item, dict) and "function" not in item:
        params = item.get("parameters")
        if isinstance(params, dict) and params.get("type") == "dict":  # BFCL's dialect
            return tool_from_bfcl(item)
    return tool_from_openai(item)


def read_calls(items: Any, column: str) -> list[ToolCall]:
    """Concrete calls from any of the call shapes (`{"name", "arguments"}`, OpenAI, Python text, messages)."""
    return _reference(items, {}, column=column, concrete_only=True)[0]


def _reference(
    value: Any, tools: Mapping[str, ToolSpec], *, column: str = "reference_calls", concrete_only: bool = False
) -> tuple[list[ToolCall], list[ExpectedCall]]:
    if value is None:
        raise DataError(f"column `{column}` is empty; give [] for a turn whose right answer calls nothing")
    items = value if isinstance(value, list) else [value]
    if items and all(isinstance(i, dict) and "role" in i for i in items):
        items = _message_calls(items, column)
    calls: list[ToolCall] = []
    expected: list[ExpectedCall] = []
    for n, item in enumerate(items):
        where = f"column `{column}` item {n}"
        accepted = None if concrete_only else _possible_answer(item)
        if accepted is not None:
            expected.append(accepted)
            calls.append(_first_accepted(accepted))
            continue
        call = _concrete(item, where)
        calls.append(call)
        expected.append(_expected(call, tools.get(call.name)))
    return calls, expected


def _message_calls(messages: list[dict[str, Any]], column: str) -> list[Any]:
    """The tool calls of the first assistant message (a `steps` completion); [] for a reply in words."""
    for message in messages:
        if message.get("role") == "assistant":
            calls = message.get("tool_calls") or []
            if not isinstance(calls, list):
                raise DataError(f"column `{column}`: `tool_calls` must be a list")
            return calls
    raise DataError(f"column `{column}` holds messages but no assistant message")


def _possible_answer(item: Any) -> ExpectedCall | None:
    """`{name: {param: [values]}}`, BFCL's ground truth for one call; None for any other shape."""
    if not isinstance(item, dict) or len(item) != 1:
        return None
    ((name, arguments),) = item.items()
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return None
    if not all(isinstance(v, list) for v in arguments.values()):
        return None
    return ExpectedCall(name=name, arguments=arguments)


def _first_accepted(expected: ExpectedCall) -> ToolCall:
    arguments = {k: v[0] for k, v in expected.arguments.items() if v and v[0] != OMITTED}
    return ToolCall(name=expected.name, arguments=arguments)


def _concrete(item: Any, where: str) -> ToolCall:
    if isinstance(item, str):
        parsed = parse_tool_calls(item)
        if not parsed.verdict.ok or len(parsed.calls) != 1 or parsed.text:
            raise DataError(f"{where}: {item!r} is not one call")
        return parsed.calls[0]
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected a call object, got {type(item).__name__}")
    body = item.get("function", item)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        raise DataError(f"{where}: a call needs a `name` (got {item!r:.120})")
    arguments = body.get("arguments", body.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            raise DataError(f"{where}: arguments are not JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise DataError(f"{where}: arguments must be an object")
    return ToolCall(name=body["name"], arguments=arguments)


def _expected(call: ToolCall, tool: ToolSpec | None) -> ExpectedCall:
    """BFCL's possible answer for a concrete call (as `callforge export --format bfcl` writes it)."""
    if tool is None:
        return ExpectedCall(name=call.name, arguments={k: [v] for k, v in call.arguments.items()})
    required = set(tool.required)
    answer: dict[str, list[Any]] = {}
    for name, schema in tool.properties.items():
        has_default = isinstance(schema, dict) and "default" in schema
        default = schema.get("default") if has_default else None
        if name in call.arguments:
            value = call.arguments[name]
            at_default = has_default and value == default and name not in required
            answer[name] = [value, OMITTED] if at_default else [value]
        elif name not in required:
            answer[name] = [default, OMITTED] if has_default else [OMITTED]
    for name, value in call.arguments.items():  # an argument the schema lacks stays required of the model
        answer.setdefault(name, [value])
    return ExpectedCall(name=call.name, arguments=answer)


def _category(expected: Sequence[ExpectedCall], tools: Sequence[ToolSpec]) -> Category:
    if not expected:
        return Category.IRRELEVANCE
    if len(expected) == 1:
        return Category.SIMPLE_PYTHON if len(tools) <= 1 else Category.MULTIPLE
    return Category.PARALLEL if len({e.name for e in expected}) == 1 else Category.PARALLEL_MULTIPLE


def _environment(value: Any, base: Path | None) -> EnvironmentSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        path = value if base is None or Path(value.rpartition(":")[0] or value).is_absolute() else str(base / value)
        return parse_environment(path)
    return EnvironmentSpec.from_json(value, base or Path.cwd(), "column `environment`")


def _prompt_calls(prompt: Any) -> list[dict[str, Any]] | None:
    """The calls the conversation made before this turn, from a conversational prompt; None when there are none."""
    if not isinstance(prompt, list):
        return None
    calls: list[dict[str, Any]] = []
    for message in prompt:
        if isinstance(message, dict) and message.get("role") == "assistant":
            for call in message.get("tool_calls") or []:
                if isinstance(call, dict):
                    calls.append(call)
    return calls or None
