"""Slot-aware rules (swapped pairs, missed parallel calls) and the useful-answer rule, on the defects issue 17 lists."""

from __future__ import annotations

import pytest

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.verify import RuleStage
from callforge.verify.rules.slots import role_of


def _tool(name: str, **props: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        parameters={"type": "object", "properties": {k: {"type": v} for k, v in props.items()}, "required": list(props)},
    )


FLIGHTS = _tool("search_flights", origin="string", destination="string")
CONVERT = _tool("convert_currency", amount="number", from_currency="string", to_currency="string")
HOTELS = _tool("search_hotels", city="string", check_in="string", check_out="string")
RANGE = _tool("list_events", start_date="string", end_date="string")
WEATHER = _tool("get_weather", city="string")
QUOTE = _tool("get_quote", symbol="string")


def _dialog(text: str, tools: tuple[ToolSpec, ...], *calls: ToolCall, outputs: tuple[str, ...] = (), answer: str | None = None) -> Dialog:
    numbered = tuple(c.model_copy(update={"id": f"c{i}"}) for i, c in enumerate(calls, 1))
    messages = [Message(role="user", content=text), Message(role="assistant", tool_calls=numbered)]
    messages += [Message(role="tool", tool_call_id=f"c{i}", content=o) for i, o in enumerate(outputs, 1)]
    if answer is not None:
        messages.append(Message(role="assistant", content=answer))
    return Dialog(tools=tools, messages=tuple(messages))


def _codes(dialog: Dialog) -> list[str]:
    return sorted(v.code for v in RuleStage().run(dialog))


def call(name: str, **arguments: object) -> ToolCall:
    return ToolCall(name=name, arguments=arguments)


@pytest.mark.parametrize(
    ("parameter", "role"),
    [
        ("origin", ("source", "")),
        ("destination_city", ("target", "city")),
        ("from_currency", ("source", "currency")),
        ("toCurrency", ("target", "currency")),
        ("start_date", ("source", "date")),
        ("end_date", ("target", "date")),
        ("city", None),
        ("topic", None),
    ],
)
def test_parameter_roles(parameter: str, role: tuple[str, str] | None) -> None:
    assert role_of(parameter) == role


SWAPPED = [
    ("flights from Oslo to Rome, origin and destination swapped",
     _dialog("Find flights from Oslo to Rome on Friday", (FLIGHTS,), call("search_flights", origin="Rome", destination="Oslo"))),
    ("currencies swapped",
     _dialog("Convert 100 USD to EUR please", (CONVERT,), call("convert_currency", amount=100, from_currency="EUR", to_currency="USD"))),
    ("destination stated first",
     _dialog("I need to get to Lisbon, leaving from Madrid", (FLIGHTS,), call("search_flights", origin="Lisbon", destination="Madrid"))),
    ("start date after the end date",
     _dialog("Events between 2026-07-01 and 2026-07-09", (RANGE,), call("list_events", start_date="2026-07-09", end_date="2026-07-01"))),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), SWAPPED, ids=[n for n, _ in SWAPPED])
def test_swapped_pairs_fail(name: str, dialog: Dialog) -> None:
    assert "arg.swapped" in _codes(dialog)


KEPT = [
    ("flights the right way round",
     _dialog("Find flights from Oslo to Rome on Friday", (FLIGHTS,), call("search_flights", origin="Oslo", destination="Rome"))),
    ("currencies the right way round",
     _dialog("Convert 100 USD to EUR please", (CONVERT,), call("convert_currency", amount=100, from_currency="USD", to_currency="EUR"))),
    ("no direction words: nothing to say",
     _dialog("Oslo Rome flights", (FLIGHTS,), call("search_flights", origin="Rome", destination="Oslo"))),
    ("dates in order",
     _dialog("Events between 2026-07-01 and 2026-07-09", (RANGE,), call("list_events", start_date="2026-07-01", end_date="2026-07-09"))),
    ("a city pair in one call covers both names",
     _dialog("Flights between Paris and London", (FLIGHTS,), call("search_flights", origin="Paris", destination="London"))),
    ("two cities, two calls",
     _dialog("Weather in Paris and London?", (WEATHER,), call("get_weather", city="Paris"), call("get_weather", city="London"))),
    ("a second question is not a list",
     _dialog("What's the weather in Paris? And I want to know more", (WEATHER,), call("get_weather", city="Paris"))),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), KEPT, ids=[n for n, _ in KEPT])
def test_right_calls_pass(name: str, dialog: Dialog) -> None:
    assert _codes(dialog) == []


def test_a_missed_parallel_call_fails_and_names_the_entity() -> None:
    dialog = _dialog("Weather in Paris, Rome and Oslo?", (WEATHER,), call("get_weather", city="Paris"), call("get_weather", city="Rome"))
    verdicts = [v for v in RuleStage().run(dialog) if v.code == "calls.missing_parallel"]
    assert [v.evidence["missing"] for v in verdicts] == ["Oslo"]
    assert "call get_weather once for each" in verdicts[0].message


@pytest.mark.parametrize(
    ("output", "answer", "useless"),
    [
        ('{"symbol": "AAPL", "price": 204.01}', "Thank you for the quote.", True),
        ('{"symbol": "AAPL", "price": 204.01}', "Apple (AAPL) last traded at 204.01 USD.", False),
        ('{"symbol": "AAPL", "price": 204.01}', 'Here it is: {"symbol": "AAPL", "price": 204.01}', True),
        ('{"symbol": "AAPL", "price": 204.01}', "<tool_response>price 204.01</tool_response>", True),
        ('{"symbol": "AAPL", "price": 204.01, "history": [201.5, 202.75]}', '{"symbol": "AAPL", "price": 204.01, "hist', True),
        ('{"symbol": "AAPL", "price": 204.01}', 'AAPL trades at 204.01 ({"price": 204.01} in the feed).', False),
        ('{"symbol": "AAPL", "price": 204.01}', "AAPL is at about 204.", False),
        ('{"error": "unknown symbol"}', "Sorry, that symbol is not listed.", False),
        ('{"ok": true, "id": "ORD-20931"}', "Done.", False),
    ],
)
def test_a_final_answer_must_pass_on_what_the_tools_returned(output: str, answer: str, useless: bool) -> None:
    dialog = _dialog("What is AAPL trading at?", (QUOTE,), call("get_quote", symbol="AAPL"), outputs=(output,), answer=answer)
    assert ("answer.useless" in _codes(dialog)) is useless, _codes(dialog)


AREA = _tool("circle_area", radius="number")


def test_a_listed_number_without_its_call_is_a_missed_parallel_call() -> None:
    missed = _dialog("Areas of circles with radius 5, 10 and 15 cm", (AREA,), call("circle_area", radius=5), call("circle_area", radius=10))
    verdicts = [v for v in RuleStage().run(missed) if v.code == "calls.missing_parallel"]
    assert [v.evidence["missing"] for v in verdicts] == ["15"]
    full = _dialog(
        "Areas of circles with radius 5, 10 and 15 cm", (AREA,),
        call("circle_area", radius=5), call("circle_area", radius=10), call("circle_area", radius=15),
    )  # fmt: skip
    assert _codes(full) == []
    ranged = _dialog("Events between 2026-07-01 and 2026-07-09", (RANGE,), call("list_events", start_date="2026-07-01", end_date="2026-07-09"))
    assert _codes(ranged) == []


COUNTRY = _tool("get_country_info", country_code="string")
FLIGHT_CLASS = _tool("search_flights", airline="string", seat_class="string")

MISSED_BY_NAME = [
    ("a country code for the first of two countries", "Capitals of Kenya and Peru?", (COUNTRY,), call("get_country_info", country_code="KE"), "Peru"),
    ("a ticker for the first of two companies", "Share prices of Apple and Microsoft", (QUOTE,), call("get_quote", symbol="AAPL"), "Microsoft"),
    ("a repeated preposition", "What's the weather in Rome and in Athens?", (WEATHER,), call("get_weather", city="Rome"), "Athens"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "tools", "made", "missing"), MISSED_BY_NAME, ids=[m[0] for m in MISSED_BY_NAME])
def test_a_sibling_of_the_name_a_code_stands_for_needs_its_own_call(
    name: str, text: str, tools: tuple[ToolSpec, ...], made: ToolCall, missing: str
) -> None:
    verdicts = [v for v in RuleStage().run(_dialog(text, tools, made)) if v.code == "calls.missing_parallel"]
    assert [v.evidence["missing"] for v in verdicts] == [missing]


def test_a_region_qualifies_a_place_and_another_preposition_starts_another_slot() -> None:
    both = _dialog("Capitals of Kenya and Peru?", (COUNTRY,), call("get_country_info", country_code="KE"), call("get_country_info", country_code="PE"))
    assert _codes(both) == []
    region = _dialog("Weather in Paris, France and in New York", (WEATHER,), call("get_weather", city="Paris"), call("get_weather", city="New York"))
    assert _codes(region) == []
    slots = _dialog("Flights with Lufthansa and in Economy", (FLIGHT_CLASS,), call("search_flights", airline="Lufthansa"))
    assert "calls.missing_parallel" not in _codes(slots)
    state = _dialog("Population of New York City, NY, and Los Angeles", (WEATHER,), call("get_weather", city="New York City"), call("get_weather", city="Los Angeles"))
    assert "calls.missing_parallel" not in _codes(state)
