"""Live evaluation: run a model on a suite's cases, write BFCL-format results, then score them.

Result files are the checkpoint. Each finished case is appended (and fsynced) as one JSON line
the moment its reply arrives, so a killed run loses at most the requests in flight, and a re-run
with the same output folder skips every id already written. The files are what BFCL's own
checker reads, so the same outputs can be scored by either tool.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from callforge.core import Case, Category, ConfigError
from callforge.evaluate.bfcl_prompt import fc_tools, prompting_messages
from callforge.evaluate.check import Mode, Style
from callforge.evaluate.evaluator import EvalReport, evaluate
from callforge.formats import load_bfcl_suite
from callforge.llm.backend import Backend, BackendError, Completion, Usage
from callforge.run import JsonlWriter, read_ids

RESULTS_DIR = "results"
ERRORS_FILE = "errors.jsonl"


@dataclass
class LiveProgress:
    """Counters the progress bar shows; updated after every finished case."""

    total: int
    done: int = 0
    resumed: int = 0
    failed: int = 0
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.monotonic)

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second of wall time so far."""
        elapsed = time.monotonic() - self.started
        return self.usage.completion_tokens / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class LiveReport:
    """A live run: what was sent, what failed, and the scores in both modes."""

    model: str
    style: Style
    out: Path
    sent: int
    resumed: int
    failed: list[tuple[str, str]]
    usage: Usage
    wall_s: float
    scores: dict[Mode, EvalReport]

    @property
    def results_dir(self) -> Path:
        """Where the BFCL-format result files are."""
        return self.out / RESULTS_DIR


def bfcl_data_dir(data: str | Path | None) -> Path:
    """The BFCL data folder: `--data`, else $CALLFORGE_BFCL_DATA, else an installed bfcl-eval's data."""
    if data is not None:
        return Path(data)
    env = os.environ.get("CALLFORGE_BFCL_DATA")
    if env:
        return Path(env)
    import importlib.util

    spec = importlib.util.find_spec("bfcl_eval")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "data"
            if candidate.is_dir():
                return candidate
    raise ConfigError(
        "no BFCL data folder: pass --data DIR (a folder of BFCL_v4_<category>.json files and possible_answer/), "
        "set CALLFORGE_BFCL_DATA, or install BFCL's data with `pip install --no-deps bfcl-eval`"
    )


def request_for(case: Case, style: Style) -> tuple[list[Any], list[Any] | None]:
    """The messages and tools BFCL would send for this case in this style."""
    if style is Style.PROMPTING:
        return prompting_messages(case), None
    return list(case.messages), fc_tools(case)


def result_value(completion: Completion, style: Style) -> Any:
    """The `result` field BFCL stores: raw text for prompting, `[{name: args_json}]` for FC.

    An FC reply without calls stores its text, as BFCL's handlers do; one whose calls could not be
    read stores the raw text so that decoding fails exactly as it would for BFCL.
    """
    if style is Style.PROMPTING:
        return _raw_text(completion)
    if not completion.parse.ok:
        return _raw_text(completion)
    if not completion.tool_calls:
        return completion.text
    return [{call.name: orjson.dumps(call.arguments).decode()} for call in completion.tool_calls]


def _raw_text(completion: Completion) -> str:
    raw = completion.raw or {}
    try:
        content = raw["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    return content if isinstance(content, str) else completion.text


def finished_ids(results_dir: Path) -> set[str]:
    """Ids already written under `results_dir`, after cutting off a line a kill left half-written."""
    ids: set[str] = set()
    if results_dir.is_dir():
        for path in sorted(results_dir.glob("*.json")):
            ids |= read_ids(path, what="result")
    return ids


class _ResultWriter:
    """One append-only file per category; each line is flushed and fsynced as it is written."""

    def __init__(self, results_dir: Path) -> None:
        self.dir = results_dir
        self._files: dict[str, JsonlWriter] = {}

    def write(self, category: str, row: dict[str, Any]) -> None:
        writer = self._files.get(category)
        if writer is None:
            path = self.dir / f"BFCL_v4_{category}_result.json"
            writer = self._files[category] = JsonlWriter(path, sync_s=0)
        writer.write(row)

    def close(self) -> None:
        for writer in self._files.values():
            writer.close()


async def run_cases(
    cases: Iterable[Case],
    backend: Backend,
    *,
    style: Style,
    out: Path,
    concurrency: int = 1,
    options: dict[str, Any] | None = None,
    progress: Callable[[LiveProgress], None] | None = None,
) -> LiveProgress:
    """Send every case not yet in `out/results` to the backend and append its result line.

    A request that fails for good (after the backend's retries) is logged to `errors.jsonl` and
    left out of the results, so re-running the command retries exactly those; a request that can
    never succeed as configured (bad key, unknown model) stops the run with its error.
    """
    results_dir = out / RESULTS_DIR
    done_ids = finished_ids(results_dir)
    todo = [c for c in cases if c.id not in done_ids]
    state = LiveProgress(total=len(todo))
    state.resumed = len(done_ids)
    writer = _ResultWriter(results_dir)
    errors_path = out / ERRORS_FILE
    queue: asyncio.Queue[Case] = asyncio.Queue()
    for case in todo:
        queue.put_nowait(case)
    fatal: list[BaseException] = []
    sampling = dict(options or {})

    async def worker() -> None:
        while not fatal:
            try:
                case = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            messages, tools = request_for(case, style)
            try:
                completion = await backend.complete(messages, tools, **sampling)
            except BackendError as exc:
                if not exc.retryable:
                    fatal.append(exc)
                    return
                state.failed += 1
                with errors_path.open("ab") as fh:
                    fh.write(orjson.dumps({"id": case.id, "error": str(exc), "time": time.time()}) + b"\n")
            else:
                writer.write(
                    case.category,
                    {
                        "id": case.id,
                        "result": result_value(completion, style),
                        "input_token_count": completion.usage.prompt_tokens,
                        "output_token_count": completion.usage.completion_tokens,
                        "latency": round(completion.latency_s, 4),
                        "model": completion.model,
                        "parse": completion.parse.code,
                        "cached": completion.cached,
                    },
                )
                state.usage = state.usage + completion.usage
            state.done += 1
            if progress is not None:
                progress(state)

    try:
        await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    finally:
        writer.close()
    if fatal:
        raise fatal[0]
    return state


def evaluate_model(
    backend: Backend,
    *,
    data: str | Path | None = None,
    out: str | Path,
    style: Style | str = Style.PROMPTING,
    categories: Iterable[Category | str] | None = None,
    limit: int | None = None,
    concurrency: int | None = None,
    options: dict[str, Any] | None = None,
    progress: Callable[[LiveProgress], None] | None = None,
) -> LiveReport:
    """Run `backend` on BFCL's single-turn cases, then score the results in both modes.

    `limit` takes the first N cases of each category (BFCL order), which is how a quick,
    comparable smoke evaluation is made. Results land in `out/results/`, scores in
    `out/scores/bfcl/` and `out/scores/semantic/`.
    """
    style = Style(style)
    out = Path(out)
    data_dir = bfcl_data_dir(data)
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}")
    cases = load_bfcl_suite(data_dir, categories)
    if limit is not None:
        per: dict[str, int] = {}
        kept = []
        for case in cases:
            per[case.category] = per.get(case.category, 0) + 1
            if per[case.category] <= limit:
                kept.append(case)
        cases = kept
    chosen = sorted({c.category for c in cases})
    width = concurrency or int(getattr(backend, "concurrency", 1))
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    state = asyncio.run(
        _run_and_close(
            backend, cases, style=style, out=out, concurrency=width, options=options, progress=progress
        )
    )
    wall = time.monotonic() - started
    ids = {c.id for c in cases}
    scores = {
        mode: evaluate(
            data=data_dir,
            results=out / RESULTS_DIR,
            style=style,
            mode=mode,
            categories=chosen,
            ids=ids,
            out=out / "scores" / mode.value,
        )
        for mode in Mode
    }
    failed = _read_errors(out / ERRORS_FILE, ids - finished_ids(out / RESULTS_DIR))
    return LiveReport(
        model=backend.model,
        style=style,
        out=out,
        sent=state.done - state.failed,
        resumed=state.resumed,
        failed=failed,
        usage=state.usage,
        wall_s=wall,
        scores=scores,
    )


async def _run_and_close(backend: Backend, cases: list[Case], **kwargs: Any) -> LiveProgress:
    from callforge.llm.registry import close_backend

    try:
        return await run_cases(cases, backend, **kwargs)
    finally:
        await close_backend(backend)


def _read_errors(path: Path, missing: set[str]) -> list[tuple[str, str]]:
    """The last error of every case that still has no result."""
    if not path.is_file() or not missing:
        return []
    last: dict[str, str] = {}
    with path.open("rb") as fh:
        for line in fh:
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if row.get("id") in missing:
                last[row["id"]] = str(row.get("error", ""))
    return sorted(last.items())
