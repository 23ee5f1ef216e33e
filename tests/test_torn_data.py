"""One reader, one policy for a run's shards: a torn last line is skipped with a warning, a damaged line is an error.

A killed `generate` leaves at most a half-written last line (no newline). Every job that reads a
run (export, select, refine, a resumed generate) must treat it the same way: not a record, said
once with the file and "redone on --resume", the file left as it is (only the run's own resume
cuts it and redoes the item). A line that is not JSON but has its newline is damage, and every
reader refuses it naming `path:line`. Export proves what it wrote: `export.json` holds the counts
and the shard and line of every exported dialog.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from callforge.core import CallforgeError, DataError
from callforge.export import export
from callforge.generate import generate
from callforge.learn import refine, select
from callforge.run import Item, JsonlLine, RunFolder, TornTail, Written, read_jsonl, repair_tail, run_job
from tests.gen_world import world_backend
from tests.test_generate import TOOLS
from tests.test_learn import attentive_backend, flawed_backend

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("torn") / "run"
    generate(tools=TOOLS, n=4, out=out, model=world_backend(), seed=3, mix="single=1,parallel=1,nested=1,multiple=1")
    return out


@pytest.fixture(scope="module")
def flawed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("torn") / "flawed"
    generate(tools=TOOLS, n=3, out=out, model=flawed_backend(), seed=5, mix="single=1,parallel=1,nested=1", max_attempts=4)
    return out


def copy_of(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / run.name
    shutil.copytree(run, target)
    return target


def shard(run: Path, stream: str) -> Path:
    return sorted((run / stream).glob("part-*.jsonl"))[-1]


def tear(path: Path) -> bytes:
    """Cut the last record short, as a kill mid-write does (no newline); the whole records before it stay."""
    data = path.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") >= 2
    torn = data[: data.rstrip(b"\n").rfind(b"\n") + 1 + 40]
    path.write_bytes(torn)
    return torn


def damage(path: Path) -> int:
    """Make the first line unreadable but keep its newline and every line after it; its line number."""
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 2
    path.write_bytes(lines[0][:30] + b"\n" + b"".join(lines[1:]))
    return 1


def whole_ids(path: Path) -> list[str]:
    return [orjson.loads(line)["id"] for line in path.read_bytes().splitlines(keepends=True) if line.endswith(b"\n")]


def torn_warnings(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and str(path) in r.getMessage()]


# -- the reader ---------------------------------------------------------------------------------------


def test_the_reader_skips_a_torn_tail_once_keeps_a_whole_last_line_and_refuses_damage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "part-0001.jsonl"
    path.write_bytes(b'{"id": "a"}\n{"id": "b"}\n{"id": "c", "val')
    torn: list[TornTail] = []
    for _ in range(2):
        assert [line.value["id"] for line in read_jsonl(path, torn=torn)] == ["a", "b"]
    assert torn == [TornTail(path, 3, 16), TornTail(path, 3, 16)]
    (message,) = torn_warnings(caplog, path)  # once per file, however often it is read
    assert f"{path}:3" in message and "redone on --resume" in message
    assert path.read_bytes().endswith(b'"val')  # a reader never changes the file

    path.write_bytes(b'{"id": "a"}\n{"id": "b"}')  # whole, only the newline lost: a record
    assert [line.value["id"] for line in read_jsonl(path)] == ["a", "b"]
    assert repair_tail(path) is None and path.read_bytes() == b'{"id": "a"}\n{"id": "b"}\n'

    path.write_bytes(b'{"id": "a"}\n{"id": "b", "va\n{"id": "c"}\n')
    with pytest.raises(DataError, match=r"part-0001\.jsonl:2: .*damaged.*delete line 2.*--resume"):
        list(read_jsonl(path))
    path.write_bytes(b'{"id": "a"}\n{"id": "b", "va\n')  # the last line, but whole: damage too
    with pytest.raises(DataError, match=r"part-0001\.jsonl:2"):
        list(read_jsonl(path))


def test_repair_cuts_only_the_torn_tail_and_says_where(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "part.jsonl"
    path.write_bytes(b'{"id": "a"}\n{"id": "b"}\n{"id": "c", "val')
    assert repair_tail(path) == TornTail(path, 3, 16)
    assert path.read_bytes() == b'{"id": "a"}\n{"id": "b"}\n'
    assert repair_tail(path) is None
    assert any(f"{path}:3: cut a torn last line" in m for m in torn_warnings(caplog, path))
    big = tmp_path / "big.jsonl"  # the tail is found reading back from the end, past one read's worth
    big.write_bytes(b'{"id": "a"}\n' + b'{"id": "b", "text": "' + b"x" * 200_000)
    assert repair_tail(big) == TornTail(big, 2, 200_021) and big.read_bytes() == b'{"id": "a"}\n'


def test_run_folder_lines_say_where_each_record_is(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run", job="t")
    (run.path / "accepted").mkdir(parents=True)
    (run.path / "accepted" / "part-0001.jsonl").write_bytes(b'{"id": "a"}\n\n{"id": "b"}\n{"id"')
    torn: list[TornTail] = []
    lines = list(run.lines("accepted", torn=torn))
    assert lines == [
        JsonlLine({"id": "a"}, run.path / "accepted" / "part-0001.jsonl", 1),
        JsonlLine({"id": "b"}, run.path / "accepted" / "part-0001.jsonl", 3),
    ]
    assert lines[1].where.endswith("part-0001.jsonl:3") and [t.number for t in torn] == [4]


class Down(CallforgeError):
    retryable = True


def test_a_torn_error_note_is_skipped_and_cut_before_the_next_session_appends(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run", job="t")
    run.log_error("a", Down("endpoint down"))
    with run.errors_path.open("ab") as fh:
        fh.write(b'{"id": "b", "err')
    assert run.errors() == {"a": "endpoint down"}

    async def work(name: str) -> Written:
        raise Down(f"{name} still down")

    asyncio.run(run_job(run, [Item("c", "c")], work, config={}))
    assert all(orjson.loads(line) for line in run.errors_path.read_bytes().splitlines())  # whole lines only
    assert run.errors() == {"a": "endpoint down", "c": "c still down"}


# -- export -------------------------------------------------------------------------------------------


def test_export_of_a_torn_run_writes_exactly_the_accepted_records_and_proves_it(
    clean_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = copy_of(clean_run, tmp_path)
    path = shard(run, "accepted")
    torn = tear(path)
    accepted = whole_ids(path)
    report = export(run, tmp_path / "out", format="openai")
    assert path.read_bytes() == torn  # the run is not touched
    rows = [json.loads(line) for line in (tmp_path / "out" / "data.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == accepted and all(r["messages"] for r in rows)  # no empty example
    assert (report.read, report.written, report.torn, report.left_out) == (len(accepted), len(accepted), 1, {})
    manifest = json.loads((tmp_path / "out" / "export.json").read_text())
    assert report.manifest == tmp_path / "out" / "export.json"
    assert manifest["counts"] == {
        "read": len(accepted),
        "exported": len(accepted),
        "records": len(accepted),
        "left_out": {},
        "torn_lines_ignored": 1,
    }
    rel = path.relative_to(run).as_posix()
    assert manifest["torn_lines"] == [{"file": rel, "line": len(accepted) + 1, "bytes": 40}]
    assert [(d["id"], d["file"], d["line"]) for d in manifest["dialogs"]] == [
        (id, rel, n) for n, id in enumerate(accepted, 1)
    ]
    (message,) = torn_warnings(caplog, path)
    assert "redone on --resume" in message


@pytest.mark.parametrize("format", ["sharegpt", "steps", "bfcl"])
def test_every_export_format_accounts_for_each_dialog_read(clean_run: Path, tmp_path: Path, format: str) -> None:
    run = copy_of(clean_run, tmp_path)
    tear(shard(run, "accepted"))
    report = export(run, tmp_path / "out", format=format)
    manifest = json.loads((tmp_path / "out" / "export.json").read_text())
    assert report.written + sum(report.left_out.values()) == report.read == len(whole_ids(shard(run, "accepted")))
    assert manifest["counts"]["exported"] == report.written == len(manifest["dialogs"])
    assert manifest["counts"]["torn_lines_ignored"] == 1


def test_export_refuses_a_damaged_line_and_a_record_without_a_dialog(clean_run: Path, tmp_path: Path) -> None:
    run = copy_of(clean_run, tmp_path)
    path = shard(run, "accepted")
    damage(path)
    with pytest.raises(DataError, match=rf"{path.name}:1: not a JSON record"):
        export(run, tmp_path / "out")
    assert not (tmp_path / "out" / "data.jsonl").exists()
    path.write_bytes(b'{"id": "x", "ok": true, "stages": []}\n')
    with pytest.raises(DataError, match=rf"{path.name}:1: record 'x' holds no dialog"):
        export(run, tmp_path / "out2")


def test_cli_export_shows_the_torn_line_once_with_its_path(clean_run: Path, tmp_path: Path) -> None:
    run = copy_of(clean_run, tmp_path)
    path = shard(run, "accepted")
    tear(path)
    done = subprocess.run(
        [sys.executable, "-m", "callforge", "export", str(run), "--out", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "torn last line" in line]
    assert len(said) == 1 and str(path) in said[0] and "redone on --resume" in said[0]


# -- select, refine, resume ---------------------------------------------------------------------------


def test_select_skips_a_torn_tail_with_a_warning_and_refuses_damage(
    clean_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = copy_of(clean_run, tmp_path)
    path = shard(run, "accepted")
    torn = tear(path)
    report = select(src=run, out=tmp_path / "sel", model=world_backend())
    assert report.evaluated == len(whole_ids(path)) and path.read_bytes() == torn
    assert torn_warnings(caplog, path)
    damage(path)
    with pytest.raises(DataError, match=rf"{path.name}:1"):
        select(src=run, out=tmp_path / "sel2", model=world_backend())


def test_refine_reads_a_torn_run_without_changing_it_and_refuses_damage(
    flawed_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = copy_of(flawed_run, tmp_path)
    path = shard(run, "rejected")
    torn = tear(path)
    report = refine(run=run, out=tmp_path / "ref", model=attentive_backend())
    assert report.read == len(whole_ids(path)) and path.read_bytes() == torn
    assert torn_warnings(caplog, path)
    damage(path)
    with pytest.raises(DataError, match=rf"{path.name}:1"):
        refine(run=run, out=tmp_path / "ref2", model=attentive_backend())


def test_resume_cuts_the_torn_tail_and_redoes_its_item_once(
    clean_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = copy_of(clean_run, tmp_path)
    path = shard(run, "accepted")
    tear(path)
    kept = whole_ids(path)
    report = generate(
        tools=TOOLS, n=4, out=run, model=world_backend(), seed=3, mix="single=1,parallel=1,nested=1,multiple=1", resume=True
    )
    assert path.read_bytes().endswith(b"\n") and whole_ids(path) == kept
    ids = [r["id"] for r in RunFolder(run, job="generate").records("accepted")]
    assert report.accepted == len(ids) == 4 and len(set(ids)) == 4
    said = torn_warnings(caplog, path)  # cut before the job reads its records: no "ignored" from its own reads
    assert len(said) == 1 and "cut a torn last line" in said[0]


def test_resume_refuses_a_damaged_line(clean_run: Path, tmp_path: Path) -> None:
    run = copy_of(clean_run, tmp_path)
    path = shard(run, "accepted")
    damage(path)
    with pytest.raises(DataError, match=rf"{path.name}:1: .*--resume"):
        generate(
            tools=TOOLS, n=4, out=run, model=world_backend(), seed=3, mix="single=1,parallel=1,nested=1,multiple=1", resume=True
        )


def test_reading_a_torn_run_as_a_dataset_skips_the_torn_line_and_refuses_damage(clean_run: Path, tmp_path: Path) -> None:
    from callforge.formats import read_dialogs

    run = copy_of(clean_run, tmp_path)
    whole = sum(p.read_bytes().count(b"\n") for p in (run / "accepted").glob("part-*.jsonl"))
    tear(shard(run, "accepted"))
    dialogs = list(read_dialogs(run))  # what `callforge verify RUN` reads
    assert len(dialogs) == whole - 1
    assert not [d for d in dialogs if d.meta.read_errors]  # no record.malformed stand-in
    damage(shard(run, "accepted"))
    with pytest.raises(DataError, match=r"part-\d+\.jsonl:1"):
        list(read_dialogs(run))
