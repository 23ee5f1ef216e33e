"""`callforge generate` from the command line: its help, and errors that name the input and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tests" / "data" / "gen_tools.py"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callforge", *args], capture_output=True, text=True, cwd=REPO, timeout=120
    )


def test_help_lists_the_options_of_the_issue() -> None:
    run = cli("generate", "--help")
    assert run.returncode == 0, run.stderr
    for flag in ("--tools", "--n", "--out", "--model", "--judge-model", "--mix", "--seed", "--resume"):
        assert flag in run.stdout


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    missing = cli("generate", "--tools", str(tmp_path / "nope.py"), "--out", str(tmp_path / "run"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    mix = cli("generate", "--tools", str(TOOLS), "--mix", "single=1,wizardry=2", "--out", str(tmp_path / "run"))
    assert mix.returncode == 2 and "unknown scenario kind(s) wizardry" in mix.stderr
    model = cli("generate", "--tools", str(TOOLS), "--model", "openai:", "--out", str(tmp_path / "run2"))
    assert model.returncode == 2 and "no model name" in model.stderr


def test_a_whole_run_over_http_prints_the_summary_and_resumes(tmp_path: Path) -> None:
    from callforge.llm.fake_server import FakeOpenAIServer
    from tests.gen_world import WorldPolicy

    out = tmp_path / "run"
    with FakeOpenAIServer(WorldPolicy(), capacity=8) as server:
        args = ["generate", "--tools", str(TOOLS), "--model", "openai:world", "--base-url", server.base_url]
        args += ["--api-key", "x", "--out", str(out), "--seed", "3", "--quiet"]
        run = cli(*args, "--n", "6")
        assert run.returncode == 0, run.stderr
        assert "6 accepted of" in run.stdout and "tokens per accepted dialog" not in run.stderr
        for word in ("kind", "yield", "assistant", "planner", "manifest"):
            assert word in run.stdout
        refused = cli(*args, "--n", "8")
        assert refused.returncode == 2 and "--resume" in refused.stderr
        more = cli(*args, "--n", "8", "--resume", "--json")
        assert more.returncode == 0, more.stderr
    import json

    counts = json.loads(more.stdout)
    assert counts["accepted"] == 8 and set(counts["roles"]) >= {"planner", "user", "assistant", "tool"}
    assert (out / "llm-cache.sqlite").is_file() and len(list((out / "accepted").glob("part-*.jsonl"))) == 2
