"""Accepted dialogs as a BFCL-format eval set, so `callforge eval` can score any model on your own tools.

A single-step dialog (one user request, then one assistant step of calls, or no call at all) maps
onto BFCL's single-turn categories: one call among one tool is `simple_python`, among several
`multiple`, several calls of one tool `parallel`, of several tools `parallel_multiple`, and a
request answered without a call `irrelevance`. Dialogs with dependent steps, several user turns or
clarifying questions have no single-turn equivalent and are left out (and counted).

The possible answers follow BFCL's convention: each given argument's value, plus `""` when the
value is the parameter's default (leaving it out is right too); an optional parameter the call
left out is listed as `[""]` (or `[default, ""]`), so a model that fills it with its default passes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callforge.core import ConfigError, Dialog, ToolCall, ToolSpec
from callforge.tools import to_bfcl_function

_VERSION = "BFCL_v4"


@dataclass(frozen=True)
class BfclExport:
    """Cases written per category, and dialogs left out by reason."""

    path: Path
    cases: dict[str, int]
    skipped: dict[str, int]
    case_ids: tuple[str | None, ...] = ()
    """Per dialog read, in order: the id of the case it became, or None when it was left out."""


def bfcl_category(dialog: Dialog) -> str | None:
    """The BFCL single-turn category a dialog fits, or None when it has none (see the module docstring)."""
    roles = [m.role for m in dialog.messages if m.role != "system"]
    if not roles or roles[0] != "user" or roles.count("user") != 1:
        return None
    steps = [m for m in dialog.messages if m.role == "assistant" and m.tool_calls]
    if not steps:
        return "irrelevance" if dialog.tools else None
    if len(steps) > 1 or dialog.masked_calls():
        return None
    calls = steps[0].tool_calls
    if len(calls) == 1:
        return "simple_python" if len(dialog.tools) == 1 else "multiple"
    return "parallel" if len({c.name for c in calls}) == 1 else "parallel_multiple"


def possible_answer(call: ToolCall, tool: ToolSpec) -> dict[str, dict[str, list[Any]]]:
    """BFCL's ground truth for one call: acceptable values per parameter."""
    required = set(tool.required)
    answer: dict[str, list[Any]] = {}
    for name, schema in tool.properties.items():
        default = schema.get("default") if isinstance(schema, dict) else None
        has_default = isinstance(schema, dict) and "default" in schema
        if name in call.arguments:
            value = call.arguments[name]
            answer[name] = (
                [value, ""] if has_default and value == default and name not in required else [value]
            )
        elif name not in required:
            answer[name] = [default, ""] if has_default else [""]
    return {call.name: answer}


def write_bfcl(dialogs: Iterable[Dialog], out: Path) -> BfclExport:
    """Write `BFCL_v4_<category>.json` question files and `possible_answer/` into `out` (JSON Lines, as BFCL does)."""
    questions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    case_ids: list[str | None] = []
    for dialog in dialogs:
        category = bfcl_category(dialog)
        case_ids.append(None)
        if category is None:
            skipped["not_single_turn"] += 1
            continue
        tools = {t.name: t for t in dialog.tools}
        calls = next((m.tool_calls for m in dialog.messages if m.role == "assistant" and m.tool_calls), ())
        if any(c.name not in tools for c in calls):
            skipped["unknown_tool"] += 1
            continue
        case_id = case_ids[-1] = f"{category}_{len(questions[category])}"
        prompt = [
            {"role": m.role, "content": m.content or ""}
            for m in dialog.messages
            if m.role in ("system", "user")
        ]
        questions[category].append(
            {"id": case_id, "question": [prompt], "function": [to_bfcl_function(t) for t in dialog.tools]}
        )
        if category != "irrelevance":
            answers[category].append(
                {"id": case_id, "ground_truth": [possible_answer(c, tools[c.name]) for c in calls]}
            )
    if any((out / f"{_VERSION}_{c}.json").exists() for c in questions):
        raise ConfigError(f"{out} already holds BFCL question files; choose another `out`")
    (out / "possible_answer").mkdir(parents=True, exist_ok=True)
    for category, rows in questions.items():
        _lines(out / f"{_VERSION}_{category}.json", rows)
        if category in answers:
            _lines(out / "possible_answer" / f"{_VERSION}_{category}.json", answers[category])
    return BfclExport(out, {c: len(r) for c, r in sorted(questions.items())}, dict(skipped), tuple(case_ids))


def _lines(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)
