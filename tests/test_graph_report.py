"""Graph stats and DOT: counts worked out by hand on a small graph, limits on a big one, and DOT that Graphviz reads."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from callforge.core import ConfigError, ToolSpec
from callforge.tools import ToolGraph
from callforge.tools.graph_report import GraphStats, HubTool, graph_stats, to_dot
from callforge.tools.graph_shapes import count_chains, count_dags, count_fans, grow_dag, longest_chain


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


STR: dict[str, Any] = {"type": "string"}
NUM: dict[str, Any] = {"type": "number"}


def tool(name: str, params: dict[str, Any], returns: dict[str, Any] | None = None) -> ToolSpec:
    return ToolSpec(name=name, parameters=obj(**params), returns=returns, source="openai")


# a diamond (geocode → weather, air quality → advice), a chain of three, and three loners
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


def test_stats_of_a_small_graph() -> None:
    stats = graph_stats(GRAPH, top=3)
    assert stats == GraphStats(
        tools=10,
        data_edges=8,  # latitude and longitude twice, temperature, aqi, flight_id, booking_id
        domain_edges=3,  # the flight domain: search_flights, book_flight, get_flight_status
        domains=8,
        components=5,
        largest_component=4,
        roots=2,
        isolated=("get_flight_status", "tell_joke", "translate_text"),
        longest_chain=3,
        chains=9,  # 6 pairs and 3 paths of three
        fan_outs=1,  # geocode → weather, air quality
        fan_ins=1,  # weather, air quality → advice
        dags=3,  # that fan-out, that fan-in, and the whole diamond
        hubs=(
            HubTool(name="book_flight", domain="flight", feeds=1, fed_by=1),
            HubTool(name="geocode", domain="geocode", feeds=2, fed_by=0),
            HubTool(name="get_air_quality", domain="air", feeds=1, fed_by=1),
        ),
        threshold=0.6,
        hub_limit=5,
    )
    assert stats.model_dump(mode="json")["hubs"][0] == {
        "name": "book_flight",
        "domain": "flight",
        "feeds": 1,
        "fed_by": 1,
    }


def test_counts_agree_with_the_graph_queries() -> None:
    assert count_chains(GRAPH, (2, 3)) == (len(GRAPH.chains(3)), False)
    assert count_chains(GRAPH, (3, 3)) == (3, False)
    assert count_fans(GRAPH, 2, out=True) == 1 and count_fans(GRAPH, 3, out=False) == 0
    assert count_dags(GRAPH, (4, 5)) == (1, False)
    assert longest_chain(ToolGraph.build(TOOLS[7:])) == (1, False)
    for bad in ((2, 3), (4, 3)):
        with pytest.raises(ConfigError, match="sizes="):
            count_dags(GRAPH, bad)
    with pytest.raises(ConfigError, match="lengths="):
        count_chains(GRAPH, (1, 3))
    with pytest.raises(ConfigError, match="width=1"):
        count_fans(GRAPH, 1)
    with pytest.raises(ConfigError, match="size=2"):
        grow_dag(GRAPH, 2, random.Random(0))
    with pytest.raises(ConfigError, match="top=-1"):
        graph_stats(GRAPH, top=-1)


def ladder(n: int) -> ToolGraph:
    """n tools, each feeding the next two: many chains and DAGs, one long path."""
    tools = [
        tool(
            f"step_{i}", {f"in_{i}": STR, f"side_{i}": STR}, obj(**{f"in_{i + 1}": STR, f"side_{i + 2}": STR})
        )
        for i in range(n)
    ]
    return ToolGraph.build(tools)


def test_counts_stop_at_their_limits_and_say_so() -> None:
    graph = ladder(40)
    stats = graph_stats(graph, limit=50)
    assert stats.chains == 50 and stats.dags == 50
    assert stats.longest_chain == 10
    assert stats.capped == ("longest_chain", "chains", "dags")
    assert graph_stats(graph).capped == ("longest_chain",)


def test_dot_draws_data_edges_and_domain_clusters() -> None:
    dot = to_dot(GRAPH)
    assert dot.startswith('digraph "tools" {') and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    clusters = re.findall(r'subgraph cluster_\d+ \{\n    label="([^"]+)"; style=dashed', dot)
    assert clusters == ["flight"]  # one-tool domains get no box
    assert '    "get_flight_status";' in dot and '  "tell_joke";' in dot
    # one arrow per pair of tools, one label line per parameter
    assert dot.count(" -> ") == 6
    assert (
        '"geocode" -> "get_weather" [label="latitude → latitude (1.00)\\nlongitude → longitude (1.00)"];'
        in dot
    )
    assert '"search_flights" -> "book_flight" [label="flights[].flight_id → flight_id (1.00)"];' in dot
    flat = to_dot(GRAPH, clusters=False, name="pool")
    assert "subgraph" not in flat and flat.startswith('digraph "pool" {')
    for name in GRAPH.names:
        assert f'  "{name}";' in flat


def test_dot_escapes_quotes_and_backslashes() -> None:
    odd = ToolGraph.build(TOOLS[:2], domain_key=lambda t: 'say "hi" \\ bye')
    dot = to_dot(odd)
    assert 'label="say \\"hi\\" \\\\ bye";' in dot
