"""Run folders and the one job runner: every job writes the same layout and resumes the same way.

`RunFolder` is the store (manifest, append-only shards per stream, errors, caches); `read_jsonl` is
the one reader of its shards (a torn last line skipped with a warning, a damaged line refused);
`run_job` is the runner (items in, one coroutine per item, bounded concurrency, one failure and
resume policy, in this process or in shards on Ray: `RayExecutor`); `JobConfig` is the base of every job's typed config; `blocking` turns a job's async
core into its blocking form. See docs/architecture.md.
"""

from callforge.run.config import JobConfig
from callforge.run.executor import (
    RAY_EXTRA_HINT,
    RayExecutor,
    RayPool,
    WorkerLost,
    WorkSetup,
    executor_of,
    shard_of,
)
from callforge.run.folder import (
    EXEC_CACHE,
    JUDGED,
    LLM_CACHE,
    MANIFEST,
    RunFolder,
    SessionWriters,
    is_run_folder,
)
from callforge.run.jsonl import JsonlLine, JsonlWriter, TornTail, read_ids, read_jsonl, repair_tail
from callforge.run.runner import FailurePolicy, Item, JobHooks, JobProgress, RunAborted, Written, now, run_job
from callforge.run.scan import Finding, ScanReport, SecretsFound, redact_run, refuse_secrets, scan_run
from callforge.run.sync import blocking

__all__ = [
    "EXEC_CACHE",
    "JUDGED",
    "LLM_CACHE",
    "MANIFEST",
    "RAY_EXTRA_HINT",
    "FailurePolicy",
    "Finding",
    "Item",
    "JobConfig",
    "JobHooks",
    "JobProgress",
    "JsonlLine",
    "JsonlWriter",
    "RayExecutor",
    "RayPool",
    "RunAborted",
    "RunFolder",
    "ScanReport",
    "SecretsFound",
    "SessionWriters",
    "TornTail",
    "WorkSetup",
    "WorkerLost",
    "Written",
    "blocking",
    "executor_of",
    "is_run_folder",
    "now",
    "read_ids",
    "read_jsonl",
    "redact_run",
    "refuse_secrets",
    "repair_tail",
    "run_job",
    "scan_run",
    "shard_of",
]
