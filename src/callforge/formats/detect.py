"""Tell a dataset's format from its path and first records, and refuse a file read as the wrong one.

Detection looks only at what each format must have (xLAM's `query` + `answers`, ShareGPT's
`conversations`, ToolACE's tool list in the system prompt, Hermes' `<tool_call>` tags ...), so it
is cheap and predictable; whatever it cannot tell is an error that asks for `format`. Two layouts
that differ only in their values' wording are told apart by a marker that only one of them writes
(ToolACE's "in JSON format that you can invoke:", Hermes' tags); APIGen-MT, which is ShareGPT to
the letter, has no such marker and is never detected: it reads as ShareGPT unless named.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args

from callforge.core import DataError, Dialog
from callforge.formats.assemble import MALFORMED
from callforge.formats.bfcl import is_bfcl_path
from callforge.formats.glaive import is_glaive
from callforge.formats.hermes import is_hermes
from callforge.formats.records import head_records
from callforge.formats.toolace import TOOLS_MARKER
from callforge.formats.when2call import is_when2call
from callforge.run import is_run_folder

DatasetFormat = Literal[
    "callforge", "openai", "xlam", "toolace", "bfcl", "sharegpt", "hermes", "glaive", "apigen_mt", "when2call"
]
"""The dataset formats `read_dialogs` reads (`--format` also takes "auto")."""

FORMATS: tuple[DatasetFormat, ...] = get_args(DatasetFormat)
"""Every name of `DatasetFormat`, in the order help texts list them."""

_PROBE = 5
"""How many records detection looks at, and how many bad ones in a row mean the wrong format."""


def detect_format(path: str | Path) -> DatasetFormat:
    """The format of the file or folder at `path`, from its name and the keys of its first records.

    A folder is a callforge Run folder (its accepted dialogs), BFCL's data folder, or nothing; `BFCL_v4_<category>.json` is BFCL by name. Raises
    DataError, listing the formats, when neither the name nor the records tell.
    """
    path = Path(path)
    if path.is_dir():
        if is_run_folder(path):
            return "callforge"
        if is_bfcl_path(path):
            return "bfcl"
        raise DataError(
            f"{path}: a folder, but neither a callforge Run folder (no manifest.json) nor a BFCL data folder "
            "(no BFCL_v*_<category>.json files); pass a dataset file, a Run folder or a folder of BFCL data"
        )
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if is_bfcl_path(path):
        return "bfcl"
    keys: list[str] = []
    for record in head_records(path, _PROBE):
        if record.error is not None:
            continue
        found = format_of_record(record.value)
        if found is not None:
            return found
        if isinstance(record.value, dict) and not keys:
            keys = sorted(map(str, record.value))[:12]
    seen = (
        f"its first records have the keys {', '.join(keys)}"
        if keys
        else "its first records are not JSON objects"
    )
    raise DataError(
        f"{path}: cannot tell the dataset format ({seen}); pass `format` with one of: {', '.join(FORMATS)}"
    )


def format_of_record(value: Any) -> DatasetFormat | None:
    """The format one parsed record has the shape of, or None when it fits none."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("dialog"), dict) or ("messages" in value and "meta" in value):
        return "callforge"
    if is_when2call(value):
        return "when2call"
    if "query" in value and "answers" in value:
        return "xlam"
    if "question" in value and "function" in value:
        return "bfcl"
    if is_glaive(value):
        return "glaive"
    if isinstance(value.get("conversations"), list):
        system = value.get("system")
        if isinstance(system, str) and TOOLS_MARKER.lower() in system.lower():
            return "toolace"
        return "hermes" if is_hermes(value) else "sharegpt"
    messages = value.get("messages")
    if messages is None and isinstance(value.get("prompt"), list) and isinstance(value.get("completion"), list):
        messages = value["prompt"] + value["completion"]  # TRL's conversational prompt-completion
    if isinstance(messages, list):
        first = next((m for m in messages if isinstance(m, dict)), {})
        if "from" in first:
            return "hermes" if is_hermes(value) else "sharegpt"
        if "role" in first:
            return "openai"
    return None


def check_format(dialogs: Iterator[Dialog], format: DatasetFormat, path: Path) -> Iterator[Dialog]:
    """Pass `dialogs` through, but raise DataError when the first records all fail to read.

    One bad record is the data's problem and is reported with the others; five bad ones in a row
    from the start mean the file is not `format` at all, and the fix is a flag, not a report.
    """
    head: list[Dialog] = []
    for dialog in dialogs:
        head.append(dialog)
        if not _malformed(dialog) or len(head) == _PROBE:
            break
    if head and all(_malformed(d) for d in head):
        first = head[0].meta.read_errors[0].message
        guess = format_of_record(head[0].meta.raw)
        if guess is not None and guess != format:
            fix = f"these records look like {guess}: pass `format={guess!r}`"
        else:
            fix = f"pass `format` with the file's format (one of: {', '.join(FORMATS)})"
        count = "the only record" if len(head) == 1 else f"the first {len(head)} records"
        raise DataError(f"{path}: {count} cannot be read as {format} (first: {first}); {fix}")
    yield from head
    yield from dialogs


def _malformed(dialog: Dialog) -> bool:
    return any(e.code == MALFORMED for e in dialog.meta.read_errors)
