"""Read a BFCL data folder (question files plus possible_answer/) into Cases."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from callforge.core import (
    SINGLE_TURN,
    Case,
    Category,
    CategoryKind,
    ConfigError,
    DataError,
    ExpectedCall,
    Message,
    ToolSpec,
    check_depth,
    iter_lines,
    too_deep_error,
)

_FILE = re.compile(r"^BFCL_v(\d+)_(.+)\.json$")


def bfcl_files(data_dir: Path) -> dict[Category, Path]:
    """Question files by category in `data_dir` (newest BFCL version wins when several exist)."""
    if not data_dir.is_dir():
        raise DataError(
            f"BFCL data folder {str(data_dir)!r} does not exist; pass `data` with a folder that holds "
            "BFCL_v4_<category>.json files and a possible_answer/ subfolder"
        )
    found: dict[Category, tuple[int, Path]] = {}
    for path in data_dir.iterdir():
        match = _FILE.match(path.name)
        if not match:
            continue
        try:
            category = Category(match.group(2))
        except ValueError:
            continue
        version = int(match.group(1))
        if category not in found or found[category][0] < version:
            found[category] = (version, path)
    return {c: p for c, (_, p) in found.items()}


def load_bfcl_suite(data_dir: str | Path, categories: Iterable[Category | str] | None = None) -> list[Case]:
    """Load the single-turn categories of a BFCL data folder as Cases, in file order.

    `categories` defaults to every single-turn category present in the folder. Asking for a
    category whose file is missing, or for a multi-turn category, is an error that says so.
    """
    data_dir = Path(data_dir)
    files = bfcl_files(data_dir)
    if categories is None:
        wanted = [c for c in SINGLE_TURN if c in files]
        if not wanted:
            raise DataError(f"no BFCL_v*_<category>.json question files found in {str(data_dir)!r}")
    else:
        wanted = [Category.parse(c) if isinstance(c, str) else c for c in categories]
    cases: list[Case] = []
    for category in wanted:
        if category.kind is CategoryKind.MULTI_TURN:
            raise DataError(
                f"category {category.value!r} is multi-turn: read it with `callforge.evaluate.load_multi_turn`; "
                "`callforge eval run --categories multi_turn` runs a model on it and `callforge eval score` "
                "scores saved multi-turn results (docs/multi-turn.md)"
            )
        path = files.get(category)
        if path is None:
            raise DataError(f"no question file for category {category.value!r} in {str(data_dir)!r}")
        cases.extend(_load_category(category, path))
    return cases


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a BFCL file, read as a regular file line by line within the `InputLimits` in force."""
    rows = []
    for number, line in enumerate(iter_lines(path), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except RecursionError:
            raise too_deep_error(line, f"{path}:{number}") from None
        except ValueError as exc:
            raise DataError(
                f"{path}:{number}: not valid JSON ({exc}); BFCL files hold one JSON object per line"
            ) from None
        check_depth(row, f"{path}:{number}", text=line)
        if not isinstance(row, dict) or "id" not in row:
            raise DataError(f'{path}:{number}: expected an object with an "id" field')
        rows.append(row)
    return rows


def _load_category(category: Category, path: Path) -> list[Case]:
    from callforge.tools import load_tools

    answers: dict[str, list[dict[str, Any]]] = {}
    if category.has_ground_truth:
        answer_path = path.parent / "possible_answer" / path.name
        if not answer_path.is_file():
            raise DataError(
                f"ground truth {str(answer_path)!r} is missing; category {category.value!r} needs it"
            )
        answers = {row["id"]: row["ground_truth"] for row in _read_jsonl(answer_path)}
    language = category.language.value
    cache: dict[str, ToolSpec] = {}  # BFCL entries share function docs; convert each one once
    cases = []
    for number, row in enumerate(_read_jsonl(path), 1):
        case_id = str(row["id"])
        where = f"{path}:{number}"
        functions = row.get("function", [])
        if not isinstance(functions, list):
            raise DataError(f'{where}: "function" must be a list of function descriptions')
        tools = []
        for function in functions:
            key = json.dumps(function, sort_keys=True)
            spec = cache.get(key)
            if spec is None:
                [spec] = load_tools(function, format="bfcl", language=language, source_name=where)
                cache[key] = spec
            tools.append(spec)
        expected: list[ExpectedCall] = []
        if category.has_ground_truth:
            truth = answers.get(case_id)
            if truth is None:
                raise DataError(f"{where}: id {case_id!r} has no ground truth in possible_answer/{path.name}")
            for call in truth:
                if not isinstance(call, dict) or len(call) != 1:
                    raise DataError(
                        f"ground truth of {case_id!r}: expected {{name: {{param: [values]}}}}, got {call!r}"
                    )
                for name, arguments in call.items():
                    expected.append(ExpectedCall(name=name, arguments=arguments))
        cases.append(
            Case(
                id=case_id,
                category=category,
                messages=_messages(row, where),
                tools=tuple(tools),
                expected=tuple(expected),
            )
        )
    return cases


def _messages(row: dict[str, Any], where: str) -> tuple[Message, ...]:
    question = row.get("question")
    if not isinstance(question, list) or not question:
        raise DataError(f'{where}: "question" must be a non-empty list of turns')
    turn = question[0]
    if isinstance(turn, dict):  # a few BFCL files store the turn's messages without the outer list
        turn = [turn]
    out = []
    for message in turn:
        try:
            out.append(Message(role=message["role"], content=message.get("content")))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{where}: malformed message {message!r}: {exc}") from None
    return tuple(out)


def bfcl_data_dir(data: str | Path | None) -> Path:
    """The BFCL data folder: `data`, else $CALLFORGE_BFCL_DATA, else an installed bfcl-eval's data."""
    if data is not None:
        return Path(data)
    env = os.environ.get("CALLFORGE_BFCL_DATA")
    if env:
        return Path(env)
    import importlib.util

    spec = importlib.util.find_spec("bfcl_eval")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "data"
            if candidate.is_dir():
                return candidate
    raise ConfigError(
        "no BFCL data folder: pass `data` (a folder of BFCL_v4_<category>.json files and possible_answer/), "
        "set CALLFORGE_BFCL_DATA, or install BFCL's data with `pip install --no-deps bfcl-eval`"
    )
