"""A Run folder: a job's manifest, its append-only record shards and its caches, in one directory.

Layout (see docs/generate.md, "Run folder"):

    RUN/manifest.json            config, seeds, sessions, counts, accounting (rewritten atomically)
    RUN/accepted/part-0001.jsonl one shard per session, append-only
    RUN/rejected/part-0001.jsonl
    RUN/errors.jsonl             work that failed for reasons outside the data; redone on resume
    RUN/llm-cache.sqlite         model replies, so a resumed run re-asks nothing it already has
    RUN/exec-cache.sqlite        tool outputs

Each session writes new shards and never rewrites old ones; a shard cut short by a kill loses at most
its half-written last line, which `repair_tail` removes when the next session starts.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from callforge.core import ConfigError, DataError
from callforge.run.jsonl import JsonlWriter, repair_tail

MANIFEST = "manifest.json"
SHARDS = ("accepted", "rejected")
_PART = re.compile(r"part-(\d{4,})\.jsonl$")


class RunFolder:
    """One job's folder: read its records and manifest, open a new session's shards."""

    def __init__(self, path: str | Path, *, job: str) -> None:
        """Use `path` for a `job` ("generate"); a folder holding another job's manifest is refused."""
        self.path = Path(path)
        self.job = job
        manifest = self.manifest()
        if manifest and manifest.get("job") != job:
            raise ConfigError(
                f"{self.path} holds a {manifest.get('job')!r} run, not a {job!r} run; choose another --out folder"
            )

    @property
    def exists(self) -> bool:
        """True when a manifest or a record shard is already there (a run to resume or refuse)."""
        return (self.path / MANIFEST).is_file() or any(self.shards(which) for which in SHARDS)

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

    def shards(self, which: str) -> list[Path]:
        """The shard files of `which` ("accepted" or "rejected"), oldest session first."""
        folder = self.path / which
        if not folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _PART.search(p.name))]
        return [p for _, p in sorted(found)]

    def records(self, which: str) -> Iterator[dict[str, Any]]:
        """Every record of `which`, shard by shard (a torn last line is cut first)."""
        for shard in self.shards(which):
            repair_tail(shard)
            with shard.open("rb") as fh:
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        row = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        raise DataError(f"{shard}:{number}: not a JSON record; move the file away to continue") from None
                    if not isinstance(row, dict) or "id" not in row:
                        raise DataError(f"{shard}:{number}: not a callforge record (no id); move the file away")
                    yield row

    def next_session(self) -> int:
        """The number the next session's shards get: one past the highest existing part."""
        numbers = [int(m.group(1)) for which in SHARDS for p in self.shards(which) if (m := _PART.search(p.name))]
        return max(numbers, default=0) + 1

    def writers(self, session: int) -> dict[str, JsonlWriter]:
        """Append-only writers for this session's accepted and rejected shards."""
        return {which: JsonlWriter(self.path / which / f"part-{session:04d}.jsonl") for which in SHARDS}

    def log_error(self, id: str, error: BaseException) -> None:
        """Note work that failed for a reason outside the data (it is redone by the next session)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / "errors.jsonl").open("ab") as fh:
            fh.write(orjson.dumps({"id": id, "error": str(error), "time": time.time()}) + b"\n")
