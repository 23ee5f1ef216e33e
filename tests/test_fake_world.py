"""`fake:world`, the shipped model-free tour: generate -> verify -> export -> eval in seconds, with no weights.

The fake reads generate's own prompts, so these tests are also the alarm for when that wording
drifts away from what the fake parses: the yield here would drop.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from callforge.cli import app
from callforge.core import ConfigError
from callforge.generate import generate
from callforge.llm import WorldBackend, make_backend, providers, world_notice
from callforge.llm.fake.world import WORLD_NOTE, WorldPolicy
from callforge.llm.fake_server import FakeOpenAIServer

HERE = Path(__file__).resolve().parent
TOOLS = HERE / "data" / "gen_tools.py"
SPEC: list[dict[str, Any]] = [  # tools without code, BFCL dialect (its `response` is the output schema)
    {
        "name": "get_forecast",
        "description": "Weather forecast for a city on a given day.",
        "parameters": {
            "type": "dict",
            "properties": {
                "city": {"type": "string", "description": "City name."},
                "date": {"type": "string", "description": "Day of the forecast, YYYY-MM-DD."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "date"],
        },
        "response": {
            "type": "dict",
            "properties": {
                "city": {"type": "string"},
                "temperature": {"type": "float"},
                "conditions": {"type": "string"},
            },
            "required": ["city", "temperature", "conditions"],
        },
    },
    {
        "name": "convert_currency",
        "description": "Convert an amount of money from one currency to another.",
        "parameters": {
            "type": "dict",
            "properties": {
                "amount": {"type": "float", "minimum": 1},
                "from_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY"]},
                "to_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY"]},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
        "response": {
            "type": "dict",
            "properties": {"converted": {"type": "float"}, "rate": {"type": "float"}},
            "required": ["converted", "rate"],
        },
    },
]


def rows(folder: Path, stream: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for shard in sorted((folder / stream).glob("part-*.jsonl"))
        for line in shard.read_text().splitlines()
        if line.strip()
    ]


def comparable(row: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in row["dialog"]["meta"].items() if k != "usage"}
    return {"id": row["id"], "ok": row["ok"], "dialog": {**row["dialog"], "meta": meta}}


def test_the_cli_tour_generates_verifies_exports_and_evaluates(tmp_path: Path) -> None:
    runner = CliRunner()
    run = tmp_path / "run"
    made = runner.invoke(
        app,
        ["generate", "--tools", str(TOOLS), "--model", "fake:world", "-n", "5", "--out", str(run), "--quiet"],
    )
    assert made.exit_code == 0, made.output
    assert WORLD_NOTE in made.stderr and "not for training" in WORLD_NOTE
    assert "5 accepted of" in made.stdout

    accepted = rows(run, "accepted")
    assert len(accepted) == 5 and all(r["ok"] for r in accepted)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["config"]["model"] == "fake:world" and manifest["counts"]["accepted"] == 5
    assert {"planner", "user", "assistant"} <= set(manifest["accounting"]["roles"])
    assert len({r["dialog"]["meta"]["scenario"] for r in accepted}) >= 3  # several kinds, not one trick

    # verify the accepted dialogs again, from scratch: rules, the real (sandboxed) tools, dedup
    checked = tmp_path / "verified"
    verified = runner.invoke(
        app,
        [
            "verify",
            str(run),
            "--stages",
            "rules,exec,dedup",
            "--exec",
            f"python:{TOOLS}",
            "--out",
            str(checked),
        ],
    )
    assert verified.exit_code == 0, verified.output
    funnel = json.loads((checked / "funnel.json").read_text())
    assert funnel["total"] == 5 and funnel["accepted"] == 5, funnel

    exported = runner.invoke(
        app, ["export", str(run), "--format", "openai", "--out", str(tmp_path / "openai")]
    )
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in (tmp_path / "openai" / "data.jsonl").read_text().splitlines()]
    assert len(lines) == 5 and all(line["messages"] and line["tools"] for line in lines)

    suite = tmp_path / "bfcl"
    assert runner.invoke(app, ["export", str(run), "--format", "bfcl", "--out", str(suite)]).exit_code == 0
    scored = tmp_path / "eval"
    evaluated = runner.invoke(
        app,
        ["eval", "run", "--data", str(suite), "--model", "fake:world", "--style", "fc", "--out", str(scored)],
    )
    assert evaluated.exit_code == 0, evaluated.output
    categories = json.loads((scored / "scores" / "bfcl" / "scores.json").read_text())["categories"]
    assert categories and sum(c["total"] for c in categories.values()) >= 1
    # the fake reads back its own user turns, so it scores on the set exported from its dialogs
    assert all(c["accuracy"] == 1.0 for c in categories.values()), categories


def test_the_python_api_plays_every_kind_on_sandboxed_tools_and_repeats_itself(tmp_path: Path) -> None:
    first = generate(tools=[TOOLS], n=9, out=tmp_path / "a", model="fake:world", seed=4, concurrency=1)
    assert first.accepted == 9 and first.complete
    counts = first.tally.to_dict()
    assert counts["yield"] >= 0.7, counts["reasons"]
    kinds = {k for k, v in counts["kinds"].items() if v["accepted"]}
    assert len(kinds) >= 7, counts["kinds"]  # of the nine: the fake asks, declines, chains and recovers too
    again = generate(tools=[TOOLS], n=9, out=tmp_path / "b", model="fake:world", seed=4, concurrency=1)
    assert again.accepted == 9
    same = [
        sorted(map(comparable, rows(tmp_path / run, "accepted")), key=lambda r: str(r["id"]))
        for run in ("a", "b")
    ]
    assert same[0] == same[1]  # deterministic per seed


def test_tools_without_code_are_played_by_the_fake_and_refuse_broken_calls(tmp_path: Path) -> None:
    spec = tmp_path / "tools.json"
    spec.write_text(json.dumps(SPEC))
    report = generate(
        tools=[spec],
        n=8,
        out=tmp_path / "run",
        model="fake:world",
        seed=1,
        mix="single=1,parallel=1,error_recovery=1",
    )
    assert report.accepted == 8 and report.tally.to_dict()["kinds"]["error_recovery"]["accepted"] >= 1
    outputs = [
        json.loads(m["content"])
        for r in rows(tmp_path / "run", "accepted")
        for m in r["dialog"]["messages"]
        if m["role"] == "tool" and "error" not in m["content"]
    ]
    assert outputs and all(
        set(o) >= {"converted", "rate"} or set(o) >= {"city", "temperature", "conditions"} for o in outputs
    )


def test_the_fake_server_serves_the_same_model(tmp_path: Path) -> None:
    policy = WorldPolicy()
    with FakeOpenAIServer(policy, capacity=8) as server:
        report = generate(
            tools=[TOOLS],
            n=4,
            out=tmp_path / "run",
            model="openai:world",
            base_url=server.base_url,
            api_key="x",
            seed=2,
        )
    assert report.accepted == 4
    assert {"planner", "user", "assistant"} <= set(policy.counts)


def test_the_spec_names_one_fake_and_says_what_it_is_for() -> None:
    assert isinstance(make_backend("fake:world"), WorldBackend) and "fake" in providers()
    with pytest.raises(ConfigError, match="fake:world"):
        make_backend("fake:other")
    assert world_notice("local:qwen2.5-coder-1.5b", None) is None
    assert world_notice("openai:x", "fake:world") == WORLD_NOTE
