"""Nested and multi-turn scenarios on the tool graph: every shape is drawn, planned in call order, and played."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from callforge.execute import PythonEngine
from callforge.generate import generate
from callforge.generate.kinds import MultiTurn, Nested, PlanContext, needs, standalone
from callforge.generate.personas import draw_voice
from callforge.generate.planner import Planner
from callforge.generate.sample import (
    ChainSampler,
    DagSampler,
    DomainSampler,
    FanInSampler,
    FanOutSampler,
    ToolSample,
)
from callforge.tools import ToolGraph
from tests.gen_world import world_backend

REPO = Path(__file__).resolve().parents[1]

# A world whose graph has every shape, and whose tools reject any id they did not hand out:
# locate_region feeds get_forecast and find_venues, which both feed plan_outing (a diamond);
# pick_date and find_restaurants both feed book_table (a fan-in).
OUTING = '''
"""Outing planner: ids are checked, so only values read from earlier results pass."""

from typing_extensions import TypedDict


class Region(TypedDict):
    region_id: str


class Forecast(TypedDict):
    forecast_id: str
    summary: str


class Venue(TypedDict):
    venue_id: str
    label: str


class Venues(TypedDict):
    venues: list[Venue]


class Outing(TypedDict):
    outing_id: str


class Day(TypedDict):
    date_id: str


class Restaurant(TypedDict):
    restaurant_id: str


class Restaurants(TypedDict):
    restaurants: list[Restaurant]


class Table(TypedDict):
    table_id: str


def _need(value: str, prefix: str, name: str, source: str) -> None:
    if not value.startswith(prefix):
        raise ValueError(f"{name} {value!r} is unknown; use one that {source} returned")


def locate_region(place: str) -> Region:
    """Find the region a place is in.

    Args:
        place: A town or landmark.
    """
    return {"region_id": "R-" + place}


def get_forecast(region_id: str, days: int) -> Forecast:
    """Weather forecast for a region.

    Args:
        region_id: From locate_region.
        days: How many days ahead.
    """
    _need(region_id, "R-", "region_id", "locate_region")
    return {"forecast_id": f"F-{region_id[2:]}-{days}", "summary": "sunny"}


def find_venues(region_id: str, theme: str) -> Venues:
    """Venues in a region.

    Args:
        region_id: From locate_region.
        theme: What kind of venue.
    """
    _need(region_id, "R-", "region_id", "locate_region")
    return {"venues": [{"venue_id": f"V-{region_id[2:]}-{theme}", "label": theme.title()}]}


def plan_outing(forecast_id: str, venue_id: str, guests: int) -> Outing:
    """Plan an outing to a venue in the forecast weather.

    Args:
        forecast_id: From get_forecast.
        venue_id: From find_venues.
        guests: Number of people.
    """
    _need(forecast_id, "F-", "forecast_id", "get_forecast")
    _need(venue_id, "V-", "venue_id", "find_venues")
    return {"outing_id": f"O-{guests}"}


def pick_date(month: int) -> Day:
    """Pick a free date in a month.

    Args:
        month: Month number.
    """
    return {"date_id": f"D-{month}"}


def find_restaurants(cuisine: str) -> Restaurants:
    """Restaurants serving a cuisine.

    Args:
        cuisine: Kind of food.
    """
    return {"restaurants": [{"restaurant_id": "T-" + cuisine}]}


def book_table(restaurant_id: str, date_id: str, party: int) -> Table:
    """Book a table at a restaurant on a date.

    Args:
        restaurant_id: From find_restaurants.
        date_id: From pick_date.
        party: Number of people.
    """
    _need(restaurant_id, "T-", "restaurant_id", "find_restaurants")
    _need(date_id, "D-", "date_id", "pick_date")
    return {"table_id": f"B-{party}"}
'''


@pytest.fixture(scope="module")
def outing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("world") / "outing.py"
    path.write_text(OUTING)
    return path


@pytest.fixture(scope="module")
def world(outing: Path) -> tuple[PythonEngine, ToolGraph]:
    engine = PythonEngine(outing)
    return engine, ToolGraph.build(engine.describe())


def check(sample: ToolSample, graph: ToolGraph, wanted: dict[str, frozenset[str]]) -> None:
    """What every graph sample of a scenario kind must be: real edges, in call order, every need fed."""
    position = {n: i for i, n in enumerate(sample.names)}
    for edge in sample.chain:
        assert edge in graph.edges_between(edge.source, edge.target)
        assert position[edge.source] < position[edge.target]
    for name in sample.names:
        fed = {e.parameter for e in sample.chain if e.target == name}
        assert wanted.get(name, frozenset()) <= fed, (sample.strategy, sample.names, name)


def test_needs_are_the_required_ids_another_tool_returns(world: tuple[PythonEngine, ToolGraph]) -> None:
    engine, graph = world
    tools = engine.describe()
    assert needs(tools, graph) == {
        "book_table": frozenset({"restaurant_id", "date_id"}),
        "find_venues": frozenset({"region_id"}),
        "get_forecast": frozenset({"region_id"}),
        "plan_outing": frozenset({"forecast_id", "venue_id"}),
    }
    assert {t.name for t in standalone(tools, graph)} == {"locate_region", "pick_date", "find_restaurants"}


def test_nested_draws_every_shape_with_its_needs_fed(world: tuple[PythonEngine, ToolGraph]) -> None:
    engine, graph = world
    tools = engine.describe()
    sampler = Nested().sampler(tools, graph)
    samples = [sampler.sample(random.Random(seed)) for seed in range(200)]
    shapes = Counter(s.strategy for s in samples)
    assert set(shapes) == {"chain", "fan_out", "fan_in", "dag"}
    assert shapes["chain"] > shapes["dag"]  # weights 0.4 / 0.2 / 0.2 / 0.2
    wanted = needs(tools, graph)
    for sample in samples:
        check(sample, graph, wanted)
    # chains never reach plan_outing or book_table: one producer cannot feed both of their ids
    assert all(s.names[-1] in ("get_forecast", "find_venues") for s in samples if s.strategy == "chain")
    diamonds = {s.names for s in samples if s.strategy == "dag" and len(s.tools) == 4}
    assert (
        diamonds
        <= {
            ("locate_region", "get_forecast", "find_venues", "plan_outing"),
            ("locate_region", "find_venues", "get_forecast", "plan_outing"),
        }
        and diamonds
    )
    assert Nested(shapes={"dag": 1.0}).sampler(tools, graph).sample(random.Random(0)).strategy == "dag"


def test_nested_shapes_the_graph_lacks_are_left_out(tmp_path: Path) -> None:
    from callforge.core import ConfigError
    from callforge.execute import load_toolbox
    from callforge.generate.sample import SamplingError

    toolbox = load_toolbox([REPO / "tests" / "data" / "gen_tools.py"])  # one edge: search_hotels → book_hotel
    graph = ToolGraph.build(toolbox.tools)
    only_chains = Nested().sampler(toolbox.tools, graph)
    assert isinstance(only_chains, ChainSampler)
    with pytest.raises(SamplingError, match=r"no dependent calls in the tool graph: fan_out: .*; dag: "):
        Nested(shapes={"fan_out": 1.0, "dag": 1.0}).sampler(toolbox.tools, graph)
    with pytest.raises(ConfigError, match="unknown shape"):
        Nested(shapes={"star": 1.0}).sampler(toolbox.tools, graph)


def test_examples_nested_samples_start_at_standalone_tools() -> None:
    # what tests/test_generate.py::test_chains_start_at_a_tool_callable_on_its_own checks, for every shape
    from callforge.execute import load_toolbox

    examples = REPO / "examples" / "tools"
    toolbox = load_toolbox([examples / "calendar_tools.py", examples / "shop.py"])
    graph = ToolGraph.build(toolbox.tools)
    starts = {t.name for t in standalone(toolbox.tools, graph)}
    assert "cancel_event" not in starts and "get_order_status" not in starts
    wanted = needs(toolbox.tools, graph)
    sampler = Nested().sampler(toolbox.tools, graph)
    seen = Counter()
    for seed in range(60):
        sample = sampler.sample(random.Random(seed))
        seen[sample.strategy] += 1
        fed = {e.target for e in sample.chain}
        assert {n for n in sample.names if n not in fed} <= starts  # the calls a request starts with
        assert sample.tools[0].name in starts
        check(sample, graph, wanted)
    assert len(seen) >= 3


def plan(sampler: object, engine: PythonEngine, seed: int) -> tuple[ToolSample, object]:
    from callforge.generate.sample import Sampler

    assert isinstance(sampler, Sampler)
    rng = random.Random(seed)
    sample = sampler.sample(rng)
    planner = Planner(world_backend(), engine, today="2025-06-01")
    context = PlanContext(planner, rng, draw_voice(rng), seed)
    return sample, asyncio.run(Nested().plan(sample, context))


@pytest.mark.parametrize(
    ("make", "steps"),
    [
        (
            lambda g, w: FanOutSampler(g, needs=w, distractors=0),
            [["locate_region"], ["find_venues", "get_forecast"]],
        ),
        (
            lambda g, w: FanInSampler(g, needs=w, distractors=0),
            [["find_restaurants", "pick_date"], ["book_table"]],
        ),
        (
            lambda g, w: DagSampler(g, size=4, needs=w, distractors=0),
            [["locate_region"], ["find_venues", "get_forecast"], ["plan_outing"]],
        ),
    ],
    ids=["fan_out", "fan_in", "dag"],
)
def test_fans_and_dags_plan_in_steps_from_real_outputs(
    world: tuple[PythonEngine, ToolGraph], make: object, steps: list[list[str]]
) -> None:
    engine, graph = world
    sampler = make(graph, needs(engine.describe(), graph))  # type: ignore[operator]
    sample, made = plan(sampler, engine, seed=3)
    (turn,) = made.turns  # type: ignore[attr-defined]
    assert [sorted(c.name for c in step) for step in turn.steps] == steps  # independent calls go out together
    calls = {c.name: c for c in turn.calls}
    for edge in sample.chain:  # every fed argument is the producer's real output, and marked as such
        call = calls[edge.target]
        assert call.refs[edge.parameter] == edge.output_path
        assert str(call.arguments[edge.parameter]).startswith(("R-", "F-", "V-", "T-", "D-"))
    assert {c.name for c in turn.calls} == set(sample.names)


def test_multi_turn_prefers_a_chain_over_turns(world: tuple[PythonEngine, ToolGraph], tmp_path: Path) -> None:
    engine, graph = world
    tools = engine.describe()
    sampler = MultiTurn().sampler(tools, graph)
    assert isinstance(sampler, ChainSampler)
    wanted = needs(tools, graph)
    for seed in range(30):
        check(sampler.sample(random.Random(seed)), graph, wanted)
    lone = [t for t in tools if t.name in ("pick_date", "locate_region")]
    assert isinstance(MultiTurn().sampler(lone, ToolGraph.build(lone)), DomainSampler)


def test_generation_accepts_nested_dialogs_of_every_shape(outing: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    report = generate(tools=outing, n=16, out=out, model=world_backend(), mix="nested=1", seed=5, concurrency=4, max_attempts=60
    )
    assert report.accepted == 16
    rows = [
        json.loads(line)
        for shard in sorted((out / "accepted").glob("*.jsonl"))
        for line in shard.read_text().splitlines()
    ]
    shapes = Counter(r["dialog"]["meta"]["sampler"] for r in rows)
    assert len(shapes) >= 3, shapes
    for row in rows:
        steps = [m for m in row["dialog"]["messages"] if m["role"] == "assistant" and m.get("tool_calls")]
        assert len(steps) >= 2  # a dependent call waits for the output it uses


EMPTY_SEARCH = '''
from typing_extensions import TypedDict


class Hotel(TypedDict):
    hotel_id: str


class Hotels(TypedDict):
    hotels: list[Hotel]


class Booking(TypedDict):
    booking_id: str


def search_hotels(city: str, max_price: int) -> Hotels:
    """Hotels in a city under a nightly price; none under 50.

    Args:
        city: City name.
        max_price: Highest nightly price in euros.
    """
    return {"hotels": [{"hotel_id": f"H-{city}"}] if max_price >= 50 else []}


def book_hotel(hotel_id: str, nights: int) -> Booking:
    """Book a hotel found by search_hotels.

    Args:
        hotel_id: The id search_hotels returned.
        nights: Nights to stay.
    """
    return {"booking_id": f"B-{hotel_id}-{nights}"}
'''


def test_a_chain_whose_search_finds_nothing_is_planned_once_more_told_why(tmp_path: Path) -> None:
    from callforge.execute import load_toolbox
    from callforge.llm import FunctionBackend

    module = tmp_path / "hotels.py"
    module.write_text(EMPTY_SEARCH)
    toolbox = load_toolbox([module])
    graph = ToolGraph.build(toolbox.tools)
    prompts: list[str] = []

    def planner_model(request: Any) -> str:
        prompt = request.messages[-1].content or ""
        prompts.append(prompt)
        price = 80 if "finds something" in prompt else 10
        return json.dumps({"call_1": {"city": "Lima", "max_price": price}, "call_2": {"nights": 2}})

    rng = random.Random(4)
    sample = Nested().sampler(toolbox.tools, graph).sample(rng)
    assert [t.name for t in sample.tools] == ["search_hotels", "book_hotel"]
    engine = PythonEngine(module)
    context = PlanContext(Planner(FunctionBackend(planner_model), engine, today="2025-06-01"), rng, draw_voice(rng), 4)
    plan = asyncio.run(Nested().plan(sample, context))
    booked = [c for turn in plan.turns for step in turn.steps for c in step if c.name == "book_hotel"]
    assert booked and booked[0].arguments["hotel_id"] == "H-Lima"
    assert len(prompts) == 2 and "search_hotels gave no" in prompts[1]
