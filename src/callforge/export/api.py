"""`export`: a Run's accepted dialogs (or any dataset callforge reads) written in a trainer's format.

Every JSON Lines format is a `RecordFormat` (one function from a Dialog to its records, and
whether it can mask a wrong call) under a name; a package adds one through the
`callforge.export_formats` entry point. `hf` (Parquet), `chat` (template text) and `bfcl` (an eval
set folder) write their own files. Adding a format is one entry, not a branch.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from callforge.core import ConfigError, Dialog
from callforge.export.writers import SHAREGPT_DATASET_INFO, to_openai, to_sharegpt, to_steps
from callforge.formats import read_dialogs
from callforge.run import MANIFEST, JsonlWriter, is_run_folder

DATA_FILE = "data.jsonl"
Records = Callable[[Dialog], list[dict[str, Any]]]
FORMAT_ENTRY_POINTS = "callforge.export_formats"
"""The entry-point group a package registers a JSON Lines export format under (a `RecordFormat`)."""


@dataclass(frozen=True)
class RecordFormat:
    """A JSON Lines export format: one function from a Dialog to its records, and what it can express.

    The extension point of `export`: a format is one of these, registered under a name, not a
    branch. callforge's own `dpo` format is registered this way by `callforge.learn` (it builds on
    the learning signal, a layer above export).
    """

    records: Records
    masks: bool
    """True when the format can keep a wrong call out of training; if not, such dialogs are skipped."""
    counted_by: str | None = None
    """A record field whose values the report counts (the task of `tasks`, the origin of `dpo`)."""


def _tasks(dialog: Dialog) -> list[dict[str, Any]]:
    from callforge.export.tasks import granular_tasks

    return granular_tasks(dialog)


_BUILT_IN: dict[str, RecordFormat] = {
    "openai": RecordFormat(lambda d: [to_openai(d)], masks=True),
    "sharegpt": RecordFormat(lambda d: [to_sharegpt(d)], masks=False),
    "steps": RecordFormat(to_steps, masks=True),
    "tasks": RecordFormat(_tasks, masks=True, counted_by="task"),
}
_FOLDER_FORMATS = ("hf", "chat", "bfcl")
"""Formats that write their own files (Parquet, template text, an eval set) rather than records."""


def record_formats() -> dict[str, RecordFormat]:
    """Every JSON Lines format: the built-in ones and those packages register under `FORMAT_ENTRY_POINTS`."""
    found = dict(_BUILT_IN)
    for entry in entry_points(group=FORMAT_ENTRY_POINTS):
        if entry.name in found:
            continue
        loaded = entry.load()
        if not isinstance(loaded, RecordFormat):
            raise ConfigError(f"export format {entry.name!r} ({entry.value}) is not a RecordFormat; fix or remove that package")
        found[entry.name] = loaded
    return found


def export_formats() -> tuple[str, ...]:
    """The names `export(format=...)` accepts."""
    return (*record_formats(), *_FOLDER_FORMATS)


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and what it left out, and why."""

    format: str
    path: Path
    written: int
    """Dialogs written (bfcl: cases)."""
    skipped_injected: int
    files: tuple[Path, ...]
    categories: dict[str, int] = field(default_factory=dict)
    """Records by kind: BFCL category (bfcl), task (tasks), origin (dpo)."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Dialogs left out, by reason (bfcl: `not_single_turn`, `unknown_tool`; dpo: `no_pair`)."""
    records: int = 0
    """Records written: one per dialog, except steps (one per turn), tasks and dpo (several per dialog)."""


def iter_dialogs(src: str | os.PathLike[str]) -> Iterator[Dialog]:
    """The accepted dialogs of a Run folder, or every dialog of a dataset file in a format callforge reads.

    A Run folder is read through the run store (every session, every layout a callforge version
    wrote); a Parquet file from `--format hf` (or its folder) reads back too.
    """
    path = Path(src)
    if path.suffix == ".parquet" or (path.is_dir() and (path / "data.parquet").is_file() and not (path / MANIFEST).exists()):
        from callforge.export.hf import read_hf_dialogs

        yield from read_hf_dialogs(path / "data.parquet" if path.is_dir() else path)
        return
    if path.is_dir() and not is_run_folder(path):
        raise ConfigError(f"{path}: not a run folder (no {MANIFEST}); give a run folder or a dataset file")
    if not path.exists():
        raise ConfigError(f"{path}: no such run folder or dataset file")
    yield from read_dialogs(path)


def export(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str = "openai",
    keep_injected: bool = False,
    template: str = "qwen2.5",
    push_to_hub: str | None = None,
) -> ExportReport:
    """Write `src`'s dialogs to the folder `out` in `format` (see docs/export.md for each one).

    JSON Lines formats write `data.jsonl` (sharegpt adds LLaMA-Factory's `dataset_info.json`);
    `hf` writes `data.parquet` (and pushes it to the Hub repo `push_to_hub` if given); `chat`
    renders with `template` (a shipped name, a .jinja file, `hf:DIR`, `gguf:FILE`, `local:MODEL`);
    `bfcl` writes an eval set that `callforge eval --data OUT` scores any model on.

    A call made wrong on purpose (error recovery) or a model's corrected mistake (refinement) is
    masked where the format can (`"weight": 0` in openai, left out as a target in steps, tasks
    and dpo); sharegpt, chat and hf's consumers cannot mask, so those dialogs are skipped there
    unless `keep_injected`.
    """
    folder = Path(out)
    if format == "bfcl":
        return _bfcl(src, folder)
    if format == "hf":
        return _hf(src, folder, keep_injected, push_to_hub)
    if format == "chat":
        from callforge.export.chat import load_template, to_chat

        chat = load_template(template)
        spec = RecordFormat(lambda d: [to_chat(d, chat)], masks=False)
    else:
        formats = record_formats()
        if format not in formats:
            raise ConfigError(f"export format {format!r} is not supported; use one of {', '.join(export_formats())}")
        spec = formats[format]
    target = folder / DATA_FILE
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another `out` or remove it")
    folder.mkdir(parents=True, exist_ok=True)
    written = skipped = records = 0
    counts: Counter[str] = Counter()
    empty: Counter[str] = Counter()
    tmp = folder / f".{DATA_FILE}.partial"
    tmp.unlink(missing_ok=True)
    writer = JsonlWriter(tmp, sync_s=5.0)
    try:
        for dialog in iter_dialogs(src):
            if not spec.masks and dialog.masked_calls() and not keep_injected:
                skipped += 1
                continue
            rows = spec.records(dialog)
            if not rows:
                empty[f"no_{format}_record"] += 1
                continue
            for row in rows:
                writer.write(row)
                if spec.counted_by:
                    counts[str(row.get(spec.counted_by))] += 1
            written += 1
            records += len(rows)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp, target)  # a killed export leaves no half file under the real name
    files = [target]
    if format == "sharegpt":
        info = folder / "dataset_info.json"
        info.write_text(
            json.dumps({"callforge": {"file_name": DATA_FILE, **SHAREGPT_DATASET_INFO}}, indent=2) + "\n"
        )
        files.append(info)
    return ExportReport(format, folder, written, skipped, tuple(files), dict(sorted(counts.items())), dict(empty), records)


def _bfcl(src: str | os.PathLike[str], out: Path) -> ExportReport:
    from callforge.export.bfcl import write_bfcl

    done = write_bfcl(iter_dialogs(src), out)
    files = sorted(out.glob("*.json")) + sorted((out / "possible_answer").glob("*.json"))
    cases = sum(done.cases.values())
    return ExportReport("bfcl", out, cases, 0, tuple(files), done.cases, done.skipped, cases)


def _hf(src: str | os.PathLike[str], out: Path, keep_injected: bool, push_to_hub: str | None) -> ExportReport:
    from callforge.export.hf import PARQUET_FILE, write_parquet

    if (out / PARQUET_FILE).exists():
        raise ConfigError(f"{out / PARQUET_FILE} already exists; choose another `out` or remove it")
    skipped = 0

    def dialogs() -> Iterator[Dialog]:
        nonlocal skipped
        for dialog in iter_dialogs(src):
            if dialog.masked_calls() and not keep_injected:
                skipped += 1  # `weight` survives in the rows, but most Hub trainers ignore it
                continue
            yield dialog

    written, files = write_parquet(dialogs(), out, push_to_hub=push_to_hub)
    return ExportReport("hf", out, written, skipped, tuple(files), records=written)
