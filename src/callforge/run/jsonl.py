"""Append-only JSONL files: one record per line, flushed as written, so a killed run loses at most a half line.

Resume is then two steps: cut the half-written last line (`repair_tail`), and skip the ids already
in the file (`read_ids`). Every stage that writes records (live evaluation, verification,
generation) uses these, so they all resume the same way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import IO, Any

import orjson

from callforge.core import DataError


def repair_tail(path: Path) -> None:
    """Cut a last line that a kill left without its newline; it is redone by the resumed run."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    with path.open("r+b") as fh:
        fh.truncate(data.rfind(b"\n") + 1)


def read_ids(path: Path, *, key: str = "id", what: str = "record") -> set[str]:
    """The `key` of every line in `path` (after `repair_tail`), or a DataError naming a foreign line."""
    ids: set[str] = set()
    if not path.is_file():
        return ids
    repair_tail(path)
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                ids.add(str(orjson.loads(line)[key]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise DataError(
                    f"{path}:{number}: not a {what} line; this file is not one callforge wrote. "
                    "Move it away or pick another `out` folder."
                ) from None
    return ids


class JsonlWriter:
    """Appends records to one file; each line is flushed at once and fsynced at least every `sync_s` seconds."""

    def __init__(self, path: Path, *, sync_s: float = 1.0) -> None:
        """Open `path` for appending (created with its folder when missing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.sync_s = sync_s
        self._fh: IO[bytes] = path.open("ab")
        self._synced = time.monotonic()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line."""
        self._fh.write(orjson.dumps(record) + b"\n")
        self._fh.flush()
        if self.sync_s <= 0 or time.monotonic() - self._synced >= self.sync_s:
            os.fsync(self._fh.fileno())
            self._synced = time.monotonic()

    def close(self) -> None:
        """Sync and close."""
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
