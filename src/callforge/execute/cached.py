"""An execution cache: the same call of the same tool on the same engine runs once, ever.

Keyed by the sha256 of canonical JSON (sorted keys) of the engine name, the tool's definition and
the call's name and arguments, never `str(dict)`, so argument order and whitespace cannot cause a
miss. Only outcomes that would repeat are stored: outputs and exceptions, not timeouts or kills.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
from pathlib import Path

import orjson

from callforge.core import DataError, ToolCall, ToolSpec
from callforge.execute.base import Engine, Observation

_SCHEMA = """
CREATE TABLE IF NOT EXISTS observations (
    key TEXT PRIMARY KEY,
    engine TEXT NOT NULL,
    tool TEXT NOT NULL,
    observation BLOB NOT NULL
)
"""
_REPEATABLE = {"ok", "exec.exception", "exec.bad_output", "exec.unavailable"}


def call_key(engine: str, call: ToolCall, tool: ToolSpec) -> str:
    """The cache key of one call: engine, tool definition and arguments in canonical JSON."""
    payload = {
        "engine": engine,
        "tool": tool.model_dump(mode="json", include={"name", "description", "parameters", "returns"}),
        "arguments": call.arguments,
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ExecutionCache:
    """One sqlite file (WAL) of observations; safe to share between processes of a sharded job."""

    def __init__(self, path: str | Path) -> None:
        """Open or create the cache at `path`."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; a crash loses at most recent outputs
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"{self.path}: cannot be opened as an execution cache ({exc}); delete the file or choose another path"
            ) from exc

    def get(self, key: str) -> Observation | None:
        """The stored observation, or None."""
        with self._lock:
            row = self._db.execute("SELECT observation FROM observations WHERE key = ?", (key,)).fetchone()
        return Observation.model_validate_json(row[0]) if row else None

    def put(self, key: str, observation: Observation) -> None:
        """Store an observation (last write wins; values for one key are identical anyway)."""
        blob = observation.model_dump_json().encode()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO observations (key, engine, tool, observation) VALUES (?, ?, ?, ?)",
                (key, observation.engine, observation.call.name, blob),
            )

    def __len__(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT COUNT(*) FROM observations").fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


class CachedEngine:
    """Wraps any engine with an ExecutionCache; identical calls in flight at once run once."""

    def __init__(self, engine: Engine, cache: ExecutionCache | str | Path) -> None:
        """Wrap `engine`; `cache` is an ExecutionCache or a path to one."""
        self.engine = engine
        self.cache = cache if isinstance(cache, ExecutionCache) else ExecutionCache(cache)
        self.name = engine.name
        self.hits = 0
        self.misses = 0
        self._inflight: dict[str, asyncio.Future[Observation]] = {}

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Serve from the cache, else run the wrapped engine and store a repeatable outcome."""
        key = call_key(self.engine.name, call, tool)
        found = self.cache.get(key)  # a primary-key lookup: cheaper than a hop to a worker thread
        if found is not None:
            self.hits += 1
            return found.model_copy(update={"call": call, "cached": True})
        waiting = self._inflight.get(key)
        if waiting is not None:
            self.hits += 1
            shared = await asyncio.shield(waiting)
            return shared.model_copy(update={"call": call, "cached": True})
        self.misses += 1
        future: asyncio.Future[Observation] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            observation = await self.engine.execute(call, tool)
            if observation.verdict.code in _REPEATABLE:
                self.cache.put(key, observation)  # WAL without fsync per write: about as cheap as the lookup
            future.set_result(observation)
            return observation
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: a failure with no waiter must not warn
            raise
        finally:
            del self._inflight[key]
