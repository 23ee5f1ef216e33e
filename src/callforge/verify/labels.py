"""Labels a person gave dialogs (`callforge browse`'s "mark bad"), and the stage that turns them into rejections.

A labels file is JSON Lines, one `Label` per line, appended as a person works through a run:
`{"id": "g000003", "label": "bad", "note": "answer invents a price", "time": "2026-12-06T14:50:00+00:00"}`.
The last line for an id wins, so a dialog marked bad by mistake is cleared by a later `ok` line.
`verify --labels FILE` puts a `LabelStage` first in the cascade: a dialog whose last label is `bad`
is rejected with the stable code `label.bad` (the note and time as evidence), before any rule runs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from callforge.core import DataError, Dialog, Verdict
from callforge.run import read_jsonl
from callforge.verify.record import StageResult

LABELS = "labels.jsonl"
"""The labels file's name in a run folder (where `callforge browse` writes it)."""
LABEL_BAD = "label.bad"
"""The code of a rejection a person asked for."""
LabelName = Literal["bad", "ok"]


class Label(BaseModel):
    """One person's judgement of one dialog: `bad` rejects it in the next verification, `ok` clears an earlier `bad`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    label: LabelName = "bad"
    note: str = ""
    time: str = ""


def read_labels(path: str | os.PathLike[str]) -> dict[str, Label]:
    """The last label of each dialog id in a labels file, so verify can reject what a person marked bad."""
    where = Path(path)
    if not where.is_file():
        raise DataError(f"{where}: no labels file here (callforge browse writes RUN/{LABELS})")
    labels: dict[str, Label] = {}
    for line in read_jsonl(where, what="label"):
        try:
            label = Label.model_validate(line.value)
        except ValidationError as exc:
            raise DataError(f"{where}:{line.number}: not a label ({exc.errors()[0]['msg']})") from None
        labels[label.id] = label
    return labels


def append_label(path: str | os.PathLike[str], label: Label) -> Label:
    """Append one label (timed now when it has no time), so marking a dialog never rewrites earlier labels."""
    stamped = label if label.time else label.model_copy(update={"time": datetime.now(UTC).isoformat(timespec="seconds")})
    where = Path(path)
    where.parent.mkdir(parents=True, exist_ok=True)
    with where.open("ab") as fh:
        fh.write(orjson.dumps(stamped.model_dump()) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return stamped


class LabelStage:
    """The cascade stage that rejects the dialogs a person marked bad (code `label.bad`); it passes every other one."""

    name = "labels"

    def __init__(self, labels: dict[str, Label]) -> None:
        """Judge by `labels` (id -> last label), as `read_labels` returns them."""
        self.bad = {id: label for id, label in labels.items() if label.label == "bad"}

    async def check(self, dialog: Dialog) -> StageResult:
        """Reject the dialog when its id carries a `bad` label."""
        label = self.bad.get(dialog.meta.id or "")
        if label is None:
            return StageResult(stage=self.name, verdicts=(Verdict.passed(),))
        message = f"marked bad by a person{': ' + label.note if label.note else ''}"
        return StageResult(
            stage=self.name, verdicts=(Verdict.failed(LABEL_BAD, message, note=label.note, time=label.time),)
        )
