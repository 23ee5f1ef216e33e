"""`callforge tools synth` and `callforge tools import` from the command line, over a real HTTP model server."""

from __future__ import annotations

import json
from pathlib import Path

from callforge.llm.fake.policy import Rule
from callforge.llm.fake_server import FakeOpenAIServer
from tests.synth_world import world_policy
from tests.test_cli_generate import REPO, cli


def test_synth_writes_a_pool_that_generate_and_show_accept(tmp_path: Path) -> None:
    out = tmp_path / "pool.json"
    with FakeOpenAIServer(Rule(world_policy), capacity=4) as server:
        args = ["tools", "synth", "--n", "6", "--domains", "finance,travel", "--model", "openai:world"]
        args += ["--base-url", server.base_url, "--api-key", "x", "--out", str(out), "--seed", "2"]
        run = cli(*args)
        assert run.returncode == 0, run.stderr
        assert f"wrote 6 APIs (6/6 requested) over 2 domains to {out}" in run.stdout
        assert "duplicates: dedup.name 1" in run.stdout
        first = len(server.requests)
        again = cli(*args, "--json")  # same options: every request is answered by the cache
        assert again.returncode == 0, again.stderr
        assert len(server.requests) == first
    report = json.loads(again.stdout)
    assert report["kept"] == 6 and report["cached_requests"] == report["requests"]
    shown = cli("tools", "show", str(out), "--json")
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)) == 6
    table = cli("tools", "show", str(out))
    assert "synthesized" in table.stdout and "domain finance" in table.stdout


def test_import_merges_sources_into_one_pool(tmp_path: Path) -> None:
    out = tmp_path / "pool.json"
    run = cli(
        "tools",
        "import",
        str(REPO / "examples" / "tools" / "travel.py"),
        str(REPO / "examples" / "tools" / "finance.py"),
        "-o",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    document = json.loads(out.read_text())
    assert document["format"] == "callforge.pool/1"
    assert "tools (" in run.stdout and "python" in run.stdout
    names = [t["name"] for t in document["tools"]]
    assert len(names) == len(set(names)) > 3


def test_import_errors_name_the_source(tmp_path: Path) -> None:
    missing = cli("tools", "import", str(tmp_path / "nope.yaml"), "-o", str(tmp_path / "p.json"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr and "no such file" in missing.stderr
    yaml_file = tmp_path / "notes.yaml"
    yaml_file.write_text("title: not a spec\n")
    notspec = cli("tools", "import", str(yaml_file), "-o", str(tmp_path / "p.json"))
    assert notspec.returncode == 2 and 'no top-level "openapi" or "swagger" key' in notspec.stderr
    assert not (tmp_path / "p.json").exists()
    twice = cli(
        "tools",
        "import",
        str(REPO / "tests" / "data" / "gen_tools.py"),
        str(REPO / "tests" / "data" / "gen_tools.py"),
        "-o",
        str(tmp_path / "p.json"),
    )
    assert twice.returncode == 2 and "defined in both" in twice.stderr


def test_synth_bad_options_are_clear(tmp_path: Path) -> None:
    run = cli("tools", "synth", "--n", "3", "--model", "openai:", "--out", str(tmp_path / "p.json"))
    assert run.returncode == 2 and "no model name" in run.stderr
    rate = cli("tools", "synth", "--evolve-rate", "3", "--out", str(tmp_path / "p.json"))
    assert rate.returncode == 2 and "evolve-rate" in rate.stderr


def test_import_openapi_and_mcp_into_one_pool(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("mcp")
    import shlex
    import sys

    out = tmp_path / "pool.json"
    spec = REPO / "tests" / "data" / "openapi" / "library.yaml"
    server = "mcp:" + shlex.join([sys.executable, str(REPO / "tests" / "data" / "mcp_server.py")])
    run = cli("tools", "import", str(spec), server, "-o", str(out), "--prefix")
    assert run.returncode == 0, run.stderr
    assert "openapi" in run.stdout and "mcp" in run.stdout
    tools = {t["name"]: t for t in json.loads(out.read_text())["tools"]}
    assert tools["getBook"]["binding"]["kind"] == "http" and tools["getBook"]["binding"]["path"].endswith(
        "{bookId}"
    )
    assert tools["mcp_server__greet"]["binding"]["kind"] == "mcp"
    import os
    import subprocess

    shown = subprocess.run(
        [sys.executable, "-m", "callforge", "tools", "show", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert "GET /books/{bookId}" in shown.stdout and "server mcp_server" in shown.stdout
    blockfrost = REPO / "tests" / "data" / "openapi" / "blockfrost-0.1.93.yaml"
    strict = cli("tools", "import", str(blockfrost), "-o", str(tmp_path / "b.json"))
    assert strict.returncode == 2 and "blockfrost-0.1.93.yaml" in strict.stderr and "at $." in strict.stderr
    lenient = cli("tools", "import", str(blockfrost), "-o", str(tmp_path / "b.json"), "--validate", "off")
    assert lenient.returncode == 0, lenient.stderr
    assert len(json.loads((tmp_path / "b.json").read_text())["tools"]) == 129
