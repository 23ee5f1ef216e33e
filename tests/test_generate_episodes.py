"""`generate --env`: blueprints proven on a stateful environment, episodes judged by their end state, resumable."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, Dialog, ToolCall
from callforge.evaluate import check_end_state, check_multi_turn, dialog_output, load_multi_turn
from callforge.execute import parse_environment
from callforge.export import export
from callforge.generate import GenerateConfig, generate
from callforge.generate.episodes import EpisodeStage
from tests.conftest import EXAMPLES

BANK = EXAMPLES / "environments" / "bank.py"
INIT = {"accounts": {"Ada Lovelace": 120.0, "Bo Chen": 40.0}}


def rows(out: Path, stream: str) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted((out / stream).glob("*.jsonl")) for line in f.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("episodes") / "run"
    report = generate(env=str(BANK), env_init=INIT, model="fake:world", n=4, max_attempts=24, out=out, concurrency=2, twists="plain=1")
    assert report.accepted == 4, report.tally.to_dict()
    return out


def test_accepted_episodes_carry_a_proven_blueprint_and_their_end_state(run: Path) -> None:
    accepted = rows(run, "accepted")
    for row in accepted:
        dialog = Dialog.model_validate(row["dialog"])
        trace = dialog.meta.episode
        assert trace is not None and trace.environment["python"].endswith("bank.py") and trace.environment["init"] == INIT
        assert len(trace.truth) == sum(m.role == "user" for m in dialog.messages) >= 2
        assert trace.end_state is not None and "accounts" in trace.end_state["Bank"]
        assert [s["stage"] for s in row["stages"]] == ["episode", "rules", "dedup"]
        assert {t.name for t in dialog.tools} == {
            "open_account", "deposit", "withdraw", "transfer", "get_balance", "list_transactions",
        }  # fmt: skip  (the whole environment is offered)
    signatures = {json.dumps([[c for c in t] for t in r["dialog"]["meta"]["episode"]["truth"]], sort_keys=True) for r in accepted}
    assert len(signatures) == len(accepted), "two accepted episodes share a blueprint"


def test_the_end_state_stage_rejects_a_planted_wrong_action_and_names_the_turn(run: Path) -> None:
    row = rows(run, "accepted")[0]
    dialog = Dialog.model_validate(row["dialog"])
    stage = EpisodeStage(parse_environment(BANK, init=INIT))
    assert asyncio.run(stage.check(dialog)).ok
    # The assistant's last call does something else: the episode no longer ends where its blueprint does.
    messages = list(dialog.messages)
    last = max(i for i, m in enumerate(messages) if m.tool_calls)
    call = messages[last].tool_calls[0]
    wrong = ToolCall(name="open_account", arguments={"owner": "Mallory"}, id=call.id)
    messages[last] = messages[last].model_copy(update={"tool_calls": (wrong,)})
    result = asyncio.run(stage.check(dialog.model_copy(update={"messages": tuple(messages)})))
    assert not result.ok
    (verdict,) = result.verdicts
    assert verdict.code == "episode.state_mismatch"
    turns = sum(m.role == "user" for m in messages[: last + 1]) - 1
    assert verdict.evidence["diverged_turn"] == turns


def test_the_exported_eval_set_scores_the_episodes_own_actions_right(run: Path, tmp_path: Path) -> None:
    report = export(run, tmp_path / "set", format="bfcl")  # the environment comes from the episodes
    assert report.categories == {"multi_turn_base": 4}
    entries = load_multi_turn(tmp_path / "set")
    dialogs = [Dialog.model_validate(r["dialog"]) for r in rows(run, "accepted")]
    for entry, dialog in zip(entries, dialogs, strict=True):
        output = dialog_output(dialog)
        assert check_multi_turn(entry, output).ok, entry.id
        assert check_end_state(entry, output).ok, entry.id
    # A planted wrong action in the first entry: an amount changed.
    output = dialog_output(dialogs[0])
    step = next(s for s in output[-1] if isinstance(s, list))
    ((name, arguments),) = step[0].items()
    planted = json.loads(arguments)
    if "amount" in planted:
        planted["amount"] = planted["amount"] + 1
    else:
        name, planted = "open_account", {"owner": "Mallory"}
    step[0] = {name: json.dumps(planted)}
    assert check_multi_turn(entries[0], output).code == "turn.state_mismatch"
    assert check_end_state(entries[0], output).code == "episode.state_mismatch"


def test_blueprints_that_change_nothing_are_rejected(tmp_path: Path) -> None:
    clock = tmp_path / "clock.py"
    clock.write_text(
        '"""A read-only world."""\n\n\nclass Clock:\n    """Tells the time."""\n\n'
        "    def __init__(self) -> None:\n        self.zone = 'UTC'\n\n"
        "    def now(self, city: str) -> str:\n        \"\"\"The time in a city.\n\n        Args:\n            city: A city name.\n        \"\"\"\n"
        "        return f'12:00 in {city}'\n\n"
        "    def zone_of(self, city: str) -> str:\n        \"\"\"The time zone of a city.\n\n        Args:\n            city: A city name.\n        \"\"\"\n"
        "        return 'UTC'\n"
    )
    report = generate(env=str(clock), model="fake:world", n=1, max_attempts=3, out=tmp_path / "run")
    assert report.accepted == 0
    assert report.tally.reasons == {"gen.blueprint_no_effect": 3}
    for row in rows(tmp_path / "run", "rejected"):  # the time spent planning is on the record
        assert "plan" in row["dialog"]["meta"]["usage"]["phases"]


def test_config_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        GenerateConfig(tools=("x.py",), env=str(BANK), n=1, out=tmp_path)
    with pytest.raises(ValueError, match="made with multi_turn, not single"):
        GenerateConfig(env=str(BANK), mix={"single": 1.0}, n=1, out=tmp_path)
    with pytest.raises(ConfigError, match="give a Python class file"):
        generate(env=str(tmp_path / "x.txt"), n=1, out=tmp_path / "r", model="fake:world")
    bad = subprocess.run(
        [sys.executable, "-m", "callforge", "generate", "--env", str(BANK), "--env-init", "{accounts", "--model", "fake:world",
         "--out", str(tmp_path / "cli")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "--env-init" in bad.stderr and "not JSON" in bad.stderr


_CHILD = """
import asyncio
from callforge.generate import generate
from callforge.llm import make_backend
from callforge.llm.scripted import FunctionBackend

inner = make_backend("fake:world")
async def slow(request):
    await asyncio.sleep(0.05)
    return await inner.complete(request.messages, request.tools, **request.options.model_dump(exclude_none=True))

generate(env={env!r}, env_init={init!r}, n=8, out={out!r}, model=FunctionBackend(slow, model="fake:world"), seed=3, concurrency=2)
"""


def test_kill_9_then_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(env=str(BANK), init=INIT, out=str(out))], stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (out / "accepted").is_dir() and len(rows(out, "accepted")) >= 2:
            break
        if child.poll() is not None:
            pytest.fail(f"the child ended before the kill: {child.stderr.read().decode()[-2000:] if child.stderr else ''}")
        time.sleep(0.05)
    else:
        child.kill()
        pytest.fail("the child wrote no records within 300 s")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    survived = {json.dumps(r, sort_keys=True) for r in rows(out, "accepted") + rows(out, "rejected")}
    assert 2 <= len(rows(out, "accepted")) < 8
    report = generate(env=str(BANK), env_init=INIT, n=8, out=out, model="fake:world", seed=3, resume=True, concurrency=2)
    assert report.accepted == 8
    everything = rows(out, "accepted") + rows(out, "rejected")
    ids = [r["id"] for r in everything]
    assert len(ids) == len(set(ids)), "an attempt was written twice"
    assert survived <= {json.dumps(r, sort_keys=True) for r in everything}
    truths = [json.dumps(r["dialog"]["meta"]["episode"]["truth"], sort_keys=True) for r in rows(out, "accepted")]
    assert len(truths) == len(set(truths)), "a blueprint was accepted twice across the sessions"


def test_twists_make_the_episode_harder_in_the_way_each_names(tmp_path: Path) -> None:
    out = tmp_path / "twisted"
    report = generate(
        env=str(BANK), env_init=INIT, model="fake:world", n=6, max_attempts=40, out=out, concurrency=2,
        twists="missing=1,change_mind=1,error=1", seed=5,
    )  # fmt: skip
    assert report.accepted == 6, report.tally.to_dict()
    seen = set()
    for row in rows(out, "accepted"):
        dialog = Dialog.model_validate(row["dialog"])
        trace = dialog.meta.episode
        assert trace is not None and trace.twist in ("missing", "change_mind", "error")
        seen.add(trace.twist)
        users = [m for m in dialog.messages if m.role == "user"]
        assert len(users) == len(trace.truth)
        if trace.twist == "missing":
            # the message that leaves the value out has no calls to make: the assistant asks
            empty = trace.truth.index(())
            assert dialog.meta.missing and not trace.truth[empty]
            turn = _turn_messages(dialog, empty)
            assert not any(m.tool_calls for m in turn) and "?" in (turn[-1].content or "")
        elif trace.twist == "error":
            (masked,) = dialog.meta.masked
            bad = next(c for m in dialog.messages for c in m.tool_calls if c.id == masked.id)
            assert (bad.name, bad.arguments) not in [(c.name, c.arguments) for turn in trace.truth for c in turn]
    assert seen == {"missing", "change_mind", "error"}, seen
    with pytest.raises(ConfigError, match="unknown twist"):
        GenerateConfig(env=str(BANK), twists="sideways=1", n=1, out=tmp_path)
    with pytest.raises(ValueError, match="twists go with env"):
        GenerateConfig(tools=("x.py",), twists="error=1", n=1, out=tmp_path)


def _turn_messages(dialog: Dialog, index: int) -> list[Any]:
    turns: list[list[Any]] = []
    for message in dialog.messages:
        if message.role == "user":
            turns.append([])
        elif turns:
            turns[-1].append(message)
    return turns[index]


def test_a_change_of_mind_is_asked_of_the_user_role() -> None:
    from callforge.generate import UserRole
    from callforge.generate.personas import Voice
    from callforge.generate.plan import PlannedCall, Turn
    from callforge.llm import ScriptedBackend

    turn = Turn(steps=((PlannedCall(name="deposit", arguments={"account_id": "ACC-0001", "amount": 50}),),), revisions={"amount": 105})
    prompt = UserRole(ScriptedBackend([])).prompt(turn, (), (), Voice(persona="a student", style="plain", instruction="Write plainly.", theme="money"))
    text = str(prompt[-1].content)
    assert "amount 50" in text and "first ask with the amount 105" in text and "want the value given above instead" in text


def test_a_late_tool_episode_exports_as_bfcls_miss_func(tmp_path: Path) -> None:
    out = tmp_path / "late"
    report = generate(env=str(BANK), env_init=INIT, model="fake:world", n=2, max_attempts=20, out=out, twists="late_tool=1")
    assert report.accepted == 2, report.tally.to_dict()
    for row in rows(out, "accepted"):
        dialog = Dialog.model_validate(row["dialog"])
        trace = dialog.meta.episode
        assert trace is not None and trace.twist == "late_tool"
        ((turn, (tool,)),) = trace.late_tools.items()
        request = int(turn) - 1
        assert trace.truth[request] == () and [c.name for c in trace.truth[int(turn)]] == [tool]
        # the tool was not offered while it was withheld: the assistant could not call it
        assert not any(c.name == tool for m in _turn_messages(dialog, request) for c in m.tool_calls)
    exported = export(out, tmp_path / "set", format="bfcl")
    assert exported.categories == {"multi_turn_miss_func": 2}
    entries = load_multi_turn(tmp_path / "set")
    for entry, row in zip(entries, rows(out, "accepted"), strict=True):
        (held,) = entry.held_out
        assert entry.turns[held.turn] == () and held.tools[0] not in {t.name for t in entry.tools_at(held.turn - 1)}
        assert held.tools[0] in {t.name for t in entry.tools_at(held.turn)}
        assert check_multi_turn(entry, dialog_output(Dialog.model_validate(row["dialog"]))).ok


def test_a_user_message_that_never_changes_its_mind_is_refused() -> None:
    from callforge.generate import GenerationFailure, UserRole
    from callforge.generate.personas import Voice
    from callforge.generate.plan import PlannedCall, Turn
    from callforge.llm import ScriptedBackend

    turn = Turn(steps=((PlannedCall(name="deposit", arguments={"account_id": "ACC-0001", "amount": 50}),),), revisions={"amount": 105})
    voice = Voice(persona="a student", style="plain", instruction="Write plainly.", theme="money")
    plain = '{"message": "Please pay 50 euros into ACC-0001."}'
    with pytest.raises(GenerationFailure, match="never changed its mind about the amount"):
        asyncio.run(UserRole(ScriptedBackend([plain, plain])).write(turn, (), (), voice, seed=1))
    changed = '{"message": "Put 105 euros into ACC-0001, no wait, make it 50."}'
    assert asyncio.run(UserRole(ScriptedBackend([changed])).write(turn, (), (), voice, seed=1)).startswith("Put 105")
