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
