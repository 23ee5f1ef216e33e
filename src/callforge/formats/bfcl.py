"""BFCL single-turn entries with their ground truth, as reference Dialogs to verify.

The questions, tools and possible answers are read by the evaluator's own suite loader
(`load_bfcl_suite`), so BFCL data means the same thing to `verify` as to `eval`. Each entry becomes
the question's messages plus one assistant turn making the ground-truth calls. BFCL accepts a list
of values per argument; `choose_value` picks the one this Dialog shows (see its docstring and
docs/formats.md for why), and the full lists stay in `meta.extra["possible_answers"]`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from callforge.core import (
    OMITTED,
    SINGLE_TURN,
    Case,
    Category,
    CategoryKind,
    DataError,
    Dialog,
    Message,
    Provenance,
    Scenario,
    SpecError,
    ToolCall,
    ToolSpec,
    iter_lines,
)
from callforge.formats.bfcl_suite import bfcl_files, load_bfcl_suite

SOURCE = "bfcl"
NO_CALL_TEXT = "None of the available functions fits this request."
SCENARIOS: dict[CategoryKind, Scenario] = {
    CategoryKind.SIMPLE: Scenario.SINGLE,
    CategoryKind.MULTIPLE: Scenario.MULTIPLE,
    CategoryKind.PARALLEL: Scenario.PARALLEL,
    CategoryKind.PARALLEL_MULTIPLE: Scenario.PARALLEL_MULTIPLE,
    CategoryKind.IRRELEVANCE: Scenario.NO_CALL,
    CategoryKind.RELEVANCE: Scenario.SINGLE,
}
"""The scenario each BFCL kind declares (relevance: some call must be made, so "single")."""

_FILE = re.compile(r"^BFCL_v\d+_(.+)\.json$")
logger = logging.getLogger(__name__)


def is_bfcl_path(path: Path) -> bool:
    """Whether `path` is a BFCL question file or a folder holding some (by their names)."""
    if path.is_dir():
        return any(_FILE.match(p.name) for p in path.iterdir())
    return _FILE.match(path.name) is not None


def read_bfcl(path: Path, *, prefer_values: bool = False) -> Iterator[Dialog]:
    """Read a BFCL data folder (every single-turn category in it) or one category's question file.

    Multi-turn categories are skipped with a logged warning (their answers are per-turn call
    strings against stateful classes); naming a multi-turn file is an error. The file is read
    category by category, so a `limit` stops early without loading the rest.
    Raises DataError for a missing possible_answer/ file or a malformed entry.
    """
    data_dir, categories = _categories(path)
    return _dialogs(data_dir, categories, prefer_values)


def _categories(path: Path) -> tuple[Path, list[Category]]:
    if path.is_dir():
        files = bfcl_files(path)
        skipped = [c for c in files if c not in SINGLE_TURN]
        if skipped:
            entries = sum(_count_lines(files[c]) for c in skipped)
            names = ", ".join(sorted(c.value for c in skipped))
            logger.warning(
                "BFCL: skipped %d multi-turn entries (%s): only single-turn is read", entries, names
            )
        wanted = [c for c in SINGLE_TURN if c in files]
        if not wanted:
            raise DataError(f"{path}: no single-turn BFCL_v*_<category>.json question files in this folder")
        return path, wanted
    match = _FILE.match(path.name)
    if match is None:
        raise DataError(
            f"{path}: a BFCL question file must keep its BFCL name (BFCL_v4_<category>.json) next to its "
            "possible_answer/ folder; pass the file under that name, or the BFCL data folder"
        )
    try:
        category = Category.parse(match.group(1))
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
    if category not in SINGLE_TURN:
        raise DataError(
            f"{path}: {category.value} is multi-turn; callforge reads single-turn BFCL categories"
        )
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if bfcl_files(path.parent).get(category) != path:
        raise DataError(
            f"{path}: a newer BFCL version of {category.value} is in the same folder; pass the folder or "
            "move the older file elsewhere"
        )
    return path.parent, [category]


def _count_lines(path: Path) -> int:
    return sum(1 for line in iter_lines(path) if line.strip())


def _dialogs(data_dir: Path, categories: Iterable[Category], prefer_values: bool) -> Iterator[Dialog]:
    for category in categories:
        try:
            cases = load_bfcl_suite(data_dir, [category])
        except SpecError as exc:
            raise DataError(f"BFCL {category.value}: a function description is malformed: {exc}") from None
        for case in cases:
            yield dialog_from_case(case, prefer_values=prefer_values)


def dialog_from_case(case: Case, *, prefer_values: bool = False) -> Dialog:
    """The reference Dialog of one BFCL Case: its question, then the answer BFCL expects.

    Calls get ids `call_1`, `call_2` ... in ground-truth order. Irrelevance entries get a
    synthetic refusal (`meta.extra["synthetic_answer"]`); relevance entries, which BFCL ships without a
    ground truth (any call passes), end at the question with `meta.extra["no_reference_answer"]`.
    """
    category = case.category
    kind = category.kind
    scenario: Scenario | None = SCENARIOS.get(kind)
    notes: dict[str, Any] = {}
    messages: list[Message] = list(case.messages)
    if kind is CategoryKind.IRRELEVANCE:
        messages.append(Message(role="assistant", content=NO_CALL_TEXT))
        notes["synthetic_answer"] = True
    elif kind is CategoryKind.RELEVANCE:
        notes["no_reference_answer"] = True
        scenario = None  # the scenario describes the answer, and there is none to describe
    else:
        calls = []
        for n, expected in enumerate(case.expected, 1):
            arguments = choose_arguments(
                expected.arguments, case.tool(expected.name), prefer_values=prefer_values
            )
            calls.append(ToolCall(name=expected.name, arguments=arguments, id=f"call_{n}"))
        messages.append(Message(role="assistant", tool_calls=tuple(calls)))
        notes["possible_answers"] = [{e.name: e.arguments} for e in case.expected]
    meta = Provenance(id=case.id, source=SOURCE, scenario=scenario, category=category, extra=notes)
    return Dialog(tools=case.tools, messages=tuple(messages), meta=meta)


def choose_arguments(
    accepted: dict[str, Any], tool: ToolSpec | None, *, prefer_values: bool = False
) -> dict[str, Any]:
    """One concrete argument map from BFCL's per-argument lists of accepted values."""
    schema = tool.parameters if tool is not None else {}
    return _choose_map(accepted, schema, prefer_values)


def choose_value(options: Any, *, required: bool = False, prefer_values: bool = False) -> tuple[bool, Any]:
    """(present, value): the first accepted alternative, where `""` (OMITTED) means "leave it out".

    BFCL lists the annotators' preferred answer first. When that is the omission marker, the
    argument is left out: measured on BFCL v4's single-turn answers, 1,809 of the 1,920 arguments
    whose list starts with `""` have a value the question never mentions (1,660 of them the
    parameter's own default), so writing it would show a call the user never asked for. A required
    argument is never left out while a value is accepted; an argument whose only accepted value is
    `""` is always left out. `prefer_values=True` takes the first real value whenever there is one.
    """
    if not isinstance(options, list):
        return True, options
    values = [o for o in options if not (isinstance(o, str) and o == OMITTED)]
    if not values:
        return False, None
    omit_first = isinstance(options[0], str) and options[0] == OMITTED
    if omit_first and not required and not prefer_values:
        return False, None
    return True, values[0]


def _choose_map(accepted: dict[str, Any], schema: dict[str, Any], prefer_values: bool) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    required_names = set(required) if isinstance(required, list) else set()
    out: dict[str, Any] = {}
    for name, options in accepted.items():
        present, value = choose_value(options, required=name in required_names, prefer_values=prefer_values)
        if present:
            out[name] = _materialize(value, properties.get(name), prefer_values)
    return out


def _materialize(value: Any, schema: Any, prefer_values: bool) -> Any:
    """A chosen value, with BFCL's nested answer lists resolved where its checker nests them.

    For a `dict` parameter (and a list of dicts) BFCL's answer is itself a map of key -> accepted
    values, one level deep, exactly as its checker compares it.
    """
    if not isinstance(schema, dict):
        return value
    kind = schema.get("type")
    if kind == "object" and _is_answer_map(value):
        return _choose_map(value, schema, prefer_values)
    items = schema.get("items")
    if (
        kind == "array"
        and isinstance(items, dict)
        and items.get("type") == "object"
        and isinstance(value, list)
    ):
        return [_choose_map(v, items, prefer_values) if _is_answer_map(v) else v for v in value]
    return value


def _is_answer_map(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, list) for v in value.values())
