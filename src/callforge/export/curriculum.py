"""Difficulty on the way out: a curriculum order for `export --curriculum`, and the level histogram of a source.

Both read the difficulty a dialog carries (`Provenance.difficulty`, stored by `generate` and
`select`) and measure the rest (`callforge.verify.measure_difficulty`), so a dataset from anywhere
can be ordered or counted the same way (docs/export.md, "Curriculum").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from callforge.core import Dialog
from callforge.run import RunFolder, is_run_folder
from callforge.verify import DifficultyHistogram, dialog_difficulty, difficulty_histogram

T = TypeVar("T")


def curriculum_order(sources: Iterable[tuple[Dialog, T]]) -> list[tuple[Dialog, T]]:
    """Dialogs (each with what rides along, such as its origin) easy -> hard by level, in their own order within a level.

    Why: an easy-to-hard curriculum (iTool's warm-up) is an ordering of the same records, so it
    needs no new format: a stored `Provenance.difficulty` is used, anything else is measured.
    """
    return sorted(sources, key=lambda pair: dialog_difficulty(pair[0]).level.rank)


def source_histogram(src: str | os.PathLike[str]) -> DifficultyHistogram:
    """The levels of a source's dialogs: a run's accepted ones, every judged one of a `select` run, a dataset's all.

    Why every judged one for `select`: its solved dialogs (`rejected/`) carry the target model's
    steps too, and accuracy per level needs both what it failed and what it solved.
    """
    return difficulty_histogram(_dialogs(Path(src)))


def _dialogs(path: Path) -> Iterator[Dialog]:
    if is_run_folder(path):
        folder = RunFolder.of(path)
        if folder.job == "select":
            for stream in ("accepted", "rejected"):
                for row in folder.records(stream):
                    yield Dialog.model_validate(row["dialog"])
            return
    from callforge.export.api import iter_dialogs

    yield from iter_dialogs(path)
