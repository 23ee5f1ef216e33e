"""Append-only JSONL files: one record per line, flushed as written, so a killed run loses at most a half line.

`read_jsonl` is the one reader of a run's shards (`RunFolder.lines` and `records` use it), with one
policy for every job that reads them (export, refine, select, and each job's resume):

* a torn last line (no newline, not JSON: what a kill mid-write leaves) is not a record. Readers
  skip it with a warning, once per file, and never change the file; the run's own resume cuts it
  (`repair_tail`) and redoes its item.
* a line that is not JSON and has its newline (more lines may follow) is damage, not a kill: a
  `DataError` names `path:line` and the fix, because skipping it would silently lose a record.

Resume is then two steps: cut the half-written last line (`repair_tail`), and skip the ids already
in the file (`read_ids`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from callforge.core import DataError

log = logging.getLogger(__name__)
_warned: set[tuple[str, int]] = set()
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class JsonlLine:
    """One record of a JSONL file and where it is, so whoever uses it can say which line it came from."""

    value: dict[str, Any]
    path: Path
    number: int
    """1-based line number, as an editor counts."""

    @property
    def where(self) -> str:
        """`path:line`."""
        return f"{self.path}:{self.number}"


@dataclass(frozen=True, slots=True)
class TornTail:
    """A last line a kill left half-written (no newline, not JSON): not a record; a resume redoes its item."""

    path: Path
    number: int
    size: int
    """Its bytes."""


def read_jsonl(
    path: Path, *, key: str | None = "id", what: str = "record", torn: list[TornTail] | None = None
) -> Iterator[JsonlLine]:
    """The records of one JSONL file under the one policy (module doc): torn tail skipped, damage refused.

    Every line must be a JSON object with `key` (None: any object). A torn tail is logged once per
    file and appended to `torn` when given, so a caller can count it. The file is never changed.
    """
    if not path.is_file():
        return
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if not line.endswith(b"\n"):
                    tail = TornTail(path, number, len(line))
                    _warn(tail, "ignored", "it will be redone on --resume")
                    if torn is not None:
                        torn.append(tail)
                    return
                raise DataError(
                    f"{path}:{number}: not a JSON {what} ({exc}), and it is a whole line, not a last line a kill "
                    f"cut short: the file is damaged. Restore it from a copy, or delete line {number} and continue "
                    "the run with --resume to redo its item."
                ) from None
            if not isinstance(value, dict) or (key is not None and key not in value):
                raise DataError(
                    f"{path}:{number}: not a callforge {what} (a JSON object with {key!r} expected); this file is "
                    "not one callforge wrote. Move it away or pick another `out` folder."
                )
            yield JsonlLine(value, path, number)


def repair_tail(path: Path) -> TornTail | None:
    """Make `path` safe to append to: cut a torn last line (returned; its item is redone by the resumed run).

    A last line that is whole JSON but lost only its newline is kept and given the newline. Only the
    folder's own writer calls this (a resumed job): readers leave files as they are.
    """
    if not path.is_file():
        return None
    with path.open("r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return None
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return None
        start = _last_line_start(fh, size)
        fh.seek(start)
        line = fh.read()
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            fh.truncate(start)
            tail = TornTail(path, _lines_before(fh, start) + 1, size - start) if line.strip() else None
        else:
            fh.write(b"\n")
            tail = None
        fh.flush()
        os.fsync(fh.fileno())
    if tail is not None:
        _warn(tail, "cut", "its item is redone now")
    return tail


def _last_line_start(fh: IO[bytes], size: int) -> int:
    """The offset just past the last newline (0 when there is none), reading back from the end."""
    end = size
    while end > 0:
        begin = max(0, end - _CHUNK)
        fh.seek(begin)
        found = fh.read(end - begin).rfind(b"\n")
        if found >= 0:
            return begin + found + 1
        end = begin
    return 0


def _lines_before(fh: IO[bytes], offset: int) -> int:
    fh.seek(0)
    count = 0
    while fh.tell() < offset:
        count += fh.read(min(_CHUNK, offset - fh.tell())).count(b"\n")
    return count


def _warn(tail: TornTail, done: str, next_step: str) -> None:
    """Say it once per file and line in this process, however many times the file is read."""
    mark = (f"{done}:{tail.path}", tail.number)
    if mark in _warned:
        return
    _warned.add(mark)
    log.warning(
        "%s:%d: %s a torn last line (%d bytes, no newline: a record a killed run left half-written); %s",
        tail.path,
        tail.number,
        done,
        tail.size,
        next_step,
    )


def read_ids(path: Path, *, key: str = "id", what: str = "record") -> set[str]:
    """The `key` of every line in `path` (after `repair_tail`: this is for a run about to append), or a DataError."""
    repair_tail(path)
    return {str(line.value[key]) for line in read_jsonl(path, key=key, what=what)}


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
