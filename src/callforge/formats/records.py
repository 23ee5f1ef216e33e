"""A dataset file as a stream of records, each knowing the file and line (or index) it came from.

Every reader needs the same two things from a file: the parsed records one at a time, so a 60k-row
file never has to be turned into Dialogs all at once, and a position for each record, so that a read
error can say `data.jsonl:12` instead of "somewhere". Lines that are not JSON are kept as records
with an `error` rather than raised, because one broken line must not cost the rest of the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from callforge.core import DataError

_LINE_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a file: its parsed value, or its raw text and why that is not JSON.

    `position` is the 1-based line of a JSON Lines file or the 0-based index into a JSON array,
    matching how people count each (an editor's line numbers, a Python list's indexes).
    """

    value: Any
    file: Path
    position: int
    in_array: bool = False
    error: str | None = None

    @property
    def where(self) -> str:
        """`file:line` for JSON Lines, `file[index]` for a JSON array: the place to look."""
        return f"{self.file}[{self.position}]" if self.in_array else f"{self.file}:{self.position}"

    @property
    def fallback_id(self) -> str:
        """The id of a record that has none of its own: `stem:line` or `stem:index`."""
        return f"{self.file.stem}:{self.position}"


def iter_records(path: Path) -> Iterator[Record]:
    """Yield the records of a JSON Lines file, a JSON array, or a single JSON object.

    JSON Lines is read line by line (streaming). A JSON array is parsed whole with orjson, which
    is still fast enough for 100k-row files; its items are then yielded one by one. A `.json` file
    whose first line is a complete object is read as JSON Lines, since BFCL and many exports write
    JSON Lines under a `.json` name. Raises `DataError` only when the file cannot be JSON at all.
    """
    first = _first_byte(path)
    if first is None:
        return
    if path.suffix.lower() in _LINE_SUFFIXES:
        yield from _lines(path)
        return
    if first == b"{" and _first_line_is_a_value(path):
        yield from _lines(path)
        return
    if first not in (b"{", b"["):
        raise DataError(
            f"{path}: not JSON (it starts with {first!r}); expected a JSON array of records or JSON Lines "
            "with one record per line"
        )
    document = _whole(path)
    if isinstance(document, list):
        for index, value in enumerate(document):
            yield Record(value, path, index, in_array=True)
    else:
        yield Record(document, path, 0, in_array=True)


def _first_byte(path: Path) -> bytes | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
            while head:
                stripped = head.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
                if stripped:
                    return stripped[:1]
                head = fh.read(4096)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder; pass a .json or .jsonl file (or a BFCL data folder)") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    return None


def _first_line_is_a_value(path: Path) -> bool:
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                try:
                    orjson.loads(line.removeprefix(b"\xef\xbb\xbf"))
                except orjson.JSONDecodeError:
                    return False
                return True
    return False


def _lines(path: Path) -> Iterator[Record]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                yield Record(orjson.loads(line), path, number)
            except orjson.JSONDecodeError as exc:
                text = line.decode("utf-8", errors="replace").rstrip("\r\n")
                yield Record(text, path, number, error=f"not valid JSON ({exc})")


def _whole(path: Path) -> Any:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON ({exc}); expected a JSON array of records, or JSON Lines with one "
            "record per line (name the file .jsonl)"
        ) from None


def head_records(path: Path, count: int) -> list[Record]:
    """The first `count` records, reading as little of the file as it takes (format detection).

    For a JSON array only a growing prefix is decoded, so telling the format of a 100 MB file
    does not cost parsing it twice.
    """
    first = _first_byte(path)
    if first is None:
        return []
    if first == b"[" and path.suffix.lower() not in _LINE_SUFFIXES:
        size = 1 << 20
        total = path.stat().st_size
        while size < total and size <= _PREFIX_LIMIT:
            head = _array_prefix(path, size, count)
            if head is not None:
                return head
            size *= 4
    records = []
    for record in iter_records(path):
        records.append(record)
        if len(records) == count:
            break
    return records


_PREFIX_LIMIT = 64 << 20


def _array_prefix(path: Path, size: int, count: int) -> list[Record] | None:
    """Up to `count` items decoded from the first `size` bytes, or None when they do not suffice."""
    with path.open("rb") as fh:
        text = fh.read(size).decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    decoder = json.JSONDecoder()
    pos = 1  # after "["
    records: list[Record] = []
    while len(records) < count:
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == "]":
            return records
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return None
        records.append(Record(value, path, len(records), in_array=True))
        pos = _skip_space(text, pos)
        if pos >= len(text):
            return None
        if text[pos] == ",":
            pos += 1
        elif text[pos] != "]":
            return None
    return records


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos
