"""Read model outputs in BFCL's result format: JSON lines of `{"id": ..., "result": <raw output>}`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callforge.core import DataError

RESULT_SUFFIXES = (".json", ".jsonl")


@dataclass(frozen=True, slots=True)
class Result:
    """One raw model output for one case id, with where it was read from (for error messages)."""

    id: str
    output: Any
    where: str


def result_files(path: Path) -> list[Path]:
    """The result files under `path`: the file itself, or every *.json/*.jsonl below a folder."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in RESULT_SUFFIXES)
        if not files:
            raise DataError(f"no result files (*.json, *.jsonl) under {str(path)!r}")
        return files
    raise DataError(
        f"results path {str(path)!r} does not exist; pass `results` with a file or folder of BFCL result files"
    )


def read_results(path: str | Path, *, allow_duplicate_ids: bool = False) -> list[Result]:
    """Read every result line under `path`.

    An id seen twice is an error (two files for one category are usually a mistake) unless
    `allow_duplicate_ids`, which scores each line, e.g. several samples per entry.
    """
    results: list[Result] = []
    seen: dict[str, str] = {}
    for file in result_files(Path(path)):
        with file.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{file}:{number}"
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise DataError(
                        f"{where}: not valid JSON ({exc}); result files hold one JSON object per line"
                    ) from None
                if not isinstance(row, dict) or "id" not in row or "result" not in row:
                    raise DataError(
                        f'{where}: expected an object with "id" and "result" fields, as BFCL writes them'
                    )
                case_id = str(row["id"])
                if not allow_duplicate_ids and case_id in seen:
                    raise DataError(
                        f"{where}: id {case_id!r} was already read at {seen[case_id]}; remove the duplicate "
                        "or pass `allow_duplicate_ids=True` to score every line"
                    )
                seen[case_id] = where
                results.append(Result(case_id, row["result"], where))
    return results
