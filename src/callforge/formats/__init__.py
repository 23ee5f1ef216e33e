"""Read external tool-calling datasets as Dialogs, in every layout `FORMATS` names.

callforge, OpenAI, xLAM, ToolACE, BFCL, ShareGPT, Hermes (NousResearch), Glaive v2, APIGen-MT
and When2Call.

`read_dialogs(path, format="auto")` streams one Dialog per record, each with `meta.id` and
`meta.source`, every call with an id and every tool result linked to its call. What cannot be
read is recorded in `meta.read_errors` rather than dropped, so verification reports it; only a
file that is not the format at all raises `DataError`. A Run folder reads as its accepted
dialogs; `load_bfcl_suite` reads a BFCL data folder as evaluation Cases. docs/formats.md
describes each format.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import cast

from callforge.core import ConfigError, DataError, Dialog
from callforge.formats.bfcl import read_bfcl
from callforge.formats.bfcl_suite import bfcl_data_dir, bfcl_files, load_bfcl_suite
from callforge.formats.callforge import read_callforge
from callforge.formats.detect import FORMATS, DatasetFormat, check_format, detect_format
from callforge.formats.glaive import read_glaive
from callforge.formats.hermes import read_hermes
from callforge.formats.openai import dialog_from_openai, read_openai
from callforge.formats.records import Record
from callforge.formats.sharegpt import read_apigen_mt, read_sharegpt
from callforge.formats.toolace import read_toolace
from callforge.formats.when2call import read_when2call
from callforge.formats.xlam import read_xlam

__all__ = [
    "FORMATS",
    "DatasetFormat",
    "Record",
    "bfcl_data_dir",
    "bfcl_files",
    "detect_format",
    "dialog_from_openai",
    "load_bfcl_suite",
    "read_dialogs",
]

_READERS: dict[DatasetFormat, Callable[[Path], Iterator[Dialog]]] = {
    "callforge": read_callforge,
    "openai": read_openai,
    "xlam": read_xlam,
    "toolace": read_toolace,
    "bfcl": read_bfcl,
    "sharegpt": read_sharegpt,
    "hermes": read_hermes,
    "glaive": read_glaive,
    "apigen_mt": read_apigen_mt,
    "when2call": read_when2call,
}


def read_dialogs(
    path: str | os.PathLike[str],
    format: str = "auto",
    *,
    limit: int | None = None,
) -> Iterator[Dialog]:
    """Stream the Dialogs of a dataset file (or a BFCL data folder), at most `limit` of them.

    `format` is "auto" or one of `FORMATS`, as a plain string because that is what a CLI flag
    gives. The format is detected now, so its errors surface at the call, not at the first `next`;
    records are read lazily, so a large file costs memory for one record at a time (a JSON array
    too: it is streamed item by item), within the `InputLimits` in force (callforge.core). Raises
    ConfigError for an unknown format name or a negative limit, DataError for a path that is
    missing, not a regular file or not the format (possibly while iterating), and
    InputLimitError for a line or record over `max_record_mb`.
    """
    if format != "auto" and format not in FORMATS:
        raise ConfigError(f"format={format!r} is not supported; use auto or one of: {', '.join(FORMATS)}")
    if limit is not None and limit < 0:
        raise ConfigError(f"limit={limit} must be 0 or more")
    where = Path(path)
    name = detect_format(where) if format == "auto" else cast("DatasetFormat", format)
    if not where.exists():
        raise DataError(f"{where}: file not found")
    if where.is_dir() and name not in ("bfcl", "callforge"):
        raise DataError(
            f"{where}: is a folder; only the formats bfcl (BFCL's data folder) and callforge (a Run folder) read a folder"
        )
    dialogs = check_format(_READERS[name](where), name, where)
    return dialogs if limit is None else islice(dialogs, limit)
