"""The tool graph: which tool's output feeds which tool's parameter, and how strongly."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from callforge.core import ConfigError, SpecError, ToolSpec
from callforge.tools import Edge, ToolGraph, tool_from_function
from callforge.tools.graph import DEFAULT_THRESHOLD, main_noun, name_similarity, type_compatibility


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


STR: dict[str, Any] = {"type": "string"}
NUM: dict[str, Any] = {"type": "number"}
INT: dict[str, Any] = {"type": "integer"}


def tool(name: str, params: dict[str, Any], returns: dict[str, Any] | None = None) -> ToolSpec:
    return ToolSpec(name=name, description=name, parameters=obj(**params), returns=returns)


GEOCODE = tool("geocode", {"address": STR}, obj(latitude=NUM, longitude=NUM, country_code=STR))
WEATHER = tool("get_weather", {"latitude": NUM, "longitude": NUM, "days": INT}, obj(temperature=NUM))
SEARCH = tool(
    "search_flights",
    {"origin": STR, "destination": STR},
    obj(flights=arr(obj(flight_id=STR, price=NUM, seats=arr(STR))), count=INT),
)
BOOK = tool("book_flight", {"flight_id": STR, "seat": STR})
JOKE = tool("tell_joke", {"topic": STR}, obj(joke=STR))
TOOLS = (GEOCODE, WEATHER, SEARCH, BOOK, JOKE)


@pytest.fixture(scope="module")
def graph() -> ToolGraph:
    return ToolGraph.build(TOOLS)


def test_edges_have_the_right_paths_and_scores(graph: ToolGraph) -> None:
    assert graph.edges == (
        Edge(source="geocode", target="get_weather", output_path="latitude", parameter="latitude", score=1.0),
        Edge(
            source="geocode", target="get_weather", output_path="longitude", parameter="longitude", score=1.0
        ),
        Edge(
            source="search_flights",
            target="book_flight",
            output_path="flights[].flight_id",
            parameter="flight_id",
            score=1.0,
        ),
    )


def test_queries(graph: ToolGraph) -> None:
    assert graph.edges_from("geocode") == graph.edges_to("get_weather") == graph.edges[:2]
    assert graph.edges_from("get_weather") == ()
    assert graph.edges_to("geocode") == ()
    assert graph.neighbors("geocode") == ("get_weather",)
    assert graph.neighbors("tell_joke") == ()
    assert graph.predecessors("book_flight") == ("search_flights",)
    assert graph.roots() == ("geocode", "search_flights")
    assert graph.chains() == (("geocode", "get_weather"), ("search_flights", "book_flight"))
    assert graph.chain_edges(("geocode", "get_weather")) == graph.edges[:2]
    assert graph.names == ("book_flight", "geocode", "get_weather", "search_flights", "tell_joke")
    assert graph.tool("geocode") is GEOCODE
    with pytest.raises(KeyError, match="no tool named 'nope'"):
        graph.edges_from("nope")
    with pytest.raises(ConfigError, match="no edge from 'get_weather' to 'geocode'"):
        graph.chain_edges(("get_weather", "geocode"))
    with pytest.raises(ConfigError, match="at least 2 tools"):
        graph.chains(1)


def test_no_edge_from_an_array_to_a_scalar(graph: ToolGraph) -> None:
    # `flights[].seats` is a list of strings named like `seat`: a list never fills one value
    assert not [e for e in graph.edges if e.parameter == "seat"]
    assert type_compatibility(arr(STR), STR) == 0
    assert type_compatibility(STR, arr(STR)) == 0
    lists = ToolGraph.build([tool("list_ids", {}, obj(ids=arr(STR))), tool("get_item", {"id": STR})])
    assert lists.edges == ()


def test_chains_of_three_and_longer_paths() -> None:
    hotels = tool("find_hotels", {"lat": NUM, "lon": NUM}, obj(hotels=arr(obj(hotel_id=STR, name=STR))))
    book = tool("book_hotel", {"hotel_id": STR, "nights": INT}, obj(booking_id=STR))
    cancel = tool("cancel_booking", {"booking_id": STR})
    graph = ToolGraph.build([GEOCODE, hotels, book, cancel, WEATHER])
    assert graph.chains(2) == (
        ("book_hotel", "cancel_booking"),
        ("find_hotels", "book_hotel"),
        ("geocode", "find_hotels"),
        ("geocode", "get_weather"),
    )
    assert graph.chains(4)[-2:] == (
        ("geocode", "find_hotels", "book_hotel"),
        ("geocode", "find_hotels", "book_hotel", "cancel_booking"),
    )
    # lat/lon are abbreviations of latitude/longitude: 0.8 each
    assert {(e.output_path, e.parameter, e.score) for e in graph.edges_between("geocode", "find_hotels")} == {
        ("latitude", "lat", 0.8),
        ("longitude", "lon", 0.8),
    }
    assert graph.neighbors("geocode") == ("find_hotels", "get_weather")


def test_no_self_loops() -> None:
    paged = tool("list_pages", {"cursor": STR}, obj(cursor=STR, pages=arr(STR)))
    assert ToolGraph.build([paged]).edges == ()


def test_nested_objects_and_array_root() -> None:
    lookup = tool("lookup_place", {"query": STR}, obj(place=obj(location=obj(lat=NUM, lng=NUM), city=STR)))
    near = tool("restaurants_near", {"location": obj(lat=NUM, lng=NUM), "city_name": STR})
    listing = tool("list_users", {}, arr(obj(id=INT, email=STR)))
    mail = tool("send_mail", {"email": STR, "user_id": INT})
    graph = ToolGraph.build([lookup, near, listing, mail])
    assert [(e.source, e.output_path, e.parameter, e.score) for e in graph.edges] == [
        ("list_users", "[].email", "email", 1.0),
        # `[].id` under list_users is qualified as `user_id`: equal after normalisation
        ("list_users", "[].id", "user_id", 0.95),
        ("lookup_place", "place.city", "city_name", 0.8),
        # an object output with shared properties feeds an object parameter: 0.9 × exact name
        ("lookup_place", "place.location", "location", 0.9),
    ]


def test_best_output_per_parameter_wins() -> None:
    source = tool("get_order", {}, obj(id=STR, order_id=STR))
    target = tool("refund_order", {"order_id": STR})
    (edge,) = ToolGraph.build([source, target]).edges
    assert (edge.output_path, edge.score) == ("order_id", 1.0)


def test_threshold() -> None:
    source = tool("get_city", {}, obj(city=STR))
    target = tool("get_population", {"city_name": STR})
    assert [e.score for e in ToolGraph.build([source, target]).edges] == [0.8]
    assert ToolGraph.build([source, target], threshold=0.85).edges == ()
    assert ToolGraph.build([source, target], threshold=0.8).edges != ()
    with pytest.raises(ConfigError, match=r"outside 0\.\.1"):
        ToolGraph.build([source], threshold=1.5)
    assert DEFAULT_THRESHOLD == 0.6


class Flight(BaseModel):
    flight_id: str
    price: float


class Flights(BaseModel):
    flights: list[Flight]


def test_python_functions_with_pydantic_return_types() -> None:
    def search_flights(origin: str, destination: str) -> Flights:
        """Find flights."""
        raise NotImplementedError

    def book_flight(flight_id: str, passengers: int = 1) -> dict[str, str]:
        """Book one flight."""
        raise NotImplementedError

    graph = ToolGraph.build([tool_from_function(search_flights), tool_from_function(book_flight)])
    assert [(e.output_path, e.parameter, e.score) for e in graph.edges] == [
        ("flights[].flight_id", "flight_id", 1.0)
    ]


def test_ref_optional_and_dialect_types() -> None:
    returns = {
        "type": "object",
        "properties": {"station": {"$ref": "#/$defs/Station"}, "note": {"anyOf": [STR, {"type": "null"}]}},
        "$defs": {"Station": obj(station_id={"type": "int"})},
    }
    source = tool("nearest_station", {}, returns)
    target = tool("station_info", {"station_id": NUM, "note": STR})
    edges = ToolGraph.build([source, target]).edges
    assert [(e.output_path, e.parameter, e.score) for e in edges] == [
        ("note", "note", 1.0),
        ("station.station_id", "station_id", 0.8),  # BFCL-style "int" → number: 0.8 × exact name
    ]


def test_type_compatibility_rules() -> None:
    assert type_compatibility(STR, STR) == 1.0
    assert type_compatibility(INT, NUM) == 0.8
    assert type_compatibility(NUM, INT) == 0.8
    assert type_compatibility(INT, STR) == 0
    assert type_compatibility(obj(a=STR, b=STR), obj(b=STR)) == 0.9
    assert type_compatibility(obj(a=STR), obj(c=STR)) == 0.5
    assert type_compatibility(obj(a=STR), STR) == 0
    assert type_compatibility({}, STR) == 0.3
    assert type_compatibility(STR, {"description": "anything"}) == 0.3
    assert type_compatibility(arr(INT), arr(NUM)) == 0.8
    assert type_compatibility(arr(STR), {"type": "array"}) == 0.3
    assert type_compatibility({"enum": ["a", "b"]}, STR) == 1.0
    assert type_compatibility({"type": ["integer", "null"]}, INT) == 1.0


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("flight_id", "flight_id", 1.0),
        ("flightId", "flight_id", 0.95),
        ("cities", "city", 0.95),
        ("flight_ids", "flight_id", 0.95),
        ("addresses", "address", 0.95),
        ("id", "flight_id", 0.8),
        ("city", "city_name", 0.8),
        ("latitude", "lat", 0.8),
        ("lng", "longitude", 0.8),
        ("temp", "temperature", 0.8),
        ("name_city", "city_name", 0.8),
        ("departure_city", "city_name", pytest.approx(1 / 3)),
        ("flight_id", "user_id", pytest.approx(1 / 3)),
        ("max_price_per_night", "price_per_night", 0.8),
        ("distance", "distance_km", 0.8),
        ("price", "max_price", 0.8),
        ("day_low", "days", pytest.approx(1 / 2)),  # a prefix followed by more than a name or unit
        ("guest_rating", "guests", pytest.approx(1 / 2)),
        ("price_per_passenger", "passenger", pytest.approx(1 / 3)),  # qualifiers must agree
        ("date_of_birth", "start_date", pytest.approx(1 / 4)),
        ("check_in", "check_out", pytest.approx(1 / 3)),
        ("car", "cart", 0.0),
        ("count", "country", 0.0),
        ("price", "flight_id", 0.0),
    ],
)
def test_name_similarity(a: str, b: str, expected: float) -> None:
    assert name_similarity(a, b) == expected
    assert name_similarity(b, a) == expected


def test_duplicate_names_and_foreign_edges_are_errors() -> None:
    with pytest.raises(SpecError, match="two tools are named 'geocode'"):
        ToolGraph.build([GEOCODE, GEOCODE])
    stray = Edge(source="geocode", target="ghost", output_path="latitude", parameter="x", score=1.0)
    with pytest.raises(ConfigError, match="'ghost', which is not among the tools"):
        ToolGraph(tools=(GEOCODE,), edges=(stray,))
    loop = stray.model_copy(update={"target": "geocode"})
    with pytest.raises(ConfigError, match="self-loop"):
        ToolGraph(tools=(GEOCODE,), edges=(loop,))


def test_records_are_frozen(graph: ToolGraph) -> None:
    with pytest.raises(ValidationError):
        graph.edges[0].score = 0.1


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_order_of_tools_does_not_matter(rng: random.Random) -> None:
    shuffled = list(TOOLS)
    rng.shuffle(shuffled)
    reference = ToolGraph.build(TOOLS)
    built = ToolGraph.build(shuffled)
    assert built.edges == reference.edges
    assert built.chains() == reference.chains()
    assert built.roots() == reference.roots()


_NAMES = st.sampled_from(
    ["id", "flight_id", "city", "city_name", "lat", "latitude", "price", "user_ids", "tags", "email", "count"]
)
_SCHEMAS = st.sampled_from([STR, NUM, INT, arr(STR), arr(obj(id=STR)), obj(id=STR), {}])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_NAMES, _SCHEMAS), min_size=1, max_size=4), st.lists(st.tuples(_NAMES, _SCHEMAS)))
def test_every_edge_is_above_threshold_typed_and_pointed(
    outputs: list[tuple[str, dict[str, Any]]], params: list[tuple[str, dict[str, Any]]]
) -> None:
    source = tool("producer", {}, obj(**dict(outputs)))
    target = tool("consumer", dict(params))
    graph = ToolGraph.build([source, target])
    for edge in graph.edges:
        assert (edge.source, edge.target) == ("producer", "consumer")
        assert DEFAULT_THRESHOLD <= edge.score <= 1.0
        assert edge.parameter in target.properties
        root = edge.output_path.split(".")[0].split("[")[0]
        assert root in source.returns["properties"]  # type: ignore[index]
    assert len({(e.target, e.parameter) for e in graph.edges}) == len(graph.edges)


def test_generic_names_are_read_in_context() -> None:
    airports = tool("find_airports", {"city": STR}, obj(airports=arr(obj(airport_code=STR, name=STR))))
    hotel = tool("book_hotel", {"guest_name": STR, "airport_code": STR})
    user = tool("get_user", {"id": STR})
    flights = tool("search_flights", {}, obj(flights=arr(obj(id=STR))))
    flight = tool("get_flight", {"id": STR})
    graph = ToolGraph.build([airports, hotel, user, flights, flight])
    # `airports[].name` is an airport's name, not a guest's; `flights[].id` is no user id
    assert [(e.source, e.target, e.output_path, e.parameter, e.score) for e in graph.edges] == [
        ("find_airports", "book_hotel", "airports[].airport_code", "airport_code", 1.0),
        ("search_flights", "get_flight", "flights[].id", "id", 0.95),
    ]


def test_echoed_arguments_are_no_dependency() -> None:
    geocode = tool("geocode", {"query": STR}, obj(query=STR, latitude=NUM))
    search = tool("search_products", {"query": STR})
    hotels = tool("search_hotels", {"latitude": NUM}, obj(hotels=arr(obj(hotel_id=STR, latitude=NUM))))
    weather = tool("get_weather", {"latitude": NUM})
    graph = ToolGraph.build([geocode, search, hotels, weather])
    assert [(e.source, e.target, e.output_path) for e in graph.edges] == [
        ("geocode", "get_weather", "latitude"),
        ("geocode", "search_hotels", "latitude"),
        # a field of an array item is new data even when an argument shares its name
        ("search_hotels", "get_weather", "hotels[].latitude"),
    ]


@pytest.mark.parametrize(
    ("name", "noun"),
    [
        ("search_flights", "flight"),
        ("get_current_flight_status", "flight"),
        ("get_book_details", "book"),
        ("geocode", "geocode"),
        ("getWeather", "weather"),
        ("list", "list"),
    ],
)
def test_main_noun(name: str, noun: str) -> None:
    assert main_noun(name) == noun


def test_many_tools_build_quickly() -> None:
    import time

    tools = [
        tool(
            f"get_thing_{i}",
            {f"thing_{i}_id": STR, "limit": INT},
            obj(**{f"thing_{i + 1}_id": STR, "total": INT}),
        )
        for i in range(1500)
    ]
    start = time.perf_counter()
    graph = ToolGraph.build(tools)
    assert time.perf_counter() - start < 20
    assert graph.edges_between("get_thing_3", "get_thing_4")[0].parameter == "thing_4_id"


_WORDS = st.sampled_from(
    [
        "id",
        "flight",
        "flights",
        "city",
        "name",
        "lat",
        "latitude",
        "lon",
        "price",
        "per",
        "night",
        "max",
        "user",
        "temp",
        "temperature",
        "code",
        "km",
        "distance",
        "date",
        "of",
        "birth",
        "check",
        "in",
        "total",
    ]
)
_FIELD = st.lists(_WORDS, min_size=1, max_size=4).map("_".join)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(_FIELD, st.lists(_FIELD, max_size=3), st.lists(_FIELD, max_size=3)), min_size=2, max_size=6
    ),
    st.sampled_from([0.0, 0.3, 0.6, 0.8, 0.95, 1.0]),
)
def test_the_word_index_misses_no_edge(
    specs: list[tuple[str, list[str], list[str]]], threshold: float
) -> None:
    from callforge.tools.graph import _outputs, _parameters, _score

    tools = []
    for i, (noun, params, outputs) in enumerate(specs):
        tools.append(
            tool(
                f"get_{noun}_{i}",
                dict.fromkeys(params, STR),
                obj(items=arr(obj(**dict.fromkeys(outputs, STR)))),
            )
        )
    expected = set()
    for a in tools:
        for b in tools:
            if a.name == b.name:
                continue
            for param in _parameters(b):
                scores = [(_score(o, param), o.path) for o in _outputs(a)]
                scores = [s for s in scores if s[0] > 0 and s[0] >= threshold]
                if scores:
                    expected.add((a.name, b.name, param.path, max(s for s, _ in scores)))
    built = {
        (e.source, e.target, e.parameter, e.score) for e in ToolGraph.build(tools, threshold=threshold).edges
    }
    assert built == expected


# --- same-domain edges ------------------------------------------------------------------------


def test_domains_are_kept_apart_from_data_edges() -> None:
    from callforge.tools.graph import DomainEdge, domain_of

    travel = [t.model_copy(update={"source": "travel.py"}) for t in (GEOCODE, WEATHER, SEARCH, BOOK)]
    joke = JOKE.model_copy(update={"domain": "Fun"})
    graph = ToolGraph.build([*travel, joke])
    assert graph.domains == {
        "fun": ("tell_joke",),
        "travel": ("book_flight", "geocode", "get_weather", "search_flights"),
    }
    assert graph.domain("tell_joke") == "fun" == domain_of(joke)
    assert graph.same_domain("geocode") == ("book_flight", "get_weather", "search_flights")
    assert graph.same_domain("tell_joke") == ()
    edges = graph.domain_edges()
    assert len(edges) == 6  # 4 travel tools: 4·3/2 pairs; a lone tool has none
    assert edges[0] == DomainEdge(a="book_flight", b="geocode", domain="travel")
    assert all(e.a < e.b for e in edges)
    # data edges are what they were: a shared domain adds no dataflow
    assert graph.edges == ToolGraph.build(TOOLS).edges
    assert graph.neighbors("book_flight") == ()
    graph.domains["travel"] = ()  # a copy
    assert graph.domain("geocode") == "travel"


def test_domain_key_is_pluggable() -> None:
    graph = ToolGraph.build(TOOLS, domain_key=lambda t: "flights" if "flight" in t.name else "other")
    assert graph.domains["flights"] == ("book_flight", "search_flights")
    assert ToolGraph(tools=TOOLS, edges=()).domain("geocode") == "geocode"  # domain_of by default


# --- pluggable name similarity ----------------------------------------------------------------


class Synonyms:
    """A deterministic stand-in for a model: every name is 1.0 to itself, pairs from a table, else 0."""

    def __init__(self, pairs: dict[frozenset[str], float]) -> None:
        self.pairs = pairs
        self.asked: list[tuple[str, str]] = []

    def __call__(self, a: str, b: str) -> float:
        self.asked.append((a, b))
        return self.pairs.get(frozenset((a, b)), 0.0)


def test_a_pluggable_scorer_replaces_name_similarity() -> None:
    town = tool("find_town", {"postcode": STR}, obj(town=STR, population=INT))
    weather = tool("get_weather", {"city": STR, "days": INT})
    assert ToolGraph.build([town, weather]).edges == ()  # no word in common: lexically unrelated
    scorer = Synonyms({frozenset(("town", "city")): 0.9, frozenset(("population", "days")): 0.99})
    graph = ToolGraph.build([town, weather], similarity=scorer)
    # edges are sorted by parameter: city before days; type compatibility is still the first factor
    assert [(e.output_path, e.parameter, e.score) for e in graph.edges] == [
        ("town", "city", 0.9),
        ("population", "days", 0.99),
    ]
    assert len(scorer.asked) == len(set(scorer.asked))  # each distinct pair once
    # a string never feeds an integer, whatever the scorer says
    assert ("town", "days") not in scorer.asked
    # values out of 0..1 are clamped; NaN is an error that names the pair
    loud = ToolGraph.build([town, weather], similarity=lambda a, b: 7.0)
    assert {e.score for e in loud.edges} == {1.0}
    with pytest.raises(ConfigError, match=r"gave NaN for 'population' and 'days'; it must return 0\.\.1"):
        ToolGraph.build([town, weather], similarity=lambda a, b: float("nan"))


def test_a_batch_scorer_is_prepared_with_every_name_once() -> None:
    prepared: list[list[str]] = []

    class Batch(Synonyms):
        def prepare(self, names: Any) -> None:
            prepared.append(list(names))

    ToolGraph.build(TOOLS, similarity=Batch({}))
    (names,) = prepared
    assert names == sorted(set(names))
    assert {"latitude", "flight_id", "origin", "topic"} <= set(names)


# --- hub damping --------------------------------------------------------------------------------


def test_parameters_that_many_tools_feed_are_damped() -> None:
    # a dozen bookings all return a currency: each "feeds" portfolio_value, none of them means it
    bookings = [
        tool(f"book_{k}", {"guest": STR}, obj(currency=STR, **{f"{k}_id": STR})) for k in "abcdefghijkl"
    ]
    value = tool("portfolio_value", {"currency": STR})
    cancel = tool("cancel_a", {"a_id": STR})
    tools = [*bookings, value, cancel]
    raw = ToolGraph.build(tools, hub_limit=None)
    assert len(raw.edges_to("portfolio_value")) == 12
    damped = ToolGraph.build(tools)  # auto: max(5, 2% of 14 tools) = 5; 1.0 × 5/12 = 0.42 < 0.6
    assert damped.hub_limit == 5
    assert damped.edges_to("portfolio_value") == ()
    assert damped.edges_to("cancel_a") == raw.edges_to("cancel_a")  # one feeder: untouched
    gentle = ToolGraph.build(tools, hub_limit=10)
    assert {e.score for e in gentle.edges_to("portfolio_value")} == {round(10 / 12, 4)}
    assert ToolGraph.build(tools, hub_limit=12).edges == raw.edges
    for bad in (0, -1, True, "all"):
        with pytest.raises(ConfigError, match="hub_limit="):
            ToolGraph.build(tools, hub_limit=bad)  # type: ignore[arg-type]
