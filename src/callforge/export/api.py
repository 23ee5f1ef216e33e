"""`export`: a Run's accepted dialogs (or any dataset callforge reads) written in a trainer's format.

Every JSON Lines format is a `RecordFormat` (one function from a Dialog to its records, and
whether it can mask a wrong call; optionally one for a run's rejected dialogs, as `dpo` has) under
a name; a package adds one through the `callforge.export_formats` entry point. `hf` (Parquet),
`chat` (template text) and `bfcl` (an eval set folder) write their own files. Adding a format is
one entry, not a branch.

A Run folder is read through the run store's one reader (`callforge.run.read_jsonl`): a torn last
line is not a record (skipped with a warning, redone by the run's resume), a damaged line or a
record that holds no dialog stops the export. Every export writes `export.json` beside its data:
the counts (dialogs read, exported, left out by reason, torn lines ignored) and where each exported
dialog came from (shard file and line, record id), so it can be checked against the run.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from callforge.core import ConfigError, DataError, Dialog, Verdict, kind_of
from callforge.execute import EnvironmentSpec, parse_environment
from callforge.export.curriculum import curriculum_order
from callforge.export.writers import (
    REASONING_MODES,
    SHAREGPT_DATASET_INFO,
    ReasoningMode,
    to_grpo,
    to_openai,
    to_sharegpt,
    to_steps,
    with_reasoning,
)
from callforge.formats import read_dialogs
from callforge.run import MANIFEST, JsonlLine, JsonlWriter, RunFolder, TornTail, is_run_folder, refuse_secrets

DATA_FILE = "data.jsonl"
EXPORT_FILE = "export.json"
"""What an export read and wrote, and where each exported dialog came from (see `ExportReport`)."""
Records = Callable[[Dialog], list[dict[str, Any]]]
RejectedRecords = Callable[[Dialog, tuple[Verdict, ...]], list[dict[str, Any]]]
"""The records of one rejected dialog, given the failing verdicts it was rejected with."""
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
    rejected: RejectedRecords | None = None
    """The records of a Run folder's rejected dialogs (dpo: a failed episode's diverging turn).

    When set, exporting a Run folder reads its `rejected/` records too, after the accepted ones,
    and counts each one read: exported, or left out as `rejected_no_<format>_record`. Without it
    (every other built-in format) a run's rejected records are not read. A dataset file has none.
    """


def _tasks(dialog: Dialog) -> list[dict[str, Any]]:
    from callforge.export.tasks import granular_tasks

    return granular_tasks(dialog)


_BUILT_IN: dict[str, RecordFormat] = {
    "openai": RecordFormat(lambda d: [to_openai(d)], masks=True),
    "sharegpt": RecordFormat(lambda d: [to_sharegpt(d)], masks=False),
    "steps": RecordFormat(to_steps, masks=True),
    "grpo": RecordFormat(to_grpo, masks=True),
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
    """Dialogs left out, by reason (bfcl: `not_single_turn`, `unknown_tool`; `no_<format>_record`; dpo: `rejected_no_dpo_record`)."""
    records: int = 0
    """Records written: one per dialog, except steps (one per turn), tasks and dpo (several per dialog)."""
    read: int = 0
    """Dialogs read from the source (a Run folder's accepted records; dpo: its rejected ones too): `written` plus every one left out."""
    torn: int = 0
    """Torn last lines of the run's shards that were ignored (not records; the run's resume redoes them)."""
    manifest: Path | None = None
    """`export.json` beside `files`: these counts and the source (file, line, id) of every exported dialog."""

    @property
    def left_out(self) -> dict[str, int]:
        """Every dialog read but not exported, by reason: `written + sum(left_out.values()) == read`."""
        unmaskable = {"unmaskable_call": self.skipped_injected} if self.skipped_injected else {}
        return {**unmaskable, **self.skipped}


def iter_dialogs(src: str | os.PathLike[str]) -> Iterator[Dialog]:
    """The accepted dialogs of a Run folder, or every dialog of a dataset file in a format callforge reads.

    A Run folder is read through the run store's one reader (every session, every layout a callforge
    version wrote; a torn last line skipped with a warning, a damaged line refused); a Parquet file
    from `--format hf` (or its folder) reads back too.
    """
    for dialog, _ in _sources(src, [])[1]:
        yield dialog


Sourced = Iterator[tuple[Dialog, dict[str, Any]]]
"""Dialogs, each with where it came from (`id`, `file`, and `line` for a run's shard)."""


def _sources(src: str | os.PathLike[str], torn: list[TornTail], curriculum: bool = False) -> tuple[Path | None, Sourced]:
    """The run folder (None for a dataset file) and its dialogs with their origins; torn lines go to `torn`.

    With `curriculum` the dialogs come easy -> hard (`curriculum_order`), read whole first to sort them.
    """
    run, sources = _read_sources(src, torn)
    return run, (iter(curriculum_order(sources)) if curriculum else sources)


def _read_sources(src: str | os.PathLike[str], torn: list[TornTail]) -> tuple[Path | None, Sourced]:
    path = Path(src)
    parquet_dir = path.is_dir() and (path / "data.parquet").is_file() and not (path / MANIFEST).exists()
    if path.suffix == ".parquet" or parquet_dir:
        from callforge.export.hf import read_hf_dialogs

        file = path / "data.parquet" if path.is_dir() else path
        return None, ((d, {"file": str(file), "id": d.meta.id}) for d in read_hf_dialogs(file))
    if path.is_dir() and not is_run_folder(path):
        raise ConfigError(f"{path}: not a run folder (no {MANIFEST}); give a run folder or a dataset file")
    if not path.exists():
        raise ConfigError(f"{path}: no such run folder or dataset file")
    if is_run_folder(path):
        folder = RunFolder.of(path, streams=("accepted",))
        lines = folder.lines("accepted", torn=torn)
        return path, ((_run_dialog(line), _origin(path, line)) for line in lines)
    return None, ((d, {"file": str(path), "id": d.meta.id}) for d in read_dialogs(path))


def _run_dialog(line: JsonlLine) -> Dialog:
    """The dialog of one accepted record, as the callforge format reads it; a record without one is an error."""
    value = line.value
    inner = value.get("dialog", value)
    if not isinstance(inner, dict) or not any(key in inner for key in ("messages", "tools", "meta")):
        raise DataError(
            f"{line.where}: record {value.get('id')!r} holds no dialog (expected {{\"id\", \"dialog\": {{...}}}}, "
            f"found {kind_of(inner) if not isinstance(inner, dict) else 'no messages, tools or meta'}); "
            "this shard is not one callforge wrote, or it is damaged"
        )
    try:
        dialog = Dialog.model_validate(inner)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise DataError(f"{line.where}: record {value.get('id')!r} is not a valid dialog ({problem})") from None
    if dialog.meta.id is not None and dialog.meta.source is not None:
        return dialog
    filled = {"id": dialog.meta.id or str(value["id"]), "source": dialog.meta.source or "callforge"}
    return dialog.model_copy(update={"meta": dialog.meta.model_copy(update=filled)})


def _rejected_sources(run: Path, torn: list[TornTail]) -> Iterator[tuple[Dialog, tuple[Verdict, ...], dict[str, Any]]]:
    """A Run folder's rejected dialogs, each with the failing verdicts of its record and where it came from."""
    for line in RunFolder.of(run, streams=("rejected",)).lines("rejected", torn=torn):
        yield _run_dialog(line), _failures(line), _origin(run, line)


def _failures(line: JsonlLine) -> tuple[Verdict, ...]:
    """The failing verdicts of one rejected record, stage by stage (`Checked.failures`); a damaged one is an error."""
    stages = line.value.get("stages", [])
    try:
        verdicts = [Verdict.model_validate(v) for stage in stages for v in stage.get("verdicts", ())]
    except (AttributeError, TypeError, ValidationError):
        raise DataError(
            f"{line.where}: record {line.value.get('id')!r} has damaged `stages` (expected a list of "
            '{"stage", "verdicts": [...]}); this shard is not one callforge wrote, or it is damaged'
        ) from None
    return tuple(v for v in verdicts if not v.ok)


def _origin(run: Path, line: JsonlLine) -> dict[str, Any]:
    return {"id": str(line.value["id"]), "file": line.path.relative_to(run).as_posix(), "line": line.number}


def _write_manifest(
    folder: Path,
    src: str | os.PathLike[str],
    run: Path | None,
    report: ExportReport,
    torn: list[TornTail],
    exported: list[dict[str, Any]],
) -> Path:
    """`export.json`, written whole under its name (a kill leaves the old one or none), one dialog a line."""
    counts = {
        "read": report.read,
        "exported": report.written,
        "records": report.records,
        "left_out": report.left_out,
        "torn_lines_ignored": report.torn,
    }
    data = {
        "format": report.format,
        "source": str(Path(src).resolve()),
        "run": run is not None,
        "counts": counts,
        "torn_lines": [
            {"file": t.path.relative_to(run).as_posix() if run else str(t.path), "line": t.number, "bytes": t.size}
            for t in torn
        ],
    }
    head = json.dumps(data, indent=2, ensure_ascii=False).removesuffix("\n}")
    rows = ",\n".join("    " + json.dumps(row, ensure_ascii=False) for row in exported)
    target = folder / EXPORT_FILE
    tmp = folder / f".{EXPORT_FILE}.partial"
    tmp.write_text(f'{head},\n  "dialogs": [\n{rows}\n  ]\n}}\n', encoding="utf-8")
    os.replace(tmp, target)
    return target


def export(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str = "openai",
    keep_injected: bool = False,
    template: str = "qwen2.5",
    push_to_hub: str | None = None,
    environment: str | os.PathLike[str] | EnvironmentSpec | None = None,
    reasoning: str | None = None,
    curriculum: bool = False,
) -> ExportReport:
    """Write `src`'s dialogs to the folder `out` in `format` (see docs/export.md for each one).

    JSON Lines formats write `data.jsonl` (sharegpt adds LLaMA-Factory's `dataset_info.json`);
    `hf` writes `data.parquet` (and pushes it to the Hub repo `push_to_hub` if given); `chat`
    renders with `template` (a shipped name, a .jinja file, `hf:DIR`, `gguf:FILE`, `local:MODEL`);
    `bfcl` writes an eval set that `callforge eval --data OUT` scores any model on; with
    `environment` (a class file `bank.py[:Bank]`, a service spec, or an EnvironmentSpec) each dialog
    becomes a multi-turn entry over that stateful world, its ground truth run and its end state
    recorded (docs/multi-turn.md). `dpo` reads a Run folder's rejected records too, after the
    accepted ones: a failed episode gives a pair at its first diverging turn (docs/learn.md).

    A call made wrong on purpose (error recovery) or a model's corrected mistake (refinement) is
    masked where the format can (`"weight": 0` in openai, left out as a target in steps, tasks
    and dpo); sharegpt, chat and hf's consumers cannot mask, so those dialogs are skipped there
    unless `keep_injected`. `curriculum` writes the dialogs easy -> hard (stable within a level; see
    `curriculum_order`).

    An assistant's thought (`Message.reasoning`) goes where `reasoning` says: `keep` puts it in the
    template's thinking slot (chat with a template that has one, e.g. `qwen3`), at the head of the
    ShareGPT turn, or inline as `<think>...</think>` text elsewhere; `field` writes it as
    `reasoning_content` (OpenAI-shaped records); `drop` leaves it out. None: keep where the format has a
    slot (a thinking template, ShareGPT), field for OpenAI-shaped records, drop for other templates.
    """
    folder = Path(out)
    if Path(src).exists():  # a run that holds a credential is not turned into a dataset (docs/secrets.md)
        refuse_secrets(Path(src), "export")
    if environment is not None and format != "bfcl":
        raise ConfigError(f"an environment goes with the bfcl format (a multi-turn eval set), not {format!r}")
    if format == "bfcl":
        return _bfcl(src, folder, environment, curriculum=curriculum)
    if format == "hf":
        mode, inline = reasoning_placement(format, reasoning)
        placed = lambda d: with_reasoning(d, mode, inline=inline)  # noqa: E731
        return _hf(src, folder, keep_injected, push_to_hub, placed, curriculum=curriculum)
    if format == "chat":
        from callforge.export.chat import load_template, to_chat

        chat = load_template(template)
        spec = RecordFormat(lambda d: [to_chat(d, chat)], masks=False)
        mode, inline = reasoning_placement(format, reasoning, thinking_template=chat.thinks)
    else:
        mode, inline = reasoning_placement(format, reasoning)
        formats = record_formats()
        if format not in formats:
            raise ConfigError(f"export format {format!r} is not supported; use one of {', '.join(export_formats())}")
        spec = formats[format]
    target = folder / DATA_FILE
    if target.exists():
        raise ConfigError(f"{target} already exists; choose another `out` or remove it")
    folder.mkdir(parents=True, exist_ok=True)
    written = skipped = records = read = 0
    counts: Counter[str] = Counter()
    empty: Counter[str] = Counter()
    torn: list[TornTail] = []
    exported: list[dict[str, Any]] = []
    tmp = folder / f".{DATA_FILE}.partial"
    tmp.unlink(missing_ok=True)
    writer = JsonlWriter(tmp, sync_s=5.0)

    def take(dialog: Dialog, origin: dict[str, Any], failures: tuple[Verdict, ...] | None = None) -> None:
        """Write one dialog's records (a rejected one's when `failures` is given) and count it either way."""
        nonlocal written, skipped, records, read
        read += 1
        dialog = with_reasoning(dialog, mode, inline=inline)
        if not spec.masks and dialog.masked_calls() and not keep_injected:
            skipped += 1
            return
        if failures is None:
            rows, none = spec.records(dialog), f"no_{format}_record"
        else:
            assert spec.rejected is not None
            rows, none = spec.rejected(dialog, failures), f"rejected_no_{format}_record"
        if not rows:
            empty[none] += 1
            return
        for row in rows:
            writer.write(row)
            if spec.counted_by:
                counts[str(row.get(spec.counted_by))] += 1
        exported.append({**origin, "first_record": records, "records": len(rows)})
        written += 1
        records += len(rows)

    try:
        run, sources = _sources(src, torn, curriculum)
        for dialog, origin in sources:
            take(dialog, origin)
        if spec.rejected is not None and run is not None:  # a format that learns from rejections (dpo)
            for dialog, failures, origin in _rejected_sources(run, torn):
                take(dialog, origin, failures)
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
    categories = dict(sorted(counts.items()))
    report = ExportReport(format, folder, written, skipped, tuple(files), categories, dict(empty), records, read, len(torn))
    return _finish(report, folder, src, run, torn, exported)


def reasoning_placement(
    format: str, reasoning: str | None, *, thinking_template: bool = False
) -> tuple[ReasoningMode, bool]:
    """Where `format` puts a thought for the `reasoning` asked (None: the format's natural place), and whether inline.

    The answer's second half says whether `keep` must write the thought into the message text
    (`<think>...</think>`), because the format has no slot of its own for it.

    Raises:
        ConfigError: an unknown mode, or `field` for a format with no field to put it in (chat, sharegpt).
    """
    if reasoning is not None and reasoning not in REASONING_MODES:
        raise ConfigError(f"unknown reasoning mode {reasoning!r}; use one of {', '.join(REASONING_MODES)}")
    if format == "chat":
        if reasoning == "field":
            raise ConfigError("reasoning 'field' writes a reasoning_content field, which chat text has not; use keep or drop")
        if reasoning is None:
            return ("keep" if thinking_template else "drop"), False
        return "keep" if reasoning == "keep" else "drop", not thinking_template
    if format == "sharegpt":
        if reasoning == "field":
            raise ConfigError("ShareGPT turns have no reasoning field; use keep (a leading <think> block) or drop")
        return ("drop" if reasoning == "drop" else "keep"), False
    if reasoning is None:
        return "field", False
    return ("keep" if reasoning == "keep" else "field" if reasoning == "field" else "drop"), reasoning == "keep"


def _finish(
    report: ExportReport,
    folder: Path,
    src: str | os.PathLike[str],
    run: Path | None,
    torn: list[TornTail],
    exported: list[dict[str, Any]],
) -> ExportReport:
    """The report with `export.json` written, after checking that every dialog read is accounted for."""
    accounted = report.written + sum(report.left_out.values())
    if accounted != report.read:  # a bug of ours; the data file must not be trusted
        raise DataError(f"export read {report.read} dialogs but accounts for {accounted}; please report this")
    manifest = _write_manifest(folder, src, run, report, torn, exported)
    return replace(report, manifest=manifest)


def _bfcl(
    src: str | os.PathLike[str],
    out: Path,
    environment: str | os.PathLike[str] | EnvironmentSpec | None,
    *,
    curriculum: bool = False,
) -> ExportReport:
    from callforge.export.bfcl import write_bfcl
    from callforge.export.bfcl_multi_turn import write_bfcl_multi_turn

    spec = None
    if environment is not None:
        spec = environment if isinstance(environment, EnvironmentSpec) else parse_environment(environment)
    torn: list[TornTail] = []
    origins: list[dict[str, Any]] = []
    run, sources = _sources(src, torn, curriculum)

    def dialogs() -> Iterator[Dialog]:
        for dialog, origin in sources:
            origins.append(origin)
            yield dialog

    stream = dialogs()
    first = next(stream, None)
    if spec is None and first is not None and first.meta.episode is not None:
        # episodes over an environment (`generate --env`) name it: the eval set is multi-turn over it
        spec = EnvironmentSpec.from_json(first.meta.episode.environment, Path.cwd(), f"{src} (first dialog's episode)")
    stream = itertools.chain([first] if first is not None else [], stream)

    if spec is None:
        done = write_bfcl(stream, out)
        by_category, left_out, case_ids = done.cases, done.skipped, done.case_ids
    else:
        by_category, left_out, case_ids = write_bfcl_multi_turn(stream, out, spec)
    files = sorted(out.glob("BFCL_*.json")) + sorted((out / "possible_answer").glob("BFCL_*.json"))
    cases = sum(by_category.values())
    exported = [{**o, "case": case} for o, case in zip(origins, case_ids, strict=True) if case is not None]
    report = ExportReport("bfcl", out, cases, 0, tuple(files), by_category, left_out, cases, len(origins), len(torn))
    return _finish(report, out, src, run, torn, exported)


def _hf(
    src: str | os.PathLike[str],
    out: Path,
    keep_injected: bool,
    push_to_hub: str | None,
    placed: Callable[[Dialog], Dialog] = lambda d: d,
    *,
    curriculum: bool = False,
) -> ExportReport:
    from callforge.export.hf import PARQUET_FILE, write_parquet

    if (out / PARQUET_FILE).exists():
        raise ConfigError(f"{out / PARQUET_FILE} already exists; choose another `out` or remove it")
    skipped = read = 0
    torn: list[TornTail] = []
    exported: list[dict[str, Any]] = []
    run, sources = _sources(src, torn, curriculum)

    def dialogs() -> Iterator[Dialog]:
        nonlocal skipped, read
        for dialog, origin in sources:
            read += 1
            if dialog.masked_calls() and not keep_injected:
                skipped += 1  # `weight` survives in the rows, but most Hub trainers ignore it
                continue
            exported.append({**origin, "first_record": len(exported), "records": 1})
            yield placed(dialog)

    written, files = write_parquet(dialogs(), out, push_to_hub=push_to_hub)
    report = ExportReport("hf", out, written, skipped, tuple(files), records=written, read=read, torn=len(torn))
    return _finish(report, out, src, run, torn, exported)
