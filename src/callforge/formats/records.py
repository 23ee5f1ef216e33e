"""A dataset file as a stream of records, each knowing the file and line (or index) it came from.

Every reader needs the same two things from a file: the parsed records one at a time, so a 60k-row
file never has to be turned into Dialogs all at once, and a position for each record, so that a read
error can say `data.jsonl:12` instead of "somewhere". Lines that are not JSON are kept as records
with an `error` rather than raised, because one broken line must not cost the rest of the file.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from callforge.core import (
    DataError,
    InputFileError,
    InputLimitError,
    check_depth,
    current_limits,
    is_too_deep,
    iter_lines,
    kind_of,
    open_regular,
    read_bounded,
    too_deep_error,
)

MiB = 1 << 20

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

    JSON Lines is read line by line and a JSON array item by item, so memory holds one record at
    a time whatever the file's size (see `_array`). A `.json` file whose first line is a complete
    object is read as JSON Lines, since BFCL and many exports write JSON Lines under a `.json`
    name. Only regular files are read (a FIFO or a device is refused before it is opened for
    reading); a line or array item over `max_record_mb` raises InputLimitError, and a record nested
    deeper than `max_depth` becomes a record with an `error`. Raises `DataError` when the file
    cannot be JSON at all.
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
    if first == b"[":
        yield from _array(path)
        return
    yield _checked(_whole(path), path, 0, in_array=True, text=None)


def _first_byte(path: Path) -> bytes | None:
    try:
        with open_regular(path) as fh:
            head = fh.read(4096)
            while head:
                stripped = head.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
                if stripped:
                    return stripped[:1]
                head = fh.read(4096)
    except InputFileError as exc:
        if exc.kind == "directory":
            raise DataError(
                f"{path}: is a folder; pass a .json or .jsonl file (or a BFCL data folder)"
            ) from None
        raise
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    return None


def _first_line_is_a_value(path: Path) -> bool:
    for line in iter_lines(path):
        if line.strip():
            try:
                orjson.loads(line.removeprefix(b"\xef\xbb\xbf"))
            except orjson.JSONDecodeError:
                return False
            return True
    return False


def _lines(path: Path) -> Iterator[Record]:
    for number, line in enumerate(iter_lines(path), 1):
        if number == 1:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            if is_too_deep(exc):
                yield Record(text, path, number, error=_too_deep(line, f"{path}:{number}"))
            else:
                yield Record(text, path, number, error=f"not valid JSON ({exc})")
            continue
        yield _checked(value, path, number, in_array=False, text=line)


def _checked(value: Any, path: Path, position: int, *, in_array: bool, text: bytes | str | None) -> Record:
    """The record of a parsed value, or an error record when it nests deeper than `max_depth`.

    An error record keeps the text (`text`, what `value` was parsed from) rather than the value,
    which is too deep for what comes after (storing it, copying it) to handle.
    """
    record = Record(value, path, position, in_array=in_array)
    try:
        check_depth(value, record.where, text=text)
    except InputLimitError as exc:
        raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
        kept = raw.rstrip("\r\n") if raw is not None else f"<{kind_of(value)} nested too deeply to keep>"
        return Record(kept, path, position, in_array=in_array, error=exc.detail)
    return record


def _too_deep(text: bytes, where: str) -> str:
    """Why a record the parser refused for its nesting cannot be read, without the place (the caller adds it)."""
    error = too_deep_error(text, where)
    return error.detail if isinstance(error, InputLimitError) else str(error).removeprefix(f"{where}: ")


_CHUNK = 1 << 16
"""Characters read at a time by the JSON array reader (tests make it tiny to split every token)."""

_SPACE = re.compile(r"[ \t\n\r]*")
_SEPARATOR = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")


def _array(path: Path) -> Iterator[Record]:
    """The items of a JSON array file, parsed one at a time from a sliding window of the text.

    Memory holds the window: a few chunks, or one item when an item is bigger than a chunk (up to
    `max_record_mb`, past which InputLimitError). Each item is decoded with the stdlib decoder's
    `raw_decode`; an item that does not parse yet is retried once more text is read, the window
    growing geometrically so a big item costs linear time.
    """
    limits = current_limits()
    cap = limits.max_record_bytes
    decoder = json.JSONDecoder()
    with open_regular(path) as fh:
        text_decoder = codecs.getincrementaldecoder("utf-8-sig")()
        buf = ""
        pos = 0
        eof = False

        def more(size: int) -> None:
            nonlocal buf, pos, eof
            if pos > 0:
                buf, pos = buf[pos:], 0
            data = fh.read(size)
            try:
                buf += text_decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: not UTF-8 text ({exc.reason}); expected a JSON array of records"
                ) from None
            eof = not data

        def skip_space() -> None:
            nonlocal pos
            while True:
                match = _SPACE.match(buf, pos)
                pos = match.end() if match else pos
                if pos < len(buf) or eof:
                    return
                more(_CHUNK)

        def invalid(problem: str) -> DataError:
            return DataError(
                f"{path}: not valid JSON ({problem}); expected a JSON array of records, or JSON Lines with "
                "one record per line (name the file .jsonl)"
            )

        more(_CHUNK)
        skip_space()
        if buf[pos : pos + 1] != "[":
            raise invalid("it does not start with '['")
        pos += 1
        skip_space()
        index = 0
        done = buf[pos : pos + 1] == "]"
        if done:
            pos += 1
        raw_decode, max_depth = decoder.raw_decode, limits.max_depth
        while not done:
            # `pos` is at the start of item `index`; parse it and the separator after it, reading
            # more text (and parsing again) when the window ends inside either
            if len(buf) - pos > cap:
                raise _record_too_big(f"{path}[{index}]", cap)
            try:
                value, end = raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                truncated = exc.msg.startswith("Unterminated string") or exc.pos >= len(buf) - 6
                if eof or not truncated:  # an error before the end of the window is no truncation
                    raise invalid(f"record {index}: {exc.msg}") from None
                more(max(_CHUNK, len(buf) - pos))
                continue
            except RecursionError:
                raise too_deep_error(buf[pos:], f"{path}[{index}]") from None
            after = _SEPARATOR.match(buf, end)
            if not eof and (
                after is None or after.end() == len(buf) or (type(value) in _NUMBERS and _may_go_on(buf, end))
            ):
                more(max(_CHUNK, len(buf) - pos))
                continue
            if end - pos > cap:
                raise _record_too_big(f"{path}[{index}]", cap)
            if buf.count("[", pos, end) + buf.count("{", pos, end) > max_depth:
                yield _checked(value, path, index, in_array=True, text=buf[pos:end])
            else:
                yield Record(value, path, index, in_array=True)
            if after is None:
                rest = buf[end:].strip()
                raise invalid(
                    f"expected ',' or ']' after record {index}" if rest else "the array is not closed"
                )
            done = after.group(1) == "]"
            pos = after.end()
            index += 1
        skip_space()
        if pos < len(buf):
            raise invalid("extra data after the array")


_NUMBERS = (int, float)


def _may_go_on(buf: str, end: int) -> bool:
    """Whether a number parsed up to `end` may be the start of a longer one (`1` of `1.5`, `1.5` of `1.5e3`)."""
    return end >= len(buf) or buf[end] in ".eE+-0123456789"


def _record_too_big(where: str, cap: int) -> InputLimitError:
    return InputLimitError(
        where,
        f"the record is longer than the limit of {cap / MiB:,.1f} MB for one record",
        "max_record_mb",
        max(1, int(2 * cap / MiB)),
    )


def _whole(path: Path) -> Any:
    """A file holding one JSON document (not an array), read within `max_input_mb`."""
    data = read_bounded(path).removeprefix(b"\xef\xbb\xbf")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if is_too_deep(exc):
            raise too_deep_error(data, str(path)) from None
        raise DataError(
            f"{path}: not valid JSON ({exc}); expected a JSON array of records, or JSON Lines with one "
            "record per line (name the file .jsonl)"
        ) from None


def head_records(path: Path, count: int) -> list[Record]:
    """The first `count` records, reading as little of the file as it takes (format detection).

    Every reader streams, so this is the first records of `iter_records`: telling the format of
    a 100 MB JSON array reads its first chunk, not the file.
    """
    return list(islice(iter_records(path), count))
