"""The job runner and the Run folder: shards per session, resume, failure policy, ordering, hooks, configs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from pydantic import BaseModel

from callforge.core import CallforgeError, ConfigError, DataError
from callforge.run import (
    FailurePolicy,
    Item,
    JobConfig,
    JobHooks,
    JobProgress,
    JsonlWriter,
    RunAborted,
    RunFolder,
    Written,
    blocking,
    read_ids,
    repair_tail,
    run_job,
)


class Rec(BaseModel):
    id: str
    value: int = 0


class Down(CallforgeError):
    """An endpoint still down after its retries: the item is lost for this session only."""

    retryable = True


def _folder(tmp_path: Path, **kwargs: Any) -> RunFolder:
    return RunFolder(tmp_path / "run", job=kwargs.pop("job", "t"), **kwargs)


def _items(names: Iterable[str]) -> list[Item[str]]:
    return [Item(name, name) for name in names]


def _accept(name: str, value: int = 0) -> Written:
    return Written("accepted", Rec(id=name, value=value))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def _ids(folder: RunFolder, stream: str = "accepted") -> list[str]:
    return [str(row["id"]) for row in folder.records(stream)]


# 1. shards per session, resume skips done ids, the manifest


def test_records_go_to_session_shards_and_a_second_session_skips_done_ids(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    calls: list[int] = []

    async def work(n: int) -> Written:
        calls.append(n)
        return Written("accepted" if n % 2 == 0 else "rejected", Rec(id=f"i{n}", value=n))

    def items(k: int) -> list[Item[int]]:
        return [Item(f"i{n}", n) for n in range(k)]

    hooks = JobHooks(summary=lambda p: {"counts": dict(p.streams), "note": "mine"})
    first = asyncio.run(run_job(run, items(3), work, config={"n": 3}, hooks=hooks))
    assert calls == [0, 1, 2]
    assert (first.done, first.resumed, first.errors) == (3, 0, 0)
    assert [r["id"] for r in _lines(run.path / "accepted" / "part-0001.jsonl")] == ["i0", "i2"]
    assert _lines(run.path / "rejected" / "part-0001.jsonl") == [{"id": "i1", "value": 1}]

    calls.clear()
    second = asyncio.run(run_job(run, items(5), work, config={"n": 5}, hooks=hooks))
    assert calls == [3, 4]
    assert (second.done, second.resumed) == (2, 3)
    assert second.streams == {"accepted": 3, "rejected": 2}
    assert run.shards("accepted") == [run.path / "accepted" / f"part-000{k}.jsonl" for k in (1, 2)]
    assert [r["id"] for r in _lines(run.path / "accepted" / "part-0002.jsonl")] == ["i4"]
    assert [r["id"] for r in _lines(run.path / "rejected" / "part-0002.jsonl")] == ["i3"]
    assert _ids(run, "accepted") == ["i0", "i2", "i4"]
    assert run.done_ids() == {f"i{n}" for n in range(5)}
    assert run.scan()[1] == {"accepted": 3, "rejected": 2}

    manifest = run.manifest()
    assert manifest["job"] == "t"
    assert manifest["status"] == "complete"
    assert manifest["config"] == {"n": 5}
    assert [(s["session"], s["items"]) for s in manifest["sessions"]] == [(1, 3), (2, 2)]
    assert manifest["counts"] == {"accepted": 3, "rejected": 2}
    assert manifest["note"] == "mine"
    assert RunFolder.of(run.path).job == "t"


def test_an_item_with_no_record_counts_as_done_but_writes_nothing(tmp_path: Path) -> None:
    run = _folder(tmp_path)

    async def work(name: str) -> Written | None:
        return None if name == "b" else _accept(name)

    state = asyncio.run(run_job(run, _items("abc"), work, config={}))
    assert state.done == 3
    assert _ids(run) == ["a", "c"]
    assert run.manifest()["sessions"][0]["items"] == 3


# 2. a kill mid-line


@pytest.mark.parametrize("torn", ["appended", "cut"])
def test_a_torn_last_line_is_cut_and_its_item_redone_once(tmp_path: Path, torn: str) -> None:
    run = _folder(tmp_path)
    calls: list[str] = []

    async def work(name: str) -> Written:
        calls.append(name)
        return _accept(name)

    asyncio.run(run_job(run, _items("ab"), work, config={}))
    shard = run.path / "accepted" / "part-0001.jsonl"
    if torn == "appended":  # killed while writing c's line
        shard.write_bytes(shard.read_bytes() + b'{"id":"c","val')
        redone = ["c"]
    else:  # killed while writing b's line
        shard.write_bytes(shard.read_bytes()[:-5])
        redone = ["b", "c"]

    calls.clear()
    asyncio.run(run_job(run, _items("abc"), work, config={}))
    assert calls == redone
    assert shard.read_bytes().endswith(b"\n")
    assert [r["id"] for r in _lines(shard)] == sorted({"a", "b", "c"} - set(redone))
    assert _ids(run) == ["a", "b", "c"]  # every id exactly once, the redone ones in the new shard
    assert [r["id"] for r in _lines(run.path / "accepted" / "part-0002.jsonl")] == redone


def test_repair_tail_and_read_ids(tmp_path: Path) -> None:
    path = tmp_path / "x" / "part.jsonl"
    writer = JsonlWriter(path, sync_s=0)
    writer.write({"id": "a"})
    writer.write({"id": "b"})
    writer.close()
    with path.open("ab") as fh:
        fh.write(b'{"id": "c"')
    assert read_ids(path) == {"a", "b"}
    assert path.read_bytes() == b'{"id":"a"}\n{"id":"b"}\n'
    repair_tail(path)  # nothing left to cut
    assert path.read_bytes() == b'{"id":"a"}\n{"id":"b"}\n'
    assert read_ids(tmp_path / "missing.jsonl") == set()
    path.write_bytes(b"not json\n")
    with pytest.raises(DataError, match=r"part\.jsonl:1"):
        read_ids(path)


def test_a_line_that_is_not_a_record_is_refused(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    (run.path / "accepted").mkdir(parents=True)
    (run.path / "accepted" / "part-0001.jsonl").write_bytes(b'{"id": "a"}\n{"name": "no id"}\n')
    with pytest.raises(DataError, match=r"part-0001\.jsonl:2"):
        run.done_ids()


# 3. retryable failures


def test_retryable_failures_are_logged_not_written_and_redone_next_session(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    down = {"b", "d"}
    calls: list[str] = []
    seen: list[int] = []

    async def work(name: str) -> Written:
        calls.append(name)
        if name in down:
            raise Down(f"endpoint down for {name}")
        return _accept(name)

    def progress(state: JobProgress) -> None:
        seen.append(state.errors)

    state = asyncio.run(run_job(run, _items("abcde"), work, config={}, progress=progress))
    assert (state.done, state.errors) == (5, 2)
    assert seen == [0, 1, 1, 2, 2]
    assert _ids(run) == ["a", "c", "e"]
    assert [(row["id"], row["error"]) for row in _lines(run.errors_path)] == [
        ("b", "endpoint down for b"),
        ("d", "endpoint down for d"),
    ]
    assert run.errors() == {"b": "endpoint down for b", "d": "endpoint down for d"}
    assert run.manifest()["status"] == "complete"

    down.clear()
    calls.clear()
    again = asyncio.run(run_job(run, _items("abcde"), work, config={}))
    assert calls == ["b", "d"]
    assert (again.done, again.errors, again.resumed) == (2, 0, 3)
    assert sorted(_ids(run)) == ["a", "b", "c", "d", "e"]
    assert run.errors() == {}  # logged items that now have a record are no longer lost


def test_give_up_after_consecutive_retryable_failures_aborts_the_run(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    calls: list[str] = []
    last: list[JobProgress] = []

    async def work(name: str) -> Written:
        calls.append(name)
        if name != "a":
            raise Down("connection refused")
        return _accept(name)

    with pytest.raises(RunAborted, match=r"resume=True") as caught:
        asyncio.run(
            run_job(
                run,
                _items("abcdef"),
                work,
                config={},
                policy=FailurePolicy(give_up_after=3),
                progress=last.append,
            )
        )
    assert "3 items in a row" in str(caught.value)
    assert calls == ["a", "b", "c", "d"]  # nothing starts after the third loss in a row
    assert last[-1].errors == 3
    assert run.manifest()["status"] == "failed"
    assert _ids(run) == ["a"]
    assert [row["id"] for row in _lines(run.errors_path)] == ["b", "c", "d"]


def test_a_success_resets_the_count_of_failures_in_a_row(tmp_path: Path) -> None:
    run = _folder(tmp_path)

    async def work(name: str) -> Written:
        if name in "bcef":
            raise Down("flaky")
        return _accept(name)

    policy = FailurePolicy(give_up_after=3)
    state = asyncio.run(run_job(run, _items("abcdefg"), work, config={}, policy=policy))
    assert (state.done, state.errors) == (7, 4)
    assert _ids(run) == ["a", "d", "g"]
    assert run.manifest()["status"] == "complete"


def test_a_custom_policy_decides_what_is_retryable(tmp_path: Path) -> None:
    run = _folder(tmp_path)

    async def work(name: str) -> Written:
        if name == "b":
            raise TimeoutError("slow")
        return _accept(name)

    policy = FailurePolicy(give_up_after=None, retryable=lambda exc: isinstance(exc, TimeoutError))
    state = asyncio.run(run_job(run, _items("abc"), work, config={}, policy=policy))
    assert state.errors == 1
    assert run.errors() == {"b": "slow"}


# 4. a fatal error


def test_a_non_retryable_error_is_fatal_and_cancels_items_in_flight(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    started: list[str] = []
    cancelled: list[str] = []

    async def main() -> None:
        a_written = asyncio.Event()
        never = asyncio.Event()

        async def work(name: str) -> Written:
            started.append(name)
            if name in ("b", "d"):
                try:
                    await never.wait()
                except asyncio.CancelledError:
                    cancelled.append(name)
                    raise
            if name == "c":
                await a_written.wait()
                raise ValueError("bad data in c")
            return _accept(name)

        hooks = JobHooks(written=lambda w: a_written.set())
        await run_job(run, _items("abcde"), work, config={}, concurrency=3, hooks=hooks)

    with pytest.raises(ValueError, match="bad data in c"):
        asyncio.run(main())
    assert started == ["a", "b", "c", "d"]  # d takes a's place; e never starts
    assert sorted(cancelled) == ["b", "d"]
    assert run.manifest()["status"] == "failed"
    assert _ids(run) == ["a"]
    assert not run.errors_path.exists()  # a fatal error is not an item lost to a retryable failure

    async def fixed(name: str) -> Written:
        return _accept(name)

    asyncio.run(run_job(run, _items("abcde"), fixed, config={}))
    assert _ids(run) == ["a", "b", "c", "d", "e"]
    assert run.manifest()["status"] == "complete"


def test_a_record_for_an_unknown_stream_fails_the_job(tmp_path: Path) -> None:
    run = _folder(tmp_path)

    async def work(name: str) -> Written:
        return Written("bogus", Rec(id=name))

    with pytest.raises(ConfigError, match="bogus"):
        asyncio.run(run_job(run, _items("a"), work, config={}))
    assert run.manifest()["status"] == "failed"


def test_a_cancelled_run_is_stopped_and_cancels_its_items(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    cancelled: list[str] = []

    async def main() -> None:
        started = asyncio.Event()
        never = asyncio.Event()

        async def work(name: str) -> Written:
            started.set()
            try:
                await never.wait()
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            return _accept(name)

        job = asyncio.create_task(run_job(run, _items("ab"), work, config={}, concurrency=2))
        await started.wait()
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(main())
    assert sorted(cancelled) == ["a", "b"]
    assert run.manifest()["status"] == "stopped"
    assert _ids(run) == []


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    run = _folder(tmp_path)

    async def work(name: str) -> Written:
        return _accept(name)

    bad: list[dict[str, Any]] = [{"barrier": 2}, {"barrier": 0, "ordered": True}, {"concurrency": 0}]
    for kwargs in bad:
        with pytest.raises(CallforgeError):
            asyncio.run(run_job(run, _items("a"), work, config={}, **kwargs))
    assert not run.path.exists()


# 5. ordered writes and barriers


@pytest.mark.parametrize(("ordered", "expected"), [(True, [0, 1, 2, 3]), (False, [3, 2, 1, 0])])
def test_ordered_writes_in_item_order_whatever_the_finish_order(
    tmp_path: Path, ordered: bool, expected: list[int]
) -> None:
    run = _folder(tmp_path)
    started: list[int] = []
    finished: list[int] = []
    written: list[int] = []
    written_when_done: list[int] = []

    async def main() -> None:
        gates = [asyncio.Event() for _ in range(4)]

        async def work(n: int) -> Written:
            started.append(n)
            if len(started) == 4:
                gates[3].set()  # every item is in flight: the last one finishes first
            await gates[n].wait()
            finished.append(n)
            return _accept(f"i{n}", n)

        def progress(state: JobProgress) -> None:
            written_when_done.append(len(written))
            if state.done < 4:
                gates[3 - state.done].set()  # then the one before it, one at a time

        await run_job(
            run,
            [Item(f"i{n}", n) for n in range(4)],
            work,
            config={},
            concurrency=4,
            ordered=ordered,
            hooks=JobHooks(written=lambda w: written.append(w.record.value)),  # type: ignore[attr-defined]
            progress=progress,
        )

    asyncio.run(main())
    assert finished == [3, 2, 1, 0]
    assert written == expected
    assert [row["value"] for row in run.records("accepted")] == expected
    if ordered:
        assert written_when_done == [0, 0, 0, 4]  # finished items wait for item 0
    else:
        assert written_when_done == [1, 2, 3, 4]


def test_barrier_starts_a_group_only_when_the_group_before_it_is_written(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    log: list[tuple[str, int]] = []
    flight = {"now": 0, "peak": 0}

    async def main() -> None:
        gates = [asyncio.Event() for _ in range(6)]

        async def work(n: int) -> Written:
            log.append(("start", n))
            flight["now"] += 1
            flight["peak"] = max(flight["peak"], flight["now"])
            if n % 2:
                gates[n - 1].set()  # the second item of a group finishes first and releases the first
            else:
                await gates[n].wait()
            flight["now"] -= 1
            return _accept(f"i{n}", n)

        await run_job(
            run,
            [Item(f"i{n}", n) for n in range(6)],
            work,
            config={},
            concurrency=4,
            ordered=True,
            barrier=2,
            hooks=JobHooks(written=lambda w: log.append(("written", w.record.value))),  # type: ignore[attr-defined]
        )

    asyncio.run(main())
    assert flight["peak"] == 2
    for group in (1, 2):
        first_start = log.index(("start", 2 * group))
        assert log.index(("start", 2 * group + 1)) > first_start
        for n in (2 * group - 2, 2 * group - 1):
            assert log.index(("written", n)) < first_start, log
    assert [value for kind, value in log if kind == "written"] == list(range(6))
    assert _ids(run) == [f"i{n}" for n in range(6)]


# 6. hooks


def test_enough_stops_new_items_and_cancels_those_in_flight(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    started: list[int] = []
    cancelled: list[int] = []

    async def main() -> JobProgress:
        never = asyncio.Event()

        async def work(n: int) -> Written:
            started.append(n)
            if n > 0:
                try:
                    await never.wait()
                except asyncio.CancelledError:
                    cancelled.append(n)
                    raise
            return _accept(f"i{n}", n)

        hooks = JobHooks(enough=lambda p: p.streams["accepted"] >= 1)
        return await run_job(
            run, [Item(f"i{n}", n) for n in range(10)], work, config={}, concurrency=3, hooks=hooks
        )

    state = asyncio.run(main())
    assert started == [0, 1, 2]
    assert sorted(cancelled) == [1, 2]
    assert state.done == 1
    assert _ids(run) == ["i0"]
    assert run.manifest()["status"] == "complete"

    started.clear()
    asyncio.run(main())  # already enough on disk: nothing starts
    assert started == []
    assert _ids(run) == ["i0"]


def test_keep_drops_records_and_written_sees_every_written_one(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    seen: list[tuple[str, str]] = []

    async def work(n: int) -> Written:
        return Written("accepted" if n < 4 else "rejected", Rec(id=f"i{n}", value=n))

    hooks = JobHooks(
        keep=lambda w: w.record.value % 2 == 0,  # type: ignore[attr-defined]
        written=lambda w: seen.append((w.stream, w.record.id)),  # type: ignore[attr-defined]
    )
    state = asyncio.run(run_job(run, [Item(f"i{n}", n) for n in range(6)], work, config={}, hooks=hooks))
    assert state.done == 6
    assert state.streams == {"accepted": 2, "rejected": 1}
    assert _ids(run, "accepted") == ["i0", "i2"]
    assert _ids(run, "rejected") == ["i4"]
    assert seen == [("accepted", "i0"), ("accepted", "i2"), ("rejected", "i4")]


@pytest.mark.parametrize(("admit", "peak"), [(None, 4), (2, 2), (1, 1)])
def test_admit_limits_how_many_items_are_in_flight(tmp_path: Path, admit: int | None, peak: int) -> None:
    run = _folder(tmp_path)
    flight = {"now": 0, "peak": 0}

    async def work(n: int) -> Written:
        flight["now"] += 1
        flight["peak"] = max(flight["peak"], flight["now"])
        for _ in range(3):
            await asyncio.sleep(0)  # a yield, not a timing margin
        flight["now"] -= 1
        return _accept(f"i{n}", n)

    hooks = JobHooks() if admit is None else JobHooks(admit=lambda p, in_flight: in_flight < admit)
    state = asyncio.run(
        run_job(run, [Item(f"i{n}", n) for n in range(8)], work, config={}, concurrency=4, hooks=hooks)
    )
    assert flight["peak"] == peak
    assert state.done == 8
    assert len(_ids(run)) == 8


def test_admit_refusing_with_nothing_in_flight_ends_the_session(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    started: list[int] = []

    async def work(n: int) -> Written:
        started.append(n)
        return _accept(f"i{n}", n)

    hooks = JobHooks(admit=lambda p, in_flight: p.done + in_flight < 3)
    asyncio.run(
        run_job(run, [Item(f"i{n}", n) for n in range(5)], work, config={}, concurrency=4, hooks=hooks)
    )
    assert started == [0, 1, 2]
    assert sorted(_ids(run)) == ["i0", "i1", "i2"]  # unordered: written as they finish
    assert run.manifest()["status"] == "complete"


# 7. repeated ids


def test_repeated_ids_get_numbered_suffixes(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    values: list[int] = []

    async def work(value: int) -> Written:
        values.append(value)
        raise Down(f"down {value}")

    items = [Item("a", 1), Item("a", 2), Item("b", 3), Item("a", 4)]
    policy = FailurePolicy(give_up_after=None)
    state = asyncio.run(run_job(run, items, work, config={}, policy=policy))
    assert values == [1, 2, 3, 4]  # repeated ids are not dropped
    assert state.errors == 4
    assert run.errors() == {"a": "down 1", "a~2": "down 2", "a~3": "down 4", "b": "down 3"}


def test_a_suffixed_id_on_disk_is_skipped(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    (run.path / "accepted").mkdir(parents=True)
    (run.path / "accepted" / "part-0001.jsonl").write_bytes(b'{"id": "a~2", "value": 2}\n')
    values: list[int] = []

    async def work(value: int) -> Written:
        values.append(value)
        return _accept(f"x{value}", value)

    asyncio.run(run_job(run, [Item("a", 1), Item("a", 2), Item("a", 3)], work, config={}))
    assert values == [1, 3]
    assert run.shards("accepted")[-1].name == "part-0002.jsonl"


def test_repeated_ids_give_distinct_records_and_resume_redoes_nothing(tmp_path: Path) -> None:
    run = _folder(tmp_path)
    calls: list[int] = []

    class Case(BaseModel):
        id: str
        n: int

    async def work(case: Case) -> Written:  # as live eval does: the record's id is the case's id
        calls.append(case.n)
        return _accept(case.id, case.n)

    cases = [Case(id="a", n=1), Case(id="a", n=2), Case(id="b", n=3)]
    for _ in range(2):
        asyncio.run(run_job(run, [Item(c.id, c) for c in cases], work, config={}))
    assert calls == [1, 2, 3]  # the second session has nothing to do
    assert sorted(_ids(run)) == ["a", "a~2", "b"]


# 8. earlier layouts


def test_verify_flat_files_are_the_first_shards_of_their_streams(tmp_path: Path) -> None:
    root = tmp_path / "verify"
    root.mkdir()
    (root / "accepted.jsonl").write_bytes(b'{"id": "x1", "ok": true}\n{"id": "x2", "ok": true}\n')
    (root / "rejected.jsonl").write_bytes(b'{"id": "x3", "ok": false}\n')
    run = RunFolder(root, job="verify")
    assert run.exists
    assert _ids(run, "accepted") == ["x1", "x2"]
    assert _ids(run, "rejected") == ["x3"]
    calls: list[str] = []

    async def work(name: str) -> Written:
        calls.append(name)
        return Written("accepted", Rec(id=name))

    state = asyncio.run(run_job(run, _items(["x1", "x2", "x3", "x4"]), work, config={}))
    assert calls == ["x4"]
    assert state.resumed == 3
    assert run.shards("accepted") == [root / "accepted.jsonl", root / "accepted" / "part-0001.jsonl"]
    assert _ids(run, "accepted") == ["x1", "x2", "x4"]


def test_live_eval_result_files_are_the_first_shards_of_results(tmp_path: Path) -> None:
    root = tmp_path / "eval"
    (root / "results").mkdir(parents=True)
    legacy = root / "results" / "BFCL_v4_simple_python_result.json"
    legacy.write_bytes(
        b'{"id": "simple_python_0", "result": "[]"}\n{"id": "simple_python_1", "result": "[]"}\n'
    )
    run = RunFolder(root, job="eval", streams=("results",))
    assert _ids(run, "results") == ["simple_python_0", "simple_python_1"]
    calls: list[str] = []

    async def work(name: str) -> Written:
        calls.append(name)
        return Written("results", Rec(id=name))

    names = [f"simple_python_{n}" for n in range(3)]
    asyncio.run(run_job(run, _items(names), work, config={}))
    assert calls == ["simple_python_2"]
    assert run.shards("results") == [legacy, root / "results" / "part-0001.jsonl"]
    assert _ids(run, "results") == names
    assert RunFolder.of(root, streams=("results",)).job == "eval"


# 9. job configs


class TConfig(JobConfig):
    job: ClassVar[str] = "t"
    may_change: ClassVar[frozenset[str]] = frozenset({"n"})

    seed: int = 0
    n: int


def test_job_config_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"`n`"):
        TConfig.of(out=tmp_path, n="many")
    with pytest.raises(ConfigError, match=r"`n`"):
        TConfig.of(out=tmp_path)
    with pytest.raises(ConfigError, match=r"`bogus`"):
        TConfig.of(out=tmp_path, n=1, bogus=2)
    config = TConfig.of(out=tmp_path, n=1)
    assert TConfig.of(config) is config
    with pytest.raises(ConfigError, match="not both"):
        TConfig.of(config, n=2)


def test_job_config_stored_leaves_out_runtime_fields(tmp_path: Path) -> None:
    config = TConfig.of(out=tmp_path, n=3, resume=True)
    assert config.stored() == {"seed": 0, "n": 3}
    assert config.folder == tmp_path


def test_open_folder_needs_resume_and_the_same_config(tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = TConfig.of(out=out, n=3)
    folder = config.open_folder()
    assert (folder.job, folder.streams, folder.path) == ("t", ("accepted", "rejected"), out)

    async def work(name: str) -> Written:
        return _accept(name)

    asyncio.run(run_job(folder, _items("ab"), work, config=config.stored()))

    with pytest.raises(ConfigError, match=r"resume=True"):
        TConfig.of(out=out, n=3).open_folder()
    with pytest.raises(ConfigError, match=r"`seed` was 0, now 1"):
        TConfig.of(out=out, n=3, seed=1, resume=True).open_folder()
    grown = TConfig.of(out=out, n=5, resume=True).open_folder()
    assert grown.done_ids() == {"a", "b"}


def test_check_against_names_a_changed_digest(tmp_path: Path) -> None:
    config = TConfig.of(out=tmp_path, n=1)
    config.check_against({"seed": 0, "n": 9, "tools_digest": "x"}, tmp_path, {"tools_digest": "x"})
    with pytest.raises(ConfigError, match=r"the tools changed"):
        config.check_against({"seed": 0, "tools_digest": "x"}, tmp_path, {"tools_digest": "y"})


# 10. blocking


async def add_async(a: int, b: int) -> int:
    """Add, the async way."""
    await asyncio.sleep(0)
    return a + b


def test_blocking_runs_the_core_and_refuses_inside_a_loop() -> None:
    add = blocking(add_async)
    assert add(2, b=3) == 5
    assert add.__name__ == "add"
    assert "add_async" in (add.__doc__ or "")

    async def inside() -> None:
        with pytest.raises(ConfigError, match=r"await add_async\(\.\.\.\)"):
            add(1, 2)
        assert await add_async(1, 2) == 3

    asyncio.run(inside())


# 11. a folder of another job


def test_a_folder_of_another_job_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run"
    RunFolder(path, job="generate").write_manifest({"status": "complete"})
    with pytest.raises(ConfigError, match=r"'generate' run, not a 'verify' run"):
        RunFolder(path, job="verify")
    assert RunFolder(path, job="generate").manifest()["status"] == "complete"
    assert RunFolder.of(path).job == "generate"
    with pytest.raises(DataError, match="not a callforge Run folder"):
        RunFolder.of(tmp_path / "empty")
    (path / "manifest.json").write_bytes(b"[1, 2]")
    with pytest.raises(DataError, match="JSON object"):
        RunFolder(path, job="generate")




def test_session_numbers_stay_distinct_after_a_session_that_wrote_nothing(tmp_path: Path) -> None:
    run = _folder(tmp_path)

    async def lost(name: str) -> Written:
        raise Down("down")

    async def work(name: str) -> Written:
        return _accept(name)

    asyncio.run(run_job(run, _items("ab"), lost, config={}, policy=FailurePolicy(give_up_after=None)))
    asyncio.run(run_job(run, _items("ab"), work, config={}))
    assert [s["session"] for s in run.manifest()["sessions"]] == [1, 2]


def test_a_changed_nested_field_is_named_by_its_dotted_path(tmp_path: Path) -> None:
    from callforge.verify import CascadeSpec, VerifyConfig

    before = VerifyConfig(out=tmp_path, cascade=CascadeSpec(stages=("rules",))).stored()
    now = VerifyConfig(out=tmp_path, cascade=CascadeSpec(stages=("rules", "dedup")))
    with pytest.raises(ConfigError, match=r"holds a verify run .*`cascade\.stages` was \['rules'\], now \['rules', 'dedup'\]\)"):
        now.check_against(before, tmp_path)
