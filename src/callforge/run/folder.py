"""A Run folder: a job's manifest, its append-only record shards and its caches, in one directory.

Every job writes the same layout (see docs/architecture.md, "The Run folder"):

    RUN/manifest.json             job, status, config, sessions, the job's counts (rewritten atomically)
    RUN/<stream>/part-0001.jsonl  one shard per session and stream, append-only
    RUN/errors.jsonl              items that failed for reasons outside the data; redone on resume
    RUN/llm-cache.sqlite          model replies, so a resumed run re-asks nothing it already has
    RUN/exec-cache.sqlite         tool outputs

Streams are `accepted` and `rejected` for the jobs that judge dialogs (generate, verify, refine,
select), `results` for a live evaluation and `drafts` for a pool synthesis. Each session writes new
shards and never rewrites old ones; a shard cut short by a kill loses at most its half-written last
line: every reader skips it with a warning (`read_jsonl`'s one policy), a resumed session cuts it
(`repair`) and redoes its item, and a damaged line in the middle is an error. Folders written by
earlier versions stay readable: verify's flat `accepted.jsonl`/`rejected.jsonl` and live
evaluation's `results/BFCL_v4_*_result.json` files are read as the first shards of their streams.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from callforge.core import ConfigError, DataError
from callforge.run.jsonl import JsonlLine, JsonlWriter, TornTail, read_jsonl, repair_tail

MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
LLM_CACHE = "llm-cache.sqlite"
"""The run's response cache (model replies), beside its records."""
EXEC_CACHE = "exec-cache.sqlite"
"""The run's execution cache (tool outputs)."""
JUDGED = ("accepted", "rejected")
"""The streams of a job that keeps or rejects dialogs."""
_PART = re.compile(r"part-(\d{4,})\.jsonl$")
_LEGACY: dict[str, tuple[str, ...]] = {
    "accepted": ("accepted.jsonl",),
    "rejected": ("rejected.jsonl",),
    "results": ("results/*.json",),
}
"""Files earlier versions wrote for a stream, read before its shards."""


def is_run_folder(path: Path) -> bool:
    """Whether `path` is a folder a callforge job wrote: it has a manifest, or is an earlier version's verify output."""
    return path.is_dir() and ((path / MANIFEST).is_file() or (path / "accepted.jsonl").is_file())


class RunFolder:
    """One job's folder: read its records and manifest, open a session's shards, note lost items."""

    def __init__(self, path: str | Path, *, job: str, streams: Sequence[str] = JUDGED) -> None:
        """Use `path` for a `job` ("generate") that writes `streams`; a folder holding another job's manifest is refused."""
        self.path = Path(path)
        self.job = job
        self.streams = tuple(streams)
        manifest = self.manifest()
        if job and manifest and manifest.get("job") not in (None, job):
            raise ConfigError(
                f"{self.path} holds a {manifest.get('job')!r} run, not a {job!r} run; choose another `out` folder"
            )

    @classmethod
    def of(cls, path: str | Path, *, streams: Sequence[str] = JUDGED) -> RunFolder:
        """An existing Run folder, whatever job wrote it (read from its manifest), to read its records."""
        where = Path(path)
        if not is_run_folder(where):
            raise DataError(f"{where}: not a callforge Run folder (no {MANIFEST}); give the folder a job wrote")
        job = cls(where, job="", streams=()).manifest().get("job") or ("verify" if (where / "accepted.jsonl").is_file() else "")
        return cls(where, job=str(job), streams=streams)

    @property
    def exists(self) -> bool:
        """True when a manifest or a record is already there (a run to resume or refuse)."""
        return (self.path / MANIFEST).is_file() or any(self.shards(stream) for stream in self.streams)

    @property
    def errors_path(self) -> Path:
        """The log of items lost to failures outside the data."""
        return self.path / ERRORS

    def manifest(self) -> dict[str, Any]:
        """The manifest, or {} when there is none yet."""
        path = self.path / MANIFEST
        if not path.is_file():
            return {}
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            raise DataError(f"{path} is not valid JSON; restore it or start the run in a new folder") from None
        if not isinstance(data, dict):
            raise DataError(f"{path} is not a callforge manifest (expected a JSON object)")
        return data

    def write_manifest(self, data: dict[str, Any]) -> None:
        """Replace the manifest atomically (write, fsync, rename), so a kill never leaves half of one."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{MANIFEST}.tmp"
        with tmp.open("wb") as fh:
            fh.write(orjson.dumps({**data, "job": self.job}, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / MANIFEST)

    def shards(self, stream: str) -> list[Path]:
        """The files of `stream`: an earlier version's files first, then the shards, oldest session first."""
        legacy = sorted(p for pattern in _LEGACY.get(stream, ()) for p in self.path.glob(pattern) if p.is_file())
        folder = self.path / stream
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _PART.search(p.name))] if folder.is_dir() else []
        return legacy + [p for _, p in sorted(found)]

    def lines(self, stream: str, *, torn: list[TornTail] | None = None) -> Iterator[JsonlLine]:
        """Every record of `stream` with its file and line, file by file, under `read_jsonl`'s policy.

        A torn last line is skipped with a warning (and added to `torn`); a damaged line is a
        DataError. Nothing is changed on disk: reading another job's run never touches it.
        """
        for shard in self.shards(stream):
            yield from read_jsonl(shard, torn=torn)

    def records(self, stream: str) -> Iterator[dict[str, Any]]:
        """Every record of `stream`, file by file (see `lines`)."""
        for line in self.lines(stream):
            yield line.value

    def repair(self) -> list[TornTail]:
        """Cut the torn last line of every shard and of the error log before this job appends again.

        Only the job that owns the folder calls this (`run_job`, `JobConfig.open_folder` on resume):
        the items of the cut lines have no record, so the session redoes them.
        """
        paths = [shard for stream in self.streams for shard in self.shards(stream)] + [self.errors_path]
        return [tail for path in paths if (tail := repair_tail(path)) is not None]

    def scan(self) -> tuple[set[str], Counter[str]]:
        """The ids of every record (the items a resumed session skips) and the records per stream, in one read."""
        ids: set[str] = set()
        counts: Counter[str] = Counter()
        for stream in self.streams:
            for row in self.records(stream):
                ids.add(str(row["id"]))
                counts[stream] += 1
        return ids, counts

    def done_ids(self) -> set[str]:
        """The ids of every record of every stream: the items a resumed session skips."""
        return self.scan()[0]

    def next_session(self) -> int:
        """The number the next session gets: past every shard and every session the manifest lists.

        A session that wrote nothing (every item lost to a down endpoint) leaves no shard, but its
        number is taken all the same, so sessions never share one.
        """
        numbers = [
            int(m.group(1)) for stream in self.streams for p in self.shards(stream) if (m := _PART.search(p.name))
        ]
        sessions = self.manifest().get("sessions") or []
        numbers += [int(s["session"]) for s in sessions if isinstance(s, dict) and isinstance(s.get("session"), int)]
        return max(numbers, default=0) + 1

    def open_session(self, session: int) -> SessionWriters:
        """Append-only writers for this session's shards, one per stream, opened on first write."""
        return SessionWriters(self.path, session, self.streams)

    def log_error(self, id: str, error: BaseException) -> None:
        """Note an item that failed for a reason outside the data (the next session redoes it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with self.errors_path.open("ab") as fh:
            fh.write(orjson.dumps({"id": id, "error": str(error), "time": time.time()}) + b"\n")

    def errors(self) -> dict[str, str]:
        """The last logged error of each item id, for the items that still have no record."""
        if not self.errors_path.is_file():
            return {}
        done = self.done_ids()
        last: dict[str, str] = {}
        for line in read_jsonl(self.errors_path, what="error note"):
            if str(line.value["id"]) not in done:
                last[str(line.value["id"])] = str(line.value.get("error", ""))
        return dict(sorted(last.items()))


class SessionWriters:
    """One session's shard writers; a stream's shard is created only when its first record arrives."""

    def __init__(self, root: Path, session: int, streams: Sequence[str]) -> None:
        self.root = root
        self.session = session
        self.streams = tuple(streams)
        self._open: dict[str, JsonlWriter] = {}

    def write(self, stream: str, record: dict[str, Any]) -> None:
        """Append one record to `stream`'s shard of this session."""
        writer = self._open.get(stream)
        if writer is None:
            if stream not in self.streams:
                raise ConfigError(f"stream {stream!r} is not one of this job's streams ({', '.join(self.streams)})")
            writer = self._open[stream] = JsonlWriter(self.root / stream / f"part-{self.session:04d}.jsonl")
        writer.write(record)

    def close(self) -> None:
        """Sync and close every shard this session opened."""
        for writer in self._open.values():
            writer.close()
