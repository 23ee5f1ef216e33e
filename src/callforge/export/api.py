"""`export`: a Run's accepted dialogs (or any dataset callforge reads) written in a trainer's format."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from callforge.core import ConfigError, Dialog
from callforge.export.writers import SHAREGPT_DATASET_INFO, injected_calls, to_openai, to_sharegpt
from callforge.run.jsonl import JsonlWriter

ExportFormat = Literal["openai", "sharegpt", "bfcl"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)
DATA_FILE = "data.jsonl"
_WRITERS: dict[str, Callable[[Dialog], dict[str, Any]]] = {"openai": to_openai, "sharegpt": to_sharegpt}


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and what it left out, and why."""

    format: str
    path: Path
    written: int
    skipped_injected: int
    files: tuple[Path, ...]
    categories: dict[str, int] = field(default_factory=dict)
    """bfcl: cases per BFCL category."""
    skipped: dict[str, int] = field(default_factory=dict)
    """bfcl: dialogs left out, by reason (`not_single_turn`, `unknown_tool`)."""


def iter_dialogs(src: str | os.PathLike[str]) -> Iterator[Dialog]:
    """The accepted dialogs of a Run folder, or every dialog of a dataset file in a format callforge reads."""
    path = Path(src)
    if path.is_dir():
        from callforge.formats import read_dialogs

        shards = sorted((path / "accepted").glob("part-*.jsonl"))
        if not (path / "manifest.json").is_file():
            raise ConfigError(
                f"{path}: not a run folder (no manifest.json); give a run folder or a dataset file"
            )
        for shard in shards:
            yield from read_dialogs(shard, format="callforge")
        return
    if not path.exists():
        raise ConfigError(f"{path}: no such run folder or dataset file")
    from callforge.formats import read_dialogs

    yield from read_dialogs(path)


def export(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str = "openai",
    keep_injected: bool = False,
) -> ExportReport:
    """Write `src`'s dialogs to the folder `out` as `data.jsonl` in `format` (plus LLaMA-Factory's `dataset_info.json` for sharegpt).

    `bfcl` writes a BFCL-format eval set instead (question files and `possible_answer/`, see
    `callforge.export.bfcl`), which `callforge eval --data OUT` scores any model on.

    A dialog with a call made wrong on purpose (error recovery) keeps it masked in `openai`
    (`"weight": 0`); `sharegpt` cannot mask a turn, so such dialogs are skipped unless
    `keep_injected` (then the wrong call is trained on, like any other).
    """
    if format == "bfcl":
        from callforge.export.bfcl import write_bfcl

        done = write_bfcl(iter_dialogs(src), Path(out))
        written_files = sorted(Path(out).glob("*.json")) + sorted(
            (Path(out) / "possible_answer").glob("*.json")
        )
        return ExportReport(
            format, Path(out), sum(done.cases.values()), 0, tuple(written_files), done.cases, done.skipped
        )
    if format not in _WRITERS:
        raise ConfigError(
            f"export format {format!r} is not supported; use one of {', '.join(EXPORT_FORMATS)}"
        )
    folder = Path(out)
    target = folder / DATA_FILE
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another --out or remove it")
    folder.mkdir(parents=True, exist_ok=True)
    write = _WRITERS[format]
    written = skipped = 0
    tmp = folder / f".{DATA_FILE}.partial"
    tmp.unlink(missing_ok=True)
    writer = JsonlWriter(tmp, sync_s=5.0)
    try:
        for dialog in iter_dialogs(src):
            if format != "openai" and injected_calls(dialog) and not keep_injected:
                skipped += 1
                continue
            writer.write(write(dialog))
            written += 1
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
    return ExportReport(format, folder, written, skipped, tuple(files))
