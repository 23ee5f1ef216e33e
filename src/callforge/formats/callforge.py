"""callforge's own records: `Dialog.model_dump(mode="json")` per line, a judged record wrapping one, or a Run folder.

Every job that judges dialogs writes `{"id", "ok", "stages": [...], "dialog": {...}}` records;
reading either shape back means a verified file can be verified again (after a rule change)
without converting it. A Run folder (it has a `manifest.json`) reads as its accepted dialogs,
through the run store, whatever sessions and layout wrote them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, kind_of
from callforge.formats.assemble import RecordError, convert_records, read_records, record_id
from callforge.formats.records import Record
from callforge.run import RunFolder, is_run_folder

SOURCE = "callforge"
EXPECTED = 'a Dialog {"tools", "messages", "meta"} or a verify record {"id", "dialog": {...}}'


def read_callforge(path: Path) -> Iterator[Dialog]:
    """Read a JSON Lines (or JSON array) file of dialogs or judged records, or a Run folder's accepted ones, streaming."""
    if is_run_folder(path):
        return _read_run(path)
    return read_records(path, SOURCE, dialog_from_callforge, EXPECTED)


def _read_run(path: Path) -> Iterator[Dialog]:
    """A run's accepted dialogs under the run's one reading policy (`RunFolder.lines`).

    A torn last line (a killed job's) is skipped with a warning, not turned into a malformed
    dialog; a damaged line in the middle is an error, as for every other reader of a run.
    """
    folder = RunFolder.of(path, streams=("accepted",))
    records = (Record(line.value, line.path, line.number) for line in folder.lines("accepted"))
    yield from convert_records(records, SOURCE, dialog_from_callforge, EXPECTED)


def dialog_from_callforge(value: Any, record: Record) -> Dialog:
    """The Dialog a line holds, as written; only a missing `id` or `source` is filled in.

    The dialog's own `meta.source` (say "xlam" for a dialog first read from xLAM data) is kept,
    because it is the provenance the format exists to carry.
    """
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    inner = value.get("dialog", value)
    if not isinstance(inner, dict):
        raise RecordError(f'"dialog" must be an object, not {kind_of(inner)}')
    if not any(key in inner for key in ("messages", "tools", "meta")):
        raise RecordError('no "messages", "tools" or "meta"')
    dialog = Dialog.model_validate(inner)
    if dialog.meta.id is not None and dialog.meta.source is not None:
        return dialog
    meta = dialog.meta.model_copy(
        update={"id": dialog.meta.id or record_id(value, record), "source": dialog.meta.source or SOURCE}
    )
    return dialog.model_copy(update={"meta": meta})
