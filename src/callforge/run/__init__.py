"""Run folders and the one job runner: every job writes the same layout and resumes the same way.

`RunFolder` is the store (manifest, append-only shards per stream, errors, caches); `run_job` is the
runner (items in, one coroutine per item, bounded concurrency, one failure and resume policy);
`JobConfig` is the base of every job's typed config; `blocking` turns a job's async core into its
blocking form. See docs/architecture.md.
"""

from callforge.run.config import JobConfig
from callforge.run.folder import (
    EXEC_CACHE,
    JUDGED,
    LLM_CACHE,
    MANIFEST,
    RunFolder,
    SessionWriters,
    is_run_folder,
)
from callforge.run.jsonl import JsonlWriter, read_ids, repair_tail
from callforge.run.runner import FailurePolicy, Item, JobHooks, JobProgress, RunAborted, Written, now, run_job
from callforge.run.sync import blocking

__all__ = [
    "EXEC_CACHE",
    "JUDGED",
    "LLM_CACHE",
    "MANIFEST",
    "FailurePolicy",
    "Item",
    "JobConfig",
    "JobHooks",
    "JobProgress",
    "JsonlWriter",
    "RunAborted",
    "RunFolder",
    "SessionWriters",
    "Written",
    "blocking",
    "is_run_folder",
    "now",
    "read_ids",
    "repair_tail",
    "run_job",
]
