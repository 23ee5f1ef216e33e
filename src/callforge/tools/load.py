"""`load_tools`: read a tools file or parsed JSON, tell the format apart, and return ToolSpecs.

Shapes accepted, in a JSON document or one per line of JSON Lines: a list of tools; `{"tools": [...]}`;
the legacy `{"functions": [...]}`; one OpenAI tool `{"type": "function", "function": {...}}`; one
bare function object; a BFCL entry `{"id", "question", "function": [...]}`; a callforge pool file
(`{"format": "callforge.pool/1", ...}`, see tools/pool.py), read whole so bindings and domains survive.
"""

from __future__ import annotations

import contextlib
import json
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from callforge.core import (
    ConfigError,
    InputLimits,
    ToolSpec,
    check_depth,
    check_unfolded,
    kind_of,
    recursion_error,
    too_deep_error,
    use_limits,
)
from callforge.tools.bfcl import BfclLanguage, detect_language, language_from_id, tool_from_bfcl
from callforge.tools.openai import Where, tool_from_openai
from callforge.tools.pool import is_pool, pool_tools

ToolFormat = Literal["auto", "openai", "bfcl"]

_SHAPES = (
    'a list of tools, {"tools": [...]}, {"functions": [...]}, {"type": "function", "function": {...}},'
    ' a function object with "name", or a BFCL entry with "function"'
)


@dataclass(frozen=True)
class _Found:
    """A function object found in the input, with what is known about it before conversion."""

    obj: Any
    where: Where
    format: Literal["openai", "bfcl"]
    entry: str | None = None  # location of the BFCL entry it came from, if any
    language: BfclLanguage | None = None  # language the entry id implies


def load_tools(
    src: str | os.PathLike[str] | list[Any] | dict[str, Any],
    *,
    format: ToolFormat = "auto",
    language: str | None = None,
    source_name: str | None = None,
    limits: InputLimits | None = None,
) -> list[ToolSpec]:
    """Load every tool in a file (`.json`, `.jsonl`) or in already parsed JSON.

    `format="auto"` tells OpenAI from BFCL per function (BFCL's parameters say `"type": "dict"`);
    force it when a file is ambiguous. For BFCL, `language` overrides the Java/JavaScript
    detection, which otherwise uses the entry id (`simple_java_3`) or the type names in the file.
    BFCL entries reuse tool names, so tools from different entries are de-duplicated by name (the
    first definition wins); any other repeated name is an error. `source_name` labels errors
    when `src` is parsed JSON (a path labels them itself), e.g. `"BFCL_v4_simple_java.json:12"`.
    `limits` (default: `current_limits()`) bounds the file's size and nesting; an input over one
    raises InputLimitError naming the limit to raise.
    """
    with use_limits(limits) if limits is not None else contextlib.nullcontext():
        label = os.fspath(src) if isinstance(src, (str, os.PathLike)) else source_name or "the tools"
        try:
            return _load_tools(src, format, language, source_name)
        except RecursionError:  # a limit raised past what Python's stack takes
            raise recursion_error(label) from None


def _load_tools(
    src: str | os.PathLike[str] | list[Any] | dict[str, Any],
    format: ToolFormat,
    language: str | None,
    source_name: str | None,
) -> list[ToolSpec]:
    if format not in get_args(ToolFormat):
        raise ConfigError(f"format={format!r} is not supported; use one of {', '.join(get_args(ToolFormat))}")
    if language is not None and language not in get_args(BfclLanguage):
        choices = ", ".join(get_args(BfclLanguage))
        raise ConfigError(f"language={language!r} is not a BFCL language; use one of {choices}")
    if isinstance(src, (str, os.PathLike)):
        documents = read_json(Path(src))
        root = Where(source=os.fspath(src))
    else:
        root = Where(source=source_name)
        check_unfolded(src, source_name or "the tools")  # parsed data may share or contain itself
        documents = [(src, root)]
    found: list[_Found] = []
    toolless_entries = 0
    pools = [(value, where) for value, where in documents if is_pool(value)]
    if pools:
        if len(pools) != len(documents):
            root.fail("a pool file mixed with other tool documents", "one pool file per path")
        return [tool for value, where in pools for tool in pool_tools(value, where)]
    for value, where in documents:
        toolless_entries += _collect(value, where, format, found)
    tools = _convert(found, typing.cast("BfclLanguage | None", language))
    if not tools and toolless_entries:
        root.fail(
            'no tools found: these BFCL entries have no "function" list',
            'multi-turn entries name their tools in "involved_classes"; load multi_turn_func_doc/*.json',
        )
    return tools


def read_json(path: Path) -> list[tuple[Any, Where]]:
    """Parse a JSON or JSON Lines file into documents, each with the location to blame.

    BFCL ships JSON Lines under a `.json` suffix, so a `.json` file whose first value fills its
    first line and is followed by more is read as JSON Lines; each line's errors then name
    `file:line`. The file must be within `max_input_mb` and nest no deeper than `max_depth`.
    """
    where = Where(source=str(path))
    text = where.read_text(path, "a path to a .json or .jsonl file")
    if path.suffix.lower() != ".jsonl":
        try:
            return [(_parse(text, str(path)), where)]
        except json.JSONDecodeError as exc:
            first_value_is_one_line = exc.msg == "Extra data" and "\n" not in text[: exc.pos].strip()
            if not first_value_is_one_line:
                where.fail(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        at = Where(source=f"{path}:{number}")
        try:
            documents.append((_parse(line, f"{path}:{number}"), at))
        except json.JSONDecodeError as exc:
            at.fail(f"invalid JSON: {exc.msg} at line {number} column {exc.colno}")
    return documents


def _parse(text: str, source: str) -> Any:
    """`json.loads`, with nesting past `max_depth` an InputLimitError instead of a RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep_error(text, source) from None
    check_depth(value, source, text=text)
    return value


def _collect(value: Any, where: Where, format: ToolFormat, found: list[_Found]) -> int:
    """Append the function objects in one document; return how many BFCL entries had none."""
    if isinstance(value, list):
        return sum(
            _collect_item(item, where.at(i).named(f"#{i}"), format, found) for i, item in enumerate(value)
        )
    if isinstance(value, dict):
        for key in ("tools", "functions"):
            if key in value and "name" not in value:
                items = value[key]
                if not isinstance(items, list):
                    where.at(key).fail(f'"{key}" must be a list of tools, not {kind_of(items)}')
                for i, item in enumerate(items):
                    _collect_item(item, where.at(key).at(i).named(f"#{i}"), format, found)
                return 0
        return _collect_item(value, where, format, found)
    where.fail(f"expected tools, not {kind_of(value)}", _SHAPES)


def _collect_item(item: Any, where: Where, format: ToolFormat, found: list[_Found]) -> int:
    if not isinstance(item, dict):
        where.fail(f"expected a tool, not {kind_of(item)}", _SHAPES)
    inner = item.get("function")
    if isinstance(inner, list) or (inner is None and "question" in item):
        entry, language = f"{where.source} {where.path}", language_from_id(item.get("id"))
        kind: Literal["openai", "bfcl"] = "openai" if format == "openai" else "bfcl"
        for j, fn in enumerate(inner or []):
            found.append(_Found(fn, where.at("function").at(j).named(f"#{j}"), kind, entry, language))
        return 0 if inner else 1
    if isinstance(inner, dict):
        if format == "bfcl":
            found.append(_Found(inner, where.at("function"), "bfcl"))
        else:
            found.append(_Found(item, where, "openai"))
        return 0
    if format == "auto":
        params = item.get("parameters")
        is_bfcl = isinstance(params, dict) and params.get("type") == "dict"
        found.append(_Found(item, where, "bfcl" if is_bfcl else "openai"))
    else:
        found.append(_Found(item, where, format))
    return 0


def _convert(found: list[_Found], language: BfclLanguage | None) -> list[ToolSpec]:
    undecided = [(f.obj, f.where) for f in found if f.format == "bfcl" and f.language is None]
    batch_language = language or (detect_language(undecided) if undecided else "python")
    tools: list[ToolSpec] = []
    first: dict[str, _Found] = {}
    for f in found:
        if f.format == "openai":
            spec = tool_from_openai(f.obj, f.where)
        else:
            spec = tool_from_bfcl(f.obj, language=language or f.language or batch_language, where=f.where)
        seen = first.get(spec.name)
        if seen is None:
            first[spec.name] = f
            tools.append(spec)
        elif seen.entry is None or f.entry is None or seen.entry == f.entry:
            where = seen.where.source if seen.where.source != f.where.source else None
            f.where.named(spec.name).fail(
                f"duplicate tool name {spec.name!r} (first defined at {where + ' ' if where else ''}"
                f"{seen.where.path})",
                "each tool name once",
            )
    return tools
