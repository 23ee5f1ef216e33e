"""Scale-out on Ray: a sharded verification equals a single-process one, and a killed worker loses nothing.

A local Ray cluster with 2 CPUs runs the job's shards; each actor builds the cascade (rules, then
the exec stage running a Python tool in the sandbox) from the config. Skipped without the `ray`
extra. No wall-clock margins: the kill happens when the runner reports enough finished items.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from callforge.run import RayExecutor, RayPool, RunFolder
from callforge.verify import verify
from tests.conftest import stream

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'callforge[ray]' (or `make dev`)")

TOOL = """import time

def double(x: int) -> dict:
    time.sleep(0.05)
    if x % 7 == 0:
        raise ValueError("multiples of seven are refused")
    return {"y": 2 * x}
"""
SPEC = {"name": "double", "description": "Twice x.", "parameters": {"x": {"type": "int", "description": "x"}}}


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def dataset(tmp_path: Path, n: int = 40) -> tuple[Path, Path]:
    tools = tmp_path / "tools.py"
    tools.write_text(TOOL)
    rows = [
        {"id": x, "query": f"What is twice {x}?", "tools": orjson.dumps([SPEC]).decode(),
         "answers": orjson.dumps([{"name": "double" if x % 11 else "triple", "arguments": {"x": x}}]).decode()}
        for x in range(100, 100 + n)
    ]  # fmt: skip
    data = tmp_path / "d.jsonl"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return data, tools


def records(out: Path) -> dict[str, dict[str, Any]]:
    """Every record by id, with the stream it is in (what two runs must agree on)."""
    return {str(r["id"]): {"stream": name, **_stable(r)} for name in ("accepted", "rejected") for r in stream(out, name)}


def _stable(value: Any) -> Any:
    """A record without what differs between any two runs: timings, the id of the sandbox a call ran in, and
    whether its output came from the exec cache (a worker killed after running a call leaves its output there)."""
    if isinstance(value, dict):
        volatile = ("latency", "sandbox", "cached")
        return {k: _stable(v) for k, v in value.items() if not k.endswith(("_s", "_ms")) and k not in volatile}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def run(data: Path, tools: Path, out: Path, **more: Any) -> Any:
    return verify(
        data=data, out=out, cascade={"stages": ("rules", "exec"), "exec": f"python:{tools}"}, concurrency=4, **more
    )


def test_a_sharded_run_equals_a_single_process_run(tmp_path: Path, cluster: None) -> None:
    data, tools = dataset(tmp_path)
    alone = run(data, tools, tmp_path / "alone")
    sharded = run(data, tools, tmp_path / "sharded", executor=RayExecutor(shards=2, per_shard=2))
    assert alone.funnel.total == sharded.funnel.total == 40
    assert 0 < sharded.funnel.accepted < 40
    assert records(tmp_path / "sharded") == records(tmp_path / "alone")

    [session] = RunFolder.of(tmp_path / "sharded").manifest()["sessions"]
    shards = session["executor"]["shards"]
    assert session["executor"]["rule"] == "crc32(id) % 2" and len(shards) == 2
    assert sum(s["written"] for s in shards) == 40 and all(s["complete"] and s["pid"] for s in shards)


def test_killing_a_worker_mid_run_loses_nothing(tmp_path: Path, cluster: None) -> None:
    data, tools = dataset(tmp_path)
    alone = tmp_path / "alone"
    run(data, tools, alone)

    pools: list[RayPool] = []
    killed: list[int] = []

    def kill_shard_0(progress: Any) -> None:
        if progress.done >= 6 and not killed and pools[0].in_flight(0):
            pools[0].kill(0)
            killed.append(progress.done)

    out = tmp_path / "killed"
    executor = RayExecutor(shards=2, per_shard=2, on_start=pools.append)
    first = run(data, tools, out, executor=executor, progress=kill_shard_0)
    assert killed, "the kill must land mid-run"
    [session] = RunFolder.of(out).manifest()["sessions"]
    shard0 = session["executor"]["shards"][0]
    # the items the worker held are lost (almost always some; none when their replies were already on the way)
    assert shard0["restarts"] == 1 and shard0["complete"] == (shard0["lost"] == 0)
    assert len(first.unjudged) == shard0["lost"]  # noted in errors.jsonl, to redo
    assert all("Ray worker of shard 0 died" in why for why in first.unjudged.values())
    assert first.funnel.total == 40 - shard0["lost"]  # the fresh actor did the shard's other items

    again = run(data, tools, out)  # resumed without Ray: only the lost items are redone
    assert again.progress.done == shard0["lost"] and not again.unjudged
    assert records(out) == records(alone)


def test_the_cli_runs_verify_on_the_cluster_this_machine_belongs_to(tmp_path: Path, cluster: None) -> None:
    import subprocess
    import sys

    data, tools = dataset(tmp_path, n=12)
    out = tmp_path / "v"
    args = ["verify", str(data), "--stages", "rules,exec", "--exec", f"python:{tools}", "--out", str(out), "--json"]
    run = subprocess.run(
        [sys.executable, "-m", "callforge", *args, "--ray", "auto"], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert orjson.loads(run.stdout)["total"] == 12
    [session] = RunFolder.of(out).manifest()["sessions"]
    assert session["executor"]["engine"] == "ray" and session["executor"]["address"] == "auto"


def test_a_bare_ray_flag_means_ray_address_or_a_local_cluster() -> None:
    from callforge.cli.options import optional_values
    from callforge.run import executor_of

    assert optional_values(["verify", "d.jsonl", "--ray"]) == ["verify", "d.jsonl", "--ray="]
    assert optional_values(["verify", "--ray", "d.jsonl"]) == ["verify", "--ray=", "d.jsonl"]
    assert optional_values(["verify", "--ray", "--json"]) == ["verify", "--ray=", "--json"]
    assert optional_values(["verify", "--ray", "ray://head:10001"]) == ["verify", "--ray", "ray://head:10001"]
    assert optional_values(["verify", "--ray", "10.0.0.5:6379"]) == ["verify", "--ray", "10.0.0.5:6379"]
    assert executor_of("") == RayExecutor() and executor_of(None) is None
    assert executor_of("ray://head:10001") == RayExecutor(address="ray://head:10001")


def test_a_sharded_synthesis_makes_the_same_pool(tmp_path: Path, cluster: None) -> None:
    from callforge.llm.scripted import FunctionBackend
    from callforge.tools import synthesize_pool
    from tests.synth_world import world

    def synth(out: Path, **more: Any) -> Any:
        backend = FunctionBackend(world)
        return synthesize_pool(
            model=backend, n=10, domains=("finance", "travel"), evolve_rate=0.5, out=out, concurrency=2, **more
        )

    alone = synth(tmp_path / "alone.json")
    sharded = synth(tmp_path / "sharded.json", executor=RayExecutor(shards=2))
    assert [t.model_dump() for t in sharded.tools] == [t.model_dump() for t in alone.tools]
    assert sharded.report.requests == alone.report.requests  # the workers' requests are counted from the records
    drafts = {r["id"]: {k: v for k, v in r.items() if k != "usage"} for r in stream(tmp_path / "sharded.json.run", "drafts")}
    assert drafts == {r["id"]: r for r in stream(tmp_path / "alone.json.run", "drafts")}
    [session] = RunFolder.of(tmp_path / "sharded.json.run", streams=("drafts",)).manifest()["sessions"][:1]
    assert session["executor"]["rule"] == "crc32(id) % 2"


def test_a_sharded_live_evaluation_equals_a_single_process_one(bfcl_dir: Path, tmp_path: Path, cluster: None) -> None:
    from callforge.evaluate import Mode, evaluate_model
    from callforge.llm.fake import FakeOpenAIServer

    def results(out: Path) -> dict[str, Any]:
        return {str(r["id"]): _stable(r) for r in stream(out, "results")}

    with FakeOpenAIServer(capacity=4, record=False) as server:
        common = {"model": "openai:fake-model", "base_url": server.base_url, "api_key": "k", "data": bfcl_dir / "data",
                  "categories": ["simple_python", "multiple"], "limit": 5}  # fmt: skip
        alone = evaluate_model(out=tmp_path / "alone", **common)
        sharded = evaluate_model(out=tmp_path / "sharded", executor=RayExecutor(shards=2), **common)
    assert sharded.sent == alone.sent == 10 and not sharded.failed
    assert results(tmp_path / "sharded") == results(tmp_path / "alone")
    assert sharded.usage == alone.usage  # counted from the records the workers sent back
    for mode in Mode:
        assert sharded.scores[mode].categories == alone.scores[mode].categories


GENERATE = {"tools": [str(Path(__file__).resolve().parents[1] / "examples" / "tools" / "travel.py")],
            "model": "fake:world", "seed": 3, "today": "2026-01-05", "max_same_calls": 1, "concurrency": 1}  # fmt: skip
"""A generation whose first attempts include a dedup rejection (g000013 repeats earlier calls) and a rules one.

`concurrency=1` in both runs: a one-process run then dedups in attempt order, the order in which the driver
of a sharded run dedups the records its workers send back (there, `shards x per_shard` are in flight)."""


def generated(out: Path, *, usage: bool = True) -> dict[str, dict[str, Any]]:
    """Every record of a generation by id, with its stream, without timings (`phases`, `seconds`) or cache hits.

    `usage=False` drops the usage too: a request answered from the response cache is free, and an attempt
    redone after a kill finds in the cache what the killed worker had asked before it died."""
    found = records(out)
    for record in found.values():
        if not usage:
            record["dialog"]["meta"].pop("usage", None)
            continue
        spent = record["dialog"]["meta"].get("usage") or {}
        spent.pop("phases", None)
        for role in (spent.get("roles") or {}).values():
            role.pop("seconds", None)
    return found


def deduped(record: dict[str, Any]) -> bool:
    """Whether the dedup stage rejected the record (it has verdicts only then)."""
    return any(s["stage"] == "dedup" and s["verdicts"] for s in record["stages"])


def test_a_sharded_generation_equals_a_one_process_one(tmp_path: Path, cluster: None) -> None:
    from callforge.generate import generate

    alone = generate(out=tmp_path / "alone", n=12, **GENERATE)
    sharded = generate(out=tmp_path / "sharded", n=12, executor=RayExecutor(shards=2, per_shard=2), **GENERATE)
    assert alone.complete and sharded.complete and sharded.accepted == 12
    one, many = generated(tmp_path / "alone"), generated(tmp_path / "sharded")
    accepted = sorted(i for i, r in one.items() if r["stream"] == "accepted")
    assert sorted(i for i, r in many.items() if r["stream"] == "accepted") == accepted
    # a sharded run may also write attempts past the last accepted one that were already done when it stopped
    assert {i: r for i, r in many.items() if i <= accepted[-1]} == one
    assert any(deduped(r) for r in one.values())  # the driver's dedup rejected what the one process's did
    [session] = RunFolder.of(tmp_path / "sharded").manifest()["sessions"]
    assert session["executor"]["rule"] == "crc32(id) % 2" and all(s["pid"] for s in session["executor"]["shards"])


def test_killing_a_generation_worker_loses_nothing_after_resume(tmp_path: Path, cluster: None) -> None:
    from callforge.generate import generate

    # n is out of reach, so every attempt of the budget is made: the resumed run must redo exactly the lost ones
    budget = {**GENERATE, "n": 40, "max_attempts": 12, "max_same_calls": 2}
    alone = generate(out=tmp_path / "alone", **budget)
    assert alone.tally.accepted + alone.tally.rejected == 12
    # no two of these dialogs repeat each other, so the order the redone ones are deduped in changes nothing
    assert not any(deduped(r) for r in generated(tmp_path / "alone").values())

    pools: list[RayPool] = []
    killed: list[int] = []

    def kill_shard_0(state: Any) -> None:
        finished = state.accepted + state.rejected + state.errors
        if finished >= 3 and not killed and pools[0].in_flight(0):
            pools[0].kill(0)
            killed.append(finished)

    out = tmp_path / "killed"
    executor = RayExecutor(shards=2, per_shard=2, on_start=pools.append)
    first = generate(out=out, executor=executor, progress=kill_shard_0, **budget)
    assert killed, "the kill must land mid-run"
    [session] = RunFolder.of(out).manifest()["sessions"]
    shard0 = session["executor"]["shards"][0]
    assert shard0["restarts"] == 1 and shard0["complete"] == (shard0["lost"] == 0)
    lost = RunFolder.of(out).errors()
    assert len(lost) == shard0["lost"] and all("Ray worker of shard 0 died" in why for why in lost.values())
    assert first.tally.accepted + first.tally.rejected == 12 - shard0["lost"]

    again = generate(out=out, resume=True, **budget)  # without Ray: only the lost attempts are made
    assert again.tally.accepted + again.tally.rejected == 12 and not RunFolder.of(out).errors()
    assert generated(out, usage=False) == generated(tmp_path / "alone", usage=False)


def test_the_cli_generates_on_ray_and_refuses_ray_for_episodes(tmp_path: Path, cluster: None) -> None:
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "callforge", *args], capture_output=True, text=True, timeout=300)

    out = tmp_path / "g"
    run = cli("generate", "--tools", GENERATE["tools"][0], "--model", "fake:world", "--n", "4", "--out", str(out),
              "--json", "--ray", "auto")  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert orjson.loads(run.stdout)["accepted"] == 4
    [session] = RunFolder.of(out).manifest()["sessions"]
    assert session["executor"]["engine"] == "ray" and session["executor"]["address"] == "auto"

    bank = Path(__file__).resolve().parents[1] / "examples" / "environments" / "bank.py"
    refused = cli("generate", "--env", str(bank), "--out", str(tmp_path / "e"), "--ray")
    assert refused.returncode == 2 and "--env episodes run in one process" in refused.stderr
