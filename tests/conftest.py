from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_BFCL = REPO.parent / "shared" / "bfcl"
EXAMPLES = REPO / "examples"


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


@pytest.fixture(scope="session")
def bfcl_dir() -> Path:
    if not (SHARED_BFCL / "data").is_dir():
        pytest.skip(f"BFCL data not found at {SHARED_BFCL}")
    return SHARED_BFCL


def stream(out: Path, name: str) -> list[dict[str, Any]]:
    """Every record of one stream of a Run folder (`accepted`, `rejected`, `results`), every session."""
    from callforge.run import RunFolder

    return list(RunFolder(out, job="", streams=(name,)).records(name))


def stream_ids(out: Path, name: str) -> set[str]:
    return {str(r["id"]) for r in stream(out, name)}
