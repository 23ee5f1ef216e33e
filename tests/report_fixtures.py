"""Real runs for the report and browser tests: a fake:world generation, a live evaluation that replays saved outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callforge.cli import app
from callforge.core import ToolCall
from callforge.evaluate import evaluate_model
from callforge.llm import FunctionBackend

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "examples" / "bfcl-mini"
TRAVEL = ROOT / "examples" / "tools" / "travel.py"


def generation_run(out: Path, n: int = 6) -> Path:
    """`callforge generate` on the example travel tools with the offline fake model, as a user runs it."""
    result = CliRunner().invoke(
        app,
        ["generate", "--tools", str(TRAVEL), "--model", "fake:world", "--n", str(n), "--today", "2025-12-31",
         "--out", str(out), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert f"callforge report {out}" in result.output  # generate says how to look at what it wrote
    return out


def replaying_eval(out: Path, model: str = "replay-prompting", results: str = "prompting") -> Path:
    """`callforge eval run`'s folder (both modes) for a model that answers with bfcl-mini's saved outputs."""
    questions: dict[str, str] = {}
    for path in sorted((MINI / "data").glob("BFCL_v4_*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            questions[entry["question"][0][-1]["content"]] = entry["id"]
    answers: dict[str, str] = {}
    for path in sorted((MINI / "results" / results).glob("*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            answers[row["id"]] = row["result"]

    def respond(request: object) -> str | list[ToolCall]:
        messages = request.messages  # type: ignore[attr-defined]
        asked = next(m.content for m in reversed(messages) if m.role == "user")
        answer = answers[questions[asked]]
        if isinstance(answer, str):
            return answer
        calls = [ToolCall(name=name, arguments=json.loads(args)) for call in answer for name, args in call.items()]
        return calls or "I cannot help with that."

    evaluate_model(model=FunctionBackend(respond, model=model), data=MINI / "data", style=results, out=out)
    return out


HOSTILE = [
    {
        "tools": [],
        "messages": [
            {"role": "user", "content": '<script>window.__xss = 1</script> find me <img src=x onerror="window.__xss = 2"> a flight'},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "name": "book_flight", "arguments": {"to": "<script>window.__xss = 3</script>"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": '</script><b id="injected">booked</b>'},
            {"role": "assistant", "content": 'Booked </script><b id="injected2">bold</b> & done'},
        ],
        "meta": {"id": "xss-1", "scenario": "single"},
    },
    {
        "tools": [{"name": "get_weather", "description": "Weather for a city.", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
        "messages": [
            {"role": "user", "content": "Weather in Lisbon?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "name": "get_weather", "arguments": {"city": "Lisbon"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21}'},
            {"role": "assistant", "content": "It is 21 degrees in Lisbon."},
        ],
        "meta": {"id": "ok-1", "scenario": "single"},
    },
]
"""Two dialogs for `verify`: one whose every text tries to run script or inject markup (rejected: unknown tool), one clean."""


def hostile_run(out: Path) -> Path:
    """A verified run whose rejected dialog carries `<script>` in its user text, call arguments, tool output and answer."""
    data = out.parent / f"{out.name}.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in HOSTILE), encoding="utf-8")
    result = CliRunner().invoke(app, ["verify", str(data), "--format", "callforge", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def gen_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generation_run(tmp_path_factory.mktemp("report") / "gen")


@pytest.fixture(scope="session")
def eval_prompting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replaying_eval(tmp_path_factory.mktemp("report") / "eval-prompting")


@pytest.fixture(scope="session")
def eval_fc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replaying_eval(tmp_path_factory.mktemp("report") / "eval-fc", model="replay-fc", results="fc")


@pytest.fixture(scope="session")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hostile_run(tmp_path_factory.mktemp("report") / "hostile")
