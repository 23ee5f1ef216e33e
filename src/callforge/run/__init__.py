"""Run folders and the one job runner: every job writes the same layout and resumes the same way.

`RunFolder` is the store (manifest, append-only shards per stream, errors, caches); `read_jsonl` is
the one reader of its shards (a torn last line skipped with a warning, a damaged line refused);
`run_job` is the runner (items in, one coroutine per item, bounded concurrency, one failure and
resume policy); `JobConfig` is the base of every job's typed config; `blocking` turns a job's async
core into its blocking form. See docs/architecture.md.
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
from callforge.run.jsonl import JsonlLine, JsonlWriter, TornTail, read_ids, read_jsonl, repair_tail
from callforge.run.runner import FailurePolicy, Item, JobHooks, JobProgress, RunAborted, Written, now, run_job
from callforge.run.scan import Finding, ScanReport, SecretsFound, redact_run, refuse_secrets, scan_run
from callforge.run.sync import blocking

__all__ = [
    "EXEC_CACHE",
    "JUDGED",
    "LLM_CACHE",
    "MANIFEST",
    "FailurePolicy",
    "Finding",
    "Item",
    "JobConfig",
    "JobHooks",
    "JobProgress",
    "JsonlLine",
    "JsonlWriter",
    "RunAborted",
    "RunFolder",
    "ScanReport",
    "SecretsFound",
    "SessionWriters",
    "TornTail",
    "Written",
    "blocking",
    "is_run_folder",
    "now",
    "read_ids",
    "read_jsonl",
    "redact_run",
    "refuse_secrets",
    "repair_tail",
    "run_job",
    "scan_run",
]
