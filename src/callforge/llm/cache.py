"""A content-addressed response cache in sqlite: a re-run of a cached job sends zero requests.

The key is a hash of the backend's identity (its `cache_identity` when it has one: model and tool
mode; else its model name) and the canonical request (messages, tools, every
option including `sample`), so any change to the prompt is a miss and nothing stale is served.
WAL mode lets several processes of a sharded job share one file.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from callforge.core import DataError, Message, ToolSpec
from callforge.llm.backend import (
    Backend,
    Bounded,
    Closable,
    Completion,
    Options,
    cache_identity,
    parse_options,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    request BLOB NOT NULL,
    completion BLOB NOT NULL,
    created REAL NOT NULL
)
"""


def request_key(
    model: str, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, options: Options
) -> tuple[str, bytes]:
    """The cache key of a request and the canonical JSON it was computed from."""
    canonical = orjson.dumps(
        {
            "model": model,
            "messages": [m.model_dump(mode="json", exclude_defaults=True) for m in messages],
            "tools": [t.to_openai() for t in tools or ()],
            "options": options.model_dump(mode="json", exclude_none=True),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest(), canonical


class ResponseCache:
    """One sqlite file of completions by request key; safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataError(
                f"response cache {str(self.path)!r} cannot be opened ({exc}); delete the file to start "
                "a fresh cache, or pass another `cache` path"
            ) from None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Completion | None:
        """The stored completion for `key`, marked `cached`, or None."""
        with self._lock:
            row = self._db.execute("SELECT completion FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        completion = Completion.model_validate_json(row[0])
        return completion.model_copy(update={"cached": True})

    def put(self, key: str, model: str, request: bytes, completion: Completion) -> None:
        """Store a completion; the first answer for a key wins, so concurrent writers agree."""
        blob = completion.model_dump_json().encode()
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO responses (key, model, request, completion, created) VALUES (?, ?, ?, ?, ?)",
                (key, model, request, blob, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


class CachedBackend:
    """Wraps any Backend: answers from the cache when it can, asks the backend and stores otherwise.

    Concurrent identical requests are sent once; the others wait for that answer.
    """

    def __init__(self, backend: Backend, cache: ResponseCache) -> None:
        self.backend = backend
        self.cache = cache
        self.model = backend.model
        # A backend may name itself more precisely for caching (endpoint, tool mode) than in records.
        self.identity = cache_identity(backend)
        if isinstance(backend, Bounded):  # a job sizes its width by the backend's, cached or not
            self.concurrency = backend.concurrency
        self._pending: dict[str, asyncio.Future[Completion]] = {}

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """A cached completion when there is one, a fresh (and now cached) one otherwise."""
        key, canonical = request_key(self.identity, messages, tools, parse_options(options))
        found = self.cache.get(key)
        if found is not None:
            return found
        pending = self._pending.get(key)
        if pending is not None:
            return (await asyncio.shield(pending)).model_copy(update={"cached": True})
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            completion = await self.backend.complete(messages, tools, **options)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(completion)
        self.cache.put(key, self.identity, canonical, completion)
        return completion

    async def aclose(self) -> None:
        """Close the wrapped backend (when it can be closed); the cache stays open for others."""
        if isinstance(self.backend, Closable):
            await self.backend.aclose()
