from __future__ import annotations

import importlib.util
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


needs_bfcl_eval = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None,
    reason="BFCL's simulators are not installed: pip install --no-deps bfcl-eval==2026.3.23 mpmath",
)
"""For the multi-turn checker's tests: BFCL's simulator classes come from the bfcl-eval wheel (docs/multi-turn.md)."""


@pytest.fixture(scope="session")
def entries(bfcl_dir: Path) -> dict[str, Any]:
    """BFCL's 800 multi-turn entries by id, loaded once for every multi-turn test."""
    from callforge.evaluate import load_multi_turn

    return {e.id: e for e in load_multi_turn(bfcl_dir / "data")}


def stream(out: Path, name: str) -> list[dict[str, Any]]:
    """Every record of one stream of a Run folder (`accepted`, `rejected`, `results`), every session."""
    from callforge.run import RunFolder

    return list(RunFolder(out, job="", streams=(name,)).records(name))


def stream_ids(out: Path, name: str) -> set[str]:
    return {str(r["id"]) for r in stream(out, name)}


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `callforge ARGS` in-process as the console script does; its exit status, stdout and stderr."""
    import io
    import sys

    from callforge.cli import main

    monkeypatch.setenv("COLUMNS", "2000")
    monkeypatch.setattr(sys, "argv", ["callforge", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main()
    captured = capsys.readouterr()
    code = exit.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err
