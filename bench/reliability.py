"""Hostile-input probes against the `callforge` command: does every bad input end in a clear error?

    .venv-dev/bin/python bench/reliability.py [--src DIR] [--timeout 60] [--memory-gb 4] [--only GROUP]

Each probe runs one `python -m callforge ...` in a subprocess (with `--src DIR` first on
PYTHONPATH, so the same probes can run against an older checkout, e.g. a `git worktree` of the
commit before a change) under a wall-clock limit and an address-space limit, and is classified:

* clear error: a non-zero status (the expected one, where the probe names it), no traceback, and
  the message names what the probe says it must (the flag, the file or the failure);
* unclear error: the right status, but a message that does not name it (a misleading error);
* ok: a probe that should succeed did, and its check of the output passed;
* traceback: a Python traceback reached the user (or RecursionError/MemoryError);
* hang: still running at --timeout (or killed by the memory limit: it grew without bound);
* wrong success: status 0 (or another wrong status) where the input was bad or work was lost,
  or a check of the output failed.

The summary table per group is what docs/reliability.md reports. The endpoint probes use the
fake OpenAI server of the checkout this script runs from (the peer stays the same across
checkouts) and tiny raw servers for replies it cannot fake (wrong shape, drip).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "examples" / "bfcl-mini"
SHOP = REPO / "examples" / "tools" / "shop.py"
OUTCOMES = ("clear error", "ok", "unclear error", "traceback", "hang", "wrong success")


@dataclass
class Probe:
    group: str
    name: str
    args: list[str]
    expect: set[int] = field(default_factory=lambda: {2})  # statuses that count as the right answer
    check: Callable[[Path], str | None] | None = None  # after the run: a problem, or None
    says: str | None = None  # a clear error names this (the flag, the file, the failure), case-insensitive


@dataclass
class Outcome:
    probe: Probe
    kind: str
    status: int | None
    seconds: float
    detail: str


# -- inputs ---------------------------------------------------------------------------------------


def _write_inputs(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    laughs = ["openapi: 3.0.0", "info: {title: t, version: '1'}", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, 12):
        laughs.append(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]")
    laughs.append("paths: {}")
    files["yaml_bomb"] = _put(root / "bomb.yaml", "\n".join(laughs) + "\n")
    files["deep_json"] = _put(root / "deep.json", "[" * 200_000 + "]" * 200_000)
    chain = {f"S{n}": {"$ref": f"#/components/schemas/S{n + 1}"} for n in range(20_000)}
    chain["S20000"] = {"type": "string"}
    files["ref_chain"] = _put(root / "chain.json", json.dumps(_openapi_with(chain, "S0")))
    files["ref_loop"] = _put(root / "loop.json", json.dumps(_openapi_with({"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}}, "A")))
    files["binary"] = _put_bytes(root / "garbage.json", os.urandom(4096))
    files["bad_schema"] = _put(root / "bad.json", json.dumps([{"name": "f", "description": "x", "parameters": "string"}]))
    files["not_json"] = _put(root / "broken.json", '[{"name": "f", "description": ')
    fifo = root / "pipe.json"
    os.mkfifo(fifo)
    files["fifo"] = fifo
    files["dir"] = root / "a_folder"
    files["dir"].mkdir()
    files["file"] = _put(root / "a_file.txt", "not a folder\n")
    files["empty"] = _put(root / "empty.json", "")
    files["results_binary"] = _put_bytes(root / "res_bin.json", b'{"id": "simple_python_0", "result": "[]"}\n\xff\xfe\x00garbage\n')
    files["results_surrogate"] = _put(root / "res_sur.json", '{"id": "simple_python_0", "result": "[f(x=\'\\ud800\')]"}\n')
    files["results_torn"] = _put(root / "res_torn.json", '{"id": "simple_python_0", "result": "[]"}\n{"id": "simple_py')
    partial = root / "partial"
    shutil.copytree(MINI / "results" / "prompting", partial)
    simple = partial / "BFCL_v4_simple_python_result.json"
    simple.write_text("".join(simple.read_text(encoding="utf-8").splitlines(keepends=True)[:2]), encoding="utf-8")
    files["results_partial"] = partial
    big_line = '{"id": "simple_python_0", "result": "' + "x" * (300 << 20) + '"}\n'
    files["results_huge_line"] = _put(root / "res_huge.json", big_line)
    return files


def _openapi_with(schemas: dict[str, object], top: str) -> dict[str, object]:
    return {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"get": {"operationId": "getX", "parameters": [
            {"name": "q", "in": "query", "schema": {"$ref": f"#/components/schemas/{top}"}}],
            "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": schemas},
    }  # fmt: skip


def _put(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _put_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- raw servers the fake cannot play -------------------------------------------------------------


@contextmanager
def raw_server(mode: str) -> Iterator[str]:
    """A loopback HTTP server answering every POST in one bad way: `shape`, `drip` or `gzip_bomb`."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    stop = threading.Event()
    bomb = _gzip_bomb() if mode == "gzip_bomb" else b""

    def serve(conn: socket.socket) -> None:
        try:
            conn.settimeout(120)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            if mode == "shape":
                payload = b'{"id": "x", "object": "chat.completion", "choices": []}'
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))
            elif mode == "gzip_bomb":
                payload = bomb
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
            else:  # drip: a header, then a byte a second for as long as the client stays
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                while not stop.is_set():
                    conn.sendall(b" ")
                    stop.wait(1.0)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        sock.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop.set()
        sock.close()


def _gzip_bomb() -> bytes:
    """1 GiB of JSON whitespace as about 1 MB of gzip, built in pieces (never 1 GiB in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    piece = b" " * (1 << 20)
    parts = [packer.compress(b"{")]
    parts += [packer.compress(piece) for _ in range(1024)]
    parts += [packer.compress(b"}"), packer.flush()]
    return b"".join(parts)


# -- probes ---------------------------------------------------------------------------------------


def probes(files: dict[str, Path], work: Path) -> list[Probe]:
    out = lambda name: str(work / "out" / name)  # noqa: E731
    score = lambda results, *more: ["eval", "score", "--results", str(results), "--data", str(MINI / "data"), "-q", *more]  # noqa: E731
    found: list[Probe] = []
    for verb in (["tools", "show"], ["tools", "import", "-o", out("pool.json")]):
        label = " ".join(verb[:2])
        for key in ("yaml_bomb", "deep_json", "ref_chain", "ref_loop", "binary", "bad_schema", "not_json", "fifo", "dir", "empty"):
            found.append(Probe("tool specs", f"{label} {key}", [*verb, str(files[key])], says=files[key].name))
        found.append(Probe("tool specs", f"{label} /dev/zero", [*verb, "/dev/zero"], says="/dev/zero"))
    found.append(Probe("tool specs", "verify fifo", ["verify", str(files["fifo"]), "--stages", "rules", "--out", out("v-fifo")], says="pipe"))
    found.append(Probe("tool specs", "generate --tools yaml bomb", ["generate", "--tools", str(files["yaml_bomb"]), "--model", "fake:world", "--n", "1", "--out", out("g-bomb")], says="bomb.yaml"))

    found += [
        Probe("results", "empty results", score(files["empty"], "--out", out("s-empty")), says="empty.json"),
        Probe("results", "binary results", score(files["results_binary"], "--out", out("s-bin")), says="res_bin.json:2"),
        Probe("results", "lone surrogate", score(files["results_surrogate"], "--out", out("s-sur")), says="res_sur.json:1"),
        Probe("results", "torn results line", score(files["results_torn"], "--out", out("s-torn")), expect={2, 3, 4}),
        Probe("results", "2 of 30 entries missing", score(files["results_partial"], "--out", out("s-part")), expect={3}),
        Probe("results", "300 MB line", score(files["results_huge_line"], "--out", out("s-huge")), expect={2, 3, 4}),
        Probe("results", "missing results path", score(work / "nope", "--out", out("s-nope"))),
    ]

    found += [
        Probe("flags", "--base-url notaurl", ["eval", "run", "--model", "openai:m", "--base-url", "notaurl", "--data", str(MINI / "data"), "--out", out("f1")], says='--base-url'),
        Probe("flags", "--timeout -1", ["eval", "run", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--timeout", "-1", "--data", str(MINI / "data"), "--out", out("f2")], says='--timeout'),
        Probe("flags", "--rpm -5", ["eval", "run", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--rpm", "-5", "--data", str(MINI / "data"), "--out", out("f3")], says='--rpm'),
        Probe("flags", "--today 2025-13-45", ["generate", "--tools", str(SHOP), "--model", "fake:world", "--n", "1", "--today", "2025-13-45", "--out", out("f4")], says='--today'),
        Probe("flags", "--out is a file", score(MINI / "results" / "prompting", "--out", str(files["file"])), says="a_file.txt"),
        Probe("flags", "tools import -o DIR", ["tools", "import", str(SHOP), "-o", str(files["dir"])], says="directory"),
        Probe("flags", "--concurrency 0", ["eval", "run", "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--concurrency", "0", "--data", str(MINI / "data"), "--out", out("f5")], says='--concurrency'),
        Probe("flags", "unknown model spec", ["eval", "run", "--model", "nosuch:thing", "--data", str(MINI / "data"), "--out", out("f6")], says='nosuch'),
    ]
    return found


def endpoint_probes(work: Path, base_urls: dict[str, str]) -> list[Probe]:
    def live(name: str, url: str, *more: str, expect: set[int], says: str | None = None) -> Probe:
        args = ["eval", "run", "--model", "openai:m", "--base-url", url, "--api-key", "x", "--data", str(MINI / "data"),
                "-c", "simple_python", "--limit", "3", "--out", str(work / "out" / name), "-q", *more]  # fmt: skip
        return Probe("endpoints", name, args, expect=expect, says=says)

    return [
        live("every request 503", base_urls["down"], "--timeout", "5", expect={4}, says="503"),
        live("some requests 503", base_urls["flaky"], "--concurrency", "1", expect={3}),
        live("200 cut in half", base_urls["malformed"], expect={4}, says="JSON"),
        live("200 with no choices", base_urls["shape"], expect={4}, says="choices"),
        live("1 byte/s drip, --timeout 3", base_urls["drip"], "--timeout", "3", expect={4}, says="within 3"),
        live("gzip bomb", base_urls["gzip_bomb"], expect={4}),
        live("dead port", "http://127.0.0.1:9/v1", "--timeout", "3", expect={4}, says="connect"),
    ]


def torn_probes(work: Path, python: str, env: dict[str, str]) -> list[Probe]:
    """A generate run killed mid-line (a torn last line): export must keep exactly the whole records."""
    run = work / "out" / "torn-run"
    made = subprocess.run(
        [python, "-m", "callforge", "generate", "--tools", str(SHOP), "--model", "fake:world", "--n", "4", "--out", str(run), "-q"],
        env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    shards = sorted((run / "accepted").glob("*.jsonl")) if made.returncode == 0 else []
    if not shards:
        return []
    shard = shards[-1]
    whole = shard.read_bytes().count(b"\n")
    with shard.open("ab") as handle:
        handle.write(b'{"id": "torn-record", "messages": [{"role": "us')

    def exported_exactly(folder: Path) -> str | None:
        lines = [line for p in sorted(folder.rglob("*.jsonl")) for line in p.read_text().splitlines() if line.strip()]
        empty = [line for line in lines if '"messages": []' in line or '"messages":[]' in line]
        expected = sum(p.read_bytes().count(b"\n") for p in shards[:-1]) + whole
        if empty:
            return f"{len(empty)} empty training example(s)"
        return None if len(lines) == expected else f"exported {len(lines)} records, the run holds {expected} whole ones"

    return [
        Probe("torn data", "export a torn shard", ["export", str(run), "--out", str(work / "out" / "torn-export")], expect={0}, check=lambda _: exported_exactly(work / "out" / "torn-export")),
        Probe("torn data", "generate --resume a torn shard", ["generate", "--tools", str(SHOP), "--model", "fake:world", "--n", "5", "--out", str(run), "--resume", "-q"], expect={0}),
    ]  # fmt: skip


# -- running --------------------------------------------------------------------------------------


def run_probe(probe: Probe, python: str, env: dict[str, str], timeout: float, memory: int, cwd: Path) -> Outcome:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        os.setsid()

    started = time.perf_counter()
    proc = subprocess.Popen(
        [python, "-m", "callforge", *probe.args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit,
    )  # fmt: skip
    try:
        _stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        return Outcome(probe, "hang", None, time.perf_counter() - started, f"still running after {timeout:g} s")
    seconds = time.perf_counter() - started
    err = stderr.decode("utf-8", "replace")
    status = proc.returncode
    last = (err.strip().splitlines() or [""])[-1][:160]
    if "Traceback (most recent call last)" in err or "RecursionError" in err:
        return Outcome(probe, "traceback", status, seconds, last)
    if "MemoryError" in err or status in (-9, 137):
        return Outcome(probe, "hang", status, seconds, "ran out of the memory limit: " + last)
    if probe.expect == {0}:
        problem = probe.check(cwd) if probe.check and status == 0 else None
        if status != 0 or problem:
            return Outcome(probe, "wrong success" if status == 0 else "clear error", status, seconds, problem or last)
        return Outcome(probe, "ok", status, seconds, "")
    if status == 0 or status not in probe.expect:
        return Outcome(probe, "wrong success", status, seconds, f"status {status}, wanted {sorted(probe.expect)}: {last}")
    if probe.says and probe.says.lower() not in err.lower():
        return Outcome(probe, "unclear error", status, seconds, f"does not name {probe.says!r}: {last}")
    return Outcome(probe, "clear error", status, seconds, last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", default=str(REPO / "src"), help="the callforge source folder to probe")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a probe counts as a hang")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per probe")
    parser.add_argument("--only", default=None, help="run one group (tool specs, results, flags, endpoints, torn data)")
    parser.add_argument("--verbose", action="store_true", help="print every probe's outcome")
    args = parser.parse_args()

    from callforge.llm.fake_server import FakeOpenAIServer, Fault

    python = sys.executable
    env = {**os.environ, "PYTHONPATH": str(Path(args.src).resolve()), "COLUMNS": "200"}
    memory = int(args.memory_gb * (1 << 30))
    with tempfile.TemporaryDirectory(prefix="callforge-reliability-") as tmp:
        work = Path(tmp)
        env["CALLFORGE_CRASH_DIR"] = str(work / "crashes")
        files = _write_inputs(work)
        found = probes(files, work)
        servers = {
            "down": FakeOpenAIServer(faults=[Fault("503", probability=1.0, retry_after_s=0)], record=False),
            "flaky": FakeOpenAIServer(faults=[Fault("503", at=range(1, 7), retry_after_s=0)], record=False),
            "malformed": FakeOpenAIServer(faults=[Fault("malformed", probability=1.0)], record=False),
        }
        with servers["down"], servers["flaky"], servers["malformed"], raw_server("shape") as shape, \
                raw_server("drip") as drip, raw_server("gzip_bomb") as bomb:  # fmt: skip
            urls = {name: server.base_url for name, server in servers.items()}
            urls.update(shape=shape, drip=drip, gzip_bomb=bomb)
            found += endpoint_probes(work, urls)
            found += torn_probes(work, python, env)
            if args.only:
                found = [p for p in found if p.group == args.only]
            outcomes = []
            for probe in found:
                outcome = run_probe(probe, python, env, args.timeout, memory, work)
                outcomes.append(outcome)
                if args.verbose or outcome.kind not in ("clear error", "ok"):
                    print(f"{outcome.kind:13s} {probe.group:10s} {probe.name:32s} {outcome.seconds:6.1f}s  {outcome.detail}", flush=True)
    _table(outcomes, args.src)


def _table(outcomes: list[Outcome], src: str) -> None:
    print(f"\nsource: {src}")
    groups = list(dict.fromkeys(o.probe.group for o in outcomes))
    print("| group | tried | " + " | ".join(OUTCOMES) + " |")
    print("|---|---|" + "---|" * len(OUTCOMES))
    total: Counter[str] = Counter()
    for group in groups:
        counts = Counter(o.kind for o in outcomes if o.probe.group == group)
        total.update(counts)
        tried = sum(counts.values())
        print(f"| {group} | {tried} | " + " | ".join(str(counts[k]) for k in OUTCOMES) + " |")
    print(f"| **all** | {sum(total.values())} | " + " | ".join(str(total[k]) for k in OUTCOMES) + " |")


if __name__ == "__main__":
    main()
