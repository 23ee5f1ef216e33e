"""`callforge refine` on an episode run: the diverging turn redone with the end-state feedback, judged by its end state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Dialog, MaskReason, ToolCall
from callforge.export import export
from callforge.generate import generate
from callforge.learn import refine
from callforge.learn.episode_refine import diverged_step
from callforge.llm import make_backend
from callforge.llm.scripted import FunctionBackend, Request
from callforge.verify import Checked
from tests.conftest import EXAMPLES

BANK = EXAMPLES / "environments" / "bank.py"
INIT = {"accounts": {"Ada Lovelace": 120.0, "Bo Chen": 40.0}}
WRONG = ToolCall(name="open_account", arguments={"owner": "Mallory"})


def rows(out: Path, stream: str) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted((out / stream).glob("*.jsonl")) for line in f.read_text().splitlines() if line.strip()]


def wrong_in_the_second_turn() -> FunctionBackend:
    """fake:world, except that the assistant first opens an account nobody asked for in the second user turn."""
    inner = make_backend("fake:world")

    async def respond(request: Request) -> Any:
        said = [m for m in request.messages if m.role == "user"]
        acting = request.tools and not request.options.json_schema and request.options.tool_choice != "none"
        if acting and len(said) == 2 and request.messages[-1].role == "user":
            return WRONG
        return await inner.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

    return FunctionBackend(respond, model="fake:world")


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("episodes") / "run"
    report = generate(
        env=str(BANK), env_init=INIT, model=wrong_in_the_second_turn(), n=1, max_attempts=2, out=out, twists="plain=1"
    )
    assert report.accepted == 0 and report.tally.reasons == {"episode.state_mismatch": 2}, report.tally.to_dict()
    return out


def test_a_failed_episode_names_its_wrong_step(failed_run: Path) -> None:
    for row in rows(failed_run, "rejected"):
        checked = Checked.model_validate(row)
        step = diverged_step(checked)
        assert not isinstance(step, str) and step.turn == 1
        assert checked.dialog.messages[step.index].tool_calls[0].name == "open_account"


def test_refine_redoes_the_diverging_turn_and_keeps_what_ends_in_the_blueprints_state(failed_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "refined"
    done = subprocess.run(
        [sys.executable, "-m", "callforge", "refine", str(failed_run), "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["refined"] == 2 and report["failed"] == 0 and report["skipped"] == {}, report
    assert report["codes"] == {"episode.state_mismatch": 2}
    for row, source in zip(rows(out, "accepted"), rows(failed_run, "rejected"), strict=True):
        dialog = Dialog.model_validate(row["dialog"])
        assert dialog.meta.refined_from == source["id"] and row["id"] == f"{source['id']}-refined"
        assert [s["stage"] for s in row["stages"]] == ["episode", "rules"]
        (masked,) = dialog.meta.masked
        assert masked.reason == MaskReason.CORRECTED
        at = next(i for i, m in enumerate(dialog.messages) if any(c.id == masked.id for c in m.tool_calls))
        feedback = json.loads(dialog.messages[at + 1].content or "{}")
        assert "Bank.accounts" in feedback["error"] and "not what the request asks for" in feedback["error"]
        # after the feedback the assistant makes the turn's blueprint calls, and the user's later turns follow as recorded
        trace = dialog.meta.episode
        assert trace is not None and trace.diverged_turn is None
        redone = [(c.name, c.arguments) for m in dialog.messages[at + 2 :] for c in m.tool_calls]
        assert [(c.name, c.arguments) for c in trace.truth[1]] == redone[: len(trace.truth[1])]
        original = [m.content for m in Dialog.model_validate(source["dialog"]).messages if m.role == "user"]
        assert [m.content for m in dialog.messages if m.role == "user"] == original
    pairs = export(out, tmp_path / "dpo", format="dpo")
    assert pairs.records == 2


def test_a_correction_that_still_misses_the_blueprints_state_is_kept_as_rejected(failed_run: Path, tmp_path: Path) -> None:
    refuses = FunctionBackend(lambda request: "I would rather not touch the accounts.", model="refuses")
    report = refine(run=failed_run, out=tmp_path / "again", model=refuses, limit=1)
    assert report.read == 1 and report.refined == 0 and report.failed == 1
    assert report.still_failing == {"episode.state_mismatch": 1}
