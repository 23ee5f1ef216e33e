"""Episodes: the long-context twist (filler state, else a long pasted message) and clarifying questions in any twist."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Dialog
from callforge.evaluate import check_end_state, check_multi_turn, dialog_output, load_multi_turn
from callforge.execute import parse_environment
from callforge.export import export
from callforge.generate import GenerationFailure, UserRole, generate
from callforge.generate.episodes import EpisodeStage
from callforge.generate.pasted import pasted_block
from callforge.generate.personas import Voice
from callforge.generate.plan import PlannedCall, Turn
from callforge.llm import ScriptedBackend, make_backend
from callforge.llm.scripted import FunctionBackend, Request
from tests.conftest import EXAMPLES

BANK = EXAMPLES / "environments" / "bank.py"
INIT = {"accounts": {"Ada Lovelace": 120.0, "Bo Chen": 40.0}}
VOICE = Voice(persona="a student", style="plain", instruction="Write plainly.", theme="money")
FILLER = '''

class BigBank(Bank):
    """The bank with many other customers' accounts: a long-context world."""

    def _callforge_long_context(self, seed: int) -> None:
        for n in range(60):
            self.open_account(f"Customer {seed % 5}-{n:02d}", 10.0 + n)
'''


def rows(out: Path, stream: str) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted((out / stream).glob("*.jsonl")) for line in f.read_text().splitlines() if line.strip()]


def users(dialog: Dialog) -> list[str]:
    return [m.content or "" for m in dialog.messages if m.role == "user"]


@pytest.fixture(scope="module")
def big_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("world") / "bigbank.py"
    path.write_text(BANK.read_text() + FILLER)
    return path


def test_a_world_with_a_filler_hook_plays_long_context_episodes_on_its_filled_state(big_bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    report = generate(
        env=f"{big_bank}:BigBank", env_init=INIT, model="fake:world", n=2, max_attempts=8, out=out, twists="long_context=1"
    )
    assert report.accepted == 2, report.tally.to_dict()
    spec = parse_environment(f"{big_bank}:BigBank", init=INIT)
    for row in rows(out, "accepted"):
        dialog = Dialog.model_validate(row["dialog"])
        trace = dialog.meta.episode
        assert trace is not None and trace.twist == "long_context"
        seed = trace.environment["long_context"]
        assert isinstance(seed, int)
        # the blueprint was proven on the filled world: its end state holds the filler accounts
        owners = {a["owner"] for a in trace.end_state["BigBank"]["accounts"].values()}  # type: ignore[index]
        assert f"Customer {seed % 5}-59" in owners and len(owners) >= 62
        assert all(len(text) < 1000 for text in users(dialog))  # the state is long, not the messages
        # the judge rebuilds the filled world from the trace, not the session's plain spec
        assert asyncio.run(EpisodeStage(spec).check(dialog)).ok
    exported = export(out, tmp_path / "set", format="bfcl")
    assert exported.categories == {"multi_turn_long_context": 2}
    entries = load_multi_turn(tmp_path / "set")
    for entry, row in zip(entries, rows(out, "accepted"), strict=True):
        assert entry.environment_spec is not None and entry.environment_spec.long_context is not None
        output = dialog_output(Dialog.model_validate(row["dialog"]))
        assert check_multi_turn(entry, output).ok and check_end_state(entry, output).ok


def test_a_world_without_filler_gets_one_long_pasted_message_with_the_request_inside(tmp_path: Path) -> None:
    out = tmp_path / "run"
    report = generate(env=str(BANK), env_init=INIT, model="fake:world", n=2, max_attempts=8, out=out, twists="long_context=1")
    assert report.accepted == 2, report.tally.to_dict()
    for row in rows(out, "accepted"):
        dialog = Dialog.model_validate(row["dialog"])
        trace = dialog.meta.episode
        assert trace is not None and trace.twist == "long_context" and "long_context" not in trace.environment
        long = [text for text in users(dialog) if len(text) > 1500]
        assert len(long) == 1 and "Please help: " in long[0]  # the fake user's request, inside the block
        assert len(trace.truth) == len(users(dialog))
    assert export(out, tmp_path / "set", format="bfcl").categories == {"multi_turn_long_context": 2}


def test_the_pasted_block_holds_no_value_a_call_could_take() -> None:
    for seed in range(30):
        before, after = pasted_block(random.Random(seed), VOICE)
        text = before + after
        assert len(text) > 1500
        # dates and times only: no amounts, ids or codes that could change what the calls must be
        assert not re.search(r"\d+\.\d|[A-Z]{2,}-\d|\b\d{3,}\b", text), text


def asks_first(seen: list[str]) -> FunctionBackend:
    """fake:world, except that the assistant first asks a question in the first turn, as a cautious model does."""
    inner = make_backend("fake:world")

    async def respond(request: Request) -> Any:
        said = [m for m in request.messages if m.role == "user"]
        if request.tools and not request.options.json_schema and len(said) == 1 and request.messages[-1].role == "user":
            return "Before I do that: which account do you mean, and is that the exact amount?"
        if request.options.json_schema and "The assistant has just asked you" in (request.messages[-1].content or ""):
            seen.append(request.messages[-1].content or "")
        return await inner.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

    return FunctionBackend(respond, model="fake:world")


def test_a_clarifying_question_in_a_plain_episode_is_answered_from_the_blueprint(tmp_path: Path) -> None:
    seen: list[str] = []
    out = tmp_path / "run"
    report = generate(env=str(BANK), env_init=INIT, model=asks_first(seen), n=2, max_attempts=8, out=out, twists="plain=1")
    assert report.accepted == 2, report.tally.to_dict()
    assert seen and all("everything you know" in prompt for prompt in seen)
    for row in rows(out, "accepted"):
        dialog = Dialog.model_validate(row["dialog"])
        trace = dialog.meta.episode
        assert trace is not None and trace.twist == "plain"
        # the question's turn has no calls; the user's answer (a message of its own) carries them
        assert trace.truth[0] == () and trace.truth[1] and len(trace.truth) == len(users(dialog))
        assert "?" in next(m.content or "" for m in dialog.messages if m.role == "assistant")


def test_a_user_answer_that_invents_a_value_is_refused() -> None:
    turn = Turn(steps=((PlannedCall(name="deposit", arguments={"account_id": "ACC-0001", "amount": 50}),),))
    question = "Which account, and how much?"
    invented = '{"message": "It is ACC-0007, and 75 euros."}'
    with pytest.raises(GenerationFailure, match=r"does not hold \(ACC-0007, 75\)") as caught:
        asyncio.run(UserRole(ScriptedBackend([invented, invented])).answer(turn, (), (), VOICE, question, seed=1))
    assert caught.value.code == "gen.user_invented"
    leaky = '{"message": "The blueprint says account_id ACC-0001 and amount 50."}'
    with pytest.raises(GenerationFailure, match="blueprint"):
        asyncio.run(UserRole(ScriptedBackend([leaky, leaky])).answer(turn, (), (), VOICE, question, seed=1))
    good = '{"message": "Sorry, ACC-0001, and 50 euros please."}'
    assert asyncio.run(UserRole(ScriptedBackend([invented, good])).answer(turn, (), (), VOICE, question, seed=1)).startswith("Sorry")
