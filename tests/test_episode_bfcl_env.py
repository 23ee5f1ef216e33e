"""Episodes over BFCL's own simulators (`--env bfcl:GorillaFileSystem`): the spec, the judge and the exported set."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from callforge.core import ConfigError, DataError, Dialog, EpisodeTrace, Message, Provenance, ToolCall
from callforge.evaluate import check_end_state, check_multi_turn, dialog_output, load_multi_turn
from callforge.execute import EnvironmentSpec, parse_environment
from callforge.export.bfcl_multi_turn import write_bfcl_multi_turn
from callforge.generate import generate
from callforge.generate.episodes import EpisodeStage

pytest.importorskip("bfcl_eval", reason="BFCL's simulators come from the bfcl-eval package (make test installs it)")

INIT = {"GorillaFileSystem": {"root": {"alex": {"type": "directory", "contents": {}}}}}
TURNS = (
    ("Make a folder called docs, please.", (ToolCall(name="mkdir", arguments={"dir_name": "docs"}),)),
    (
        "Now go into docs and create notes.txt there.",
        (ToolCall(name="cd", arguments={"folder": "docs"}), ToolCall(name="touch", arguments={"file_name": "notes.txt"})),
    ),
)


def episode(spec: EnvironmentSpec, played: tuple[tuple[ToolCall, ...], ...]) -> Dialog:
    """A dialog whose assistant made `played` per turn, judged against the blueprint `TURNS`."""
    messages = [Message(role="system", content="You can use the file system tools.")]
    number = 0
    for (text, _), calls in zip(TURNS, played, strict=True):
        messages.append(Message(role="user", content=text))
        ided = tuple(c.model_copy(update={"id": f"call_{(number := number + 1)}"}) for c in calls)
        messages.append(Message(role="assistant", tool_calls=ided))
        messages += [Message(role="tool", tool_call_id=c.id, name=c.name, content="None") for c in ided]
        messages.append(Message(role="assistant", content="Done."))
    trace = EpisodeTrace(environment=spec.to_json(), truth=tuple(calls for _, calls in TURNS))
    return Dialog(tools=spec.build().tools, messages=tuple(messages), meta=Provenance(id="ep-1", episode=trace))


def test_the_spec_names_bfcl_simulators_and_round_trips() -> None:
    spec = parse_environment("bfcl:GorillaFileSystem,MathAPI", init=INIT)
    assert spec.kind == "bfcl" and spec.classes == ("GorillaFileSystem", "MathAPI") and spec.fillable
    assert EnvironmentSpec.from_json(spec.to_json(), Path("/"), "t") == spec
    names = {t.name for t in spec.build().tools}
    assert {"mkdir", "touch", "logarithm"} <= names
    with pytest.raises(ConfigError, match=r"unknown BFCL simulator.*FileSystem; the simulators are: GorillaFileSystem"):
        parse_environment("bfcl:FileSystem")
    with pytest.raises(ConfigError, match="names TwitterAPI, which the environment does not involve"):
        parse_environment("bfcl:GorillaFileSystem", init={"TwitterAPI": {}})
    with pytest.raises(DataError, match=r'"environment\.bfcl" must be a list'):
        EnvironmentSpec.from_json({"bfcl": "GorillaFileSystem"}, Path("/"), "t")


def test_long_context_loads_bfcls_filler_the_same_way_every_time() -> None:
    spec = parse_environment("bfcl:GorillaFileSystem", init=INIT)
    plain, filled = spec.build(), spec.with_long_context(3).build()
    assert not getattr(plain, "filled", True) and getattr(filled, "filled", False)
    listing = ToolCall(name="ls", arguments={})
    assert json.loads(str(plain.run(listing).output)) == {"current_directory_content": []}
    bulky = filled.run(listing).output
    assert len(json.loads(str(bulky))["current_directory_content"]) > 20
    assert spec.with_long_context(3).build().run(listing).output == bulky  # rebuilt: the same world
    assert spec.with_long_context(3).to_json()["long_context"] == 3


def test_an_episode_is_judged_by_the_simulators_end_state_and_exports_as_a_native_bfcl_entry(tmp_path: Path) -> None:
    spec = parse_environment("bfcl:GorillaFileSystem", init=INIT)
    right = episode(spec, tuple(calls for _, calls in TURNS))
    wrong = episode(spec, (TURNS[0][1], (TURNS[1][1][0], ToolCall(name="touch", arguments={"file_name": "note.txt"}))))
    assert asyncio.run(EpisodeStage(spec).check(right)).ok
    verdicts = asyncio.run(EpisodeStage(spec).check(wrong)).verdicts
    assert [v.evidence.get("diverged_turn") for v in verdicts if not v.ok] == [1]

    counts, skipped, ids = write_bfcl_multi_turn([right], tmp_path, spec)
    assert counts == {"multi_turn_base": 1} and not skipped and ids == ("multi_turn_base_0",)
    row = json.loads((tmp_path / "BFCL_v4_multi_turn_base.json").read_text())
    assert row["involved_classes"] == ["GorillaFileSystem"] and row["initial_config"] == INIT  # BFCL's own shape
    (entry,) = load_multi_turn(tmp_path)
    assert check_multi_turn(entry, dialog_output(right)).ok and check_end_state(entry, dialog_output(right)).ok
    assert not check_end_state(entry, dialog_output(wrong)).ok


def test_generate_runs_episodes_over_bfcl_simulators(tmp_path: Path) -> None:
    # fake:world plans and plays over the vehicle simulator: blueprints are proven on it and the
    # episodes it plays are judged by the simulator's end state, each record naming the bfcl world.
    generate(env="bfcl:VehicleControlAPI", model="fake:world", n=1, max_attempts=12, out=tmp_path / "run")
    rows = [json.loads(line) for f in (tmp_path / "run").glob("*/*.jsonl") for line in f.read_text().splitlines()]
    played = [r for r in rows if r["dialog"]["meta"].get("episode")]
    assert played
    assert all(r["dialog"]["meta"]["episode"]["environment"] == {"bfcl": ["VehicleControlAPI"]} for r in played)
    judged = {v["code"] for r in played for stage in r["stages"] if stage["stage"] == "episode" for v in stage["verdicts"]}
    assert judged & {"ok", "episode.state_mismatch", "episode.output_missing"}, judged
