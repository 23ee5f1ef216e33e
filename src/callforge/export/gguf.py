"""A small, safe reader of GGUF metadata: the header and the key/value pairs, never the tensors.

A GGUF model file carries its chat template (`tokenizer.chat_template`) and its special tokens in
the metadata that precedes the tensor data, so the `chat` export can render dialogs exactly as the
model's runtime will without llama.cpp, transformers or the `gguf` package. Model files come from
anywhere, so every length and count is checked against the bytes left in the file before it is
used: a damaged or hostile file raises `DataError`, it cannot make the reader allocate gigabytes or
loop for ever. The file is memory-mapped, so skipping the tokenizer's 150,000-string arrays costs
no copies.

Layout (GGUF v2 and v3, little- or big-endian): magic `GGUF`, uint32 version, uint64 tensor count,
uint64 key/value count, then per pair a string key, a uint32 value type and the value. A string is
a uint64 byte length and UTF-8 bytes; an array is a uint32 item type, a uint64 count and the items.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callforge.core import DataError

MAGIC = b"GGUF"
STRING = 8
ARRAY = 9
_SCALARS: dict[int, str] = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_MAX_KV = 1 << 20  # real models have a few dozen pairs; a huge count is damage, not a model
_MAX_DEPTH = 4  # arrays of arrays are legal; deeper nesting than this is not something a model needs
_MAX_KEPT_STRING = 64 << 20  # a chat template is kilobytes; refuse to decode anything enormous


@dataclass(frozen=True)
class GgufArray:
    """An array value left in the file: its item type, item count and where its first item starts."""

    item_type: int
    count: int
    offset: int


@dataclass(frozen=True)
class GgufMetadata:
    """The metadata of one GGUF file: scalars and strings decoded, arrays as `GgufArray` handles."""

    path: Path
    version: int
    tensor_count: int
    values: dict[str, Any]
    byte_order: str = "<"

    def array_item(self, key: str, index: int) -> Any:
        """One item of the array `key` (e.g. a token string by id), read without loading the array.

        Returns None when `key` is not an array of scalars or strings or `index` is out of range,
        because callers use this for optional extras (a BOS token's text) that may be missing.
        """
        array = self.values.get(key)
        if not isinstance(array, GgufArray) or not 0 <= index < array.count or array.item_type == ARRAY:
            return None
        with _mapped(self.path) as data:
            cursor = _Cursor(data, array.offset, self.byte_order, str(self.path))
            if array.item_type == STRING:
                for _ in range(index):
                    cursor.skip_string()
                return cursor.string()
            size = struct.calcsize(_SCALARS[array.item_type])
            cursor.pos += size * index
            return cursor.scalar(array.item_type)


def read_metadata(path: str | os.PathLike[str]) -> GgufMetadata:
    """Read a GGUF file's header and metadata pairs, stopping before the tensor descriptions.

    Raises:
        DataError: the file is not GGUF, is truncated, or has a length, count or type that does not fit.
    """
    file = Path(path)
    with _mapped(file) as data:
        if data[:4] != MAGIC:
            raise DataError(f"{file}: not a GGUF file (it does not start with 'GGUF')")
        order = "<"
        cursor = _Cursor(data, 4, order, str(file))
        version = cursor.unpack("I")
        if version not in (2, 3):
            swapped = struct.unpack(">I", struct.pack("<I", version))[0]
            if swapped not in (2, 3):
                raise DataError(f"{file}: GGUF version {version} is not supported (only versions 2 and 3)")
            order, version = ">", swapped
            cursor.order = order
        tensor_count = cursor.unpack("Q")
        kv_count = cursor.unpack("Q")
        if kv_count > _MAX_KV:
            raise DataError(f"{file}: the header claims {kv_count:,} metadata pairs; the file is damaged")
        values: dict[str, Any] = {}
        for _ in range(kv_count):
            key = cursor.string()
            kind = cursor.unpack("I")
            values[key] = cursor.value(kind, key)
    return GgufMetadata(file, version, tensor_count, values, order)


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """Memory-map a file read-only (an empty file maps to empty bytes), with named errors."""
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                yield b""
                return
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                yield data
    except OSError as exc:
        raise DataError(f"{path}: cannot read the GGUF file: {exc.strerror or exc}") from None


class _Cursor:
    """A position in the mapped file; every read is bounds-checked before it happens."""

    def __init__(self, data: bytes | mmap.mmap, pos: int, order: str, name: str) -> None:
        self.data = data
        self.pos = pos
        self.order = order
        self.name = name

    def need(self, size: int, what: str) -> None:
        if size < 0 or self.pos + size > len(self.data):
            raise DataError(
                f"{self.name}: truncated or damaged GGUF metadata: {what} needs {size:,} bytes at offset "
                f"{self.pos:,}, the file has {len(self.data):,}"
            )

    def unpack(self, code: str) -> Any:
        size = struct.calcsize(code)
        self.need(size, f"a {code} value")
        (value,) = struct.unpack_from(self.order + code, self.data, self.pos)
        self.pos += size
        return value

    def scalar(self, kind: int) -> Any:
        return self.unpack(_SCALARS[kind])

    def string(self) -> str:
        size = self.unpack("Q")
        self.need(size, "a string")
        if size > _MAX_KEPT_STRING:
            raise DataError(f"{self.name}: a {size:,}-byte metadata string is too large to be real")
        raw = bytes(self.data[self.pos : self.pos + size])
        self.pos += size
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        size = self.unpack("Q")
        self.need(size, "a string")
        self.pos += size

    def value(self, kind: int, key: str, depth: int = 0) -> Any:
        if kind in _SCALARS:
            return self.scalar(kind)
        if kind == STRING:
            return self.string()
        if kind == ARRAY:
            item_type = self.unpack("I")
            count = self.unpack("Q")
            handle = GgufArray(item_type, count, self.pos)
            self.skip_items(item_type, count, key, depth + 1)
            return handle
        raise DataError(f"{self.name}: metadata key {key!r} has unknown value type {kind}")

    def skip_items(self, item_type: int, count: int, key: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise DataError(f"{self.name}: metadata key {key!r} nests arrays deeper than {_MAX_DEPTH}")
        if item_type in _SCALARS:
            self.need(struct.calcsize(_SCALARS[item_type]) * count, f"the array {key!r}")
            self.pos += struct.calcsize(_SCALARS[item_type]) * count
            return
        if item_type not in (STRING, ARRAY):
            raise DataError(f"{self.name}: metadata key {key!r} is an array of unknown type {item_type}")
        # every item takes at least 8 bytes (a string's length, an array's count), so a count that
        # cannot fit in what is left is rejected before the loop
        self.need(8 * count, f"the {count:,} items of {key!r}")
        for _ in range(count):
            if item_type == STRING:
                self.skip_string()
            else:
                inner = self.unpack("I")
                self.skip_items(inner, self.unpack("Q"), key, depth + 1)
