"""Tool calls out of a model's text, for servers and models that have no native tool calling.

A model prompted to call tools writes them in one of a few conventions: Hermes/Qwen
`<tool_call>` tags, a fenced code block, Llama 3.1's `<|python_tag|>` JSON, bare JSON among
prose, or a BFCL-style Python call list. `parse_tool_calls` reads all of them, in that order of
priority, and never raises: a model's reply is untrusted input, and a reply that cannot be read is
a result to record (a `parse.*` verdict), not a crash of the run. Arguments are read as data only,
with `json` and `ast` plus a literal whitelist; nothing the model wrote is ever evaluated.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from callforge.core import ToolCall, ToolSpec, Verdict

MAX_TEXT_CHARS = 1_000_000
"""Longer replies that contain call markers are not parsed (`parse.too_long`): no model call list is that long."""

_MAX_JSON_STARTS = 1000  # failed bracket positions tried when looking for JSON inside prose
_JSON_BUDGET = 4  # ... and characters those failed tries may read, per character of the text
_MAX_DEPTH = 200  # nesting of Python literals (the Python parser itself stops at 200 brackets)
_MAX_BROKEN = 20  # broken snippets kept as evidence
_SNIPPET_CHARS = 300

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"
PYTHON_TAG = "<|python_tag|>"
_LLAMA_END_TOKENS = ("<|eom_id|>", "<|eot_id|>", "<|end_of_text|>")
_FENCE = "```"
_MARKERS = ("{", "[", "(", _FENCE, OPEN_TAG, PYTHON_TAG)

_TAG = re.compile(r"</?tool_call>")
_FENCE_RE = re.compile(r"```")
_FENCE_LANG = re.compile(r"([A-Za-z0-9_+.-]*)[ \t]*(?:\r?\n|$)")
_FENCE_WORD = re.compile(r"([A-Za-z0-9_+.-]+)[ \t]+")
_JSON_OPENER = re.compile(r"[\[{]")
# A JSON object that starts like a call: `{"name":`, `{"function":`, possibly inside a list (after a tag).
_JSON_CALL_START = re.compile(r"\[?\s*\{\s*\"(?:name|function)\"\s*:")
# ... and, in free text or a ```json block, one that cannot be anything but a call: a string name
# followed by arguments, or the OpenAI `{"type": "function"` / `{"function": {` shape.
_CALL_LIKE = (
    r"\{\s*(?:\"name\"\s*:\s*\"[^\"\n]*\"\s*,\s*\"(?:arguments|parameters)\""
    r"|\"type\"\s*:\s*\"function\"|\"function\"\s*:\s*\{)"
)
_JSON_CALL_LIKE = re.compile(_CALL_LIKE)
_JSON_CALL_LIKE_AT = re.compile(r"\[?\s*" + _CALL_LIKE)
# A Python call list or a single call: `[name(` or `name(`, dotted names allowed.
_PY_CALL_START = re.compile(r"\[?\s*[^\W\d][\w]*(?:\.[^\W\d][\w]*)*\(")
_SEPARATORS = " \t\r\n;,"

_JSON_LANGS = frozenset({"json", "jsonc", "json5", "jsonl"})
_CALL_LANGS = frozenset({"tool_call", "tool_calls", "toolcall", "function_call", "functions"})
_PYTHON_LANGS = frozenset({"python", "py", "python3", "tool_code"})
_CALL_KEYS = frozenset({"name", "arguments", "parameters", "id", "type"})
_WRAPPER_KEYS = frozenset({"function", "id", "type"})

_HINT = {
    "hermes": '<tool_call>{"name": "<tool>", "arguments": {...}}</tool_call>',
    "llama3": '{"name": "<tool>", "parameters": {...}}',
    "python": "[tool_name(param=value, ...)]",
}
_JSON_HINT = '{"name": "<tool>", "arguments": {...}}'


class ParsedText(BaseModel):
    """What a text reply holds, so a backend can fill a `Completion` from any text protocol.

    `text` is what is left once the recognised call blocks are cut out (the model's prose);
    `verdict` passes with `evidence["format"]` naming the convention the model followed, or fails
    with a `parse.*` code while `calls` still keeps every call that could be read.
    """

    model_config = ConfigDict(frozen=True)

    calls: tuple[ToolCall, ...] = ()
    text: str = ""
    verdict: Verdict


@dataclass(slots=True)
class _Broken:
    code: str
    snippet: str
    error: str
    name: str | None = None


@dataclass(slots=True)
class _Found:
    format: str
    calls: list[ToolCall] = field(default_factory=list)
    broken: list[_Broken] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    used_parameters: bool = False


class _NotLiteral(Exception):
    """A Python argument that is not a plain literal value."""


class _Positional(Exception):
    """Positional Python arguments that cannot be bound to parameter names."""


def parse_tool_calls(text: str | None, *, tools: Sequence[ToolSpec] | None = None) -> ParsedText:
    """Read the tool calls a model wrote as text, whatever convention it followed, without ever raising.

    `tools` is used only to bind positional Python arguments to parameter names; tool names are not
    checked here (an unknown name is the verifier's finding, not a parse failure).
    """
    try:
        return _parse(text, tools)
    except Exception as exc:  # a bug of ours must not take a run down; the verdict says what happened
        leftover = text.strip() if isinstance(text, str) else ""
        return ParsedText(
            text=leftover,
            verdict=Verdict.failed(
                "parse.internal_error",
                f"callforge could not parse this reply ({type(exc).__name__}: {exc}); this is a callforge "
                "bug, please report it with the reply",
                error=f"{type(exc).__name__}: {exc}",
                snippet=_snippet(leftover),
            ),
        )


def _parse(text: Any, tools: Sequence[ToolSpec] | None) -> ParsedText:
    if text is None:
        return ParsedText(text="", verdict=Verdict.passed(format="none"))
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    text = _strip_end_tokens(text)
    if not any(marker in text for marker in _MARKERS):
        return ParsedText(text=text.strip(), verdict=Verdict.passed(format="none"))
    if len(text) > MAX_TEXT_CHARS:
        return ParsedText(
            text=text.strip(),
            verdict=Verdict.failed(
                "parse.too_long",
                f"the reply is {len(text)} characters long, over the {MAX_TEXT_CHARS} that are parsed; "
                "send only the tool calls, without repeating text",
                length=len(text),
                limit=MAX_TEXT_CHARS,
                snippet=_snippet(text),
            ),
        )
    by_name = {tool.name: tool for tool in tools} if tools else {}
    found = _hermes(text) or _fenced(text, by_name) or _llama3(text, by_name)
    if found is None:
        found = _python_or_json(text, by_name)
    if found is None:
        return ParsedText(text=text.strip(), verdict=Verdict.passed(format="none"))
    return ParsedText(
        calls=tuple(found.calls), text=_remove_spans(text, found.spans), verdict=_verdict(found)
    )


def _strip_end_tokens(text: str) -> str:
    """Drop end-of-turn tokens a server left at the end of the reply; they are not content.

    Only trailing ones: the same characters inside a JSON string argument are the model's data.
    """
    if not text.rstrip().endswith(_LLAMA_END_TOKENS):
        return text
    end = len(text.rstrip())
    while True:
        for token in _LLAMA_END_TOKENS:
            if text.endswith(token, 0, end):
                end -= len(token)
                while end and text[end - 1].isspace():
                    end -= 1
                break
        else:
            return text[:end]


def _python_or_json(text: str, tools: dict[str, ToolSpec]) -> _Found | None:
    """Bare JSON comes before Python, except for a text that is entirely a readable Python call list.

    `f(filter={"name": "x", "arguments": {}})` is one Python call, not a JSON call among prose.
    """
    python = _whole_python(text, tools)
    if python is not None and not python.broken:
        return python
    return _bare_json(text) or python


# --------------------------------------------------------------------------------------------
# JSON


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {literal} is out of range")
    return value


def _reject_constant(literal: str) -> Any:
    raise ValueError(f"{literal} is not valid JSON")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)


class _JsonError(ValueError):
    """Why no JSON value starts at a position, and how far the decoder read before it found out."""

    def __init__(self, message: str, reach: int) -> None:
        super().__init__(message)
        self.reach = reach


def _decode_at(text: str, pos: int) -> tuple[Any, int]:
    """One JSON value starting exactly at `pos`; `_JsonError` (with the reason) when there is none."""
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise _JsonError("JSON nested too deeply", len(text)) from None
    except json.JSONDecodeError as exc:
        raise _JsonError(f"{exc.msg} at character {exc.pos - pos}", exc.pos) from None
    except ValueError as exc:  # NaN, Infinity, out-of-range numbers
        raise _JsonError(str(exc), len(text)) from None


_SKIPPERS = {chars: re.compile(f"[{re.escape(chars)}]*") for chars in (_SEPARATORS, " \t\r\n")}


def _skip(text: str, pos: int, chars: str) -> int:
    skipper = _SKIPPERS.get(chars) or re.compile(f"[{re.escape(chars)}]*")
    match = skipper.match(text, pos)
    return match.end() if match else pos


def _json_run(text: str, pos: int, end: int) -> tuple[list[tuple[Any, int, int]], int, str | None]:
    """JSON values one after another from `pos`, separated by whitespace, `;` or `,`.

    Returns the values with their spans, where the run stopped, and the decode error if it stopped
    at something that is not a separator and not the end (None when everything was consumed).
    """
    segment = text[pos:end]  # the decoder never reads past the block, however broken it is
    offset = pos
    values: list[tuple[Any, int, int]] = []
    at = 0
    while True:
        at = _skip(segment, at, _SEPARATORS if values else " \t\r\n")
        if at >= len(segment):
            return values, end, None
        try:
            value, stop = _decode_at(segment, at)
        except ValueError as exc:
            return values, offset + at, str(exc)
        values.append((value, offset + at, offset + stop))
        at = stop


def _is_call_object(value: Any) -> bool:
    """Whether a JSON value met in free text is meant as a call (and not an answer that has a name)."""
    if not isinstance(value, dict):
        return False
    function = value.get("function")
    if isinstance(function, dict) and set(value) <= _WRAPPER_KEYS:
        return isinstance(function.get("name"), str)
    return (
        isinstance(value.get("name"), str)
        and ("arguments" in value or "parameters" in value)
        and set(value) <= _CALL_KEYS
    )


def _is_call_value(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and any(_is_call_object(item) for item in value)
    return _is_call_object(value)


def _read_calls(value: Any, snippet: str, found: _Found) -> None:
    """Turn one decoded JSON value (a call object or a list of them) into calls or broken entries."""
    items = value if isinstance(value, list) else [value]
    if not items:
        found.broken.append(_Broken("parse.not_a_call", snippet, "an empty list holds no tool call"))
    for item in items:
        item_snippet = snippet if len(items) == 1 else _dump_snippet(item)
        _read_call(item, item_snippet, found)


def _read_call(item: Any, snippet: str, found: _Found) -> None:
    if not isinstance(item, dict):
        found.broken.append(
            _Broken("parse.not_a_call", snippet, f"expected a JSON object, found {_json_type(item)}")
        )
        return
    function = item.get("function")
    inner: dict[str, Any] = function if isinstance(function, dict) else item
    name = inner.get("name")
    if not isinstance(name, str) or not name.strip():
        found.broken.append(
            _Broken("parse.not_a_call", snippet, 'the object has no "name" holding a non-empty string')
        )
        return
    name = name.strip()
    if "arguments" in inner:
        raw = inner["arguments"]
    else:
        raw = inner.get("parameters")
        found.used_parameters = found.used_parameters or "parameters" in inner
    arguments = raw
    if raw is None:
        arguments = {}
    elif isinstance(raw, str):
        if not raw.strip():
            arguments = {}
        else:
            try:
                arguments, stop = _decode_at(raw, _skip(raw, 0, " \t\r\n"))
            except ValueError as exc:
                found.broken.append(
                    _Broken(
                        "parse.bad_arguments", snippet, f"arguments string is not valid JSON: {exc}", name
                    )
                )
                return
            if raw[stop:].strip():
                found.broken.append(
                    _Broken("parse.bad_arguments", snippet, "arguments string has text after the JSON", name)
                )
                return
    if not isinstance(arguments, dict):
        found.broken.append(
            _Broken(
                "parse.bad_arguments",
                snippet,
                f"arguments must be a JSON object, found {_json_type(arguments)}",
                name,
            )
        )
        return
    call_id = item.get("id", inner.get("id"))
    found.calls.append(
        ToolCall(name=name, arguments=arguments, id=call_id if isinstance(call_id, str) else None)
    )


def _json_type(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _unfence(body: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of a block's content without a ```json ... ``` wrapper, which some models add inside tags."""
    head = _skip(body, start, " \t\r\n")
    if not body.startswith(_FENCE, head):
        return start, end
    lang = _FENCE_LANG.match(body, head + 3)
    inner_start = lang.end() if lang else head + 3
    tail = body.rfind(_FENCE, inner_start, end)
    return inner_start, tail if tail >= 0 else end


# --------------------------------------------------------------------------------------------
# 1. Hermes / Qwen: <tool_call> ... </tool_call>


def _hermes(text: str) -> _Found | None:
    if OPEN_TAG not in text:
        return None
    found = _Found("hermes")
    tags = [(m.start(), m.group() == CLOSE_TAG) for m in _TAG.finditer(text)]
    for index, (start, is_close) in enumerate(tags):
        if is_close:
            continue  # a stray closing tag: cut out only when it ends a block
        body_start = start + len(OPEN_TAG)
        following = tags[index + 1] if index + 1 < len(tags) else None
        if following is not None and following[1]:
            _hermes_block(text, start, body_start, following[0], following[0] + len(CLOSE_TAG), found)
        else:
            body_end = following[0] if following is not None else len(text)
            _hermes_unclosed(text, start, body_start, body_end, found)
    return found


def _hermes_block(
    text: str, start: int, body_start: int, body_end: int, block_end: int, found: _Found
) -> None:
    found.spans.append((start, block_end))
    raw = text[start:block_end]
    inner_start, inner_end = _unfence(text, body_start, body_end)
    values, _stop, error = _json_run(text, inner_start, inner_end)
    if error is not None or not values:
        found.broken.append(_Broken("parse.invalid_json", _snippet(raw), error or "the block is empty"))
        return
    for value, _a, _b in values:
        _read_calls(value, _snippet(raw), found)


def _hermes_unclosed(text: str, start: int, body_start: int, body_end: int, found: _Found) -> None:
    inner_start, inner_end = _unfence(text, body_start, body_end)
    values, _stop, error = _json_run(text, inner_start, inner_end)
    if not values:
        found.spans.append((start, body_end))
        found.broken.append(
            _Broken(
                "parse.invalid_json",
                _snippet(text[start:body_end]),
                f"{error or 'the block is empty'} (and the block has no closing {CLOSE_TAG})",
            )
        )
        return
    end = values[-1][2]
    if inner_end < body_end:  # a fence inside the block: the block ends with its closing fence
        end = _skip(text, end, " \t\r\n")
        end = end + len(_FENCE) if text.startswith(_FENCE, end) else end
    found.spans.append((start, end))
    for value, _a, _b in values:
        _read_calls(value, _snippet(text[start:end]), found)


# --------------------------------------------------------------------------------------------
# 2. Fenced code blocks


def _fenced(text: str, tools: dict[str, ToolSpec]) -> _Found | None:
    if _FENCE not in text:
        return None
    found = _Found("fenced")
    marks = [m.start() for m in _FENCE_RE.finditer(text)]
    for pair in range(0, len(marks), 2):
        open_at = marks[pair]
        closed = pair + 1 < len(marks)
        close_at = marks[pair + 1] if closed else len(text)
        lang, body_start = _fence_language(text, open_at + len(_FENCE), close_at)
        if _fenced_block(text, lang, body_start, close_at, tools, found):
            found.spans.append((open_at, close_at + len(_FENCE) if closed else len(text)))
    return found if found.spans else None


def _fence_language(text: str, start: int, end: int) -> tuple[str, int]:
    """The info string of a fence (```json) and where its content starts; "" when there is none."""
    line = _FENCE_LANG.match(text, start, end)
    if line is not None:
        return line.group(1).lower(), line.end()
    word = _FENCE_WORD.match(text, start, end)  # an inline fence: ```json {...}```
    if word is not None and word.group(1).lower() in _JSON_LANGS | _CALL_LANGS | _PYTHON_LANGS:
        return word.group(1).lower(), word.end()
    return "", start


def _fenced_block(
    text: str, lang: str, start: int, end: int, tools: dict[str, ToolSpec], found: _Found
) -> bool:
    """Read one fenced block; False when it is not a call attempt (it then stays in the text)."""
    body = text[start:end].strip()
    if not body:
        return False
    looks_python = _PY_CALL_START.match(body) is not None
    if lang in _PYTHON_LANGS or (not lang and looks_python):
        if looks_python:
            _python_calls(body, tools, found)
        return looks_python
    if lang and lang not in _JSON_LANGS and lang not in _CALL_LANGS:
        return False
    values, _stop, error = _json_run(text, start, end)
    if error is not None or not values:
        if lang in _CALL_LANGS and looks_python:
            _python_calls(body, tools, found)
            return True
        if lang in _CALL_LANGS or _JSON_CALL_LIKE.search(body):
            found.broken.append(_Broken("parse.invalid_json", _snippet(body), error or "the block is empty"))
            return True
        return False
    if lang not in _CALL_LANGS and not any(_is_call_value(value) for value, _a, _b in values):
        return False  # JSON data, not a call: an answer
    for value, a, b in values:
        _read_calls(value, _snippet(text[a:b]), found)
    return True


# --------------------------------------------------------------------------------------------
# 3. Llama 3.1: <|python_tag|>{"name": ..., "parameters": {...}}; ...


def _llama3(text: str, tools: dict[str, ToolSpec]) -> _Found | None:
    tag = text.find(PYTHON_TAG)
    if tag < 0:
        return None
    found = _Found("llama3")
    body_start = tag + len(PYTHON_TAG)
    # Later tags (one per call) become blanks of the same length, so offsets still index `text`.
    body = text[:body_start] + text[body_start:].replace(PYTHON_TAG, " " * len(PYTHON_TAG))
    values, stop, error = _json_run(body, body_start, len(body))
    if values:
        for value, a, b in values:
            _read_calls(value, _snippet(body[a:b]), found)
        if error is not None and _JSON_CALL_START.match(body, stop):
            found.broken.append(_Broken("parse.invalid_json", _snippet(body[stop:]), error))
            stop = len(body)  # a broken call to the end: no prose is left after it
        has_prose_after = bool(body[stop:].strip(_SEPARATORS))
        found.spans.append((tag, values[-1][2] if has_prose_after else len(text)))
        return found
    rest = body[body_start:].strip()
    if _PY_CALL_START.match(rest):  # Llama's built-in tools: <|python_tag|>brave_search.call(query="...")
        _python_calls(rest, tools, found)
    else:
        found.broken.append(
            _Broken("parse.invalid_json", _snippet(rest), error or f"nothing follows {PYTHON_TAG}")
        )
    found.spans.append((tag, len(text)))
    return found


# --------------------------------------------------------------------------------------------
# 4. Bare JSON among prose


def _bare_json(text: str) -> _Found | None:
    """Every call-shaped JSON value in the text, in order; other JSON (an answer) stays text.

    A value that decodes is consumed whole, so the scan is linear; failed starts are what can cost,
    so their number and the characters they read are bounded (a reply past those bounds is
    scanned no further, which only a degenerate reply reaches).
    """
    found = _Found("json")
    pos = 0
    tries = 0
    budget = _JSON_BUDGET * len(text) + 4096
    attempt = False
    while tries < _MAX_JSON_STARTS and budget > 0:
        match = _JSON_OPENER.search(text, pos)
        if match is None:
            break
        start = match.start()
        try:
            value, end = _decode_at(text, start)
        except _JsonError as exc:
            tries += 1
            budget -= exc.reach - start + 1
            if _JSON_CALL_LIKE_AT.match(text, start):
                attempt = True
                line_end = text.find("\n", start)
                line_end = len(text) if line_end < 0 else line_end
                found.broken.append(_Broken("parse.invalid_json", _snippet(text[start:line_end]), str(exc)))
                pos = line_end
            else:
                pos = start + 1
            continue
        if _is_call_value(value):
            attempt = True
            found.spans.append((start, end))
            _read_calls(value, _snippet(text[start:end]), found)
        pos = end
    if not attempt:
        return None
    if found.calls and not found.broken and found.used_parameters and _only_calls(text, found.spans):
        found.format = "llama3"  # Llama 3.1's JSON calls without the python tag
    return found


def _only_calls(text: str, spans: list[tuple[int, int]]) -> bool:
    pos = 0
    for start, end in spans:
        if text[pos:start].strip(_SEPARATORS):
            return False
        pos = end
    return not text[pos:].strip(_SEPARATORS)


# --------------------------------------------------------------------------------------------
# 5. Python call lists: [get_weather(city="Paris"), math.hypot(x=3, y=4)]


def _whole_python(text: str, tools: dict[str, ToolSpec]) -> _Found | None:
    stripped = text.strip()
    if not _PY_CALL_START.match(stripped):
        return None
    found = _Found("python")
    if _python_calls(stripped, tools, found):
        found.spans.append((0, len(text)))  # unreadable text is not cut out: nothing was recognised
    return found


def _python_calls(source: str, tools: dict[str, ToolSpec], found: _Found) -> bool:
    """Read a Python call list into `found`; False when the source is not even Python syntax."""
    try:
        body = ast.parse(source, mode="eval").body
    except SyntaxError as exc:
        where = f" (line {exc.lineno}, column {exc.offset})" if exc.lineno else ""
        found.broken.append(_Broken("parse.invalid_python", _snippet(source), f"{exc.msg}{where}"))
        return False
    except (ValueError, RecursionError, MemoryError) as exc:
        found.broken.append(_Broken("parse.invalid_python", _snippet(source), str(exc) or type(exc).__name__))
        return False
    nodes = body.elts if isinstance(body, ast.List | ast.Tuple) else [body]
    for node in nodes:
        if not isinstance(node, ast.Call):
            found.broken.append(
                _Broken("parse.invalid_python", _snippet(_unparse(node)), "not a function call")
            )
            continue
        name = _dotted_name(node.func)
        if name is None:
            found.broken.append(
                _Broken("parse.invalid_python", _snippet(_unparse(node)), "the called thing is not a name")
            )
            continue
        try:
            found.calls.append(ToolCall(name=name, arguments=_python_arguments(node, name, tools)))
        except _Positional as exc:
            found.broken.append(_Broken("parse.positional_args", _snippet(_unparse(node)), str(exc), name))
        except _NotLiteral as exc:
            found.broken.append(_Broken("parse.invalid_python", _snippet(_unparse(node)), str(exc), name))
        except RecursionError:
            found.broken.append(
                _Broken("parse.invalid_python", _snippet(_unparse(node)), "arguments nested too deeply", name)
            )
    return True


def _dotted_name(func: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(func.id)
    return ".".join(reversed(parts))


def _python_arguments(node: ast.Call, name: str, tools: dict[str, ToolSpec]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if node.args:
        spec = tools.get(name)
        if spec is None:
            raise _Positional(
                f"{len(node.args)} positional argument(s) and no schema of {name!r} to bind them"
            )
        params = list(spec.properties)
        if len(node.args) > len(params):
            raise _Positional(
                f"{len(node.args)} positional arguments but {name!r} has {len(params)} parameters"
            )
        for param, arg in zip(params, node.args, strict=False):
            if isinstance(arg, ast.Starred):
                raise _NotLiteral(f"{_unparse(arg)!r} unpacks arguments; write each one out")
            arguments[param] = _literal(arg, 0)
    for keyword in node.keywords:
        if keyword.arg is None:
            raise _NotLiteral(f"{_unparse(keyword.value)!r} unpacks keyword arguments; write each one out")
        if keyword.arg in arguments:
            raise _Positional(f"{keyword.arg!r} is given both by position and by name")
        arguments[keyword.arg] = _literal(keyword.value, 0)
    return arguments


def _literal(node: ast.expr, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise _NotLiteral("arguments nested too deeply")
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _NotLiteral(f"{_unparse(node)} is not a finite number")
            return value
        raise _NotLiteral(f"{_unparse(node)!r} is not a JSON-like literal ({type(value).__name__})")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = node.operand
        if (
            isinstance(operand, ast.Constant)
            and isinstance(operand.value, int | float)
            and not isinstance(operand.value, bool)
        ):
            return -_literal(operand, depth + 1)
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(item, depth + 1) for item in node.elts]
    if isinstance(node, ast.Dict):
        out: dict[str, Any] = {}
        for key, item in zip(node.keys, node.values, strict=True):
            if key is None:
                raise _NotLiteral("`**` unpacking inside a dict is not a literal")
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                raise _NotLiteral(f"dict key {_unparse(key)} is not a string")
            out[key.value] = _literal(item, depth + 1)
        return out
    raise _NotLiteral(f"{_unparse(node)!r} is not a literal value")


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # unparsing is for messages only
        return f"<{type(node).__name__}>"


# --------------------------------------------------------------------------------------------
# Results


def _snippet(raw: str) -> str:
    raw = raw.strip()
    return raw if len(raw) <= _SNIPPET_CHARS else raw[:_SNIPPET_CHARS] + f"... ({len(raw)} characters)"


def _dump_snippet(value: Any) -> str:
    try:
        return _snippet(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return _snippet(repr(value))


def _remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text without the call blocks; gaps holding only separators between calls go too.

    Prose on both sides of a block cut out of a line is joined by a space, otherwise by a newline.
    """
    if not spans:
        return text.strip()
    pieces: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start = max(start, pos)
        pieces.append(text[pos:start] if not pos else text[pos:start].lstrip(_SEPARATORS.replace("\n", "")))
        pos = max(pos, end)
    pieces.append(text[pos:].lstrip(_SEPARATORS.replace("\n", "")))
    out = ""
    pending_newline = False
    for index, piece in enumerate(pieces):
        content = piece.strip()
        if not content or (index and not content.strip(_SEPARATORS)):
            pending_newline = pending_newline or "\n" in piece
            continue
        if out:
            lead = piece[: len(piece) - len(piece.lstrip())]
            out += "\n" if pending_newline or "\n" in lead else " "
        out += content
        pending_newline = "\n" in piece[len(piece.rstrip()) :]
    return out


def _verdict(found: _Found) -> Verdict:
    if not found.broken:
        return Verdict.passed(format=found.format)
    first = found.broken[0]
    broken = [
        {"code": b.code, "snippet": b.snippet, "error": b.error} | ({"name": b.name} if b.name else {})
        for b in found.broken[:_MAX_BROKEN]
    ]
    message = _message(found.format, first)
    more = len(found.broken) - 1
    if more:
        message += f" ({more} more broken call{'s' if more > 1 else ''} in evidence['broken'])"
    if found.calls:
        message += f"; {len(found.calls)} other call{'s' if len(found.calls) > 1 else ''} could be read"
    return Verdict.failed(
        first.code,
        message,
        format=found.format,
        snippet=first.snippet,
        error=first.error,
        broken=broken,
        broken_count=len(found.broken),
    )


def _message(fmt: str, broken: _Broken) -> str:
    hint = _HINT.get(fmt, _JSON_HINT)
    name = f" of {broken.name!r}" if broken.name else ""
    if broken.code == "parse.invalid_json":
        return (
            f"a tool call could not be read: its JSON is invalid ({broken.error}) in {broken.snippet!r}; "
            f"write each call as {hint} in valid JSON (double quotes, no trailing commas, brackets closed)"
        )
    if broken.code == "parse.not_a_call":
        return (
            f"{broken.snippet!r} is not a tool call: {broken.error}; write each call as {hint}, "
            'with the tool name in "name"'
        )
    if broken.code == "parse.bad_arguments":
        return (
            f"the arguments{name} could not be read: {broken.error}; send the arguments as a JSON object "
            "of parameter names to values, as in "
            f"{hint}"
        )
    if broken.code == "parse.positional_args":
        return (
            f"the call {broken.snippet!r} passes arguments by position ({broken.error}); "
            f"name every argument, as in {broken.name or 'tool_name'}(param=value)"
        )
    return (
        f"the Python call {broken.snippet!r} could not be read ({broken.error}); write calls as "
        f"{_HINT['python']} with literal values only: strings, numbers, True/False/None, lists, dicts"
    )


def strip_fence(text: str) -> str:
    """A whole reply wrapped in a Markdown code fence, unwrapped (models fence JSON they were asked for bare)."""
    text = text.strip()
    if text.startswith("```"):
        body = text.split("\n", 1)[1] if "\n" in text else ""
        text = body.rsplit("```", 1)[0]
    return text.strip()
