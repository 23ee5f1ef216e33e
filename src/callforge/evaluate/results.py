"""Read model outputs in BFCL's result format: JSON lines of `{"id": ..., "result": <raw output>}`.

Result files can be large (every sample of every category of a sweep), so they are streamed:
`read_results` returns a view that reads the files again on each pass, one line at a time, and
never holds more than one parsed line plus the ids seen (to refuse duplicates).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from callforge.core import (
    DataError,
    InputLimits,
    check_depth,
    current_limits,
    iter_lines,
    open_regular,
    too_deep_error,
)

RESULT_SUFFIXES = (".json", ".jsonl")


@dataclass(frozen=True, slots=True)
class Result:
    """One raw model output for one case id, with where it was read from (for error messages)."""

    id: str
    output: Any
    where: str


def result_files(path: Path) -> list[Path]:
    """The result files under `path`: the file itself, or every *.json/*.jsonl below a folder.

    A path that is not a regular file (a FIFO, a device) is refused here, before anything waits on it.
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in RESULT_SUFFIXES)
        if not files:
            raise DataError(f"no result files (*.json, *.jsonl) under {str(path)!r}")
        return files
    if not path.exists():
        raise DataError(
            f"results path {str(path)!r} does not exist; pass `results` with a file or folder of BFCL result files"
        )
    open_regular(path).close()  # refuses a FIFO or a device without blocking on it
    return [path]


@dataclass(frozen=True)
class Results:
    """The results under a path, streamed: each iteration reads the files again, one line at a time.

    Iterating twice (the evaluator first collects the categories present, then scores) costs two
    reads but no memory for the outputs, which matters for files of hundreds of megabytes. Errors
    (invalid JSON, a missing field, a duplicate id, a line over `max_record_mb` or nested deeper
    than `max_depth`) are raised while iterating, naming `file:line`.
    """

    files: tuple[Path, ...]
    allow_duplicate_ids: bool = False
    limits: InputLimits | None = None

    def __iter__(self) -> Iterator[Result]:
        seen: set[str] = set()
        check = not self.allow_duplicate_ids
        for where, row in self._rows():
            case_id = str(row["id"])
            if check:
                if case_id in seen:
                    raise DataError(
                        f"{where}: id {case_id!r} was already read at {self._first(case_id)}; remove "
                        "the duplicate or pass `allow_duplicate_ids=True` to score every line"
                    )
                seen.add(case_id)
            yield Result(case_id, row["result"], where)

    def __bool__(self) -> bool:
        """Whether there is at least one result (reads up to the first)."""
        return any(True for _ in self._rows())

    def _rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each result line as `file:line` and its object; one pass over the files (the hot loop)."""
        limits = self.limits or current_limits()
        max_depth = limits.max_depth
        for file in self.files:
            name = str(file)
            for number, line in enumerate(iter_lines(file, limits=limits), 1):
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError:
                    if not line.strip():
                        continue
                    row = _parse(line, f"{name}:{number}", limits)
                if line.count(b"[") + line.count(b"{") > max_depth:
                    check_depth(row, f"{name}:{number}", limits=limits)
                if not isinstance(row, dict) or "id" not in row or "result" not in row:
                    raise DataError(
                        f'{name}:{number}: expected an object with "id" and "result" fields, as BFCL writes them'
                    )
                yield f"{name}:{number}", row

    def _first(self, case_id: str) -> str:
        """Where `case_id` first appears (read again: only a duplicate, an error, needs it)."""
        for where, row in self._rows():
            if str(row["id"]) == case_id:
                return where
        return "an earlier line"  # pragma: no cover - the files changed while being read


def _parse(line: bytes, where: str, limits: InputLimits) -> Any:
    """A line orjson refused: the stdlib parses NaN and Infinity (as Python writes them), or says what is wrong."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: not UTF-8 text ({exc.reason}); result files are JSON lines in UTF-8"
        ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise too_deep_error(line, where, limits) from None
    except ValueError as exc:
        raise DataError(
            f"{where}: not valid JSON ({exc}); result files hold one JSON object per line"
        ) from None


def read_results(
    path: str | Path, *, allow_duplicate_ids: bool = False, limits: InputLimits | None = None
) -> Results:
    """The result lines under `path`, as a stream that can be iterated more than once (see `Results`).

    An id seen twice is an error (two files for one category are usually a mistake) unless
    `allow_duplicate_ids`, which scores each line, e.g. several samples per entry. The path is
    checked now; the lines are read, and their errors raised, while iterating. `limits` (default:
    the limits in force when iterating) bounds each line's size and nesting.
    """
    return Results(tuple(result_files(Path(path))), allow_duplicate_ids, limits)
