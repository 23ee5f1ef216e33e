"""`callforge verify` end to end on the shipped xLAM sample: the funnel, the files, resume, and flag errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import stream, stream_ids

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "verify" / "xlam-sample.jsonl"
DEFECTIVE = {"5", "9", "13", "17", "21", "25", "29", "33"}  # examples/verify/README.md


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callforge", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )


def ids(out: Path, name: str) -> set[str]:
    return stream_ids(out, name)


def test_verify_rejects_exactly_the_planted_defects_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "v"
    run = cli("verify", str(SAMPLE), "--out", str(out), "--quiet")
    assert run.returncode == 0, run.stderr
    assert "40 dialogs, 32 accepted" in run.stdout
    assert "arg.ungrounded" in run.stdout and "call.unknown_function" in run.stdout
    assert ids(out, "rejected") == DEFECTIVE
    assert len(ids(out, "accepted")) == 32
    rejected = stream(out, "rejected")
    assert all(r["stages"][0]["verdicts"] and r["dialog"]["meta"]["source"] == "xlam" for r in rejected)

    again = cli("verify", str(SAMPLE), "--out", str(out), "--json")
    assert again.returncode == 0, again.stderr
    funnel = orjson.loads(again.stdout)
    assert (funnel["total"], funnel["accepted"]) == (40, 32)
    assert funnel["stages"][0]["codes"]["call.duplicate"] == 1
    assert len(ids(out, "accepted")) + len(ids(out, "rejected")) == 40  # nothing written twice


def test_the_accepted_file_verifies_clean_in_callforge_format(tmp_path: Path) -> None:
    out = tmp_path / "v"
    assert cli("verify", str(SAMPLE), "--out", str(out), "--quiet").returncode == 0
    second = cli("verify", str(out), "--out", str(tmp_path / "again"), "--json")  # a Run folder reads as its accepted dialogs
    assert second.returncode == 0, second.stderr
    assert orjson.loads(second.stdout)["accepted"] == 32


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stages", "rules,magic"], "unknown stage(s) magic"),
        (["--stages", "judge,rules"], "must keep cascade order"),
        (["--stages", "rules,exec"], "--exec python:tools.py"),
        (["--exec", "python:tools.py"], "needs the exec stage"),
        (["--skip-rules", "groundin"], "unknown rule(s) to skip: groundin"),
        (["--format", "csv"], "csv"),
    ],
)
def test_bad_flags_say_which_flag_to_change(tmp_path: Path, args: list[str], message: str) -> None:
    run = cli("verify", str(SAMPLE), "--out", str(tmp_path / "v"), "--quiet", *args)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    run = cli("verify", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "v"))
    assert run.returncode == 2 and "nope.jsonl" in run.stderr and "Traceback" not in run.stderr


def test_exec_stage_runs_the_tools_sandboxed_and_rejects_what_fails(tmp_path: Path) -> None:
    bmi_tool = {
        "name": "calculate_bmi",
        "description": "Body mass index.",
        "parameters": {"weight_kg": {"type": "float", "description": "kg"}, "height_m": {"type": "float", "description": "m"}},
    }
    rows = [
        {"id": 1, "query": "BMI for 70 kg at 1.75 m?", "answers": [{"name": "calculate_bmi", "arguments": {"weight_kg": 70, "height_m": 1.75}}]},
        {"id": 2, "query": "BMI for 70 kg at 175 cm?", "answers": [{"name": "calculate_bmi", "arguments": {"weight_kg": 70, "height_m": 175}}]},
    ]
    data = tmp_path / "bmi.jsonl"
    data.write_bytes(b"".join(orjson.dumps({**r, "tools": orjson.dumps([bmi_tool]).decode(), "answers": orjson.dumps(r["answers"]).decode()}) + b"\n" for r in rows))
    out = tmp_path / "v"
    tools = REPO / "examples" / "verify" / "tools.py"
    run = cli("verify", str(data), "--stages", "rules,exec", "--exec", f"python:{tools}", "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    funnel = orjson.loads(run.stdout)
    assert (funnel["accepted"], funnel["stages"][1]["codes"]) == (1, {"exec.exception": 1})
    [rejected] = stream(out, "rejected")
    [verdict] = rejected["stages"][1]["verdicts"]
    assert rejected["id"] == "2" and "ValueError" in verdict["message"] and "metres" in verdict["message"]
    [accepted] = stream(out, "accepted")
    assert accepted["stages"][1]["meta"]["observations"][0]["output"] == {"bmi": 22.9}
    assert (out / "exec-cache.sqlite").is_file()


def test_sigkill_mid_run_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    import os
    import signal
    import time

    tools = tmp_path / "slow_tools.py"
    tools.write_text("import time\n\ndef double(x: int) -> dict:\n    time.sleep(0.15)\n    return {'y': 2 * x}\n")
    spec = {"name": "double", "description": "Twice x.", "parameters": {"x": {"type": "int", "description": "x"}}}
    rows = [
        {"id": n, "query": f"What is twice {n}?", "tools": orjson.dumps([spec]).decode(),
         "answers": orjson.dumps([{"name": "double", "arguments": {"x": n}}]).decode()}
        for n in range(100, 140)
    ]  # fmt: skip
    data = tmp_path / "d.jsonl"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    out = tmp_path / "v"
    args = [sys.executable, "-m", "callforge", "verify", str(data), "--stages", "rules,exec",
            "--exec", f"python:{tools}", "--out", str(out), "--concurrency", "2", "--quiet", "--no-cache"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    accepted = out / "accepted" / "part-0001.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not accepted.exists() or accepted.read_bytes().count(b"\n") < 5):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = accepted.read_bytes().count(b"\n")
    assert 5 <= written < 40, "the kill must land mid-run"

    run = cli(*args[3:-1], "--json")
    assert run.returncode == 0, run.stderr
    funnel = orjson.loads(run.stdout)
    assert (funnel["total"], funnel["accepted"]) == (40, 40)
    found = [r["id"] for r in stream(out, "accepted")]
    assert sorted(found) == sorted(str(n) for n in range(100, 140))  # nothing lost, nothing twice


def test_dedup_stage_rejects_repeated_rows(tmp_path: Path) -> None:
    spec = {"name": "get_weather", "description": "Weather.", "parameters": {"city": {"type": "str", "description": "City"}}}
    rows = []
    for n, (query, city) in enumerate([("Weather in Paris today?", "Paris"), ("weather in paris today", "Paris"),
                                       ("Weather in Rome today?", "Rome")]):  # fmt: skip
        answers = [{"name": "get_weather", "arguments": {"city": city}}]
        rows.append({"id": n, "query": query, "tools": orjson.dumps([spec]).decode(), "answers": orjson.dumps(answers).decode()})
    data = tmp_path / "dups.jsonl"
    data.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    run = cli("verify", str(data), "--stages", "rules,dedup", "--out", str(tmp_path / "v"), "--json")
    assert run.returncode == 0, run.stderr
    funnel = orjson.loads(run.stdout)
    assert funnel["accepted"] == 2 and funnel["stages"][1]["codes"] == {"dedup.exact": 1}


def test_an_earlier_versions_flat_output_folder_is_read_and_resumed(tmp_path: Path) -> None:
    out = tmp_path / "v"
    assert cli("verify", str(SAMPLE), "--out", str(out), "--quiet").returncode == 0
    old = tmp_path / "old"  # what verify wrote before the one Run folder layout: flat files, no manifest
    old.mkdir()
    for name in ("accepted", "rejected"):
        (old / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in stream(out, name)))
    again = cli("verify", str(SAMPLE), "--out", str(old), "--json")
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["total"] == 40 and not (old / "accepted").exists()  # nothing redone
    read = cli("verify", str(old), "--out", str(tmp_path / "re"), "--json")  # the old folder reads as a dataset
    assert read.returncode == 0, read.stderr
    assert orjson.loads(read.stdout)["accepted"] == 32
