"""Tool samplers: what one scenario uses, what it offers as distractors, and seed reproducibility."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from callforge.core import CallforgeError, ConfigError, SpecError, ToolSpec
from callforge.generate import Sampler, SamplingError, ToolSample
from callforge.generate.sample import (
    SAMPLER_NAMES,
    ChainSampler,
    DagSampler,
    DomainSampler,
    FanInSampler,
    FanOutSampler,
    MixedSampler,
    RandomSampler,
    domain_of,
    make_sampler,
)
from callforge.tools import ToolGraph


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


STR: dict[str, Any] = {"type": "string"}
NUM: dict[str, Any] = {"type": "number"}


def tool(
    name: str, params: dict[str, Any], returns: dict[str, Any] | None = None, source: str = "openai"
) -> ToolSpec:
    return ToolSpec(name=name, parameters=obj(**params), returns=returns, source=source)


TOOLS = (
    tool("geocode", {"address": STR}, obj(latitude=NUM, longitude=NUM)),
    tool("get_weather", {"latitude": NUM, "longitude": NUM}, obj(temperature=NUM)),
    tool("get_air_quality", {"latitude": NUM, "longitude": NUM}, obj(aqi=NUM)),
    tool("outdoor_advice", {"temperature": NUM, "aqi": NUM}),
    tool("search_flights", {"origin": STR}, obj(flights={"type": "array", "items": obj(flight_id=STR)})),
    tool("book_flight", {"flight_id": STR}, obj(booking_id=STR)),
    tool("cancel_booking", {"booking_id": STR}),
    tool("get_flight_status", {"flight_number": STR}),
    tool("tell_joke", {"topic": STR}),
    tool("translate_text", {"text": STR, "target_language": STR}),
)
GRAPH = ToolGraph.build(TOOLS)


def sampler(name: str, **options: Any) -> Sampler:
    return make_sampler(name, TOOLS, graph=GRAPH, **options)


# four domains of four tools each, named by their file
POOL = tuple(
    tool(f"{verb}_{domain}_{i}", {}, source=f"{domain}.py")
    for domain in ("travel", "finance", "shop", "calendar")
    for i, verb in enumerate(("get", "list", "create", "cancel"))
)


def draws(seed: int) -> list[Any]:
    """Samples of every kind, as plain data, for comparing runs."""
    rng = random.Random(seed)
    samplers = [sampler(n) for n in SAMPLER_NAMES] + [RandomSampler(POOL, k=(1, 3), distractors=(1, 4))]
    return [
        [s.names, [d.name for d in s.distractors]]
        for x in samplers
        for s in [x.sample(rng) for _ in range(20)]
    ]


def check(sample: ToolSample) -> None:
    used = {t.name for t in sample.tools}
    assert not used & {t.name for t in sample.distractors}
    assert len(used) == len(sample.tools)
    for a, b in zip(sample.names, sample.names[1:], strict=False):
        if sample.strategy == "chain":
            assert GRAPH.edges_between(a, b)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLER_NAMES), st.integers(min_value=0, max_value=2**64))
def test_any_seed_gives_a_valid_sample(name: str, seed: int) -> None:
    sample = sampler(name).sample(random.Random(seed))
    check(sample)
    assert 1 <= len(sample.distractors) <= 3
    if name in ("random", "domain"):
        assert 1 <= len(sample.tools) <= 3
        assert sample.chain == ()
    else:
        assert sample.strategy == name
        assert sample.chain
        assert {(e.source, e.target) for e in sample.chain} <= {(e.source, e.target) for e in GRAPH.edges}


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(SAMPLER_NAMES), st.integers(min_value=0, max_value=2**32))
def test_same_seed_same_samples(name: str, seed: int) -> None:
    a, b = random.Random(seed), random.Random(seed)
    first = [sampler(name).sample(a) for _ in range(5)]
    assert first == [sampler(name).sample(b) for _ in range(5)]


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_a_draw_depends_on_its_seed_alone(name: str) -> None:
    # a run resumed after a crash reseeds per record and reuses one sampler: history must not matter
    used = make_sampler(name, TOOLS, graph=GRAPH, length=(2, 6))
    for seed in range(30):
        used.sample(random.Random(seed * 7919))
    for seed in range(30):
        fresh = make_sampler(name, TOOLS, graph=GRAPH, length=(2, 6))
        assert used.sample(random.Random(seed)) == fresh.sample(random.Random(seed))


def test_seeds_vary_the_samples() -> None:
    draws = {sampler("random").sample(random.Random(seed)).names for seed in range(50)}
    assert len(draws) > 20


def test_same_seed_across_processes_and_hash_seeds() -> None:
    # str hashing (and so set order) changes per process: sampling must not depend on it
    script = (
        "import json, random, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_samplers import draws\n"
        "print(json.dumps(draws(7)))\n"
    )
    outputs = []
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True, timeout=120
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == outputs[2]


def test_chain_sampler_follows_the_graph() -> None:
    triples = {p for p in GRAPH.chains(3) if len(p) == 3}
    assert triples == {
        ("geocode", "get_air_quality", "outdoor_advice"),
        ("geocode", "get_weather", "outdoor_advice"),
        ("search_flights", "book_flight", "cancel_booking"),
    }
    chains = ChainSampler(GRAPH, length=3, distractors=0)
    samples = [chains.sample(random.Random(seed)) for seed in range(60)]
    assert {s.names for s in samples} == triples
    for sample in samples:
        assert sample.distractors == ()
        if sample.names[0] == "search_flights":
            assert [(e.source, e.target, e.output_path, e.parameter) for e in sample.chain] == [
                ("search_flights", "book_flight", "flights[].flight_id", "flight_id"),
                ("book_flight", "cancel_booking", "booking_id", "booking_id"),
            ]
    pairs = {ChainSampler(GRAPH, length=2).sample(random.Random(s)).names for s in range(100)}
    assert pairs == set(GRAPH.chains(2))


def test_chain_length_range_falls_back_to_what_exists() -> None:
    # no chain has 4 or 5 tools: a length drawn that high gives the longest there is
    lengths = {len(ChainSampler(GRAPH, length=(2, 5)).sample(random.Random(s)).tools) for s in range(60)}
    assert lengths == {2, 3}


def test_chain_edges_include_every_argument_passed() -> None:
    chains = ChainSampler(GRAPH, length=2)
    samples = [chains.sample(random.Random(seed)) for seed in range(60)]
    geocoded = [s for s in samples if s.names[0] == "geocode"]
    assert geocoded
    for sample in geocoded:
        assert {e.parameter for e in sample.chain} == {"latitude", "longitude"}
        assert {e.target for e in sample.chain} == {sample.names[1]}


def test_fan_out_and_fan_in() -> None:
    out = FanOutSampler(GRAPH).sample(random.Random(3))
    assert out.strategy == "fan_out"
    assert out.names[0] == "geocode"
    assert set(out.names[1:]) == {"get_weather", "get_air_quality"}
    assert {e.source for e in out.chain} == {"geocode"}
    assert len(out.chain) == 4  # latitude and longitude to each consumer
    fan_in = FanInSampler(GRAPH).sample(random.Random(3))
    assert fan_in.strategy == "fan_in"
    assert fan_in.names[-1] == "outdoor_advice"
    assert set(fan_in.names[:2]) == {"get_weather", "get_air_quality"}
    assert {(e.output_path, e.parameter) for e in fan_in.chain} == {
        ("temperature", "temperature"),
        ("aqi", "aqi"),
    }
    with pytest.raises(SamplingError, match="no tool takes results from 3 other tools"):
        FanInSampler(GRAPH, width=3)
    with pytest.raises(SamplingError, match="no tool's result feeds 3 other tools"):
        FanOutSampler(GRAPH, width=3)


def test_domain_sampler_stays_in_one_domain() -> None:
    domains = DomainSampler(TOOLS, k=2, distractors=0)
    for seed in range(30):
        sample = domains.sample(random.Random(seed))
        assert sample.strategy == "domain"
        assert len({domain_of(t) for t in sample.tools}) == 1
    by_file = DomainSampler(POOL, k=(2, 3), distractors=1)
    for seed in range(30):
        sample = by_file.sample(random.Random(seed))
        (domain,) = {t.source for t in sample.tools}
        assert sample.distractors[0].source == domain  # a 4-tool domain has one left to offer
    # four tools in no shared domain: k=2 falls back to a random draw and says so
    lonely = [tool("geocode", {}), tool("tell_joke", {}), tool("translate_text", {}), tool("get_time", {})]
    sample = DomainSampler(lonely, k=2).sample(random.Random(0))
    assert sample.strategy == "random"
    assert len(sample.tools) == 2


@pytest.mark.parametrize(
    ("name", "source", "domain"),
    [
        ("search_flights", "openai", "flight"),
        ("book_flight", "python", "flight"),
        ("get_current_flight_status", "openai", "flight"),
        ("get_book_details", "openai", "book"),
        ("spotify_play", "openai", "spotify"),
        ("geocode", "openai", "geocode"),
        ("getWeather", "openai", "weather"),
        ("math.factorial", "bfcl", "math"),
        ("github__create_issue", "mcp", "github"),
        ("anything", "examples/tools/travel.py:12", "travel"),
        ("anything", "catalog.json", "catalog"),
    ],
)
def test_domain_of(name: str, source: str, domain: str) -> None:
    assert domain_of(tool(name, {}, source=source)) == domain


def test_distractors_prefer_the_same_domain_then_near_names() -> None:
    distract = RandomSampler(TOOLS, k=1, distractors=2)
    for seed in range(40):
        sample = distract.sample(random.Random(seed))
        (used,) = sample.tools
        same = [t for t in TOOLS if t.name != used.name and domain_of(t) == domain_of(used)]
        picked_same = [d for d in sample.distractors if domain_of(d) == domain_of(used)]
        assert len(picked_same) == min(2, len(same))
        assert used.name not in {d.name for d in sample.distractors}
    # book_flight's domain is flight: search_flights and get_flight_status come before tell_joke
    flight = [
        t for t in TOOLS if t.name in ("book_flight", "search_flights", "get_flight_status", "tell_joke")
    ]
    picks = {d.name for s in range(20) for d in _only(flight, "book_flight", 2, s).distractors}
    assert picks == {"search_flights", "get_flight_status"}


def _only(tools: list[ToolSpec], used: str, n: int, seed: int) -> ToolSample:
    rng = random.Random(seed)
    while True:
        sample = RandomSampler(tools, k=1, distractors=n).sample(rng)
        if sample.names == (used,):
            return sample


def test_distractors_fall_back_to_nearest_names() -> None:
    tools = [
        tool("alpha_weather_report", {}),
        tool("bravo_weather_alerts", {}),
        tool("charlie_stock_price", {}),
    ]
    # every tool is its own domain (alpha, bravo, charlie): name similarity decides
    for seed in range(20):
        rng = random.Random(seed)
        sample = RandomSampler(tools, k=1, distractors=1).sample(rng)
        if sample.names == ("alpha_weather_report",):
            assert sample.distractors[0].name == "bravo_weather_alerts"


def test_distractor_count_is_configurable_and_bounded_by_the_pool() -> None:
    assert all(
        not RandomSampler(TOOLS, distractors=0).sample(random.Random(s)).distractors for s in range(10)
    )
    big = RandomSampler(TOOLS, k=3, distractors=50).sample(random.Random(1))
    assert len(big.tools) + len(big.distractors) == len(TOOLS)
    counts = {
        len(RandomSampler(TOOLS, k=1, distractors=(0, 2)).sample(random.Random(s)).distractors)
        for s in range(40)
    }
    assert counts == {0, 1, 2}


def test_sampling_errors_explain_the_fix() -> None:
    assert issubclass(SamplingError, CallforgeError)
    flat = [tool("tell_joke", {"topic": STR}), tool("translate_text", {"text": STR}, obj(translation=STR))]
    with pytest.raises(SamplingError) as info:
        make_sampler("chain", flat)
    message = str(info.value)
    assert "no chains" in message
    assert "only translate_text have one" in message
    assert "flights[].flight_id" in message
    assert "`random` or `domain` sampler" in message
    with pytest.raises(SamplingError, match="none of them has one"):
        make_sampler("fan_out", [tool("a", {}), tool("b", {})])
    with pytest.raises(SamplingError, match="no chain of 4 tools in the tool graph \\(the longest has 3\\)"):
        ChainSampler(GRAPH, length=(4, 5))
    with pytest.raises(SamplingError, match="the random sampler needs at least 2 tools, got 1"):
        RandomSampler(TOOLS[:1], k=2)
    with pytest.raises(SamplingError, match="the domain sampler needs at least 1 tool, got 0"):
        DomainSampler([])


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="unknown sampler 'graph'; use one of random, domain, chain"):
        make_sampler("graph", TOOLS)
    with pytest.raises(ConfigError, match=r"k=\(3, 1\)"):
        RandomSampler(TOOLS, k=(3, 1))
    with pytest.raises(ConfigError, match="length=1"):
        ChainSampler(GRAPH, length=1)
    with pytest.raises(ConfigError, match="distractors=-1"):
        RandomSampler(TOOLS, distractors=-1)
    with pytest.raises(SpecError, match="two tools are named 'geocode'"):
        RandomSampler([TOOLS[0], TOOLS[0]])


def test_k_range_is_capped_by_the_pool() -> None:
    sizes = {len(RandomSampler(TOOLS[:2], k=(1, 5)).sample(random.Random(s)).tools) for s in range(30)}
    assert sizes == {1, 2}


def test_make_sampler_builds_each_kind() -> None:
    kinds = {name: type(make_sampler(name, TOOLS)) for name in SAMPLER_NAMES}
    assert kinds == {
        "random": RandomSampler,
        "domain": DomainSampler,
        "chain": ChainSampler,
        "fan_out": FanOutSampler,
        "fan_in": FanInSampler,
        "dag": DagSampler,
    }
    assert all(isinstance(make_sampler(n, TOOLS), Sampler) for n in SAMPLER_NAMES)
    strict = make_sampler("chain", TOOLS, threshold=1.0)
    assert isinstance(strict, ChainSampler)
    assert strict.graph.threshold == 1.0


def test_tool_sample_checks_itself() -> None:
    geocode, weather = TOOLS[0], TOOLS[1]
    with pytest.raises(ValidationError, match="repeat within one sample: geocode"):
        ToolSample(tools=(geocode,), distractors=(geocode,), strategy="random")
    with pytest.raises(ValidationError, match="at least one tool"):
        ToolSample(tools=(), strategy="random")
    with pytest.raises(ValidationError, match="leaves the sampled tools"):
        ToolSample(tools=(weather,), chain=GRAPH.edges_from("geocode")[:1], strategy="chain")
    with pytest.raises(ValidationError, match="runs backwards: list tools in call order"):
        ToolSample(
            tools=(weather, geocode), chain=GRAPH.edges_between("geocode", "get_weather"), strategy="chain"
        )


DIAMOND = {"geocode", "get_weather", "get_air_quality", "outdoor_advice"}


def shape_of(sample: ToolSample) -> tuple[dict[str, int], dict[str, int]]:
    """Distinct successors and predecessors of each tool, within the sample."""
    pairs = {(e.source, e.target) for e in sample.chain}
    outs = {n: sum(1 for s, _ in pairs if s == n) for n in sample.names}
    ins = {n: sum(1 for _, t in pairs if t == n) for n in sample.names}
    return outs, ins


def test_dag_sampler_draws_forks_and_joins_in_call_order() -> None:
    dags = DagSampler(GRAPH, distractors=0)
    samples = [dags.sample(random.Random(seed)) for seed in range(80)]
    assert {len(s.tools) for s in samples} == {3, 4}  # no 5 tools are joined in this graph
    assert {frozenset(s.names) for s in samples if len(s.tools) == 4} == {frozenset(DIAMOND)}
    for sample in samples:
        assert sample.strategy == "dag" and set(sample.names) <= DIAMOND
        outs, ins = shape_of(sample)
        assert max(outs.values()) >= 2 or max(ins.values()) >= 2  # a plain path is the chain sampler's
        position = {n: i for i, n in enumerate(sample.names)}
        assert all(position[e.source] < position[e.target] for e in sample.chain)
        fed = [(e.target, e.parameter) for e in sample.chain]
        assert len(fed) == len(set(fed))  # one feeding edge per parameter
        assert all(e in GRAPH.edges for e in sample.chain)
        joined = {e.source for e in sample.chain} | {e.target for e in sample.chain}
        assert joined == set(sample.names)
    diamond = next(s for s in samples if len(s.tools) == 4)
    assert diamond.names[0] == "geocode" and diamond.names[-1] == "outdoor_advice"
    assert {(e.source, e.target) for e in diamond.chain} == {
        ("geocode", "get_weather"),
        ("geocode", "get_air_quality"),
        ("get_weather", "outdoor_advice"),
        ("get_air_quality", "outdoor_advice"),
    }
    # a size drawn bigger than any DAG gives the biggest there is
    assert {len(DagSampler(GRAPH, size=(4, 5)).sample(random.Random(s)).tools) for s in range(10)} == {4}


def test_dag_sampler_errors_say_what_is_missing() -> None:
    flights = [t for t in TOOLS if t.name in ("search_flights", "book_flight", "cancel_booking")]
    with pytest.raises(SamplingError, match=r"no DAG with a fork or a join.*use the chain sampler"):
        DagSampler(ToolGraph.build(flights))
    with pytest.raises(SamplingError, match=r"no DAG of 5 tools in the tool graph \(the largest has 4\)"):
        DagSampler(GRAPH, size=5)
    with pytest.raises(SamplingError, match="no DAGs: among 2 tools"):
        make_sampler("dag", [tool("a", {}), tool("b", {})])
    with pytest.raises(ConfigError, match="size=2"):
        DagSampler(GRAPH, size=2)


NEEDS = {
    "book_flight": {"flight_id"},
    "cancel_booking": {"booking_id"},
    "outdoor_advice": {"temperature", "aqi"},
}


def test_needs_are_fed_inside_every_sample() -> None:
    # a tool with needs never starts a sample, and the sample feeds every need of its tools
    for sampler_ in (
        ChainSampler(GRAPH, length=(2, 3), needs=NEEDS),
        FanOutSampler(GRAPH, needs=NEEDS),
        FanInSampler(GRAPH, needs=NEEDS),
        DagSampler(GRAPH, needs=NEEDS),
    ):
        for seed in range(40):
            sample = sampler_.sample(random.Random(seed))
            assert sample.names[0] not in NEEDS
            for name in sample.names:
                fed = {e.parameter for e in sample.chain if e.target == name}
                assert NEEDS.get(name, set()) <= fed, (sampler_, sample.names)
    # get_weather alone feeds no `aqi`: a chain ending at outdoor_advice needs three tools
    chains = {ChainSampler(GRAPH, length=2, needs=NEEDS).sample(random.Random(s)).names for s in range(60)}
    assert ("get_weather", "outdoor_advice") not in chains
    assert ("search_flights", "book_flight") in chains
    assert {FanInSampler(GRAPH, needs=NEEDS).sample(random.Random(s)).names[-1] for s in range(20)} == {
        "outdoor_advice"
    }
    # needs nothing can feed: the message says so rather than "no edges"
    starved = {**NEEDS, "geocode": {"address"}, "search_flights": {"origin"}}
    with pytest.raises(SamplingError, match="has every input it needs"):
        ChainSampler(GRAPH, needs=starved)
    with pytest.raises(SamplingError, match="has every input it needs"):
        FanOutSampler(GRAPH, needs=starved)


def test_needs_none_leaves_every_draw_as_it_was() -> None:
    for name in ("chain", "fan_out", "fan_in", "dag"):
        plain = make_sampler(name, TOOLS, graph=GRAPH)
        empty = type(plain)(GRAPH, needs={})  # type: ignore[call-arg]
        assert [plain.sample(random.Random(s)) for s in range(20)] == [
            empty.sample(random.Random(s)) for s in range(20)
        ]


def test_mixed_sampler_draws_each_by_weight() -> None:
    mixed = MixedSampler([(ChainSampler(GRAPH), 3.0), (DagSampler(GRAPH), 1.0), (FanInSampler(GRAPH), 0.0)])
    drawn = [mixed.sample(random.Random(seed)).strategy for seed in range(400)]
    assert set(drawn) == {"chain", "dag"}
    assert 250 < drawn.count("chain") < 350
    assert [mixed.sample(random.Random(5)) for _ in range(3)] == [mixed.sample(random.Random(5))] * 3
    with pytest.raises(ConfigError, match="at least one sampler"):
        MixedSampler([])
    with pytest.raises(ConfigError, match="non-negative weights"):
        MixedSampler([(ChainSampler(GRAPH), -1.0)])


def test_domain_of_moved_to_the_graph_and_is_still_importable_here() -> None:
    from callforge.generate import sample
    from callforge.tools import graph

    assert sample.domain_of is graph.domain_of and domain_of is graph.domain_of
    assert sample.DomainKey is graph.DomainKey
    declared = ToolSpec(name="search_flights", source="travel.py", domain="Airlines")
    assert domain_of(declared) == "airlines"  # a declared domain wins over the file and the name
