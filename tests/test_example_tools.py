"""The example tools in examples/tools: complete specs, chained sandboxed calls that keep their `returns`
promises, clear failures on bad input, and the same output for the same call, wherever it runs."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from callforge.core import ToolCall, Verdict
from callforge.execute import PythonEngine, error_payload
from callforge.tools import tools_from_functions, validator_for

TOOLS_DIR = Path(__file__).resolve().parents[1] / "examples" / "tools"
DOMAINS = ("travel", "finance", "shop", "calendar_tools")


def load(domain: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_tools_{domain}", TOOLS_DIR / f"{domain}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def public_functions(module: ModuleType) -> list[Callable[..., Any]]:
    return [
        value
        for name, value in vars(module).items()
        if inspect.isfunction(value) and not name.startswith("_") and value.__module__ == module.__name__
    ]


class Domain:
    """One example module: its tools as specs, a sandboxed engine, and every call made so far."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.module = load(name)
        self.tools = {tool.name: tool for tool in tools_from_functions(public_functions(self.module))}
        self.engine = PythonEngine(TOOLS_DIR / f"{name}.py")
        self.calls: list[tuple[ToolCall, Any]] = []

    def call(self, tool: str, /, **arguments: Any) -> Any:
        """Run a call in the sandbox; it must succeed and return what the tool's `returns` schema describes."""
        call = ToolCall(name=tool, arguments=arguments)
        observation = asyncio.run(self.engine.execute(call, self.tools[tool]))
        assert observation.ok, observation.verdict.message
        assert validator_for(self.tools[tool].returns or {})(observation.output) == [], observation.output
        self.calls.append((call, observation.output))
        return observation.output

    def assert_repeatable(self) -> None:
        """Every call made so far gives the same output again: in new sandboxes, and in this process
        (whose hash seed differs from the sandbox's fixed one)."""

        async def again() -> list[Any]:
            observations = await asyncio.gather(
                *(self.engine.execute(call, self.tools[call.name]) for call, _ in self.calls)
            )
            return [observation.output for observation in observations]

        for (call, output), repeated in zip(self.calls, asyncio.run(again()), strict=True):
            assert repeated == output, call
            assert getattr(self.module, call.name)(**call.arguments) == output, call
        self.calls.clear()


@pytest.fixture(scope="module")
def domains() -> dict[str, Domain]:
    return {name: Domain(name) for name in DOMAINS}


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize("name", DOMAINS)
def test_every_function_is_a_documented_tool_with_returns(domains: dict[str, Domain], name: str) -> None:
    domain = domains[name]
    assert 5 <= len(domain.tools) <= 8
    assert sorted(domain.tools) == sorted(domain.engine.functions)  # no stray imported routines
    for tool in domain.tools.values():
        summary, _, details = tool.description.partition("\n\n")
        assert summary.endswith(".") and details, f"{tool.name}: needs a summary line and a description"
        assert tool.source == "python"
        for parameter, schema in tool.properties.items():
            assert schema.get("description"), f"{tool.name}.{parameter} has no description"
        returns = tool.returns
        assert returns is not None and returns.get("description"), f"{tool.name} has no returns schema"
        variants = returns.get("anyOf", [returns])
        assert all(variant["type"] == "object" and variant["properties"] for variant in variants)


IMPORTS = """
import importlib.util, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.py")):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(sorted({name.split(".")[0] for name in sys.modules} & {"pydantic", "callforge", "socket", "ssl"}))
"""


def test_modules_import_only_light_packages() -> None:
    """The sandbox imports a module for every call, so it stays light: no pydantic (tens of ms a call),
    nothing of callforge, no networking."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS, str(TOOLS_DIR)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


CHAINS = [  # (domain, producer, output path, consumer, input path): an output feeds an input
    ("travel", "geocode", "latitude", "weather_forecast", "latitude"),
    ("travel", "geocode", "longitude", "search_hotels", "longitude"),
    ("travel", "geocode", "latitude", "find_airports", "latitude"),
    ("travel", "find_airports", "airports[].airport_code", "search_flights", "origin_airport_code"),
    ("travel", "find_airports", "airports[].airport_code", "search_flights", "destination_airport_code"),
    ("travel", "search_flights", "flights[].flight_id", "book_flight", "flight_id"),
    ("travel", "search_flights", "flights[].cabin", "book_flight", "cabin"),
    ("travel", "search_hotels", "hotels[].hotel_id", "book_hotel", "hotel_id"),
    ("finance", "lookup_symbol", "matches[].symbol", "get_stock_quote", "symbol"),
    ("finance", "lookup_symbol", "matches[].symbol", "get_price_history", "symbol"),
    ("finance", "lookup_symbol", "matches[].symbol", "portfolio_value", "holdings[].symbol"),
    ("finance", "portfolio_value", "positions[].symbol", "get_stock_quote", "symbol"),
    ("finance", "get_stock_quote", "price", "convert_currency", "amount"),
    ("finance", "get_stock_quote", "currency", "convert_currency", "from_currency"),
    ("shop", "search_products", "products[].product_id", "get_product_details", "product_id"),
    ("shop", "search_products", "products[].product_id", "estimate_shipping", "product_id"),
    ("shop", "list_orders", "orders[].order_id", "get_order_status", "order_id"),
    ("shop", "list_orders", "orders[].order_id", "cancel_order", "order_id"),
    ("shop", "get_order_status", "items[].product_id", "request_refund", "product_id"),
    ("shop", "get_order_status", "items[].product_id", "get_product_details", "product_id"),
    ("calendar_tools", "lookup_contact", "contacts[].email", "find_free_slots", "attendees[]"),
    ("calendar_tools", "lookup_contact", "contacts[].email", "create_event", "attendees[]"),
    ("calendar_tools", "lookup_contact", "contacts[].email", "send_email", "to[]"),
    ("calendar_tools", "find_free_slots", "slots[].start", "create_event", "start"),
    ("calendar_tools", "find_free_slots", "slots[].end", "create_event", "end"),
    ("calendar_tools", "list_events", "events[].event_id", "cancel_event", "event_id"),
    ("calendar_tools", "list_events", "events[].attendees[]", "send_email", "to[]"),
    ("calendar_tools", "list_events", "events[].attendees[]", "create_event", "attendees[]"),
    ("calendar_tools", "create_event", "event_id", "cancel_event", "event_id"),
]


def at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The sub-schema at `a[].b`-style path, looking through anyOf variants (optional values, error payloads)."""
    for part in path.split("."):
        key = part.removesuffix("[]")
        schema = next(v for v in schema.get("anyOf", [schema]) if key in v.get("properties", {}))
        schema = schema["properties"][key]
        if part.endswith("[]"):
            schema = next(v for v in schema.get("anyOf", [schema]) if v.get("type") == "array")["items"]
    return schema


@pytest.mark.parametrize(("name", "producer", "output", "consumer", "argument"), CHAINS)
def test_documented_chains_are_typed_alike(
    domains: dict[str, Domain], name: str, producer: str, output: str, consumer: str, argument: str
) -> None:
    tools = domains[name].tools
    produced = at(tools[producer].returns or {}, output)
    accepted = at(tools[consumer].parameters, argument)
    assert produced["type"] == accepted["type"]
    assert produced.get("enum") == accepted.get("enum")


# --------------------------------------------------------------------------- chained calls in the sandbox


def test_travel_chain(domains: dict[str, Domain]) -> None:
    travel = domains["travel"]
    place = travel.call("geocode", address="Champ de Mars, Paris")
    assert (place["name"], place["country_code"]) == ("Paris", "FR")
    where = {"latitude": place["latitude"], "longitude": place["longitude"]}

    forecast = travel.call("weather_forecast", **where, start_date="2025-07-14", days=5)
    assert [day["date"] for day in forecast["days"]] == [f"2025-07-{d}" for d in range(14, 19)]
    assert all(day["temperature_min"] <= day["temperature_max"] for day in forecast["days"])

    airports = travel.call("find_airports", **where)["airports"]
    assert {a["airport_code"] for a in airports} == {"CDG", "ORY"}

    search = travel.call(
        "search_flights",
        origin_airport_code=airports[0]["airport_code"],
        destination_airport_code="JFK",
        departure_date="2025-07-20",
        passengers=2,
    )
    flight = search["flights"][0]
    assert flight["total_price"] == pytest.approx(2 * flight["price_per_passenger"])
    travellers = [
        {"first_name": "Ada", "last_name": "Byron", "date_of_birth": "1985-12-10"},
        {"first_name": "Charles", "last_name": "Babbage", "date_of_birth": "1982-12-26"},
    ]
    booking = travel.call(
        "book_flight", flight_id=flight["flight_id"], passengers=travellers, contact_email="ada@example.com"
    )
    assert booking["flight"] == flight and booking["total_price"] == flight["total_price"]

    stay = {"check_in": "2025-07-14", "check_out": "2025-07-17"}
    hotels = travel.call("search_hotels", **where, **stay, max_price_per_night=250, sort_by="price")["hotels"]
    assert hotels and all(h["price_per_night"] <= 250 for h in hotels)
    assert [h["price_per_night"] for h in hotels] == sorted(h["price_per_night"] for h in hotels)
    hotel = hotels[0]
    room = travel.call(
        "book_hotel",
        hotel_id=hotel["hotel_id"],
        **stay,
        guest_name="Ada Byron",
        contact_email="ada@example.com",
    )
    assert (room["hotel_name"], room["nights"], room["total_price"]) == (
        hotel["name"],
        3,
        hotel["total_price"],
    )

    converted = travel.call("convert_units", value=100, from_unit="F", to_unit="C")
    assert converted["converted_value"] == pytest.approx(37.7778)
    travel.assert_repeatable()


def test_finance_chain(domains: dict[str, Domain]) -> None:
    finance = domains["finance"]
    symbol = finance.call("lookup_symbol", query="apple")["matches"][0]["symbol"]
    assert symbol == "AAPL"
    quote = finance.call("get_stock_quote", symbol=symbol)
    history = finance.call(
        "get_price_history",
        symbol=symbol,
        start_date="2025-12-01",
        end_date=quote["as_of"],
        interval="weekly",
    )
    assert history["prices"][-1]["close"] == quote["price"]
    assert history["prices"][-1]["date"] == quote["as_of"]

    portfolio = finance.call(
        "portfolio_value",
        holdings=[{"symbol": symbol, "shares": 10}, {"symbol": "SAP.DE", "shares": 4}],
        currency="EUR",
    )
    assert portfolio["total_value"] == pytest.approx(
        sum(p["value"] for p in portfolio["positions"]), abs=0.02
    )
    assert sum(p["weight_percent"] for p in portfolio["positions"]) == pytest.approx(100, abs=0.02)

    converted = finance.call(
        "convert_currency", amount=quote["price"] * 10, from_currency=quote["currency"], to_currency="EUR"
    )
    assert converted["converted_amount"] == pytest.approx(portfolio["positions"][0]["value"], abs=0.02)

    loan = finance.call("loan_payment", principal=300_000, annual_rate_percent=6.5, term_months=360)
    assert loan["monthly_payment"] == pytest.approx(1896.20, abs=0.01)
    assert len(loan["first_year"]) == 12

    savings = finance.call(
        "savings_projection", initial_deposit=1000, monthly_contribution=200, annual_rate_percent=0, years=2
    )
    assert savings["final_balance"] == pytest.approx(1000 + 24 * 200) and savings["total_interest"] == 0
    finance.assert_repeatable()


def test_shop_chain(domains: dict[str, Domain]) -> None:
    shop = domains["shop"]
    found = shop.call("search_products", query="wireless headphones", max_price=250)["products"]
    assert found and all(p["price"] <= 250 for p in found)
    product = shop.call("get_product_details", product_id=found[0]["product_id"])
    assert product["name"] == found[0]["name"] and product["specs"]
    shipping = shop.call(
        "estimate_shipping", product_id=product["product_id"], country_code="DE", postal_code="10115"
    )
    assert {o["method"] for o in shipping["options"]} == {"standard", "express"}  # no overnight abroad

    email = _customer_with_open_and_refundable_orders(shop.module)
    orders = shop.call("list_orders", customer_email=email)["orders"]
    statuses = {order["order_id"]: order["status"] for order in orders}
    details = {order_id: shop.call("get_order_status", order_id=order_id) for order_id in statuses}
    assert {order_id: order["status"] for order_id, order in details.items()} == statuses

    processing = next(o for o, s in statuses.items() if s == "processing")
    cancelled = shop.call("cancel_order", order_id=processing, reason="changed_mind")
    assert cancelled["status"] == "cancelled" and cancelled["refund_amount"] == details[processing]["total"]

    delivered = next(o for o, s in statuses.items() if s == "delivered" and _refundable(shop.module, o))
    item = details[delivered]["items"][0]
    refund = shop.call("request_refund", order_id=delivered, product_id=item["product_id"], reason="damaged")
    assert refund["amount"] == item["unit_price"] and refund["status"] == "approved"

    # The shop's rules answer with error payloads, which still match `returns`.
    refused = shop.call("cancel_order", order_id=delivered, reason="changed_mind")
    assert refused["order_status"] == "delivered" and error_payload(refused)
    not_yet = shop.call(
        "request_refund",
        order_id=processing,
        product_id=details[processing]["items"][0]["product_id"],
        reason="damaged",
    )
    assert "not delivered" in not_yet["error"]
    shop.assert_repeatable()


def _refundable(shop: ModuleType, order_id: str) -> bool:
    return "refund_id" in shop.request_refund(
        order_id, shop.get_order_status(order_id)["items"][0]["product_id"], "damaged"
    )


def _customer_with_open_and_refundable_orders(shop: ModuleType) -> str:
    """A customer whose orders include one to cancel and one to refund (found in-process, cheaply)."""
    for n in range(200):
        email = f"customer{n}@example.com"
        orders = shop.list_orders(email)["orders"]
        if any(o["status"] == "processing" for o in orders) and any(
            o["status"] == "delivered" and _refundable(shop, o["order_id"]) for o in orders
        ):
            return email
    raise AssertionError("no customer has both an open and a refundable order")


def test_calendar_chain(domains: dict[str, Domain]) -> None:
    calendar = domains["calendar_tools"]
    maya = calendar.call("lookup_contact", name="maya")["contacts"]
    assert [c["name"] for c in maya] == ["Maya Chen"]
    email = maya[0]["email"]

    slots = calendar.call("find_free_slots", date="2025-06-10", duration_minutes=60, attendees=[email])[
        "slots"
    ]
    assert slots
    event = calendar.call(
        "create_event",
        title="Roadmap review",
        start=slots[0]["start"],
        end=slots[0]["end"],
        attendees=[email],
    )
    assert event["conflicts"] == [] and event["invitations_sent"] == [email]

    events = calendar.call("list_events", start_date="2025-06-10", end_date="2025-06-10")["events"]
    assert events and all(e["start"].startswith("2025-06-10") for e in events)
    assert not any(e["start"] < slots[0]["end"] and e["end"] > slots[0]["start"] for e in events)
    meeting = next(e for e in events if e["attendees"])
    cancelled = calendar.call("cancel_event", event_id=meeting["event_id"])
    assert cancelled["notified"] == meeting["attendees"]
    assert calendar.call("cancel_event", event_id=event["event_id"], notify_attendees=False)["notified"] == []

    sent = calendar.call(
        "send_email",
        to=meeting["attendees"],
        subject=f"Cancelled: {meeting['title']}",
        body="Sorry, see you next week.",
    )
    assert sent["to"] == meeting["attendees"]
    calendar.assert_repeatable()


# --------------------------------------------------------------------------- bad input


BAD_CALLS = [  # (domain, tool, arguments, words the ValueError must say)
    ("travel", "geocode", {"address": "Atlantis"}, "no place matches 'Atlantis'"),
    (
        "travel",
        "weather_forecast",
        {"latitude": 48.9, "longitude": 2.35, "start_date": "14/07/2025"},
        "YYYY-MM-DD",
    ),
    (
        "travel",
        "weather_forecast",
        {"latitude": 95, "longitude": 2.35, "start_date": "2025-07-14"},
        "latitude must be between",
    ),
    (
        "travel",
        "search_flights",
        {"origin_airport_code": "CDG", "destination_airport_code": "XXX", "departure_date": "2025-07-20"},
        "not a known IATA",
    ),
    (
        "travel",
        "book_flight",
        {
            "flight_id": "CDG-JFK-20250720-99",
            "passengers": [{"first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01"}],
            "contact_email": "a@example.com",
        },
        "no flight",
    ),
    (
        "travel",
        "search_hotels",
        {"latitude": 48.9, "longitude": 2.35, "check_in": "2025-07-17", "check_out": "2025-07-14"},
        "must be after check_in",
    ),
    ("finance", "get_stock_quote", {"symbol": "ZZZZ"}, "unknown symbol"),
    (
        "finance",
        "convert_currency",
        {"amount": 10, "from_currency": "USD", "to_currency": "XAU"},
        "not supported",
    ),
    (
        "finance",
        "get_price_history",
        {"symbol": "AAPL", "start_date": "2025-03-01", "end_date": "2025-02-01"},
        "must not be before",
    ),
    (
        "finance",
        "loan_payment",
        {"principal": 1000, "annual_rate_percent": 5, "term_months": 0},
        "term_months must be between",
    ),
    ("shop", "get_order_status", {"order_id": "12-34"}, "malformed"),
    (
        "shop",
        "estimate_shipping",
        {"product_id": "P-1001", "country_code": "BR", "postal_code": "01310"},
        "does not ship",
    ),
    ("shop", "get_product_details", {"product_id": "P-9999"}, "no product has product_id"),
    ("calendar_tools", "cancel_event", {"event_id": "evt-20250610-0930-0000"}, "no event has event_id"),
    (
        "calendar_tools",
        "create_event",
        {"title": "Sync", "start": "2025-06-10T11:00", "end": "2025-06-10T10:00"},
        "must be after start",
    ),
    (
        "calendar_tools",
        "send_email",
        {"to": ["maya.chen"], "subject": "Hi", "body": "Hello"},
        "not an email address",
    ),
]


def test_bad_input_fails_with_the_reason(domains: dict[str, Domain]) -> None:
    async def run_all() -> list[Verdict]:
        observations = await asyncio.gather(
            *(
                domains[name].engine.execute(
                    ToolCall(name=tool, arguments=arguments), domains[name].tools[tool]
                )
                for name, tool, arguments, _ in BAD_CALLS
            )
        )
        return [observation.verdict for observation in observations]

    for (_, tool, _, words), verdict in zip(BAD_CALLS, asyncio.run(run_all()), strict=True):
        assert verdict.code == "exec.exception", verdict
        assert verdict.evidence["type"] == "ValueError"
        assert words in verdict.message, verdict.message
        assert verdict.message.startswith(f"{tool} raised ValueError: ")
