"""Accepted dialogs/s in one process vs in shards on a local Ray cluster, and what limits it past that.

    python bench/ray_scaleout.py [--capacity 16] [--latency 0.2] [--n 96] [--cpu-ms 30] [--shards 2]

The job is a small generation pipeline run by the one job runner (`run_job`), either here
(`executor=None`) or on Ray (`RayExecutor(shards=K)`), into a fresh Run folder each time:

1. the model is asked for a call: one request to the fake OpenAI server (in its own process,
   latency L per request, capacity C, so at most C/L requests/s), `openai:` backend with
   `concurrency=auto`;
2. the call runs in the sandbox (callforge's Python engine: a fresh interpreter per call) on a tool
   that burns `--cpu-ms` of CPU, as a real tool's work does;
3. the dialog (request, call, output, answer) is checked by verify's rules, then written to
   `accepted` (or `rejected`).

So per dialog: one endpoint request, one sandbox run (its interpreter start plus the tool's CPU),
rules and JSON in the job's process. The figures: accepted dialogs/s for each executor, the CPU
seconds per dialog (this process, its sandbox children, and, under Ray, the workers, read from
/proc), and the ceilings each resource puts on the rate:

* endpoint: C / L / requests per dialog;
* CPU: cores / CPU seconds per dialog (sandbox runs and the job's own Python, wherever they run);
* the store: one process writes every record (measured: records/s of `SessionWriters.write` for
  this record size), the limit a cluster of any size meets last.

The projection multiplies what one worker does by the workers a cluster has: the rate grows with
cores until the lowest ceiling (usually the endpoint: add replicas with a comma-separated
`base_url`, each with its own adaptive limit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.run import Item, RayExecutor, RunFolder, Written, run_job

TOOL = '''
def score(text: str) -> dict:
    """Score a text (burns CPU like a real tool's work)."""
    import time
    end = time.process_time() + {cpu_s}
    n = 0
    while time.process_time() < end:
        n += 1
    return {{"text": text, "score": n % 97}}
'''
SPEC = ToolSpec(
    name="score",
    description="Score a text.",
    parameters={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)


class Row(BaseModel):
    """One judged dialog."""

    id: str
    ok: bool
    dialog: Dialog
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pipeline:
    """Builds the pipeline in whatever process runs it (this one, or a Ray worker): picklable."""

    base_url: str
    tools: str

    async def __call__(self) -> Any:
        from callforge.execute import make_engine
        from callforge.llm.openai_compat import OpenAIBackend
        from callforge.verify import RuleStage

        backend = OpenAIBackend("fake-model", base_url=self.base_url, concurrency="auto")
        engine = make_engine(f"python:{self.tools}")
        rules = RuleStage()

        async def one(index: int) -> Written:
            user = Message(role="user", content=f"Score the text 'item {index}'.")
            completion = await backend.complete([user], [SPEC])
            call = completion.tool_calls[0] if completion.tool_calls else ToolCall(name="score", arguments={"text": ""})
            call = ToolCall(name=call.name, arguments=call.arguments, id="c1")
            observed = await engine.execute(call, SPEC)
            output = observed.output if observed.output is not None else {"error": "no output"}
            import orjson

            messages = (
                user,
                Message(role="assistant", tool_calls=(call,)),
                Message(role="tool", tool_call_id="c1", content=orjson.dumps(output).decode()),
                Message(role="assistant", content=f"The score is {output.get('score')}."),
            )
            dialog = Dialog(tools=(SPEC,), messages=messages, meta={"id": f"d{index}"})
            result = await rules.check(dialog)
            ok = not result.verdicts or all(v.ok for v in result.verdicts)
            row = Row(id=f"d{index}", ok=ok, dialog=dialog, codes=tuple(v.code for v in result.verdicts if not v.ok))
            return Written("accepted" if ok else "rejected", row)

        return one


def cpu_of(pids: list[int], *, own: bool = True, children: bool = True) -> float:
    """CPU seconds of these processes (their own, and their reaped children's: sandbox runs), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (sum(int(f) for f in fields[11:13]) if own else 0) + (sum(int(f) for f in fields[13:15]) if children else 0)
    return total / tick


def machine_busy() -> float:
    """CPU seconds every process on the machine has used (/proc/stat), to tell what other work took."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def ray_worker_pids() -> list[int]:
    """Processes of Ray's workers on this machine (their CPU counts towards the sharded run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"ray::" in cmd or b"default_worker.py" in cmd:
                found.append(int(entry.name))
    return found


async def measure(pipeline: Pipeline, n: int, out: Path, executor: RayExecutor | None, width: int) -> dict[str, Any]:
    folder = RunFolder(out, job="bench")
    work = await pipeline() if executor is None else None
    workers = ray_worker_pids() if executor is not None else []
    me = [os.getpid()]
    before = (cpu_of(me, children=False), cpu_of(me, own=False), cpu_of(workers), machine_busy())
    started = time.perf_counter()
    state = await run_job(
        folder,
        [Item(f"d{i}", i) for i in range(n)],
        work or _unused,
        config={"n": n},
        concurrency=width,
        executor=executor,
        setup=pipeline if executor is not None else None,
    )
    wall = time.perf_counter() - started
    workers = ray_worker_pids() if executor is not None else []
    after = (cpu_of(me, children=False), cpu_of(me, own=False), cpu_of(workers), machine_busy())
    driver, sandbox, worker, machine = (b - a for a, b in zip(before, after, strict=True))
    return {
        "accepted": state.streams["accepted"], "wall_s": wall, "rate": state.streams["accepted"] / wall,
        "driver_s": driver, "sandbox_s": sandbox, "workers_s": worker, "cpu_s": driver + sandbox + worker,
        "machine_s": machine,
    }  # fmt: skip


async def _unused(value: Any) -> Written:
    raise AssertionError("a sharded run builds its work in the workers")


def store_rate(out: Path, record: dict[str, Any], n: int = 5000) -> float:
    """Records per second one process appends to a Run folder (the single writer's ceiling)."""
    writers = RunFolder(out, job="bench").open_session(1)
    started = time.perf_counter()
    for i in range(n):
        writers.write("accepted", {**record, "id": f"s{i}"})
    writers.close()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument("--cpu-ms", type=float, default=30.0)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "callforge.llm.fake_server", "--port", "0", "--latency", str(args.latency),
         "--capacity", str(args.capacity)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    base_url = line.split()[-1] if "http" in line else line
    base_url = base_url if base_url.endswith("/v1") else base_url.rstrip("/") + "/v1"
    try:
        with tempfile.TemporaryDirectory(prefix="cf-ray-bench-") as tmp:
            root = Path(tmp)
            tools = root / "tools.py"
            tools.write_text(TOOL.format(cpu_s=args.cpu_ms / 1000))
            pipeline = Pipeline(base_url, str(tools))
            width = args.capacity * 2
            asyncio.run(measure(pipeline, 8, root / "warm", None, width))  # sandbox and connections warm
            alone = asyncio.run(measure(pipeline, args.n, root / "alone", None, width))
            import ray

            ray.init(num_cpus=args.shards, include_dashboard=False, log_to_driver=False)
            executor = RayExecutor(shards=args.shards, per_shard=width // args.shards)
            asyncio.run(measure(pipeline, 8, root / "ray-warm", executor, width))
            sharded = asyncio.run(measure(pipeline, args.n, root / "ray", executor, width))
            ray.shutdown()
            record = next(RunFolder(root / "alone", job="bench").records("accepted"))
            store = store_rate(root / "store", record)
    finally:
        server.terminate()
        server.wait()
    report(args, alone, sharded, store)


def report(args: argparse.Namespace, alone: dict[str, Any], sharded: dict[str, Any], store: float) -> None:
    endpoint = args.capacity / args.latency  # one request per dialog
    print(f"fake server: capacity {args.capacity}, latency {args.latency:g} s -> at most {endpoint:.1f} requests/s")
    print(f"tool: {args.cpu_ms:g} ms of CPU per call in the sandbox; {args.n} dialogs; {args.cores} cores here")
    for name, m in (("1 process", alone), (f"Ray, {args.shards} shards", sharded)):
        n = max(1, m["accepted"])
        others = max(0.0, m["machine_s"] - m["cpu_s"])
        print(
            f"{name:>16}: {m['accepted']} accepted in {m['wall_s']:.2f} s = {m['rate']:.1f} dialogs/s; CPU ms per "
            f"dialog: job process {m['driver_s'] / n * 1000:.0f}, sandbox runs {m['sandbox_s'] / n * 1000:.0f}, "
            f"Ray workers {m['workers_s'] / n * 1000:.0f} (their sandbox runs included); other work on the machine "
            f"kept {others / m['wall_s']:.2f} of {args.cores} cores busy meanwhile"
        )
    n = max(1, alone["accepted"])
    per_dialog_cpu = alone["cpu_s"] / n
    driver_alone = alone["driver_s"] / n
    driver_ray = sharded["driver_s"] / max(1, sharded["accepted"])
    worker_cpu = (sharded["workers_s"] + sharded["sandbox_s"]) / max(1, sharded["accepted"])
    print(f"speed-up: {sharded['rate'] / alone['rate']:.2f}x")
    print("ceilings (each with the others free):")
    print(f"  endpoint: {endpoint:.1f} dialogs/s (C/L, one request per dialog; replicas add theirs)")
    print(f"  one process: {1 / driver_alone:.1f} dialogs/s (one core / {driver_alone * 1000:.0f} ms of the job's own Python per dialog)")
    print(f"  CPU here: {args.cores / per_dialog_cpu:.1f} dialogs/s ({args.cores} cores / {per_dialog_cpu * 1000:.0f} ms per dialog)")
    print(
        f"  the store: {1 / driver_ray:.0f} dialogs/s (the one writer: {driver_ray * 1000:.1f} ms of the driver per dialog "
        f"under Ray; appending alone: {store:.0f} records/s)"
    )
    print(f"projection (workers of 2 cores each at {worker_cpu * 1000:.0f} CPU ms per dialog, as measured under Ray):")
    for workers in (1, 2, 4, 8, 16, 32, 64):
        cpu = workers * 2 / worker_cpu
        bound = min(cpu, 1 / driver_ray)
        limit = "CPU for execution" if cpu < 1 / driver_ray else "the driver (one writer)"
        print(f"  {workers:>3} workers: ~{bound:.0f} dialogs/s, limited by {limit}; needs {bound / endpoint:.1f}x this endpoint")


if __name__ == "__main__":
    main()
