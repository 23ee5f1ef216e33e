"""Preference pairs from failed episodes: the first diverging turn is the rejected branch (origin `diverged`)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callforge.core import Dialog, Message, ToolCall, Verdict
from callforge.execute import parse_environment
from callforge.export import export, to_openai
from callforge.generate import generate
from callforge.generate.episodes import EpisodeStage
from callforge.learn import diverged_pair, preference_pairs, rejected_pairs
from callforge.train import read_train_data
from callforge.verify import Checked, StageResult
from tests.conftest import EXAMPLES

BANK = EXAMPLES / "environments" / "bank.py"
INIT = {"accounts": {"Ada Lovelace": 120.0, "Bo Chen": 40.0}}
WRONG = ToolCall(name="open_account", arguments={"owner": "Mallory"})
"""A call no blueprint of the bank makes: played instead of a turn's calls, the state diverges there."""
READS = {"get_balance", "list_transactions"}
"""The bank's calls that change nothing."""


def rows(out: Path, stream: str) -> list[dict[str, Any]]:
    return [json.loads(line) for f in sorted((out / stream).glob("*.jsonl")) for line in f.read_text().splitlines() if line.strip()]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def calls(message: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls") or []]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("episodes") / "run"
    report = generate(env=str(BANK), env_init=INIT, model="fake:world", n=4, max_attempts=24, out=out)
    assert report.accepted == 4, report.tally.to_dict()
    return out


@pytest.fixture(scope="module")
def accepted(run: Path) -> list[Dialog]:
    return [Dialog.model_validate(r["dialog"]) for r in rows(run, "accepted")]


def users(dialog: Dialog) -> list[int]:
    return [i for i, m in enumerate(dialog.messages) if m.role == "user"]


def turn_span(dialog: Dialog, turn: int) -> tuple[int, int]:
    """The messages after user turn `turn`'s message, up to the next user message."""
    at = users(dialog)
    return at[turn] + 1, at[turn + 1] if turn + 1 < len(at) else len(dialog.messages)


def middle_turn(dialogs: list[Dialog]) -> tuple[Dialog, int]:
    """A dialog and a turn with turns before and after it whose truth changes the state (the pair's chosen side)."""
    for dialog in dialogs:
        assert dialog.meta.episode is not None
        truth = dialog.meta.episode.truth
        for turn in range(1, len(truth) - 1):
            if any(c.name not in READS for c in truth[turn]):
                return dialog, turn
    pytest.fail("no accepted episode with a middle turn that changes the state")


def judged(dialog: Dialog) -> Checked:
    """The episode judged by the end-state stage; a rejected one carries its diverging turn on its trace, as generate writes it."""
    result = asyncio.run(EpisodeStage(parse_environment(BANK, init=INIT)).check(dialog))
    stages = (StageResult(stage="rules"), result)
    if result.ok:
        return Checked(id=dialog.meta.id or "episode", ok=True, stages=stages, dialog=dialog)
    (verdict,) = result.failures
    assert dialog.meta.episode is not None
    trace = dialog.meta.episode.model_copy(update={"diverged_turn": verdict.evidence["diverged_turn"]})
    rejected = dialog.model_copy(update={"meta": dialog.meta.model_copy(update={"episode": trace})})
    return Checked(id=dialog.meta.id or "episode", ok=False, stages=stages, dialog=rejected)


def with_wrong_call(dialog: Dialog, turn: int) -> Dialog:
    """The episode with turn `turn`'s first unplanted call replaced by `WRONG` (its tool result left as it was)."""
    start, end = turn_span(dialog, turn)
    planted = dialog.masked_calls()
    messages = list(dialog.messages)
    at = next(i for i in range(start, end) if any(c.id not in planted for c in messages[i].tool_calls))
    step = messages[at]
    first = next(k for k, c in enumerate(step.tool_calls) if c.id not in planted)
    made = list(step.tool_calls)
    made[first] = WRONG.model_copy(update={"id": made[first].id})
    messages[at] = step.model_copy(update={"tool_calls": tuple(made)})
    return dialog.model_copy(update={"messages": tuple(messages), "meta": dialog.meta.model_copy(update={"id": f"{dialog.meta.id}-wrong"})})


def answered_in_words(dialog: Dialog, turn: int) -> Dialog:
    """The episode with turn `turn` answered by a question instead of its calls (and their results)."""
    start, end = turn_span(dialog, turn)
    reply = Message(role="assistant", content="Could you confirm that first?")
    messages = (*dialog.messages[:start], reply, *dialog.messages[end:])
    return dialog.model_copy(update={"messages": messages, "meta": dialog.meta.model_copy(update={"id": f"{dialog.meta.id}-words"})})


@pytest.fixture(scope="module")
def wrong(accepted: list[Dialog]) -> tuple[Checked, int]:
    """An accepted episode with a wrong call in a middle turn, judged again: rejected, diverging at that turn."""
    dialog, turn = middle_turn(accepted)
    return judged(with_wrong_call(dialog, turn)), turn


def test_a_rejected_episode_gives_one_diverged_pair_at_its_first_diverging_turn(wrong: tuple[Checked, int]) -> None:
    checked, turn = wrong
    assert not checked.ok and checked.failures[0].code == "episode.state_mismatch"
    trace = checked.dialog.meta.episode
    assert trace is not None and trace.diverged_turn == turn

    (pair,) = rejected_pairs(checked.dialog, checked.failures)
    assert pair["origin"] == "diverged" and pair["turn"] == turn
    assert pair["code"] == "episode.state_mismatch" and pair["codes"] == ["episode.state_mismatch"]
    start, end = turn_span(checked.dialog, turn)
    assert pair["id"] == f"{checked.dialog.meta.id}:{start}"
    # prompt: everything up to and including turn d's user message, in the export's message form
    assert pair["prompt"] == to_openai(checked.dialog)["messages"][:start]
    assert pair["prompt"][0]["role"] == "system" and pair["prompt"][-1]["role"] == "user"
    assert pair["prompt"][-1]["content"] == checked.dialog.messages[start - 1].content
    assert sum(m["role"] == "user" for m in pair["prompt"]) == turn + 1
    # chosen: the blueprint's calls for turn d, as one assistant tool-call message
    (chosen,) = pair["chosen"]
    assert chosen["role"] == "assistant" and calls(chosen) == [(c.name, c.arguments) for c in trace.truth[turn]]
    # rejected: every call the assistant made in turn d (a planted failing call left out, as the truth leaves it out)
    (rejected,) = pair["rejected"]
    planted = checked.dialog.masked_calls()
    made = [(c.name, c.arguments) for m in checked.dialog.messages[start:end] for c in m.tool_calls if c.id not in planted]
    assert rejected["role"] == "assistant" and calls(rejected) == made and (WRONG.name, WRONG.arguments) in made
    assert calls(rejected) != calls(chosen)
    assert pair["tools"] == [t.to_openai() for t in checked.dialog.tools]
    # the same pair, by the narrower name
    assert diverged_pair(checked.dialog, checked.failures) == pair


def test_a_turn_answered_in_words_is_rejected_against_the_blueprints_calls(accepted: list[Dialog]) -> None:
    dialog, turn = middle_turn(accepted)
    checked = judged(answered_in_words(dialog, turn))
    assert checked.dialog.meta.episode is not None and checked.dialog.meta.episode.diverged_turn == turn
    (pair,) = rejected_pairs(checked.dialog, checked.failures)
    assert pair["rejected"] == [{"role": "assistant", "content": "Could you confirm that first?"}]
    assert calls(pair["chosen"][0]) == [(c.name, c.arguments) for c in checked.dialog.meta.episode.truth[turn]]


def test_accepted_and_other_rejected_dialogs_give_no_diverged_pair(accepted: list[Dialog], wrong: tuple[Checked, int]) -> None:
    for dialog in accepted:  # the run's end-state stage passed them
        assert dialog.meta.episode is not None and dialog.meta.episode.diverged_turn is None
        assert diverged_pair(dialog) is None and rejected_pairs(dialog, ()) == []
        assert all(p["origin"] == "mutated" for p in preference_pairs(dialog))
    checked, _ = wrong
    assert checked.dialog.meta.episode is not None
    # rejected for something else (the states agree turn by turn): no turn to pair
    agreeing = checked.dialog.meta.model_copy(update={"episode": checked.dialog.meta.episode.model_copy(update={"diverged_turn": None})})
    assert rejected_pairs(checked.dialog.model_copy(update={"meta": agreeing}), checked.failures) == []
    # not an episode at all: a rejected dialog's own steps are never a chosen side
    plain = checked.dialog.meta.model_copy(update={"episode": None})
    assert rejected_pairs(checked.dialog.model_copy(update={"meta": plain}), (Verdict.failed("arg.type", "x"),)) == []


def test_a_blueprint_turn_the_prompt_cannot_ground_gives_no_pair(wrong: tuple[Checked, int]) -> None:
    checked, turn = wrong
    assert rejected_pairs(checked.dialog, checked.failures)
    # The user's message no longer states the values: the blueprint's calls are not a step a model could make from it.
    start, _ = turn_span(checked.dialog, turn)
    messages = list(checked.dialog.messages)
    messages[start - 1] = messages[start - 1].model_copy(update={"content": "Do the thing we talked about."})
    vague = checked.dialog.model_copy(update={"messages": tuple(messages)})
    assert checked.dialog.meta.episode is not None
    truth = checked.dialog.meta.episode.truth[turn]
    earlier = " ".join(m.content or "" for m in messages[: start - 1])
    if all(str(v) in earlier for c in truth for v in c.arguments.values()):
        pytest.skip("every value of this turn's truth was already stated earlier")
    assert rejected_pairs(vague, checked.failures) == []


@pytest.fixture(scope="module")
def mixed_run(run: Path, wrong: tuple[Checked, int], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Checked]:
    """The run with one rejected episode (a wrong call in a middle turn) added to its rejected records."""
    out = tmp_path_factory.mktemp("mixed") / "run"
    shutil.copytree(run, out)
    checked = wrong[0]
    shard = sorted((out / "rejected").glob("part-*.jsonl"))[-1] if (out / "rejected").is_dir() else out / "rejected" / "part-0001.jsonl"
    shard.parent.mkdir(exist_ok=True)
    with shard.open("a") as fh:
        fh.write(checked.model_dump_json() + "\n")
    return out, checked


def test_export_dpo_reads_a_runs_rejected_episodes_and_accounts_for_every_one(
    mixed_run: tuple[Path, Checked], accepted: list[Dialog], tmp_path: Path
) -> None:
    run, checked = mixed_run
    rejected_rows = rows(run, "rejected")
    report = export(run, tmp_path / "dpo", format="dpo")
    pairs = jsonl(tmp_path / "dpo" / "data.jsonl")

    (diverged,) = [p for p in pairs if p["origin"] == "diverged"]
    assert diverged == json.loads(json.dumps(rejected_pairs(checked.dialog, checked.failures)[0]))
    mutated = [p for d in accepted for p in preference_pairs(d)]
    assert report.categories == {"diverged": 1, "mutated": len(mutated)} and report.records == len(pairs) == len(mutated) + 1
    # every dialog read is accounted for: the accepted ones, then every rejected record
    assert report.read == len(accepted) + len(rejected_rows)
    no_mutated = sum(not preference_pairs(d) for d in accepted)
    assert report.left_out == ({"no_dpo_record": no_mutated} if no_mutated else {}) | {"rejected_no_dpo_record": len(rejected_rows) - 1}
    assert report.written + sum(report.left_out.values()) == report.read
    manifest = json.loads((tmp_path / "dpo" / "export.json").read_text())
    assert manifest["counts"]["read"] == report.read and manifest["counts"]["left_out"] == report.left_out
    (source,) = [d for d in manifest["dialogs"] if d["file"].startswith("rejected/")]
    assert source["id"] == checked.id and source["records"] == 1
    assert source["line"] == next(i for i, r in enumerate(rejected_rows, 1) if r["id"] == checked.id)
    assert pairs[source["first_record"]] == diverged
    # callforge train reads the file as preference pairs, the diverged one included
    data = read_train_data(tmp_path / "dpo")
    assert data.shape == "preference" and diverged["id"] in {e.id for e in data.examples}


def test_other_formats_still_read_only_the_accepted_records(mixed_run: tuple[Path, Checked], accepted: list[Dialog], tmp_path: Path) -> None:
    run, checked = mixed_run
    report = export(run, tmp_path / "openai", format="openai")
    assert report.read == report.written == len(accepted) and not report.left_out
    manifest = json.loads((tmp_path / "openai" / "export.json").read_text())
    assert all(d["file"].startswith("accepted/") for d in manifest["dialogs"])
    assert checked.id not in {r["id"] for r in jsonl(tmp_path / "openai" / "data.jsonl")}


def test_cli_export_dpo_writes_the_diverged_pairs(mixed_run: tuple[Path, Checked], tmp_path: Path) -> None:
    run, checked = mixed_run
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "callforge", "export", str(run), "--format", "dpo", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "diverged 1" in done.stdout and "rejected_no_dpo_record" in done.stdout, done.stdout
    (pair,) = [p for p in jsonl(out / "data.jsonl") if p["origin"] == "diverged"]
    assert pair["id"].startswith(f"{checked.id}:") and pair["code"] == "episode.state_mismatch"


def test_a_tool_withheld_until_a_later_turn_is_not_offered_in_the_pair(wrong: tuple[Checked, int]) -> None:
    checked, turn = wrong
    trace = checked.dialog.meta.episode
    assert trace is not None and "list_transactions" not in {c.name for c in trace.truth[turn]}

    def offered(late_from: int) -> set[str]:
        late = trace.model_copy(update={"late_tools": {str(late_from): ("list_transactions",)}})
        meta = checked.dialog.meta.model_copy(update={"episode": late})
        (pair,) = rejected_pairs(checked.dialog.model_copy(update={"meta": meta}), checked.failures)
        return {t["function"]["name"] for t in pair["tools"]}

    everything = {t.name for t in checked.dialog.tools}
    assert offered(turn + 1) == everything - {"list_transactions"}  # joins after the diverging turn
    assert offered(turn) == everything  # offered from the diverging turn on
