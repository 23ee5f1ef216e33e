"""Difficulty: measured from a dialog alone, stored on what generate accepts, steered by --difficulty, ordered by --curriculum."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callforge.core import (
    LEVEL_CUTS,
    ConfigError,
    Dialog,
    Difficulty,
    DifficultyFeatures,
    Level,
    Message,
    Provenance,
    TargetAccuracy,
    ToolCall,
    ToolSpec,
    level_of,
)
from callforge.export import curriculum_order, export, source_histogram
from callforge.generate import generate
from callforge.generate.steer import KNOBS, steered_mix
from callforge.verify import difficulty_histogram, measure_difficulty
from callforge.verify.difficulty import difficulty_score

REPO = Path(__file__).resolve().parents[1]
TRAVEL = REPO / "examples" / "tools" / "travel.py"


def tool(name: str, required: list[str], optional: tuple[str, ...] = ()) -> ToolSpec:
    props = {p: {"type": "string"} for p in [*required, *optional]}
    return ToolSpec(name=name, description=f"{name} tool", parameters={"type": "object", "properties": props, "required": required})


SEARCH = tool("search_flights", ["origin", "destination"], ("cabin",))
BOOK = tool("book_flight", ["flight_id"])
HOTELS = tool("search_hotels", ["city"])
WEATHER = tool("get_weather", ["city"])


def call(name: str, id: str, **arguments: Any) -> ToolCall:
    return ToolCall(name=name, arguments=arguments, id=id)


def single() -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="What is the weather in Lisbon?"),
            Message(role="assistant", tool_calls=(call("get_weather", "c1", city="Lisbon"),)),
            Message(role="tool", tool_call_id="c1", content='{"temp": 21}'),
            Message(role="assistant", content="21 degrees."),
        ),
    )


def nested() -> Dialog:
    """Search, then book the flight the search found: one call fed by another's output, with look-alike distractors."""
    return Dialog(
        tools=(SEARCH, BOOK, HOTELS, tool("search_trains", ["origin"])),
        messages=(
            Message(role="user", content="Find me a flight from Paris to Tokyo in business and book the first one."),
            Message(
                role="assistant",
                tool_calls=(call("search_flights", "c1", origin="Paris", destination="Tokyo", cabin="business"),),
            ),
            Message(role="tool", tool_call_id="c1", content='{"flights": [{"flight_id": "FX-9031"}]}'),
            Message(role="assistant", tool_calls=(call("book_flight", "c2", flight_id="FX-9031"),)),
            Message(role="tool", tool_call_id="c2", content='{"booking": "B-77"}'),
            Message(role="assistant", content="Booked."),
        ),
    )


# -- measuring -------------------------------------------------------------------------------------


def test_a_single_call_is_easy_and_counts_what_it_has() -> None:
    measured = measure_difficulty(single())
    assert measured.features == DifficultyFeatures(calls=1, width=1, parameters=1, turns=1)
    assert measured.level is Level.EASY and 0 < measured.score < LEVEL_CUTS[0]


def test_a_fed_call_nests_and_look_alike_distractors_count() -> None:
    f = measure_difficulty(nested()).features
    assert (f.calls, f.depth, f.width) == (2, 1, 1)
    assert f.distractors == 2 and f.similarity > 0.3  # search_trains looks like search_flights
    assert (f.parameters, f.optional, f.implicit) == (4, 1, 0)
    assert measure_difficulty(nested()).score > measure_difficulty(single()).score


def test_values_the_user_never_states_are_implicit() -> None:
    dialog = single()
    inferred = dialog.model_copy(
        update={
            "messages": (
                Message(role="user", content="Is it warm in the Portuguese capital?"),
                Message(role="assistant", tool_calls=(call("get_weather", "c1", city="Lisbon"),)),
                *dialog.messages[2:],
            )
        }
    )
    assert measure_difficulty(inferred).features.implicit == 1
    assert measure_difficulty(dialog).features.implicit == 0


def test_parallel_width_and_turns() -> None:
    dialog = Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="Weather in Lisbon, Paris and Lima?"),
            Message(
                role="assistant",
                tool_calls=tuple(call("get_weather", f"c{i}", city=c) for i, c in enumerate(("Lisbon", "Paris", "Lima"))),
            ),
            *(Message(role="tool", tool_call_id=f"c{i}", content="{}") for i in range(3)),
            Message(role="assistant", content="Done."),
            Message(role="user", content="Thanks! And Tokyo?"),
            Message(role="assistant", tool_calls=(call("get_weather", "c9", city="Tokyo"),)),
        ),
    )
    f = measure_difficulty(dialog).features
    assert (f.calls, f.width, f.turns, f.depth) == (4, 3, 2, 0)


def test_score_saturates_and_levels_follow_the_cut_points() -> None:
    heavy = DifficultyFeatures(calls=9, depth=9, width=9, distractors=9, similarity=1, parameters=99, optional=9, turns=9, implicit=9)
    assert difficulty_score(heavy) == 1.0 and difficulty_score(DifficultyFeatures()) == 0.0
    low, high = LEVEL_CUTS
    assert level_of(low - 1e-6) is Level.EASY and level_of(low) is Level.MEDIUM and level_of(high) is Level.HARD
    assert Level.EASY.up() is Level.MEDIUM and Level.HARD.up() is Level.HARD


def test_difficulty_and_target_ride_on_the_provenance() -> None:
    measured = measure_difficulty(nested())
    meta = Provenance(id="x", difficulty=measured, target=TargetAccuracy(model="m", steps=4, correct=1))
    again = Provenance.model_validate(json.loads(json.dumps(meta.model_dump(mode="json"))))
    assert again.difficulty == measured and again.target is not None and again.target.accuracy == 0.25
    assert again.target.wrong == 3 and "extra" not in meta.model_dump(mode="json")


def test_histogram_counts_levels_and_target_accuracy() -> None:
    easy, hard = single(), nested()
    judged = hard.model_copy(update={"meta": Provenance(target=TargetAccuracy(model="m", steps=2, correct=1))})
    histogram = difficulty_histogram([easy, easy, judged])
    assert histogram.count("easy") == 2 and histogram.dialogs == 3
    level = measure_difficulty(hard).level
    assert histogram.to_dict()["target_accuracy"] == {str(level): 0.5}


# -- steering a generation run ---------------------------------------------------------------------


def test_steered_mix_keeps_every_kind_and_leans_by_level() -> None:
    from callforge.generate import DEFAULT_MIX

    easy, hard = steered_mix(DEFAULT_MIX, KNOBS[Level.EASY]), steered_mix(DEFAULT_MIX, KNOBS[Level.HARD])
    assert set(easy) == set(hard) == set(DEFAULT_MIX) and abs(sum(hard.values()) - 1) < 1e-9
    assert easy["single"] > hard["single"] and hard["nested"] > easy["nested"]


@pytest.fixture(scope="module")
def levelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("difficulty")
    runs = {}
    for level in ("easy", "hard"):
        out = root / level
        report = generate(tools=TRAVEL, n=16, out=out, model="fake:world", seed=2, difficulty=level, today="2026-01-01")
        assert report.complete, report.stop_reason
        runs[level] = out
    return runs


def accepted(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for shard in sorted((out / "accepted").glob("part-*.jsonl")) for line in shard.read_text().splitlines() if line]


def test_hard_runs_measure_harder_than_easy_runs(levelled: dict[str, Path]) -> None:
    scores = {}
    for level, out in levelled.items():
        rows = accepted(out)
        assert rows and all(Difficulty.model_validate(r["dialog"]["meta"]["difficulty"]) for r in rows)
        scores[level] = sum(r["dialog"]["meta"]["difficulty"]["score"] for r in rows) / len(rows)
        counts = json.loads((out / "manifest.json").read_text())["accounting"]["difficulty"]
        assert counts["easy"] + counts["medium"] + counts["hard"] == len(rows)
    assert scores["hard"] > scores["easy"] + 0.1, scores
    easy = json.loads((levelled["easy"] / "manifest.json").read_text())["accounting"]["difficulty"]
    hard = json.loads((levelled["hard"] / "manifest.json").read_text())["accounting"]["difficulty"]
    assert easy["easy"] > hard["easy"] and hard["hard"] > easy["hard"]


def test_easy_leaves_optional_values_out_and_hard_offers_more_distractors(levelled: dict[str, Path]) -> None:
    def features(out: Path, calling: bool = False) -> list[dict[str, Any]]:
        rows = [r for r in accepted(out) if not calling or r["dialog"]["meta"]["scenario"] not in ("no_call", "clarify")]
        return [r["dialog"]["meta"]["difficulty"]["features"] for r in rows]

    easy, hard = features(levelled["easy"]), features(levelled["hard"])
    assert all(f["optional"] == 0 for f in easy)
    assert max(f["distractors"] for f in features(levelled["easy"], calling=True)) <= 1  # no_call's own tools aside
    assert sum(f["distractors"] for f in hard) / len(hard) > sum(f["distractors"] for f in easy) / len(easy) + 1


def test_auto_needs_a_selection_and_env_takes_no_difficulty(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="focus=SELECTION"):
        generate(tools=TRAVEL, n=1, out=tmp_path / "a", model="fake:world", difficulty="auto")
    with pytest.raises(ConfigError, match="difficulty"):
        generate(tools=TRAVEL, n=1, out=tmp_path / "b", model="fake:world", difficulty="extreme")


# -- curriculum and the histogram of a run ---------------------------------------------------------


def test_curriculum_orders_easy_to_hard_and_is_stable_within_a_level(levelled: dict[str, Path], tmp_path: Path) -> None:
    report = export(levelled["hard"], tmp_path / "cur", format="openai", curriculum=True)
    manifest = json.loads((tmp_path / "cur" / "export.json").read_text())
    order = [d["id"] for d in manifest["dialogs"]]
    rows = {r["id"]: r["dialog"]["meta"]["difficulty"] for r in accepted(levelled["hard"])}
    ranks = [Level(rows[i]["level"]).rank for i in order]
    assert ranks == sorted(ranks) and len(set(ranks)) > 1 and report.written == len(rows)
    on_disk = [r["id"] for r in accepted(levelled["hard"])]
    for rank in set(ranks):  # within a level, the run's own order
        same = [i for i in order if Level(rows[i]["level"]).rank == rank]
        assert same == [i for i in on_disk if i in same]
    written = [json.loads(line) for line in (tmp_path / "cur" / "data.jsonl").read_text().splitlines()]
    assert len(written) == len(order)
    plain = curriculum_order([(single(), 1), (nested(), 2), (single(), 3)])
    assert [tag for _, tag in plain] == ([1, 3, 2] if measure_difficulty(nested()).level is not Level.EASY else [1, 2, 3])


def test_the_difficulty_verb_prints_the_histogram(levelled: dict[str, Path]) -> None:
    histogram = source_histogram(levelled["easy"])
    run = subprocess.run(
        [sys.executable, "-m", "callforge", "difficulty", str(levelled["easy"]), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == histogram.to_dict() and histogram.dialogs == 16
    shown = subprocess.run(
        [sys.executable, "-m", "callforge", "difficulty", str(levelled["easy"])], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert shown.returncode == 0 and "easy" in shown.stdout and "mean difficulty score" in shown.stdout
