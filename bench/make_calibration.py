"""Write the judge calibration set: hand-written tool-calling dialogs, half good and half with one known defect.

    .venv-dev/bin/python bench/make_calibration.py

The output, src/callforge/verify/judge/calibration.jsonl, holds one record per line, sorted by id:
`{"id", "label": "good" | "defect", "kind", "pair", "note", "dialog"}`. Every scenario below is a
pair: a GOOD dialog a careful annotator would keep, and its twin with exactly one defect of a named
kind, identical otherwise. The set measures how well a judge model tells them apart (precision and
recall per defect kind). All content is written here by hand; nothing is taken from a dataset.
Running the script again rewrites the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callforge.core import Dialog, Message, ToolCall, ToolSpec

OUT = Path(__file__).resolve().parent.parent / "src" / "callforge" / "verify" / "judge" / "calibration.jsonl"

# The "today" each dialog with a relative date states in its system message.
SAT = "Today is 2026-03-14 (Saturday)."
TUE = "Today is 2026-06-02 (Tuesday)."
WED = "Today is 2026-10-21 (Wednesday)."
FRI = "Today is 2026-01-09 (Friday)."
THU = "Today is 2026-05-07 (Thursday)."

# ---------------------------------------------------------------------------------------------
# Tool specs
# ---------------------------------------------------------------------------------------------


def _s(desc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": desc, **extra}


def _i(desc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "description": desc, **extra}


def _n(desc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "number", "description": desc, **extra}


def _e(desc: str, values: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "string", "enum": values, "description": desc, **extra}


def _out(**fields: str) -> dict[str, Any]:
    """A returns schema: an object whose fields have the given JSON types."""
    return {"type": "object", "properties": {k: {"type": v} for k, v in fields.items()}}


def _tool(
    name: str, description: str, props: dict[str, Any], required: list[str], returns: dict[str, Any]
) -> ToolSpec:
    parameters = {"type": "object", "properties": props, "required": required}
    return ToolSpec(name=name, description=description, parameters=parameters, returns=returns)


DATE = "Date as YYYY-MM-DD"
TIME = "Time as HH:MM on the 24-hour clock"
CURRENCY = "ISO 4217 currency code, e.g. 'USD'"
COUNTRY = "ISO 3166-1 alpha-2 country code, e.g. 'DE'"
TEMP_UNIT = ["celsius", "fahrenheit"]
UNITS = ["mm", "cm", "m", "km", "in", "ft", "yd", "mi", "g", "kg", "oz", "lb", "ml", "l", "cup", "gal"]

TOOL_LIST = [
    _tool(
        "get_weather",
        "Current weather conditions in a city.",
        {
            "city": _s("City name, e.g. 'Lisbon'"),
            "unit": _e("Temperature unit", TEMP_UNIT, default="celsius"),
        },
        ["city"],
        _out(
            city="string", temperature="number", unit="string", condition="string", humidity_percent="integer"
        ),
    ),
    _tool(
        "get_forecast",
        "Daily weather forecast for a city on a date up to 14 days ahead.",
        {
            "city": _s("City name, e.g. 'Lisbon'"),
            "date": _s("Forecast date as YYYY-MM-DD"),
            "unit": _e("Temperature unit", TEMP_UNIT, default="celsius"),
        },
        ["city", "date"],
        _out(city="string", date="string", high="number", low="number", condition="string"),
    ),
    _tool(
        "search_flights",
        "Search one-way flights between two airports on a date.",
        {
            "origin": _s("IATA code of the departure airport, e.g. 'LIS'"),
            "destination": _s("IATA code of the arrival airport, e.g. 'BER'"),
            "date": _s("Departure date as YYYY-MM-DD"),
            "passengers": _i("Number of passengers", minimum=1, default=1),
            "cabin": _e(
                "Cabin class", ["economy", "premium_economy", "business", "first"], default="economy"
            ),
        },
        ["origin", "destination", "date"],
        _out(flights="array"),
    ),
    _tool(
        "search_trains",
        "Search train connections between two cities or stations on a date.",
        {
            "origin": _s("Departure city or station"),
            "destination": _s("Arrival city or station"),
            "date": _s("Travel date as YYYY-MM-DD"),
            "depart_after": _s("Earliest departure time, HH:MM on the 24-hour clock"),
            "travel_class": _e("Seat class", ["standard", "first"], default="standard"),
        },
        ["origin", "destination", "date"],
        _out(connections="array"),
    ),
    _tool(
        "convert_currency",
        "Convert an amount of money from one currency to another at today's rate.",
        {
            "amount": _n("Amount to convert", minimum=0),
            "from_currency": _s(f"Currency of the amount: {CURRENCY}"),
            "to_currency": _s(f"Currency to convert into: {CURRENCY}"),
        },
        ["amount", "from_currency", "to_currency"],
        _out(
            amount="number", from_currency="string", to_currency="string", rate="number", converted="number"
        ),
    ),
    _tool(
        "get_exchange_rate",
        "Today's exchange rate: how many units of the quote currency one unit of the base currency buys.",
        {"base": _s(CURRENCY), "quote": _s(CURRENCY)},
        ["base", "quote"],
        _out(base="string", quote="string", rate="number"),
    ),
    _tool(
        "get_stock_quote",
        "Latest trade price of a listed stock.",
        {
            "symbol": _s(
                "Ticker symbol, e.g. 'AAPL'; non-US listings carry the exchange suffix, e.g. '7203.T'"
            )
        },
        ["symbol"],
        _out(symbol="string", price="number", currency="string", change_percent="number"),
    ),
    _tool(
        "send_email",
        "Send an email from the user's account.",
        {
            "to": _s("Recipient email address"),
            "subject": _s("Subject line"),
            "body": _s("Plain-text body"),
            "cc": _s("Optional address to copy in"),
        },
        ["to", "subject", "body"],
        _out(status="string", message_id="string"),
    ),
    _tool(
        "create_event",
        "Create an event in the user's calendar.",
        {
            "title": _s("Event title"),
            "date": _s(DATE),
            "start_time": _s(f"Start: {TIME}"),
            "end_time": _s(f"End: {TIME}"),
            "attendees": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Email addresses to invite",
            },
            "location": _s("Optional place of the event"),
        },
        ["title", "date", "start_time", "end_time"],
        _out(event_id="string", status="string"),
    ),
    _tool(
        "set_reminder",
        "Create a reminder that notifies the user at a given date and time.",
        {"text": _s("What to remind the user of"), "date": _s(DATE), "time": _s(TIME)},
        ["text", "date", "time"],
        _out(reminder_id="string", text="string", date="string", time="string"),
    ),
    _tool(
        "set_timer",
        "Start a countdown timer.",
        {
            "duration_seconds": _i("Length of the timer in seconds", minimum=1),
            "label": _s("Optional name shown when the timer rings"),
        },
        ["duration_seconds"],
        _out(timer_id="string", duration_seconds="integer", label="string"),
    ),
    _tool(
        "translate_text",
        "Translate text into another language.",
        {
            "text": _s("Text to translate"),
            "target_language": _s("ISO 639-1 code of the language to translate into, e.g. 'fr'"),
            "source_language": _s("ISO 639-1 code of the text's language; detected when omitted"),
        },
        ["text", "target_language"],
        _out(translation="string", detected_source_language="string"),
    ),
    _tool(
        "define_word",
        "Dictionary definitions of a single word.",
        {"word": _s("The word to look up"), "language": _s("ISO 639-1 code of the dictionary", default="en")},
        ["word"],
        _out(word="string", definitions="array"),
    ),
    _tool(
        "get_route",
        "Route between two places with distance and travel time.",
        {
            "origin": _s("Start address or place name"),
            "destination": _s("End address or place name"),
            "mode": _e("Travel mode", ["driving", "walking", "cycling", "transit"], default="driving"),
            "avoid_tolls": {
                "type": "boolean",
                "description": "Avoid toll roads (driving only)",
                "default": False,
            },
        },
        ["origin", "destination"],
        _out(distance_km="number", duration_minutes="integer", summary="string"),
    ),
    _tool(
        "search_recipes",
        "Search recipes by dish or ingredient.",
        {
            "query": _s("Dish or ingredient, e.g. 'lentil curry'"),
            "max_total_minutes": _i(
                "Longest acceptable preparation plus cooking time, in minutes", minimum=1
            ),
            "diet": _e("Dietary restriction", ["none", "vegetarian", "vegan", "gluten_free"], default="none"),
        },
        ["query"],
        _out(results="array"),
    ),
    _tool(
        "add_to_shopping_list",
        "Add an item to the user's shopping list.",
        {
            "item": _s("What to buy, e.g. 'eggs'"),
            "quantity": _n("How many units of the item", minimum=0, default=1),
            "unit": _e("Unit of the quantity", ["piece", "g", "kg", "ml", "l", "pack"], default="piece"),
        },
        ["item"],
        _out(item="string", quantity="number", unit="string", list_size="integer"),
    ),
    _tool(
        "search_hotels",
        "Find hotels with rooms available in a city for the given dates.",
        {
            "city": _s("City name"),
            "check_in": _s("Arrival date as YYYY-MM-DD"),
            "check_out": _s("Departure date as YYYY-MM-DD"),
            "guests": _i("Number of guests", minimum=1, default=1),
            "max_price_per_night": _n("Highest acceptable price per night, in the local currency"),
        },
        ["city", "check_in", "check_out"],
        _out(hotels="array"),
    ),
    _tool(
        "book_hotel",
        "Book a room at a hotel, by the hotel id that search_hotels returns.",
        {
            "hotel_id": _s("Hotel id, e.g. 'H-4471'"),
            "check_in": _s("Arrival date as YYYY-MM-DD"),
            "check_out": _s("Departure date as YYYY-MM-DD"),
            "guests": _i("Number of guests", minimum=1, default=1),
            "rooms": _i("Number of rooms", minimum=1, default=1),
        },
        ["hotel_id", "check_in", "check_out"],
        _out(
            confirmation="string",
            hotel_name="string",
            total_price="number",
            currency="string",
            nights="integer",
        ),
    ),
    _tool(
        "convert_units",
        "Convert a quantity between units of length, mass or volume (US cups and gallons).",
        {
            "value": _n("The quantity to convert"),
            "from_unit": _e("Unit of the value", UNITS),
            "to_unit": _e("Target unit", UNITS),
        },
        ["value", "from_unit", "to_unit"],
        _out(value="number", unit="string"),
    ),
    _tool(
        "search_restaurants",
        "Find restaurants in a city.",
        {
            "city": _s("City name"),
            "cuisine": _s("Cuisine, e.g. 'thai'"),
            "price_level": _i("Price level from 1 (cheap) to 4 (very expensive)", minimum=1, maximum=4),
            "open_now": {
                "type": "boolean",
                "description": "Only places open at this moment",
                "default": False,
            },
        },
        ["city"],
        _out(restaurants="array"),
    ),
    _tool(
        "track_package",
        "Current status of a parcel shipment.",
        {"tracking_number": _s("Tracking number"), "carrier": _e("Carrier", ["ups", "fedex", "dhl", "usps"])},
        ["tracking_number", "carrier"],
        _out(tracking_number="string", status="string", last_location="string", estimated_delivery="string"),
    ),
    _tool(
        "get_country_info",
        "Facts about a country: capital, population, currency and official languages.",
        {"country_code": _s(COUNTRY)},
        ["country_code"],
        _out(
            name="string", capital="string", population="integer", currency_code="string", languages="array"
        ),
    ),
    _tool(
        "get_local_time",
        "Current local time in a city.",
        {"city": _s("City name")},
        ["city"],
        _out(city="string", local_time="string", timezone="string", utc_offset="string"),
    ),
    _tool(
        "search_news",
        "Search recent news articles.",
        {
            "query": _s("Search terms"),
            "language": _s("ISO 639-1 code of the articles' language", default="en"),
            "from_date": _s("Only articles published on or after this date, YYYY-MM-DD"),
        },
        ["query"],
        _out(articles="array"),
    ),
    _tool(
        "get_public_holidays",
        "Public holidays of a country in a year, optionally in one month only.",
        {
            "country_code": _s(COUNTRY),
            "year": _i("Four-digit year"),
            "month": _i("Month number, 1-12", minimum=1, maximum=12),
        },
        ["country_code", "year"],
        _out(holidays="array"),
    ),
    _tool(
        "split_bill",
        "Split a bill evenly between people, with an optional tip.",
        {
            "total": _n("Bill total before the tip", minimum=0),
            "people": _i("Number of people paying", minimum=1),
            "tip_percent": _n(
                "Tip as a percentage of the total, e.g. 15 for 15%", minimum=0, maximum=100, default=0
            ),
        },
        ["total", "people"],
        _out(total_with_tip="number", tip="number", per_person="number"),
    ),
    _tool(
        "get_showtimes",
        "Cinema showtimes of a film in a city on a date.",
        {"city": _s("City name"), "movie": _s("Film title"), "date": _s(DATE)},
        ["city", "movie", "date"],
        _out(showtimes="array"),
    ),
    _tool(
        "get_air_quality",
        "Current air quality index (US AQI) in a city.",
        {"city": _s("City name")},
        ["city"],
        _out(city="string", aqi="integer", category="string", main_pollutant="string"),
    ),
    _tool(
        "set_thermostat",
        "Set the target temperature of a smart thermostat.",
        {
            "temperature": _n("Target temperature"),
            "unit": _e("Unit of the temperature", TEMP_UNIT),
            "room": _s("Room or zone, e.g. 'living room'"),
        },
        ["temperature", "unit"],
        _out(room="string", target="number", unit="string", status="string"),
    ),
]
TOOLS = {t.name: t for t in TOOL_LIST}

# ---------------------------------------------------------------------------------------------
# Building dialogs
# ---------------------------------------------------------------------------------------------

Call = tuple[str, dict[str, Any], Any]  # tool name, arguments, the output the tool returned
Step = Call | list[Call]  # one call, or several made at once (parallel)


def compact(value: Any) -> str:
    """Compact JSON, as a tool's output is written into its message."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def c(name: str, args: dict[str, Any], output: Any) -> Call:
    """One tool call with the output it got."""
    return (name, args, output)


def build_dialog(
    tools: list[str], user: str, answer: str, steps: list[Step] | None = None, system: str | None = None
) -> Dialog:
    """System (optional), user, one assistant message per step with its tool replies, then the answer."""
    messages = [Message(role="system", content=system)] if system else []
    messages.append(Message(role="user", content=user))
    n = 0
    for step in steps or []:
        calls = step if isinstance(step, list) else [step]
        made = []
        for name, args, _ in calls:
            n += 1
            made.append(ToolCall(id=f"call_{n}", name=name, arguments=args))
        messages.append(Message(role="assistant", tool_calls=tuple(made)))
        for call, (_, _, output) in zip(made, calls, strict=True):
            messages.append(Message(role="tool", tool_call_id=call.id, content=compact(output)))
    messages.append(Message(role="assistant", content=answer))
    return Dialog(tools=tuple(TOOLS[t] for t in tools), messages=tuple(messages))


# Rows of tool outputs that recur, so that each stays on one line below.


def flight(
    number: str, departure: str, arrival: str, price: float, currency: str, stops: int = 0
) -> dict[str, Any]:
    """One row of search_flights' output."""
    return {
        "flight_number": number,
        "departure": departure,
        "arrival": arrival,
        "stops": stops,
        "price_per_passenger": price,
        "currency": currency,
    }


def train(
    name: str, departure: str, arrival: str, price: float, currency: str, changes: int = 0
) -> dict[str, Any]:
    """One row of search_trains' output."""
    return {
        "train": name,
        "departure": departure,
        "arrival": arrival,
        "changes": changes,
        "price": price,
        "currency": currency,
    }


def hotel(hotel_id: str, name: str, price: float, currency: str, rating: float) -> dict[str, Any]:
    """One row of search_hotels' output."""
    return {
        "hotel_id": hotel_id,
        "name": name,
        "price_per_night": price,
        "currency": currency,
        "rating": rating,
    }


def restaurant(name: str, rating: float, price_level: int, open_now: bool, address: str) -> dict[str, Any]:
    """One row of search_restaurants' output."""
    return {
        "name": name,
        "rating": rating,
        "price_level": price_level,
        "open_now": open_now,
        "address": address,
    }


def current(
    city: str, temperature: int, condition: str, humidity: int, unit: str = "celsius"
) -> dict[str, Any]:
    """get_weather's output."""
    return {
        "city": city,
        "temperature": temperature,
        "unit": unit,
        "condition": condition,
        "humidity_percent": humidity,
    }


def forecast(city: str, date: str, high: int, low: int, condition: str, rain: int) -> dict[str, Any]:
    """get_forecast's output, in Celsius; `rain` is the chance of precipitation in percent."""
    return {
        "city": city,
        "date": date,
        "high": high,
        "low": low,
        "unit": "celsius",
        "condition": condition,
        "precipitation_chance_percent": rain,
    }


@dataclass(frozen=True)
class Pair:
    """A good dialog and its twin with one defect: `twin` lists only the fields that change."""

    pair: str
    kind: str
    good: str
    bad: str
    base: dict[str, Any]
    twin: dict[str, Any] = field(default_factory=dict)


def P(pair: str, kind: str, good: str, bad: str, base: dict[str, Any], **twin: Any) -> Pair:
    """Shorthand for one scenario entry."""
    return Pair(pair, kind, good, bad, base, twin)


def _record(rid: str, label: str, kind: str, pair: str, note: str, dialog: Dialog) -> dict[str, Any]:
    dumped = dialog.model_dump(mode="json", exclude_defaults=True)
    return {"id": rid, "label": label, "kind": kind, "pair": pair, "note": note, "dialog": dumped}


def build_records() -> list[dict[str, Any]]:
    """Every record of the calibration set, sorted by id."""
    records = []
    for p in PAIRS:
        records.append(_record(f"{p.pair}-good", "good", "good", p.pair, p.good, build_dialog(**p.base)))
        twin = build_dialog(**{**p.base, **p.twin})
        records.append(_record(f"{p.pair}-{p.kind}", "defect", p.kind, p.pair, p.bad, twin))
    return sorted(records, key=lambda r: r["id"])


def main() -> None:
    """Write the calibration file and say how many records it holds."""
    records = build_records()
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(records)} records to {OUT}")


# ---------------------------------------------------------------------------------------------
# Scenarios, grouped by the defect their twin carries
# ---------------------------------------------------------------------------------------------

PAIRS: list[Pair] = []

# --- misread_value: a value from the request reaches the call in the wrong form or magnitude ---
PAIRS += [
    P(
        "flight-01",
        "misread_value",
        "Lisbon and Berlin become the IATA codes LIS and BER, and 'two of us' means 2 passengers.",
        "date misread: the user asked for 2026-07-01 but the search uses 2026-01-07 (month and day flipped).",
        dict(
            tools=["search_flights", "search_hotels"],
            user="Can you find flights from Lisbon to Berlin on 2026-07-01? There will be two of us.",
            steps=[
                c(
                    "search_flights",
                    {"origin": "LIS", "destination": "BER", "date": "2026-07-01", "passengers": 2},
                    {
                        "flights": [
                            flight("TP 538", "2026-07-01T06:55", "2026-07-01T11:20", 214.0, "EUR"),
                            flight("FR 1147", "2026-07-01T13:40", "2026-07-01T18:05", 129.0, "EUR"),
                        ]
                    },
                )
            ],
            answer="I found two nonstop flights from Lisbon to Berlin on 1 July 2026 for two passengers: TP 538 at 06:55, landing 11:20, for €214 per person, and FR 1147 at 13:40, landing 18:05, for €129 per person.",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "LIS", "destination": "BER", "date": "2026-01-07", "passengers": 2},
                {
                    "flights": [
                        flight("TP 538", "2026-01-07T06:55", "2026-01-07T11:20", 168.0, "EUR"),
                        flight("FR 1147", "2026-01-07T13:40", "2026-01-07T18:05", 61.0, "EUR"),
                    ]
                },
            )
        ],
        answer="I found two nonstop flights from Lisbon to Berlin for two passengers: TP 538 at 06:55, landing 11:20, for €168 per person, and FR 1147 at 13:40, landing 18:05, for €61 per person.",
    ),
    P(
        "calendar-01",
        "misread_value",
        "'3pm to 4pm' must be written as 15:00 and 16:00 on the 24-hour clock.",
        "'3pm to 4pm' was entered as 03:00-04:00 instead of 15:00-16:00.",
        dict(
            tools=["create_event", "set_reminder"],
            user="Please put 'Budget review' on my calendar for 2026-05-12 from 3pm to 4pm.",
            steps=[
                c(
                    "create_event",
                    {
                        "title": "Budget review",
                        "date": "2026-05-12",
                        "start_time": "15:00",
                        "end_time": "16:00",
                    },
                    {"event_id": "evt_81f2", "status": "confirmed"},
                )
            ],
            answer="Done: 'Budget review' is on your calendar for 12 May 2026 from 15:00 to 16:00.",
        ),
        steps=[
            c(
                "create_event",
                {"title": "Budget review", "date": "2026-05-12", "start_time": "03:00", "end_time": "04:00"},
                {"event_id": "evt_81f2", "status": "confirmed"},
            )
        ],
        answer="Done: 'Budget review' is on your calendar for 12 May 2026 from 03:00 to 04:00.",
    ),
    P(
        "timer-01",
        "misread_value",
        "15 minutes has to become 900 seconds, the unit the tool takes.",
        "'15 minutes' was passed as 15 seconds; the tool takes seconds, so it should be 900.",
        dict(
            tools=["set_timer", "set_reminder"],
            user="Set a timer for 15 minutes for the pasta, please.",
            steps=[
                c(
                    "set_timer",
                    {"duration_seconds": 900, "label": "pasta"},
                    {"timer_id": "tmr_204", "duration_seconds": 900, "label": "pasta"},
                )
            ],
            answer="Your 15-minute pasta timer is running.",
        ),
        steps=[
            c(
                "set_timer",
                {"duration_seconds": 15, "label": "pasta"},
                {"timer_id": "tmr_204", "duration_seconds": 15, "label": "pasta"},
            )
        ],
    ),
    P(
        "timer-02",
        "misread_value",
        "'An hour and a half' is 5400 seconds.",
        "'an hour and a half' was passed as 90, which is minutes; the tool wants seconds (5400).",
        dict(
            tools=["set_timer"],
            user="Can you start a timer for an hour and a half? It's for the bread proofing.",
            steps=[
                c(
                    "set_timer",
                    {"duration_seconds": 5400, "label": "bread proofing"},
                    {"timer_id": "tmr_918", "duration_seconds": 5400, "label": "bread proofing"},
                )
            ],
            answer="Your bread-proofing timer is set for an hour and a half.",
        ),
        steps=[
            c(
                "set_timer",
                {"duration_seconds": 90, "label": "bread proofing"},
                {"timer_id": "tmr_918", "duration_seconds": 90, "label": "bread proofing"},
            )
        ],
    ),
    P(
        "kitchen-01",
        "misread_value",
        "'Two dozen' eggs is a quantity of 24 pieces.",
        "'two dozen' eggs was added as quantity 2 instead of 24.",
        dict(
            tools=["add_to_shopping_list", "search_recipes"],
            user="Add two dozen eggs to my shopping list.",
            steps=[
                c(
                    "add_to_shopping_list",
                    {"item": "eggs", "quantity": 24, "unit": "piece"},
                    {"item": "eggs", "quantity": 24, "unit": "piece", "list_size": 7},
                )
            ],
            answer="Added 24 eggs to your shopping list; it now has 7 items.",
        ),
        steps=[
            c(
                "add_to_shopping_list",
                {"item": "eggs", "quantity": 2, "unit": "piece"},
                {"item": "eggs", "quantity": 2, "unit": "piece", "list_size": 7},
            )
        ],
        answer="Added 2 eggs to your shopping list; it now has 7 items.",
    ),
    P(
        "currency-01",
        "misread_value",
        "'$1,200' is 1200 in USD, and Japanese yen is JPY.",
        "amount misread: '$1,200' was sent as 120.",
        dict(
            tools=["convert_currency", "get_exchange_rate"],
            user="How much is $1,200 in Japanese yen?",
            steps=[
                c(
                    "convert_currency",
                    {"amount": 1200, "from_currency": "USD", "to_currency": "JPY"},
                    {
                        "amount": 1200,
                        "from_currency": "USD",
                        "to_currency": "JPY",
                        "rate": 149.82,
                        "converted": 179784.0,
                    },
                )
            ],
            answer="$1,200 is about ¥179,784 at today's rate of 149.82 yen per dollar.",
        ),
        steps=[
            c(
                "convert_currency",
                {"amount": 120, "from_currency": "USD", "to_currency": "JPY"},
                {
                    "amount": 120,
                    "from_currency": "USD",
                    "to_currency": "JPY",
                    "rate": 149.82,
                    "converted": 17978.4,
                },
            )
        ],
        answer="That comes to about ¥17,978 at today's rate of 149.82 yen per dollar.",
    ),
    P(
        "units-01",
        "misread_value",
        "Plain copy of the number, with miles and kilometres mapped to the enum values 'mi' and 'km'.",
        "value off by a factor of ten: 26.2 miles was sent as 2.62.",
        dict(
            tools=["convert_units"],
            user="A marathon is 26.2 miles. How far is that in kilometres?",
            steps=[
                c(
                    "convert_units",
                    {"value": 26.2, "from_unit": "mi", "to_unit": "km"},
                    {"value": 42.16, "unit": "km"},
                )
            ],
            answer="26.2 miles is about 42.16 kilometres.",
        ),
        steps=[
            c(
                "convert_units",
                {"value": 2.62, "from_unit": "mi", "to_unit": "km"},
                {"value": 4.22, "unit": "km"},
            )
        ],
        answer="That's about 4.22 kilometres.",
    ),
    P(
        "home-01",
        "misread_value",
        "'68 degrees Fahrenheit' maps to temperature 68 with unit 'fahrenheit'.",
        "digits transposed: the user asked for 68°F, the call sets 86°F.",
        dict(
            tools=["set_thermostat", "get_weather"],
            user="Set the bedroom thermostat to 68 degrees Fahrenheit.",
            steps=[
                c(
                    "set_thermostat",
                    {"temperature": 68, "unit": "fahrenheit", "room": "bedroom"},
                    {"room": "bedroom", "target": 68, "unit": "fahrenheit", "status": "heating"},
                )
            ],
            answer="The bedroom thermostat is now set to 68°F and is heating.",
        ),
        steps=[
            c(
                "set_thermostat",
                {"temperature": 86, "unit": "fahrenheit", "room": "bedroom"},
                {"room": "bedroom", "target": 86, "unit": "fahrenheit", "status": "heating"},
            )
        ],
        answer="The bedroom thermostat is now set to 86°F and is heating.",
    ),
    P(
        "bill-01",
        "misread_value",
        "'$184.60' becomes 184.6, 'four ways' is 4 people and '18%' is tip_percent 18.",
        "tip sent as 0.18, a fraction, where the tool wants a percentage (18).",
        dict(
            tools=["split_bill", "convert_currency"],
            user="Dinner came to $184.60. Split it four ways with an 18% tip.",
            steps=[
                c(
                    "split_bill",
                    {"total": 184.6, "people": 4, "tip_percent": 18},
                    {"total_with_tip": 217.83, "tip": 33.23, "per_person": 54.46},
                )
            ],
            answer="With an 18% tip ($33.23) the total is $217.83, so each of the four of you pays $54.46.",
        ),
        steps=[
            c(
                "split_bill",
                {"total": 184.6, "people": 4, "tip_percent": 0.18},
                {"total_with_tip": 184.93, "tip": 0.33, "per_person": 46.23},
            )
        ],
        answer="With the tip ($0.33) the total is $184.93, so each of the four of you pays $46.23.",
    ),
    P(
        "reminder-01",
        "misread_value",
        "'9:30 in the morning' is 09:30 on the 24-hour clock.",
        "'9:30 in the morning' was set as 21:30.",
        dict(
            tools=["set_reminder", "create_event"],
            user="Remind me to call the dentist on 2026-08-03 at 9:30 in the morning.",
            steps=[
                c(
                    "set_reminder",
                    {"text": "Call the dentist", "date": "2026-08-03", "time": "09:30"},
                    {
                        "reminder_id": "rem_5530",
                        "text": "Call the dentist",
                        "date": "2026-08-03",
                        "time": "09:30",
                    },
                )
            ],
            answer="I'll remind you to call the dentist on 3 August 2026 at 09:30.",
        ),
        steps=[
            c(
                "set_reminder",
                {"text": "Call the dentist", "date": "2026-08-03", "time": "21:30"},
                {
                    "reminder_id": "rem_5530",
                    "text": "Call the dentist",
                    "date": "2026-08-03",
                    "time": "21:30",
                },
            )
        ],
        answer="I'll remind you to call the dentist on 3 August 2026 at 21:30.",
    ),
]

# --- wrong_relative_date: "tomorrow", "next Friday" ... resolved against the stated today, wrongly ---
PAIRS += [
    P(
        "weather-01",
        "wrong_relative_date",
        "'Tomorrow' with today 2026-03-14 is 2026-03-15, and a future day needs the forecast tool.",
        "'tomorrow' resolved to today's date 2026-03-14 instead of 2026-03-15.",
        dict(
            system=SAT,
            tools=["get_weather", "get_forecast"],
            user="What will the weather be like in Porto tomorrow?",
            steps=[
                c(
                    "get_forecast",
                    {"city": "Porto", "date": "2026-03-15"},
                    forecast("Porto", "2026-03-15", 17, 10, "light rain", 70),
                )
            ],
            answer="Tomorrow, Sunday 15 March, Porto can expect light rain with a high of 17°C, a low of 10°C and a 70% chance of precipitation.",
        ),
        steps=[
            c(
                "get_forecast",
                {"city": "Porto", "date": "2026-03-14"},
                forecast("Porto", "2026-03-14", 16, 9, "cloudy", 20),
            )
        ],
        answer="Tomorrow Porto can expect cloudy skies with a high of 16°C, a low of 9°C and a 20% chance of precipitation.",
    ),
    P(
        "weather-03",
        "wrong_relative_date",
        "'A week from today' with today Thursday 2026-05-07 is 2026-05-14.",
        "'a week from today' is 2026-05-14, but the forecast is asked for 2026-05-13.",
        dict(
            system=THU,
            tools=["get_forecast", "get_weather"],
            user="Is it going to rain in Edinburgh a week from today?",
            steps=[
                c(
                    "get_forecast",
                    {"city": "Edinburgh", "date": "2026-05-14"},
                    forecast("Edinburgh", "2026-05-14", 14, 7, "showers", 65),
                )
            ],
            answer="Probably: next Thursday, 14 May, Edinburgh is forecast to have showers with a 65% chance of rain and temperatures between 7 and 14°C.",
        ),
        steps=[
            c(
                "get_forecast",
                {"city": "Edinburgh", "date": "2026-05-13"},
                forecast("Edinburgh", "2026-05-13", 15, 8, "partly cloudy", 20),
            )
        ],
        answer="Probably not: a week from today Edinburgh is forecast to be partly cloudy with only a 20% chance of rain and temperatures between 8 and 15°C.",
    ),
    P(
        "train-01",
        "wrong_relative_date",
        "'Next Friday' seen from Saturday 2026-03-14 is 2026-03-20, and 'after 8am' is 08:00.",
        "'next Friday' resolved to 2026-03-13, the Friday before today, instead of 2026-03-20.",
        dict(
            system=SAT,
            tools=["search_trains", "search_flights"],
            user="I need a train from Zurich to Milan next Friday, leaving after 8am.",
            steps=[
                c(
                    "search_trains",
                    {
                        "origin": "Zurich",
                        "destination": "Milan",
                        "date": "2026-03-20",
                        "depart_after": "08:00",
                    },
                    {
                        "connections": [
                            train("EC 317", "09:33", "12:50", 79.0, "CHF"),
                            train("EC 319", "11:33", "14:50", 64.0, "CHF"),
                        ]
                    },
                )
            ],
            answer="Next Friday, 20 March, the first direct trains after 08:00 are EC 317 (09:33 to 12:50, CHF 79) and EC 319 (11:33 to 14:50, CHF 64).",
        ),
        steps=[
            c(
                "search_trains",
                {"origin": "Zurich", "destination": "Milan", "date": "2026-03-13", "depart_after": "08:00"},
                {
                    "connections": [
                        train("EC 317", "09:33", "12:50", 79.0, "CHF"),
                        train("EC 319", "11:33", "14:50", 64.0, "CHF"),
                    ]
                },
            )
        ],
        answer="On Friday, 13 March, the first direct trains after 08:00 are EC 317 (09:33 to 12:50, CHF 79) and EC 319 (11:33 to 14:50, CHF 64).",
    ),
    P(
        "calendar-02",
        "wrong_relative_date",
        "'This Thursday' seen from Tuesday 2026-06-02 is 2026-06-04.",
        "'this Thursday' is 2026-06-04, but the event is created on 2026-06-05, a Friday.",
        dict(
            system=TUE,
            tools=["create_event", "set_reminder"],
            user="Schedule 'Dentist' this Thursday from 10:00 to 10:45.",
            steps=[
                c(
                    "create_event",
                    {"title": "Dentist", "date": "2026-06-04", "start_time": "10:00", "end_time": "10:45"},
                    {"event_id": "evt_3c07", "status": "confirmed"},
                )
            ],
            answer="'Dentist' is in your calendar for Thursday, 4 June, from 10:00 to 10:45.",
        ),
        steps=[
            c(
                "create_event",
                {"title": "Dentist", "date": "2026-06-05", "start_time": "10:00", "end_time": "10:45"},
                {"event_id": "evt_3c07", "status": "confirmed"},
            )
        ],
        answer="'Dentist' is in your calendar for Thursday, 5 June, from 10:00 to 10:45.",
    ),
    P(
        "reminder-02",
        "wrong_relative_date",
        "'The day after tomorrow' from Wednesday 2026-10-21 is 2026-10-23, and '7am' is 07:00.",
        "'the day after tomorrow' resolved to 2026-10-22 (tomorrow) instead of 2026-10-23.",
        dict(
            system=WED,
            tools=["set_reminder", "set_timer"],
            user="Remind me the day after tomorrow at 7am to take the bins out.",
            steps=[
                c(
                    "set_reminder",
                    {"text": "Take the bins out", "date": "2026-10-23", "time": "07:00"},
                    {
                        "reminder_id": "rem_7712",
                        "text": "Take the bins out",
                        "date": "2026-10-23",
                        "time": "07:00",
                    },
                )
            ],
            answer="Reminder set for Friday, 23 October at 07:00: take the bins out.",
        ),
        steps=[
            c(
                "set_reminder",
                {"text": "Take the bins out", "date": "2026-10-22", "time": "07:00"},
                {
                    "reminder_id": "rem_7712",
                    "text": "Take the bins out",
                    "date": "2026-10-22",
                    "time": "07:00",
                },
            )
        ],
        answer="Reminder set for 22 October at 07:00: take the bins out.",
    ),
    P(
        "cinema-01",
        "wrong_relative_date",
        "'On Monday' said on Friday 2026-01-09 means the coming Monday, 2026-01-12.",
        "'Monday' resolved to 2026-01-05, which is already past; the coming Monday is 2026-01-12.",
        dict(
            system=FRI,
            tools=["get_showtimes", "search_news"],
            user="When is 'The Quiet Harbour' showing in Leeds on Monday?",
            steps=[
                c(
                    "get_showtimes",
                    {"city": "Leeds", "movie": "The Quiet Harbour", "date": "2026-01-12"},
                    {
                        "showtimes": [
                            {"cinema": "Northgate Cinema", "times": ["14:10", "17:40", "20:30"]},
                            {"cinema": "Riverside Picturehouse", "times": ["18:15"]},
                        ]
                    },
                )
            ],
            answer="On Monday, 12 January, 'The Quiet Harbour' is on at Northgate Cinema at 14:10, 17:40 and 20:30, and at Riverside Picturehouse at 18:15.",
        ),
        steps=[
            c(
                "get_showtimes",
                {"city": "Leeds", "movie": "The Quiet Harbour", "date": "2026-01-05"},
                {"showtimes": [{"cinema": "Northgate Cinema", "times": ["13:50", "19:00"]}]},
            )
        ],
        answer="On Monday, 5 January, 'The Quiet Harbour' is on at Northgate Cinema at 13:50 and 19:00.",
    ),
    P(
        "hotel-01",
        "wrong_relative_date",
        "Arriving 'this coming Monday' from Thursday 2026-05-07 for three nights means 2026-05-11 to 2026-05-14.",
        "'this coming Monday' resolved to 2026-05-04, a Monday already past, so the stay is 4-7 May.",
        dict(
            system=THU,
            tools=["search_hotels", "book_hotel"],
            user="Find me a hotel in Barcelona for 2 people, arriving this coming Monday and staying three nights.",
            steps=[
                c(
                    "search_hotels",
                    {"city": "Barcelona", "check_in": "2026-05-11", "check_out": "2026-05-14", "guests": 2},
                    {
                        "hotels": [
                            hotel("H-2083", "Hotel Miramar Gòtic", 148.0, "EUR", 4.4),
                            hotel("H-2190", "Casa Eixample", 112.0, "EUR", 4.1),
                        ]
                    },
                )
            ],
            answer="For 11 to 14 May (three nights, 2 guests) in Barcelona: Hotel Miramar Gòtic at €148 a night, rated 4.4, or Casa Eixample at €112 a night, rated 4.1.",
        ),
        steps=[
            c(
                "search_hotels",
                {"city": "Barcelona", "check_in": "2026-05-04", "check_out": "2026-05-07", "guests": 2},
                {
                    "hotels": [
                        hotel("H-2083", "Hotel Miramar Gòtic", 139.0, "EUR", 4.4),
                        hotel("H-2190", "Casa Eixample", 104.0, "EUR", 4.1),
                    ]
                },
            )
        ],
        answer="For 4 to 7 May (three nights, 2 guests) in Barcelona: Hotel Miramar Gòtic at €139 a night, rated 4.4, or Casa Eixample at €104 a night, rated 4.1.",
    ),
    P(
        "flight-02",
        "wrong_relative_date",
        "San Francisco and Seattle become SFO and SEA, and 'tomorrow' from 2026-10-21 is 2026-10-22.",
        "'tomorrow' resolved to today, 2026-10-21, instead of 2026-10-22.",
        dict(
            system=WED,
            tools=["search_flights", "get_weather"],
            user="Find me flights from San Francisco to Seattle for tomorrow.",
            steps=[
                c(
                    "search_flights",
                    {"origin": "SFO", "destination": "SEA", "date": "2026-10-22"},
                    {
                        "flights": [
                            flight("AS 1331", "2026-10-22T07:00", "2026-10-22T09:10", 139.0, "USD"),
                            flight("UA 2240", "2026-10-22T12:25", "2026-10-22T14:39", 164.0, "USD"),
                        ]
                    },
                )
            ],
            answer="Tomorrow, 22 October, there's AS 1331 at 07:00, arriving 09:10, for $139, and UA 2240 at 12:25, arriving 14:39, for $164. Both are nonstop.",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "SFO", "destination": "SEA", "date": "2026-10-21"},
                {
                    "flights": [
                        flight("UA 2240", "2026-10-21T12:25", "2026-10-21T14:39", 212.0, "USD"),
                        flight("AS 1339", "2026-10-21T19:45", "2026-10-21T21:55", 189.0, "USD"),
                    ]
                },
            )
        ],
        answer="Tomorrow there's UA 2240 at 12:25, arriving 14:39, for $212, and AS 1339 at 19:45, arriving 21:55, for $189. Both are nonstop.",
    ),
    P(
        "news-01",
        "wrong_relative_date",
        "'Since last Monday' seen from Saturday 2026-03-14 starts on 2026-03-09.",
        "'last Monday' resolved to 2026-03-16, a date in the future, so the search finds nothing.",
        dict(
            system=SAT,
            tools=["search_news"],
            user="Any news about the Artemis programme since last Monday?",
            steps=[
                c(
                    "search_news",
                    {"query": "Artemis programme", "from_date": "2026-03-09"},
                    {
                        "articles": [
                            {
                                "title": "NASA sets new target window for crewed lunar flyby",
                                "source": "Space Daily",
                                "published": "2026-03-12",
                            },
                            {
                                "title": "Artemis heat-shield tests wrap up in Ohio",
                                "source": "Orbital Post",
                                "published": "2026-03-10",
                            },
                        ]
                    },
                )
            ],
            answer="Two stories since Monday 9 March: 'NASA sets new target window for crewed lunar flyby' (Space Daily, 12 March) and 'Artemis heat-shield tests wrap up in Ohio' (Orbital Post, 10 March).",
        ),
        steps=[c("search_news", {"query": "Artemis programme", "from_date": "2026-03-16"}, {"articles": []})],
        answer="I couldn't find any news about the Artemis programme since last Monday.",
    ),
]

# --- flipped_boolean_or_enum: a yes/no or a choice from a list turned the wrong way ---
PAIRS += [
    P(
        "route-01",
        "flipped_boolean_or_enum",
        "'I'd rather not pay any tolls' means avoid_tolls true.",
        "the user wants no tolls, but avoid_tolls is false and the route uses tolled motorways.",
        dict(
            tools=["get_route", "get_weather"],
            user="Give me driving directions from Lyon to Geneva. I'd rather not pay any tolls.",
            steps=[
                c(
                    "get_route",
                    {"origin": "Lyon", "destination": "Geneva", "mode": "driving", "avoid_tolls": True},
                    {
                        "distance_km": 162.4,
                        "duration_minutes": 154,
                        "summary": "D1084 via Nantua and Bellegarde, no toll sections",
                    },
                )
            ],
            answer="Avoiding tolls, it's 162.4 km and about 2 h 34 min, taking the D1084 through Nantua and Bellegarde.",
        ),
        steps=[
            c(
                "get_route",
                {"origin": "Lyon", "destination": "Geneva", "mode": "driving", "avoid_tolls": False},
                {"distance_km": 150.8, "duration_minutes": 112, "summary": "A42 and A40 motorways (tolled)"},
            )
        ],
        answer="The drive is 150.8 km and takes about 1 h 52 min on the A42 and A40 motorways.",
    ),
    P(
        "route-02",
        "flipped_boolean_or_enum",
        "'Cycle' maps to the travel mode 'cycling'.",
        "the user asked about cycling; the route is computed with mode 'driving'.",
        dict(
            tools=["get_route"],
            user="How long would it take me to cycle from Amsterdam Centraal to Haarlem station?",
            steps=[
                c(
                    "get_route",
                    {"origin": "Amsterdam Centraal", "destination": "Haarlem station", "mode": "cycling"},
                    {
                        "distance_km": 20.1,
                        "duration_minutes": 68,
                        "summary": "Along the Haarlemmertrekvaart cycle path",
                    },
                )
            ],
            answer="By bike it's about 20.1 km and 68 minutes, mostly along the Haarlemmertrekvaart cycle path.",
        ),
        steps=[
            c(
                "get_route",
                {"origin": "Amsterdam Centraal", "destination": "Haarlem station", "mode": "driving"},
                {"distance_km": 23.4, "duration_minutes": 31, "summary": "A10 and N200"},
            )
        ],
        answer="It's about 23.4 km and 31 minutes, via the A10 and N200.",
    ),
    P(
        "weather-02",
        "flipped_boolean_or_enum",
        "'In Fahrenheit' maps to unit 'fahrenheit'.",
        "the user asked for Fahrenheit; the call requests 'celsius' and the answer reports Celsius.",
        dict(
            tools=["get_weather", "get_forecast"],
            user="What's the temperature in Chicago right now? In Fahrenheit, please.",
            steps=[
                c(
                    "get_weather",
                    {"city": "Chicago", "unit": "fahrenheit"},
                    current("Chicago", 41, "windy", 58, unit="fahrenheit"),
                )
            ],
            answer="It's 41°F and windy in Chicago right now, with 58% humidity.",
        ),
        steps=[
            c(
                "get_weather",
                {"city": "Chicago", "unit": "celsius"},
                current("Chicago", 5, "windy", 58),
            )
        ],
        answer="It's 5°C and windy in Chicago right now, with 58% humidity.",
    ),
    P(
        "restaurant-01",
        "flipped_boolean_or_enum",
        "'Open right now' maps to open_now true; 'Thai' to cuisine 'thai'.",
        "the user wants a place open now, but open_now is false and the answer recommends a closed restaurant.",
        dict(
            tools=["search_restaurants", "get_route"],
            user="Find me a Thai restaurant in Melbourne that's open right now.",
            steps=[
                c(
                    "search_restaurants",
                    {"city": "Melbourne", "cuisine": "thai", "open_now": True},
                    {
                        "restaurants": [
                            restaurant("Lemongrass Lane", 4.5, 2, True, "112 Smith St, Collingwood"),
                            restaurant("Baan Siam", 4.3, 2, True, "38 Lygon St, Carlton"),
                        ]
                    },
                )
            ],
            answer="Two Thai places are open now: Lemongrass Lane at 112 Smith St, Collingwood (rated 4.5) and Baan Siam at 38 Lygon St, Carlton (rated 4.3).",
        ),
        steps=[
            c(
                "search_restaurants",
                {"city": "Melbourne", "cuisine": "thai", "open_now": False},
                {
                    "restaurants": [
                        restaurant("Chilli Orchid", 4.7, 3, False, "9 Flinders Ln, Melbourne"),
                        restaurant("Lemongrass Lane", 4.5, 2, True, "112 Smith St, Collingwood"),
                    ]
                },
            )
        ],
        answer="Try Chilli Orchid at 9 Flinders Ln (rated 4.7) or Lemongrass Lane at 112 Smith St, Collingwood (rated 4.5).",
    ),
    P(
        "flight-03",
        "flipped_boolean_or_enum",
        "London Heathrow and Singapore become LHR and SIN; 'business class' maps to cabin 'business'.",
        "the user asked for business class; the search uses cabin 'economy'.",
        dict(
            tools=["search_flights", "search_hotels"],
            user="I need business class flights from London Heathrow to Singapore on 2026-11-03.",
            steps=[
                c(
                    "search_flights",
                    {"origin": "LHR", "destination": "SIN", "date": "2026-11-03", "cabin": "business"},
                    {
                        "flights": [
                            flight("SQ 317", "2026-11-03T11:40", "2026-11-04T07:45", 3240.0, "GBP"),
                            flight("BA 11", "2026-11-03T21:15", "2026-11-04T17:30", 2985.0, "GBP"),
                        ]
                    },
                )
            ],
            answer="Business class on 3 November: SQ 317 at 11:40, landing 07:45 the next day, for £3,240, or BA 11 at 21:15, landing 17:30 the next day, for £2,985. Both are nonstop.",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "LHR", "destination": "SIN", "date": "2026-11-03", "cabin": "economy"},
                {
                    "flights": [
                        flight("SQ 317", "2026-11-03T11:40", "2026-11-04T07:45", 812.0, "GBP"),
                        flight("BA 11", "2026-11-03T21:15", "2026-11-04T17:30", 745.0, "GBP"),
                    ]
                },
            )
        ],
        answer="On 3 November: SQ 317 at 11:40, landing 07:45 the next day, for £812, or BA 11 at 21:15, landing 17:30 the next day, for £745. Both are nonstop.",
    ),
    P(
        "kitchen-03",
        "flipped_boolean_or_enum",
        "Plain copy: 'vegan' maps to the diet value 'vegan'.",
        "'vegan' was sent as diet 'vegetarian', and the first result recommended contains paneer.",
        dict(
            tools=["search_recipes", "add_to_shopping_list"],
            user="Could you find me a vegan lentil curry recipe?",
            steps=[
                c(
                    "search_recipes",
                    {"query": "lentil curry", "diet": "vegan"},
                    {
                        "results": [
                            {
                                "id": "r-4410",
                                "title": "Coconut Red Lentil Curry",
                                "total_minutes": 35,
                                "servings": 4,
                            },
                            {
                                "id": "r-4492",
                                "title": "Spinach and Lentil Dal",
                                "total_minutes": 40,
                                "servings": 4,
                            },
                        ]
                    },
                )
            ],
            answer="Two vegan options: Coconut Red Lentil Curry (35 minutes, serves 4) and Spinach and Lentil Dal (40 minutes, serves 4).",
        ),
        steps=[
            c(
                "search_recipes",
                {"query": "lentil curry", "diet": "vegetarian"},
                {
                    "results": [
                        {
                            "id": "r-4388",
                            "title": "Paneer and Lentil Curry",
                            "total_minutes": 45,
                            "servings": 4,
                        },
                        {
                            "id": "r-4410",
                            "title": "Coconut Red Lentil Curry",
                            "total_minutes": 35,
                            "servings": 4,
                        },
                    ]
                },
            )
        ],
        answer="Here are two: Paneer and Lentil Curry (45 minutes, serves 4) and Coconut Red Lentil Curry (35 minutes, serves 4).",
    ),
    P(
        "home-02",
        "flipped_boolean_or_enum",
        "Plain copy: '20°C' is temperature 20 with unit 'celsius'.",
        "the user asked for 20°C; the call sets the unit to 'fahrenheit'.",
        dict(
            tools=["set_thermostat"],
            user="Please set the office to 20°C.",
            steps=[
                c(
                    "set_thermostat",
                    {"temperature": 20, "unit": "celsius", "room": "office"},
                    {"room": "office", "target": 20, "unit": "celsius", "status": "heating"},
                )
            ],
            answer="The office is set to 20°C and the heating is on.",
        ),
        steps=[
            c(
                "set_thermostat",
                {"temperature": 20, "unit": "fahrenheit", "room": "office"},
                {"room": "office", "target": 20, "unit": "fahrenheit", "status": "idle"},
            )
        ],
        answer="The office is set to 20 degrees; the heating is idle for now.",
    ),
    P(
        "train-02",
        "flipped_boolean_or_enum",
        "'First class' maps to travel_class 'first'.",
        "the user asked for first class; the search uses travel_class 'standard'.",
        dict(
            tools=["search_trains", "search_flights"],
            user="Find first class seats on a train from Paris to Brussels on 2026-04-18.",
            steps=[
                c(
                    "search_trains",
                    {
                        "origin": "Paris",
                        "destination": "Brussels",
                        "date": "2026-04-18",
                        "travel_class": "first",
                    },
                    {
                        "connections": [
                            train("Eurostar 9313", "07:13", "08:35", 139.0, "EUR"),
                            train("Eurostar 9317", "09:13", "10:35", 119.0, "EUR"),
                        ]
                    },
                )
            ],
            answer="First class on 18 April: Eurostar 9313 at 07:13 (arrives 08:35) for €139, or Eurostar 9317 at 09:13 (arrives 10:35) for €119.",
        ),
        steps=[
            c(
                "search_trains",
                {
                    "origin": "Paris",
                    "destination": "Brussels",
                    "date": "2026-04-18",
                    "travel_class": "standard",
                },
                {
                    "connections": [
                        train("Eurostar 9313", "07:13", "08:35", 59.0, "EUR"),
                        train("Eurostar 9317", "09:13", "10:35", 49.0, "EUR"),
                    ]
                },
            )
        ],
        answer="On 18 April: Eurostar 9313 at 07:13 (arrives 08:35) for €59, or Eurostar 9317 at 09:13 (arrives 10:35) for €49.",
    ),
    P(
        "package-01",
        "flipped_boolean_or_enum",
        "'DHL' maps to the carrier value 'dhl'.",
        "the user said DHL; the call uses carrier 'ups', so the lookup fails and the user is told the parcel is unknown.",
        dict(
            tools=["track_package"],
            user="Where's my DHL parcel? The tracking number is JD014600006281234567.",
            steps=[
                c(
                    "track_package",
                    {"tracking_number": "JD014600006281234567", "carrier": "dhl"},
                    {
                        "tracking_number": "JD014600006281234567",
                        "status": "in_transit",
                        "last_location": "Leipzig hub, DE",
                        "estimated_delivery": "2026-03-17",
                    },
                )
            ],
            answer="Your DHL parcel is in transit. It was last scanned at the Leipzig hub and should arrive on 17 March 2026.",
        ),
        steps=[
            c(
                "track_package",
                {"tracking_number": "JD014600006281234567", "carrier": "ups"},
                {"tracking_number": "JD014600006281234567", "status": "not_found"},
            )
        ],
        answer="I couldn't find that parcel: the tracking number doesn't match any shipment.",
    ),
]

# --- swapped_values: two values of the same type land in each other's place ---
PAIRS += [
    P(
        "flight-04",
        "swapped_values",
        "Madrid and Dublin become MAD and DUB.",
        "origin and destination swapped: the user flies from Madrid to Dublin, the search is Dublin to Madrid.",
        dict(
            tools=["search_flights"],
            user="I'm flying from Madrid to Dublin on 2026-04-22. What are my options?",
            steps=[
                c(
                    "search_flights",
                    {"origin": "MAD", "destination": "DUB", "date": "2026-04-22"},
                    {
                        "flights": [
                            flight("EI 593", "2026-04-22T10:35", "2026-04-22T12:20", 96.0, "EUR"),
                            flight("FR 7153", "2026-04-22T18:50", "2026-04-22T20:35", 58.0, "EUR"),
                        ]
                    },
                )
            ],
            answer="On 22 April you can take EI 593 at 10:35 (lands 12:20) for €96, or FR 7153 at 18:50 (lands 20:35) for €58. Both are direct.",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "DUB", "destination": "MAD", "date": "2026-04-22"},
                {
                    "flights": [
                        flight("EI 592", "2026-04-22T06:25", "2026-04-22T10:05", 89.0, "EUR"),
                        flight("FR 7152", "2026-04-22T14:20", "2026-04-22T18:00", 64.0, "EUR"),
                    ]
                },
            )
        ],
        answer="On 22 April you can take EI 592 at 06:25 (lands 10:05) for €89, or FR 7152 at 14:20 (lands 18:00) for €64. Both are direct.",
    ),
    P(
        "currency-02",
        "swapped_values",
        "Euros and British pounds become EUR and GBP.",
        "from and to currencies swapped: the user converts EUR into GBP, the call converts GBP into EUR.",
        dict(
            tools=["convert_currency", "get_exchange_rate"],
            user="Convert 250 euros to British pounds.",
            steps=[
                c(
                    "convert_currency",
                    {"amount": 250, "from_currency": "EUR", "to_currency": "GBP"},
                    {
                        "amount": 250,
                        "from_currency": "EUR",
                        "to_currency": "GBP",
                        "rate": 0.8412,
                        "converted": 210.3,
                    },
                )
            ],
            answer="€250 is £210.30 at today's rate of 0.8412.",
        ),
        steps=[
            c(
                "convert_currency",
                {"amount": 250, "from_currency": "GBP", "to_currency": "EUR"},
                {
                    "amount": 250,
                    "from_currency": "GBP",
                    "to_currency": "EUR",
                    "rate": 1.1888,
                    "converted": 297.2,
                },
            )
        ],
        answer="That comes to 297.20 at today's rate of 1.1888.",
    ),
    P(
        "calendar-03",
        "swapped_values",
        "Plain copy of title, date and times.",
        "start and end swapped: the event starts at 15:30 and ends at 14:00.",
        dict(
            tools=["create_event"],
            user="Block 14:00 to 15:30 on 2026-05-20 for 'Quarterly planning'.",
            steps=[
                c(
                    "create_event",
                    {
                        "title": "Quarterly planning",
                        "date": "2026-05-20",
                        "start_time": "14:00",
                        "end_time": "15:30",
                    },
                    {"event_id": "evt_77a1", "status": "confirmed"},
                )
            ],
            answer="'Quarterly planning' is blocked on 20 May 2026 from 14:00 to 15:30.",
        ),
        steps=[
            c(
                "create_event",
                {
                    "title": "Quarterly planning",
                    "date": "2026-05-20",
                    "start_time": "15:30",
                    "end_time": "14:00",
                },
                {"event_id": "evt_77a1", "status": "confirmed"},
            )
        ],
    ),
    P(
        "route-03",
        "swapped_values",
        "'The Louvre' is passed as the place name 'Louvre Museum', a harmless normalisation.",
        "origin and destination swapped: the user walks from the Louvre to the Eiffel Tower.",
        dict(
            tools=["get_route", "search_restaurants"],
            user="What's the walking route from the Louvre to the Eiffel Tower?",
            steps=[
                c(
                    "get_route",
                    {"origin": "Louvre Museum", "destination": "Eiffel Tower", "mode": "walking"},
                    {
                        "distance_km": 3.4,
                        "duration_minutes": 44,
                        "summary": "West along the Seine via Quai Branly",
                    },
                )
            ],
            answer="It's a 3.4 km walk, about 44 minutes, heading west along the Seine via Quai Branly.",
        ),
        steps=[
            c(
                "get_route",
                {"origin": "Eiffel Tower", "destination": "Louvre Museum", "mode": "walking"},
                {
                    "distance_km": 3.4,
                    "duration_minutes": 45,
                    "summary": "East along the Seine via Quai d'Orsay",
                },
            )
        ],
        answer="It's a 3.4 km walk, about 45 minutes, heading east along the Seine via Quai d'Orsay.",
    ),
    P(
        "language-01",
        "swapped_values",
        "English and Italian become the ISO 639-1 codes 'en' and 'it'.",
        "source and target languages swapped: the text is English and should go into Italian.",
        dict(
            tools=["translate_text", "define_word"],
            user="Translate 'Where is the train station?' from English into Italian.",
            steps=[
                c(
                    "translate_text",
                    {"text": "Where is the train station?", "target_language": "it", "source_language": "en"},
                    {"translation": "Dov'è la stazione ferroviaria?", "detected_source_language": "en"},
                )
            ],
            answer='In Italian: "Dov\'è la stazione ferroviaria?"',
        ),
        steps=[
            c(
                "translate_text",
                {"text": "Where is the train station?", "target_language": "en", "source_language": "it"},
                {"translation": "Where is the train station?", "detected_source_language": "it"},
            )
        ],
        answer='Here it is: "Where is the train station?"',
    ),
    P(
        "train-03",
        "swapped_values",
        "Plain copy of the two cities and the date.",
        "origin and destination swapped: the user travels from Hamburg to Copenhagen.",
        dict(
            tools=["search_trains"],
            user="Trains from Hamburg to Copenhagen on 2026-08-14, please.",
            steps=[
                c(
                    "search_trains",
                    {"origin": "Hamburg", "destination": "Copenhagen", "date": "2026-08-14"},
                    {
                        "connections": [
                            train("EC 381", "07:28", "12:12", 59.0, "EUR"),
                            train("ICE 1709", "11:28", "16:14", 49.0, "EUR", changes=1),
                        ]
                    },
                )
            ],
            answer="On 14 August: EC 381 leaves Hamburg at 07:28 and reaches Copenhagen at 12:12 with no changes (€59), or ICE 1709 leaves at 11:28 and arrives at 16:14 with one change (€49).",
        ),
        steps=[
            c(
                "search_trains",
                {"origin": "Copenhagen", "destination": "Hamburg", "date": "2026-08-14"},
                {
                    "connections": [
                        train("EC 386", "06:40", "11:26", 62.0, "EUR"),
                        train("IC 1710", "12:40", "17:31", 45.0, "EUR", changes=1),
                    ]
                },
            )
        ],
        answer="On 14 August: EC 386 leaves at 06:40 and arrives at 11:26 with no changes (€62), or IC 1710 leaves at 12:40 and arrives at 17:31 with one change (€45).",
    ),
    P(
        "hotel-02",
        "swapped_values",
        "Plain copy of the hotel id, dates and guest count.",
        "check-in and check-out swapped: the stay is 2026-09-04 to 2026-09-07.",
        dict(
            tools=["book_hotel", "search_hotels"],
            user="Please book hotel H-4471 from 2026-09-04 to 2026-09-07 for 2 guests.",
            steps=[
                c(
                    "book_hotel",
                    {"hotel_id": "H-4471", "check_in": "2026-09-04", "check_out": "2026-09-07", "guests": 2},
                    {
                        "confirmation": "BK-77310",
                        "hotel_name": "Alpenhof Innsbruck",
                        "total_price": 486.0,
                        "currency": "EUR",
                        "nights": 3,
                    },
                )
            ],
            answer="Booked: Alpenhof Innsbruck from 4 to 7 September 2026 (3 nights) for 2 guests, €486 in total. Your confirmation number is BK-77310.",
        ),
        steps=[
            c(
                "book_hotel",
                {"hotel_id": "H-4471", "check_in": "2026-09-07", "check_out": "2026-09-04", "guests": 2},
                {
                    "confirmation": "BK-77310",
                    "hotel_name": "Alpenhof Innsbruck",
                    "total_price": 486.0,
                    "currency": "EUR",
                    "nights": 3,
                },
            )
        ],
    ),
    P(
        "units-02",
        "swapped_values",
        "Pounds and kilograms map to the enum values 'lb' and 'kg'.",
        "from_unit and to_unit swapped: it converts 150 kg to pounds instead of 150 lb to kilograms.",
        dict(
            tools=["convert_units"],
            user="How many kilograms is 150 pounds?",
            steps=[
                c(
                    "convert_units",
                    {"value": 150, "from_unit": "lb", "to_unit": "kg"},
                    {"value": 68.04, "unit": "kg"},
                )
            ],
            answer="150 pounds is about 68.04 kg.",
        ),
        steps=[
            c(
                "convert_units",
                {"value": 150, "from_unit": "kg", "to_unit": "lb"},
                {"value": 330.69, "unit": "lb"},
            )
        ],
        answer="150 pounds comes to 330.69.",
    ),
    P(
        "email-01",
        "swapped_values",
        "Plain copy: recipient, copy, subject and body all given word for word.",
        "recipient and cc swapped: Jana should receive the mail and Tom be copied in.",
        dict(
            tools=["send_email", "create_event"],
            user="Email jana.novak@example.com with a copy to tom.reed@example.com. Subject: 'Invoice 2291'. Body: 'Hi Jana, the invoice is attached and due on 30 April. Thanks, Alex'.",
            steps=[
                c(
                    "send_email",
                    {
                        "to": "jana.novak@example.com",
                        "cc": "tom.reed@example.com",
                        "subject": "Invoice 2291",
                        "body": "Hi Jana, the invoice is attached and due on 30 April. Thanks, Alex",
                    },
                    {"status": "sent", "message_id": "msg_90d1"},
                )
            ],
            answer="Sent to jana.novak@example.com with tom.reed@example.com in copy.",
        ),
        steps=[
            c(
                "send_email",
                {
                    "to": "tom.reed@example.com",
                    "cc": "jana.novak@example.com",
                    "subject": "Invoice 2291",
                    "body": "Hi Jana, the invoice is attached and due on 30 April. Thanks, Alex",
                },
                {"status": "sent", "message_id": "msg_90d1"},
            )
        ],
    ),
]

# --- invented_value: a value the user never gave and nothing implies ---
PAIRS += [
    P(
        "email-02",
        "invented_value",
        "The body is composed from the request; the address and subject are copied.",
        "cc manager@example.org is invented: the user named only one recipient.",
        dict(
            tools=["send_email"],
            user="Send maria.lopez@example.org a quick note saying the quarterly report is ready. Subject 'Quarterly report'.",
            steps=[
                c(
                    "send_email",
                    {
                        "to": "maria.lopez@example.org",
                        "subject": "Quarterly report",
                        "body": "Hi Maria,\n\nThe quarterly report is ready.\n\nBest regards",
                    },
                    {"status": "sent", "message_id": "msg_4417"},
                )
            ],
            answer="Your note is on its way to maria.lopez@example.org.",
        ),
        steps=[
            c(
                "send_email",
                {
                    "to": "maria.lopez@example.org",
                    "subject": "Quarterly report",
                    "body": "Hi Maria,\n\nThe quarterly report is ready.\n\nBest regards",
                    "cc": "manager@example.org",
                },
                {"status": "sent", "message_id": "msg_4417"},
            )
        ],
    ),
    P(
        "email-03",
        "invented_value",
        "Subject and body are written from the request; '3pm' may stay as the user wrote it in free text.",
        "the recipient ben@example.com is invented; the user gave ben.kowalski@example.net.",
        dict(
            tools=["send_email", "create_event"],
            user="Tell Ben (ben.kowalski@example.net) I'll be 10 minutes late to our 3pm meeting.",
            steps=[
                c(
                    "send_email",
                    {
                        "to": "ben.kowalski@example.net",
                        "subject": "Running 10 minutes late",
                        "body": "Hi Ben, I'll be about 10 minutes late to our 3pm meeting. Sorry!",
                    },
                    {"status": "sent", "message_id": "msg_1208"},
                )
            ],
            answer="I've emailed Ben at ben.kowalski@example.net to say you'll be 10 minutes late.",
        ),
        steps=[
            c(
                "send_email",
                {
                    "to": "ben@example.com",
                    "subject": "Running 10 minutes late",
                    "body": "Hi Ben, I'll be about 10 minutes late to our 3pm meeting. Sorry!",
                },
                {"status": "sent", "message_id": "msg_1208"},
            )
        ],
        answer="I've emailed Ben to say you'll be 10 minutes late.",
    ),
    P(
        "calendar-04",
        "invented_value",
        "Plain copy of title, date and times.",
        "location 'Conference Room B' is invented: the user gave no place.",
        dict(
            tools=["create_event", "send_email"],
            user="Create an event called 'Team lunch' on 2026-06-10 from 12:00 to 13:00.",
            steps=[
                c(
                    "create_event",
                    {"title": "Team lunch", "date": "2026-06-10", "start_time": "12:00", "end_time": "13:00"},
                    {"event_id": "evt_5d90", "status": "confirmed"},
                )
            ],
            answer="'Team lunch' is on your calendar for 10 June 2026, 12:00 to 13:00.",
        ),
        steps=[
            c(
                "create_event",
                {
                    "title": "Team lunch",
                    "date": "2026-06-10",
                    "start_time": "12:00",
                    "end_time": "13:00",
                    "location": "Conference Room B",
                },
                {"event_id": "evt_5d90", "status": "confirmed"},
            )
        ],
        answer="'Team lunch' is on your calendar for 10 June 2026, 12:00 to 13:00, in Conference Room B.",
    ),
    P(
        "hotel-03",
        "invented_value",
        "Plain copy of city and dates; guests is left to its default.",
        "max_price_per_night 100 is invented: the user set no budget, and the pricier hotels are filtered out.",
        dict(
            tools=["search_hotels", "book_hotel"],
            user="Show me hotels in Lisbon from 2026-10-09 to 2026-10-11.",
            steps=[
                c(
                    "search_hotels",
                    {"city": "Lisbon", "check_in": "2026-10-09", "check_out": "2026-10-11"},
                    {
                        "hotels": [
                            hotel("H-3012", "Alfama Terrace Hotel", 165.0, "EUR", 4.6),
                            hotel("H-3040", "Baixa Rooms", 92.0, "EUR", 4.2),
                        ]
                    },
                )
            ],
            answer="For 9 to 11 October in Lisbon: Alfama Terrace Hotel at €165 a night (rated 4.6) or Baixa Rooms at €92 a night (rated 4.2).",
        ),
        steps=[
            c(
                "search_hotels",
                {
                    "city": "Lisbon",
                    "check_in": "2026-10-09",
                    "check_out": "2026-10-11",
                    "max_price_per_night": 100,
                },
                {
                    "hotels": [
                        hotel("H-3040", "Baixa Rooms", 92.0, "EUR", 4.2),
                        hotel("H-3077", "Hostel Rossio", 58.0, "EUR", 3.9),
                    ]
                },
            )
        ],
        answer="For 9 to 11 October in Lisbon: Baixa Rooms at €92 a night (rated 4.2) or Hostel Rossio at €58 a night (rated 3.9).",
    ),
    P(
        "flight-05",
        "invented_value",
        "Boston and Denver become BOS and DEN; passengers stays at its default.",
        "passengers 2 is invented: the user never said how many people travel.",
        dict(
            tools=["search_flights"],
            user="Are there any flights from Boston to Denver on 2026-04-02?",
            steps=[
                c(
                    "search_flights",
                    {"origin": "BOS", "destination": "DEN", "date": "2026-04-02"},
                    {
                        "flights": [
                            flight("UA 1522", "2026-04-02T06:10", "2026-04-02T09:05", 228.0, "USD"),
                            flight("WN 3317", "2026-04-02T14:35", "2026-04-02T17:30", 176.0, "USD"),
                        ]
                    },
                )
            ],
            answer="Yes: UA 1522 at 06:10 (arrives 09:05) for $228 and WN 3317 at 14:35 (arrives 17:30) for $176, both nonstop.",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "BOS", "destination": "DEN", "date": "2026-04-02", "passengers": 2},
                {
                    "flights": [
                        flight("UA 1522", "2026-04-02T06:10", "2026-04-02T09:05", 228.0, "USD"),
                        flight("WN 3317", "2026-04-02T14:35", "2026-04-02T17:30", 176.0, "USD"),
                    ]
                },
            )
        ],
    ),
    P(
        "restaurant-02",
        "invented_value",
        "'The capital of Japan' is Tokyo.",
        "price_level 4 is invented: the user asked for good sushi, not for very expensive places.",
        dict(
            tools=["search_restaurants"],
            user="Any good sushi places in the capital of Japan?",
            steps=[
                c(
                    "search_restaurants",
                    {"city": "Tokyo", "cuisine": "sushi"},
                    {
                        "restaurants": [
                            restaurant("Sushi Kanda Ohashi", 4.7, 3, True, "2-5 Kanda, Chiyoda"),
                            restaurant("Uogashi Counter", 4.5, 2, False, "4-10 Tsukiji, Chuo"),
                        ]
                    },
                )
            ],
            answer="In Tokyo, Sushi Kanda Ohashi in Chiyoda is rated 4.7 and Uogashi Counter in Tsukiji is rated 4.5 and cheaper, though it's closed right now.",
        ),
        steps=[
            c(
                "search_restaurants",
                {"city": "Tokyo", "cuisine": "sushi", "price_level": 4},
                {
                    "restaurants": [
                        restaurant("Ginza Hoshizora", 4.8, 4, False, "6-3 Ginza, Chuo"),
                        restaurant("Sushi Akasaka Rin", 4.6, 4, True, "3-12 Akasaka, Minato"),
                    ]
                },
            )
        ],
        answer="In Tokyo, Ginza Hoshizora is rated 4.8, though it's closed right now, and Sushi Akasaka Rin in Minato is rated 4.6 and open.",
    ),
    P(
        "weather-11",
        "invented_value",
        "'Split, Croatia' is passed as the city 'Split'.",
        "the city Zagreb appears nowhere: the user asked about Split.",
        dict(
            tools=["get_forecast", "get_weather"],
            user="What's the forecast for Split, Croatia on 2026-07-18?",
            steps=[
                c(
                    "get_forecast",
                    {"city": "Split", "date": "2026-07-18"},
                    forecast("Split", "2026-07-18", 31, 23, "sunny", 5),
                )
            ],
            answer="On 18 July Split should be sunny, between 23 and 31°C, with only a 5% chance of rain.",
        ),
        steps=[
            c(
                "get_forecast",
                {"city": "Zagreb", "date": "2026-07-18"},
                forecast("Zagreb", "2026-07-18", 28, 17, "thunderstorms", 60),
            )
        ],
        answer="On 18 July expect thunderstorms, between 17 and 28°C, with a 60% chance of rain.",
    ),
    P(
        "news-02",
        "invented_value",
        "Plain copy of the topic as the query.",
        "from_date 2026-01-01 is invented: the user set no date limit.",
        dict(
            tools=["search_news"],
            user="Find news articles about electric buses.",
            steps=[
                c(
                    "search_news",
                    {"query": "electric buses"},
                    {
                        "articles": [
                            {
                                "title": "City council approves 120 new electric buses",
                                "source": "Metro Ledger",
                                "published": "2026-02-18",
                            },
                            {
                                "title": "Why winter still tests battery buses",
                                "source": "Transit Review",
                                "published": "2025-12-03",
                            },
                        ]
                    },
                )
            ],
            answer="Two recent pieces: 'City council approves 120 new electric buses' (Metro Ledger, 18 February 2026) and 'Why winter still tests battery buses' (Transit Review, 3 December 2025).",
        ),
        steps=[
            c(
                "search_news",
                {"query": "electric buses", "from_date": "2026-01-01"},
                {
                    "articles": [
                        {
                            "title": "City council approves 120 new electric buses",
                            "source": "Metro Ledger",
                            "published": "2026-02-18",
                        }
                    ]
                },
            )
        ],
        answer="One recent piece: 'City council approves 120 new electric buses' (Metro Ledger, 18 February 2026).",
    ),
    P(
        "kitchen-02",
        "invented_value",
        "Only the item is given, so quantity and unit stay at their defaults.",
        "quantity 2 and unit 'l' are invented: the user only said to add milk.",
        dict(
            tools=["add_to_shopping_list"],
            user="Put milk on my shopping list.",
            steps=[
                c(
                    "add_to_shopping_list",
                    {"item": "milk"},
                    {"item": "milk", "quantity": 1, "unit": "piece", "list_size": 4},
                )
            ],
            answer="Milk is on your shopping list, which now has 4 items.",
        ),
        steps=[
            c(
                "add_to_shopping_list",
                {"item": "milk", "quantity": 2, "unit": "l"},
                {"item": "milk", "quantity": 2, "unit": "l", "list_size": 4},
            )
        ],
        answer="2 litres of milk are on your shopping list, which now has 4 items.",
    ),
]

# --- missed_parallel_call: the user asks about several items, only some get a call ---
PAIRS += [
    P(
        "weather-04",
        "missed_parallel_call",
        "Two cities, two calls in one assistant message.",
        "the user asked about Rome and Athens; only Rome is looked up and the answer covers only Rome.",
        dict(
            tools=["get_weather", "get_forecast"],
            user="What's the weather in Rome and in Athens right now?",
            steps=[
                [
                    c("get_weather", {"city": "Rome"}, current("Rome", 19, "partly cloudy", 62)),
                    c("get_weather", {"city": "Athens"}, current("Athens", 23, "sunny", 44)),
                ]
            ],
            answer="Rome is partly cloudy at 19°C with 62% humidity, and Athens is sunny at 23°C with 44% humidity.",
        ),
        steps=[c("get_weather", {"city": "Rome"}, current("Rome", 19, "partly cloudy", 62))],
        answer="Rome is partly cloudy at 19°C with 62% humidity.",
    ),
    P(
        "stock-01",
        "missed_parallel_call",
        "Apple and Microsoft map to the tickers AAPL and MSFT.",
        "the user asked for Apple and Microsoft; only AAPL is quoted and Microsoft is never mentioned.",
        dict(
            tools=["get_stock_quote", "search_news"],
            user="Give me the current share prices of Apple and Microsoft.",
            steps=[
                [
                    c(
                        "get_stock_quote",
                        {"symbol": "AAPL"},
                        {"symbol": "AAPL", "price": 227.48, "currency": "USD", "change_percent": 0.9},
                    ),
                    c(
                        "get_stock_quote",
                        {"symbol": "MSFT"},
                        {"symbol": "MSFT", "price": 468.12, "currency": "USD", "change_percent": -0.3},
                    ),
                ]
            ],
            answer="Apple (AAPL) is at $227.48, up 0.9% today, and Microsoft (MSFT) is at $468.12, down 0.3%.",
        ),
        steps=[
            c(
                "get_stock_quote",
                {"symbol": "AAPL"},
                {"symbol": "AAPL", "price": 227.48, "currency": "USD", "change_percent": 0.9},
            )
        ],
        answer="Apple (AAPL) is at $227.48, up 0.9% today.",
    ),
    P(
        "language-02",
        "missed_parallel_call",
        "Japanese and Korean become the ISO 639-1 codes 'ja' and 'ko'.",
        "the user asked for Japanese and Korean; only the Japanese translation is requested and given.",
        dict(
            tools=["translate_text", "define_word"],
            user="How do you say 'thank you' in Japanese and in Korean?",
            steps=[
                [
                    c(
                        "translate_text",
                        {"text": "thank you", "target_language": "ja"},
                        {"translation": "ありがとうございます", "detected_source_language": "en"},
                    ),
                    c(
                        "translate_text",
                        {"text": "thank you", "target_language": "ko"},
                        {"translation": "감사합니다", "detected_source_language": "en"},
                    ),
                ]
            ],
            answer="In Japanese it's ありがとうございます, and in Korean it's 감사합니다.",
        ),
        steps=[
            c(
                "translate_text",
                {"text": "thank you", "target_language": "ja"},
                {"translation": "ありがとうございます", "detected_source_language": "en"},
            )
        ],
        answer="In Japanese it's ありがとうございます.",
    ),
    P(
        "currency-03",
        "missed_parallel_call",
        "'Dollars' is read as US dollars (USD); euros and pounds become EUR and GBP.",
        "the user asked for euros and pounds; only the euro conversion is made and the pound amount is never given.",
        dict(
            tools=["convert_currency", "get_exchange_rate"],
            user="How much is 100 dollars in euros, and in pounds?",
            steps=[
                [
                    c(
                        "convert_currency",
                        {"amount": 100, "from_currency": "USD", "to_currency": "EUR"},
                        {
                            "amount": 100,
                            "from_currency": "USD",
                            "to_currency": "EUR",
                            "rate": 0.921,
                            "converted": 92.1,
                        },
                    ),
                    c(
                        "convert_currency",
                        {"amount": 100, "from_currency": "USD", "to_currency": "GBP"},
                        {
                            "amount": 100,
                            "from_currency": "USD",
                            "to_currency": "GBP",
                            "rate": 0.7905,
                            "converted": 79.05,
                        },
                    ),
                ]
            ],
            answer="100 US dollars is €92.10 or £79.05 at today's rates.",
        ),
        steps=[
            c(
                "convert_currency",
                {"amount": 100, "from_currency": "USD", "to_currency": "EUR"},
                {
                    "amount": 100,
                    "from_currency": "USD",
                    "to_currency": "EUR",
                    "rate": 0.921,
                    "converted": 92.1,
                },
            )
        ],
        answer="100 US dollars is €92.10 at today's rate.",
    ),
    P(
        "air-01",
        "missed_parallel_call",
        "Three cities, three calls made at once.",
        "three cities were asked for; Lahore is never looked up and the comparison leaves it out.",
        dict(
            tools=["get_air_quality", "get_weather"],
            user="Compare the air quality in Delhi, Beijing and Lahore today.",
            steps=[
                [
                    c(
                        "get_air_quality",
                        {"city": "Delhi"},
                        {"city": "Delhi", "aqi": 182, "category": "unhealthy", "main_pollutant": "pm2.5"},
                    ),
                    c(
                        "get_air_quality",
                        {"city": "Beijing"},
                        {"city": "Beijing", "aqi": 96, "category": "moderate", "main_pollutant": "pm2.5"},
                    ),
                    c(
                        "get_air_quality",
                        {"city": "Lahore"},
                        {
                            "city": "Lahore",
                            "aqi": 214,
                            "category": "very unhealthy",
                            "main_pollutant": "pm2.5",
                        },
                    ),
                ]
            ],
            answer="Lahore is worst today with an AQI of 214 (very unhealthy), then Delhi at 182 (unhealthy), while Beijing is moderate at 96. PM2.5 is the main pollutant in all three.",
        ),
        steps=[
            [
                c(
                    "get_air_quality",
                    {"city": "Delhi"},
                    {"city": "Delhi", "aqi": 182, "category": "unhealthy", "main_pollutant": "pm2.5"},
                ),
                c(
                    "get_air_quality",
                    {"city": "Beijing"},
                    {"city": "Beijing", "aqi": 96, "category": "moderate", "main_pollutant": "pm2.5"},
                ),
            ]
        ],
        answer="Delhi is worse today with an AQI of 182 (unhealthy), while Beijing is moderate at 96. PM2.5 is the main pollutant in both.",
    ),
    P(
        "time-01",
        "missed_parallel_call",
        "Two cities, two calls; 'São Paulo' keeps its accent.",
        "the user asked for Tokyo and São Paulo; only Tokyo's time is fetched and reported.",
        dict(
            tools=["get_local_time"],
            user="What time is it in Tokyo and in São Paulo?",
            steps=[
                [
                    c(
                        "get_local_time",
                        {"city": "Tokyo"},
                        {
                            "city": "Tokyo",
                            "local_time": "2026-02-03T22:15",
                            "timezone": "Asia/Tokyo",
                            "utc_offset": "+09:00",
                        },
                    ),
                    c(
                        "get_local_time",
                        {"city": "São Paulo"},
                        {
                            "city": "São Paulo",
                            "local_time": "2026-02-03T10:15",
                            "timezone": "America/Sao_Paulo",
                            "utc_offset": "-03:00",
                        },
                    ),
                ]
            ],
            answer="It's 22:15 in Tokyo and 10:15 in São Paulo, so Tokyo is 12 hours ahead.",
        ),
        steps=[
            c(
                "get_local_time",
                {"city": "Tokyo"},
                {
                    "city": "Tokyo",
                    "local_time": "2026-02-03T22:15",
                    "timezone": "Asia/Tokyo",
                    "utc_offset": "+09:00",
                },
            )
        ],
        answer="It's 22:15 in Tokyo.",
    ),
    P(
        "package-02",
        "missed_parallel_call",
        "Two tracking numbers, two calls; 'FedEx' maps to carrier 'fedex'.",
        "two parcels were asked about; only the first is tracked and the second is never mentioned.",
        dict(
            tools=["track_package"],
            user="Track both of my FedEx packages: 771234567890 and 771234567891.",
            steps=[
                [
                    c(
                        "track_package",
                        {"tracking_number": "771234567890", "carrier": "fedex"},
                        {
                            "tracking_number": "771234567890",
                            "status": "out_for_delivery",
                            "last_location": "Memphis, TN",
                            "estimated_delivery": "2026-03-02",
                        },
                    ),
                    c(
                        "track_package",
                        {"tracking_number": "771234567891", "carrier": "fedex"},
                        {
                            "tracking_number": "771234567891",
                            "status": "label_created",
                            "last_location": "Austin, TX",
                            "estimated_delivery": "2026-03-06",
                        },
                    ),
                ]
            ],
            answer="771234567890 is out for delivery from Memphis and should arrive on 2 March. 771234567891 only has a label so far (Austin, TX) and is expected on 6 March.",
        ),
        steps=[
            c(
                "track_package",
                {"tracking_number": "771234567890", "carrier": "fedex"},
                {
                    "tracking_number": "771234567890",
                    "status": "out_for_delivery",
                    "last_location": "Memphis, TN",
                    "estimated_delivery": "2026-03-02",
                },
            )
        ],
        answer="771234567890 is out for delivery from Memphis and should arrive on 2 March.",
    ),
    P(
        "holidays-01",
        "missed_parallel_call",
        "Germany and Austria become the ISO 3166 codes DE and AT; December is month 12.",
        "the user asked about Germany and Austria; only Germany is looked up and Austria is left out.",
        dict(
            tools=["get_public_holidays", "get_country_info"],
            user="Which public holidays fall in December 2026 in Germany and in Austria?",
            steps=[
                [
                    c(
                        "get_public_holidays",
                        {"country_code": "DE", "year": 2026, "month": 12},
                        {
                            "holidays": [
                                {"date": "2026-12-25", "name": "Christmas Day"},
                                {"date": "2026-12-26", "name": "Second Day of Christmas"},
                            ]
                        },
                    ),
                    c(
                        "get_public_holidays",
                        {"country_code": "AT", "year": 2026, "month": 12},
                        {
                            "holidays": [
                                {"date": "2026-12-08", "name": "Immaculate Conception"},
                                {"date": "2026-12-25", "name": "Christmas Day"},
                                {"date": "2026-12-26", "name": "St. Stephen's Day"},
                            ]
                        },
                    ),
                ]
            ],
            answer="Germany has Christmas Day (25 December) and the Second Day of Christmas (26 December). Austria has those two days too (the 26th is St. Stephen's Day there) plus the Immaculate Conception on 8 December.",
        ),
        steps=[
            c(
                "get_public_holidays",
                {"country_code": "DE", "year": 2026, "month": 12},
                {
                    "holidays": [
                        {"date": "2026-12-25", "name": "Christmas Day"},
                        {"date": "2026-12-26", "name": "Second Day of Christmas"},
                    ]
                },
            )
        ],
        answer="In December 2026 Germany has Christmas Day (25 December) and the Second Day of Christmas (26 December).",
    ),
    P(
        "country-01",
        "missed_parallel_call",
        "Kenya and Peru become KE and PE.",
        "the user asked about Kenya and Peru; only Kenya is looked up and the answer skips Peru.",
        dict(
            tools=["get_country_info"],
            user="What are the capitals and populations of Kenya and Peru?",
            steps=[
                [
                    c(
                        "get_country_info",
                        {"country_code": "KE"},
                        {
                            "name": "Kenya",
                            "capital": "Nairobi",
                            "population": 55100000,
                            "currency_code": "KES",
                            "languages": ["sw", "en"],
                        },
                    ),
                    c(
                        "get_country_info",
                        {"country_code": "PE"},
                        {
                            "name": "Peru",
                            "capital": "Lima",
                            "population": 34200000,
                            "currency_code": "PEN",
                            "languages": ["es", "qu", "ay"],
                        },
                    ),
                ]
            ],
            answer="Kenya's capital is Nairobi and it has about 55.1 million people; Peru's capital is Lima, with about 34.2 million.",
        ),
        steps=[
            c(
                "get_country_info",
                {"country_code": "KE"},
                {
                    "name": "Kenya",
                    "capital": "Nairobi",
                    "population": 55100000,
                    "currency_code": "KES",
                    "languages": ["sw", "en"],
                },
            )
        ],
        answer="Kenya's capital is Nairobi and it has about 55.1 million people.",
    ),
]

# --- missing_call: a two-step need, the second call never made, yet the answer claims its result ---
PAIRS += [
    P(
        "hotel-04",
        "missing_call",
        "Search first, then book the cheapest result with the id the search returned.",
        "the booking call is never made, yet the answer says the room is booked.",
        dict(
            tools=["search_hotels", "book_hotel"],
            user="Find a hotel in Kyoto for 2 guests from 2026-04-10 to 2026-04-13 and book the cheapest one.",
            steps=[
                c(
                    "search_hotels",
                    {"city": "Kyoto", "check_in": "2026-04-10", "check_out": "2026-04-13", "guests": 2},
                    {
                        "hotels": [
                            hotel("H-6610", "Gion Garden Inn", 21500, "JPY", 4.6),
                            hotel("H-6655", "Kamo River Rooms", 9800, "JPY", 4.2),
                            hotel("H-6702", "Karasuma Central Hotel", 14200, "JPY", 4.0),
                        ]
                    },
                ),
                c(
                    "book_hotel",
                    {"hotel_id": "H-6655", "check_in": "2026-04-10", "check_out": "2026-04-13", "guests": 2},
                    {
                        "confirmation": "BK-40218",
                        "hotel_name": "Kamo River Rooms",
                        "total_price": 29400,
                        "currency": "JPY",
                        "nights": 3,
                    },
                ),
            ],
            answer="I booked the cheapest option, Kamo River Rooms, for 10 to 13 April (3 nights, 2 guests): ¥29,400 in total, confirmation BK-40218.",
        ),
        steps=[
            c(
                "search_hotels",
                {"city": "Kyoto", "check_in": "2026-04-10", "check_out": "2026-04-13", "guests": 2},
                {
                    "hotels": [
                        hotel("H-6610", "Gion Garden Inn", 21500, "JPY", 4.6),
                        hotel("H-6655", "Kamo River Rooms", 9800, "JPY", 4.2),
                        hotel("H-6702", "Karasuma Central Hotel", 14200, "JPY", 4.0),
                    ]
                },
            )
        ],
        answer="I booked the cheapest option, Kamo River Rooms, for 10 to 13 April (3 nights, 2 guests) at ¥9,800 a night, ¥29,400 in total.",
    ),
    P(
        "weather-12",
        "missing_call",
        "'The capital of Australia' is looked up (AU, Canberra) and its weather then fetched.",
        "the weather call for Canberra is never made, yet the answer reports a temperature and conditions.",
        dict(
            tools=["get_country_info", "get_weather"],
            user="What's the weather like right now in the capital of Australia?",
            steps=[
                c(
                    "get_country_info",
                    {"country_code": "AU"},
                    {
                        "name": "Australia",
                        "capital": "Canberra",
                        "population": 27200000,
                        "currency_code": "AUD",
                        "languages": ["en"],
                    },
                ),
                c("get_weather", {"city": "Canberra"}, current("Canberra", 16, "clear", 40)),
            ],
            answer="In Canberra, Australia's capital, it's 16°C and clear right now, with 40% humidity.",
        ),
        steps=[
            c(
                "get_country_info",
                {"country_code": "AU"},
                {
                    "name": "Australia",
                    "capital": "Canberra",
                    "population": 27200000,
                    "currency_code": "AUD",
                    "languages": ["en"],
                },
            )
        ],
    ),
    P(
        "stock-02",
        "missing_call",
        "Toyota is listed in Tokyo as 7203.T; its yen price is then converted to USD.",
        "the conversion to US dollars is never made, yet the answer gives a dollar figure.",
        dict(
            tools=["get_stock_quote", "convert_currency"],
            user="What is one Toyota share worth in US dollars right now?",
            steps=[
                c(
                    "get_stock_quote",
                    {"symbol": "7203.T"},
                    {"symbol": "7203.T", "price": 2874.5, "currency": "JPY", "change_percent": 0.6},
                ),
                c(
                    "convert_currency",
                    {"amount": 2874.5, "from_currency": "JPY", "to_currency": "USD"},
                    {
                        "amount": 2874.5,
                        "from_currency": "JPY",
                        "to_currency": "USD",
                        "rate": 0.006671,
                        "converted": 19.18,
                    },
                ),
            ],
            answer="One Toyota share (7203.T) trades at ¥2,874.50, which is about $19.18.",
        ),
        steps=[
            c(
                "get_stock_quote",
                {"symbol": "7203.T"},
                {"symbol": "7203.T", "price": 2874.5, "currency": "JPY", "change_percent": 0.6},
            )
        ],
    ),
    P(
        "kitchen-04",
        "missing_call",
        "The egg count comes from the recipe found in the first call.",
        "the eggs are never added to the shopping list, yet the answer says they were.",
        dict(
            tools=["search_recipes", "add_to_shopping_list"],
            user="Find me a pancake recipe and add the eggs it needs to my shopping list.",
            steps=[
                c(
                    "search_recipes",
                    {"query": "pancakes"},
                    {
                        "results": [
                            {
                                "id": "r-1021",
                                "title": "Fluffy Buttermilk Pancakes",
                                "total_minutes": 25,
                                "servings": 4,
                                "ingredients": [
                                    {"name": "flour", "quantity": 250, "unit": "g"},
                                    {"name": "buttermilk", "quantity": 400, "unit": "ml"},
                                    {"name": "eggs", "quantity": 2, "unit": "piece"},
                                    {"name": "butter", "quantity": 30, "unit": "g"},
                                ],
                            }
                        ]
                    },
                ),
                c(
                    "add_to_shopping_list",
                    {"item": "eggs", "quantity": 2, "unit": "piece"},
                    {"item": "eggs", "quantity": 2, "unit": "piece", "list_size": 9},
                ),
            ],
            answer="Fluffy Buttermilk Pancakes takes 25 minutes and serves 4. It needs 2 eggs, which I've added to your shopping list (9 items now).",
        ),
        steps=[
            c(
                "search_recipes",
                {"query": "pancakes"},
                {
                    "results": [
                        {
                            "id": "r-1021",
                            "title": "Fluffy Buttermilk Pancakes",
                            "total_minutes": 25,
                            "servings": 4,
                            "ingredients": [
                                {"name": "flour", "quantity": 250, "unit": "g"},
                                {"name": "buttermilk", "quantity": 400, "unit": "ml"},
                                {"name": "eggs", "quantity": 2, "unit": "piece"},
                                {"name": "butter", "quantity": 30, "unit": "g"},
                            ],
                        }
                    ]
                },
            )
        ],
        answer="Fluffy Buttermilk Pancakes takes 25 minutes and serves 4. It needs 2 eggs, which I've added to your shopping list.",
    ),
    P(
        "package-03",
        "missing_call",
        "The delivery date from the tracking call is passed on in the email body.",
        "the email to Sam is never sent, yet the answer says it was.",
        dict(
            tools=["track_package", "send_email"],
            user="Check where my DHL parcel 4471920035 is and email the expected delivery date to sam.porter@example.com.",
            steps=[
                c(
                    "track_package",
                    {"tracking_number": "4471920035", "carrier": "dhl"},
                    {
                        "tracking_number": "4471920035",
                        "status": "in_transit",
                        "last_location": "Brussels hub, BE",
                        "estimated_delivery": "2026-02-19",
                    },
                ),
                c(
                    "send_email",
                    {
                        "to": "sam.porter@example.com",
                        "subject": "Parcel delivery date",
                        "body": "Hi Sam, the DHL parcel 4471920035 is in transit and expected on 2026-02-19.",
                    },
                    {"status": "sent", "message_id": "msg_6c21"},
                ),
            ],
            answer="The parcel is in transit through the Brussels hub and due on 19 February 2026. I've emailed that date to sam.porter@example.com.",
        ),
        steps=[
            c(
                "track_package",
                {"tracking_number": "4471920035", "carrier": "dhl"},
                {
                    "tracking_number": "4471920035",
                    "status": "in_transit",
                    "last_location": "Brussels hub, BE",
                    "estimated_delivery": "2026-02-19",
                },
            )
        ],
    ),
    P(
        "flight-06",
        "missing_call",
        "Miami becomes MIA; the earliest flight's times then go into a calendar event.",
        "no calendar event is created, yet the answer says the flight was added to the calendar.",
        dict(
            tools=["search_flights", "create_event"],
            user="Find the earliest flight from JFK to Miami on 2026-12-19 and add it to my calendar.",
            steps=[
                c(
                    "search_flights",
                    {"origin": "JFK", "destination": "MIA", "date": "2026-12-19"},
                    {
                        "flights": [
                            flight("AA 1011", "2026-12-19T06:00", "2026-12-19T09:12", 189.0, "USD"),
                            flight("DL 1893", "2026-12-19T07:30", "2026-12-19T10:41", 204.0, "USD"),
                        ]
                    },
                ),
                c(
                    "create_event",
                    {
                        "title": "Flight AA 1011 JFK to MIA",
                        "date": "2026-12-19",
                        "start_time": "06:00",
                        "end_time": "09:12",
                    },
                    {"event_id": "evt_c410", "status": "confirmed"},
                ),
            ],
            answer="The earliest is AA 1011, leaving JFK at 06:00 and landing in Miami at 09:12 ($189). It's now in your calendar for 19 December.",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "JFK", "destination": "MIA", "date": "2026-12-19"},
                {
                    "flights": [
                        flight("AA 1011", "2026-12-19T06:00", "2026-12-19T09:12", 189.0, "USD"),
                        flight("DL 1893", "2026-12-19T07:30", "2026-12-19T10:41", 204.0, "USD"),
                    ]
                },
            )
        ],
    ),
    P(
        "route-04",
        "missing_call",
        "The distance and time from the route call go into the email body.",
        "the email to Kate is never sent, yet the answer says it was.",
        dict(
            tools=["get_route", "send_email"],
            user="Work out how long the drive from Leeds to York takes and email it to kate.hughes@example.co.uk.",
            steps=[
                c(
                    "get_route",
                    {"origin": "Leeds", "destination": "York", "mode": "driving"},
                    {"distance_km": 41.2, "duration_minutes": 48, "summary": "A64"},
                ),
                c(
                    "send_email",
                    {
                        "to": "kate.hughes@example.co.uk",
                        "subject": "Drive from Leeds to York",
                        "body": "Hi Kate, the drive from Leeds to York is 41.2 km and takes about 48 minutes via the A64.",
                    },
                    {"status": "sent", "message_id": "msg_2e78"},
                ),
            ],
            answer="The drive is 41.2 km and about 48 minutes via the A64. I've emailed that to kate.hughes@example.co.uk.",
        ),
        steps=[
            c(
                "get_route",
                {"origin": "Leeds", "destination": "York", "mode": "driving"},
                {"distance_km": 41.2, "duration_minutes": 48, "summary": "A64"},
            )
        ],
    ),
    P(
        "currency-04",
        "missing_call",
        "Morocco (MA) is looked up to learn its currency, MAD, before converting 50 USD.",
        "the conversion is never made, yet the answer gives an amount in dirhams.",
        dict(
            tools=["get_country_info", "convert_currency"],
            user="How much is 50 US dollars in the local currency of Morocco?",
            steps=[
                c(
                    "get_country_info",
                    {"country_code": "MA"},
                    {
                        "name": "Morocco",
                        "capital": "Rabat",
                        "population": 37700000,
                        "currency_code": "MAD",
                        "languages": ["ar", "zgh"],
                    },
                ),
                c(
                    "convert_currency",
                    {"amount": 50, "from_currency": "USD", "to_currency": "MAD"},
                    {
                        "amount": 50,
                        "from_currency": "USD",
                        "to_currency": "MAD",
                        "rate": 9.96,
                        "converted": 498.0,
                    },
                ),
            ],
            answer="Morocco uses the dirham (MAD). 50 US dollars is about 498 dirhams at today's rate of 9.96.",
        ),
        steps=[
            c(
                "get_country_info",
                {"country_code": "MA"},
                {
                    "name": "Morocco",
                    "capital": "Rabat",
                    "population": 37700000,
                    "currency_code": "MAD",
                    "languages": ["ar", "zgh"],
                },
            )
        ],
    ),
    P(
        "language-03",
        "missing_call",
        "Spanish becomes 'es'; the translation is then mailed with the subject given.",
        "the email is never sent, yet the answer says the translation was sent to Lucía.",
        dict(
            tools=["translate_text", "send_email"],
            user="Translate 'The meeting has moved to Thursday' into Spanish and send it to lucia.ferrer@example.es with the subject 'Reunión'.",
            steps=[
                c(
                    "translate_text",
                    {"text": "The meeting has moved to Thursday", "target_language": "es"},
                    {
                        "translation": "La reunión se ha trasladado al jueves",
                        "detected_source_language": "en",
                    },
                ),
                c(
                    "send_email",
                    {
                        "to": "lucia.ferrer@example.es",
                        "subject": "Reunión",
                        "body": "La reunión se ha trasladado al jueves.",
                    },
                    {"status": "sent", "message_id": "msg_e5a3"},
                ),
            ],
            answer='Sent to lucia.ferrer@example.es: "La reunión se ha trasladado al jueves."',
        ),
        steps=[
            c(
                "translate_text",
                {"text": "The meeting has moved to Thursday", "target_language": "es"},
                {"translation": "La reunión se ha trasladado al jueves", "detected_source_language": "en"},
            )
        ],
    ),
]

# --- wrong_tool: a neighbouring (distractor) tool called instead of the one that fits ---
PAIRS += [
    P(
        "weather-10",
        "wrong_tool",
        "'Thursday' seen from Tuesday 2026-06-02 is 2026-06-04, a future day for the forecast tool.",
        "get_weather gives current conditions; a question about Thursday needs get_forecast.",
        dict(
            system=TUE,
            tools=["get_weather", "get_forecast"],
            user="What's the forecast for Munich on Thursday?",
            steps=[
                c(
                    "get_forecast",
                    {"city": "Munich", "date": "2026-06-04"},
                    forecast("Munich", "2026-06-04", 24, 13, "sunny", 10),
                )
            ],
            answer="Thursday, 4 June, looks sunny in Munich, between 13 and 24°C, with a 10% chance of rain.",
        ),
        steps=[c("get_weather", {"city": "Munich"}, current("Munich", 18, "cloudy", 71))],
        answer="On Thursday Munich will be cloudy at around 18°C.",
    ),
    P(
        "train-04",
        "wrong_tool",
        "Plain copy of the cities and date into the train search.",
        "the user asked for trains; the assistant searched flights (CDG to LHR) instead.",
        dict(
            tools=["search_trains", "search_flights"],
            user="Show me trains from Paris to London on 2026-04-18.",
            steps=[
                c(
                    "search_trains",
                    {"origin": "Paris", "destination": "London", "date": "2026-04-18"},
                    {
                        "connections": [
                            train("Eurostar 9014", "08:01", "09:30", 89.0, "EUR"),
                            train("Eurostar 9024", "10:01", "11:30", 104.0, "EUR"),
                        ]
                    },
                )
            ],
            answer="On 18 April: Eurostar 9014 at 08:01 (arrives 09:30) for €89, or Eurostar 9024 at 10:01 (arrives 11:30) for €104.",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "CDG", "destination": "LHR", "date": "2026-04-18"},
                {
                    "flights": [
                        flight("AF 1080", "2026-04-18T07:15", "2026-04-18T07:35", 142.0, "EUR"),
                        flight("BA 303", "2026-04-18T09:40", "2026-04-18T10:00", 118.0, "EUR"),
                    ]
                },
            )
        ],
        answer="On 18 April: AF 1080 at 07:15 (arrives 07:35) for €142, or BA 303 at 09:40 (arrives 10:00) for €118.",
    ),
    P(
        "language-06",
        "wrong_tool",
        "Plain copy of the word into the dictionary lookup.",
        "a meaning question sent to the translator (into English) instead of the dictionary.",
        dict(
            tools=["define_word", "translate_text"],
            user="What does 'serendipity' mean?",
            steps=[
                c(
                    "define_word",
                    {"word": "serendipity"},
                    {
                        "word": "serendipity",
                        "definitions": ["the happening of events by chance in a happy or beneficial way"],
                    },
                )
            ],
            answer="'Serendipity' means things happening by chance in a happy or beneficial way.",
        ),
        steps=[
            c(
                "translate_text",
                {"text": "serendipity", "target_language": "en"},
                {"translation": "serendipity", "detected_source_language": "en"},
            )
        ],
        answer="'Serendipity' is already English, so the translation is simply 'serendipity'.",
    ),
    P(
        "stock-03",
        "wrong_tool",
        "Tesla maps to the ticker TSLA.",
        "a news search replaces the quote tool, and the price is taken from an old headline.",
        dict(
            tools=["get_stock_quote", "search_news"],
            user="What's Tesla's stock price?",
            steps=[
                c(
                    "get_stock_quote",
                    {"symbol": "TSLA"},
                    {"symbol": "TSLA", "price": 251.37, "currency": "USD", "change_percent": 2.1},
                )
            ],
            answer="Tesla (TSLA) is at $251.37, up 2.1% today.",
        ),
        steps=[
            c(
                "search_news",
                {"query": "Tesla stock price"},
                {
                    "articles": [
                        {
                            "title": "Tesla shares climb 4% to $238 after delivery numbers",
                            "source": "Market Wire",
                            "published": "2026-02-27",
                        }
                    ]
                },
            )
        ],
        answer="Tesla shares are at about $238, according to Market Wire.",
    ),
    P(
        "calendar-05",
        "wrong_tool",
        "An invitation means a calendar event with the address as attendee.",
        "an email was sent instead of creating the calendar event with Dana as attendee.",
        dict(
            tools=["create_event", "send_email"],
            user="Invite dana.whitfield@example.com to a 'Design review' on 2026-05-19 from 11:00 to 12:00.",
            steps=[
                c(
                    "create_event",
                    {
                        "title": "Design review",
                        "date": "2026-05-19",
                        "start_time": "11:00",
                        "end_time": "12:00",
                        "attendees": ["dana.whitfield@example.com"],
                    },
                    {"event_id": "evt_a9b3", "status": "confirmed"},
                )
            ],
            answer="'Design review' is on your calendar for 19 May, 11:00 to 12:00, and dana.whitfield@example.com is invited.",
        ),
        steps=[
            c(
                "send_email",
                {
                    "to": "dana.whitfield@example.com",
                    "subject": "Design review",
                    "body": "Hi Dana, you're invited to a design review on 2026-05-19 from 11:00 to 12:00.",
                },
                {"status": "sent", "message_id": "msg_73f0"},
            )
        ],
        answer="I've invited Dana to the design review on 19 May, 11:00 to 12:00.",
    ),
    P(
        "air-02",
        "wrong_tool",
        "'Is the air OK' is an air quality question; the answer reads the category for the user.",
        "an air quality question answered with the weather tool; pollution is never checked.",
        dict(
            tools=["get_air_quality", "get_weather"],
            user="Is the air OK for a run outside in Santiago today?",
            steps=[
                c(
                    "get_air_quality",
                    {"city": "Santiago"},
                    {"city": "Santiago", "aqi": 87, "category": "moderate", "main_pollutant": "pm2.5"},
                )
            ],
            answer="The air in Santiago is moderate today (AQI 87, mainly PM2.5). That's fine for most people, but keep the run short if you're sensitive to pollution.",
        ),
        steps=[c("get_weather", {"city": "Santiago"}, current("Santiago", 24, "sunny", 35))],
        answer="It's 24°C and sunny in Santiago, so conditions are great for a run.",
    ),
    P(
        "hotel-05",
        "wrong_tool",
        "The user gives the hotel id, so the booking can be made directly.",
        "the user asked to book; the assistant only searched hotels in Cork and booked nothing.",
        dict(
            tools=["book_hotel", "search_hotels"],
            user="Book the Harbour Inn in Cork (id H-5520) for 2 guests, 2026-08-01 to 2026-08-03.",
            steps=[
                c(
                    "book_hotel",
                    {"hotel_id": "H-5520", "check_in": "2026-08-01", "check_out": "2026-08-03", "guests": 2},
                    {
                        "confirmation": "BK-55187",
                        "hotel_name": "Harbour Inn",
                        "total_price": 318.0,
                        "currency": "EUR",
                        "nights": 2,
                    },
                )
            ],
            answer="You're booked at the Harbour Inn from 1 to 3 August (2 nights, 2 guests) for €318. Confirmation: BK-55187.",
        ),
        steps=[
            c(
                "search_hotels",
                {"city": "Cork", "check_in": "2026-08-01", "check_out": "2026-08-03", "guests": 2},
                {"hotels": [hotel("H-5520", "Harbour Inn", 159.0, "EUR", 4.3)]},
            )
        ],
        answer="The Harbour Inn in Cork has rooms for 1 to 3 August at €159 a night.",
    ),
    P(
        "cinema-02",
        "wrong_tool",
        "'Tonight' with today 2026-10-21 means date 2026-10-21.",
        "a news search instead of the showtimes tool; the user gets no times.",
        dict(
            system=WED,
            tools=["get_showtimes", "search_news"],
            user="When is 'Paper Moons' playing in Austin tonight?",
            steps=[
                c(
                    "get_showtimes",
                    {"city": "Austin", "movie": "Paper Moons", "date": "2026-10-21"},
                    {
                        "showtimes": [
                            {"cinema": "Lamar Picture House", "times": ["19:00", "21:45"]},
                            {"cinema": "Eastside Screens", "times": ["20:15"]},
                        ]
                    },
                )
            ],
            answer="Tonight 'Paper Moons' is on at Lamar Picture House at 19:00 and 21:45, and at Eastside Screens at 20:15.",
        ),
        steps=[
            c(
                "search_news",
                {"query": "Paper Moons Austin"},
                {
                    "articles": [
                        {
                            "title": "'Paper Moons' opens to strong reviews in Texas",
                            "source": "Austin Arts Weekly",
                            "published": "2026-10-16",
                        }
                    ]
                },
            )
        ],
        answer="'Paper Moons' is showing in Austin and opened to strong reviews last week. Check your local cinema for tonight's times.",
    ),
    P(
        "language-04",
        "wrong_tool",
        "'Dutch' and 'English' become the codes 'nl' and 'en'.",
        "a translation request sent to the English dictionary, which does not know the Dutch word.",
        dict(
            tools=["translate_text", "define_word"],
            user="Translate the Dutch word 'gezellig' into English.",
            steps=[
                c(
                    "translate_text",
                    {"text": "gezellig", "target_language": "en", "source_language": "nl"},
                    {"translation": "cosy", "detected_source_language": "nl"},
                )
            ],
            answer="'Gezellig' translates to 'cosy' in English.",
        ),
        steps=[
            c("define_word", {"word": "gezellig", "language": "en"}, {"word": "gezellig", "definitions": []})
        ],
        answer="Sorry, I couldn't find 'gezellig' in the dictionary.",
    ),
]

# --- extra_call: an unrequested or repeated call ---
PAIRS += [
    P(
        "weather-05",
        "extra_call",
        "'NYC' is New York City.",
        "the identical weather call is repeated after the first one already answered.",
        dict(
            tools=["get_weather", "get_forecast"],
            user="What's the weather in NYC?",
            steps=[c("get_weather", {"city": "New York City"}, current("New York City", 9, "overcast", 66))],
            answer="It's 9°C and overcast in New York City, with 66% humidity.",
        ),
        steps=[
            c("get_weather", {"city": "New York City"}, current("New York City", 9, "overcast", 66)),
            c("get_weather", {"city": "New York City"}, current("New York City", 9, "overcast", 66)),
        ],
    ),
    P(
        "email-04",
        "extra_call",
        "Plain copy of address, subject and body.",
        "the same email is sent twice, in two separate calls.",
        dict(
            tools=["send_email"],
            user="Send an email to ops@example.com with subject 'Server restart' and body 'The staging server will restart at 22:00 tonight.'",
            steps=[
                c(
                    "send_email",
                    {
                        "to": "ops@example.com",
                        "subject": "Server restart",
                        "body": "The staging server will restart at 22:00 tonight.",
                    },
                    {"status": "sent", "message_id": "msg_b812"},
                )
            ],
            answer="Email sent to ops@example.com.",
        ),
        steps=[
            c(
                "send_email",
                {
                    "to": "ops@example.com",
                    "subject": "Server restart",
                    "body": "The staging server will restart at 22:00 tonight.",
                },
                {"status": "sent", "message_id": "msg_b812"},
            ),
            c(
                "send_email",
                {
                    "to": "ops@example.com",
                    "subject": "Server restart",
                    "body": "The staging server will restart at 22:00 tonight.",
                },
                {"status": "sent", "message_id": "msg_b813"},
            ),
        ],
    ),
    P(
        "stock-04",
        "extra_call",
        "Amazon maps to the ticker AMZN.",
        "an extra quote for GOOGL is fetched although only Amazon was asked about.",
        dict(
            tools=["get_stock_quote"],
            user="What's Amazon's share price?",
            steps=[
                c(
                    "get_stock_quote",
                    {"symbol": "AMZN"},
                    {"symbol": "AMZN", "price": 198.6, "currency": "USD", "change_percent": 1.2},
                )
            ],
            answer="Amazon (AMZN) is at $198.60, up 1.2% today.",
        ),
        steps=[
            [
                c(
                    "get_stock_quote",
                    {"symbol": "AMZN"},
                    {"symbol": "AMZN", "price": 198.6, "currency": "USD", "change_percent": 1.2},
                ),
                c(
                    "get_stock_quote",
                    {"symbol": "GOOGL"},
                    {"symbol": "GOOGL", "price": 171.25, "currency": "USD", "change_percent": -0.4},
                ),
            ]
        ],
    ),
    P(
        "flight-07",
        "extra_call",
        "Toronto and Vancouver become the main airports YYZ and YVR.",
        "an unrequested hotel search in Vancouver is made alongside the flight search.",
        dict(
            tools=["search_flights", "search_hotels"],
            user="Look for flights from Toronto to Vancouver on 2026-09-12.",
            steps=[
                c(
                    "search_flights",
                    {"origin": "YYZ", "destination": "YVR", "date": "2026-09-12"},
                    {
                        "flights": [
                            flight("AC 103", "2026-09-12T08:00", "2026-09-12T10:12", 389.0, "CAD"),
                            flight("WS 701", "2026-09-12T11:30", "2026-09-12T13:45", 342.0, "CAD"),
                        ]
                    },
                )
            ],
            answer="On 12 September: AC 103 at 08:00 (lands 10:12) for CA$389, or WS 701 at 11:30 (lands 13:45) for CA$342, both nonstop.",
        ),
        steps=[
            [
                c(
                    "search_flights",
                    {"origin": "YYZ", "destination": "YVR", "date": "2026-09-12"},
                    {
                        "flights": [
                            flight("AC 103", "2026-09-12T08:00", "2026-09-12T10:12", 389.0, "CAD"),
                            flight("WS 701", "2026-09-12T11:30", "2026-09-12T13:45", 342.0, "CAD"),
                        ]
                    },
                ),
                c(
                    "search_hotels",
                    {"city": "Vancouver", "check_in": "2026-09-12", "check_out": "2026-09-13"},
                    {"hotels": [hotel("H-8120", "Granville Harbour Hotel", 259.0, "CAD", 4.3)]},
                ),
            ]
        ],
        answer="On 12 September: AC 103 at 08:00 (lands 10:12) for CA$389, or WS 701 at 11:30 (lands 13:45) for CA$342, both nonstop. The Granville Harbour Hotel has a room that night for CA$259.",
    ),
    P(
        "bill-03",
        "extra_call",
        "'No tip' is tip_percent 0, and '$96' is the total 96.",
        "an unrequested conversion of the share into euros follows the split.",
        dict(
            tools=["split_bill", "convert_currency"],
            user="Split $96 between 3 people, no tip.",
            steps=[
                c(
                    "split_bill",
                    {"total": 96, "people": 3, "tip_percent": 0},
                    {"total_with_tip": 96.0, "tip": 0.0, "per_person": 32.0},
                )
            ],
            answer="That's $32 each.",
        ),
        steps=[
            c(
                "split_bill",
                {"total": 96, "people": 3, "tip_percent": 0},
                {"total_with_tip": 96.0, "tip": 0.0, "per_person": 32.0},
            ),
            c(
                "convert_currency",
                {"amount": 32, "from_currency": "USD", "to_currency": "EUR"},
                {
                    "amount": 32,
                    "from_currency": "USD",
                    "to_currency": "EUR",
                    "rate": 0.921,
                    "converted": 29.47,
                },
            ),
        ],
        answer="That's $32 each, or about €29.47.",
    ),
    P(
        "language-05",
        "extra_call",
        "Portuguese becomes 'pt'.",
        "an unrequested Spanish translation is made alongside the Portuguese one.",
        dict(
            tools=["translate_text"],
            user="Translate 'good morning' into Portuguese.",
            steps=[
                c(
                    "translate_text",
                    {"text": "good morning", "target_language": "pt"},
                    {"translation": "bom dia", "detected_source_language": "en"},
                )
            ],
            answer="In Portuguese, 'good morning' is 'bom dia'.",
        ),
        steps=[
            [
                c(
                    "translate_text",
                    {"text": "good morning", "target_language": "pt"},
                    {"translation": "bom dia", "detected_source_language": "en"},
                ),
                c(
                    "translate_text",
                    {"text": "good morning", "target_language": "es"},
                    {"translation": "buenos días", "detected_source_language": "en"},
                ),
            ]
        ],
        answer="In Portuguese, 'good morning' is 'bom dia' (and in Spanish it's 'buenos días').",
    ),
    P(
        "country-02",
        "extra_call",
        "Switzerland is CH.",
        "an unrequested conversion of one franc to dollars follows the country lookup.",
        dict(
            tools=["get_country_info", "convert_currency"],
            user="What currency does Switzerland use?",
            steps=[
                c(
                    "get_country_info",
                    {"country_code": "CH"},
                    {
                        "name": "Switzerland",
                        "capital": "Bern",
                        "population": 8900000,
                        "currency_code": "CHF",
                        "languages": ["de", "fr", "it", "rm"],
                    },
                )
            ],
            answer="Switzerland uses the Swiss franc (CHF).",
        ),
        steps=[
            c(
                "get_country_info",
                {"country_code": "CH"},
                {
                    "name": "Switzerland",
                    "capital": "Bern",
                    "population": 8900000,
                    "currency_code": "CHF",
                    "languages": ["de", "fr", "it", "rm"],
                },
            ),
            c(
                "convert_currency",
                {"amount": 1, "from_currency": "CHF", "to_currency": "USD"},
                {"amount": 1, "from_currency": "CHF", "to_currency": "USD", "rate": 1.13, "converted": 1.13},
            ),
        ],
        answer="Switzerland uses the Swiss franc (CHF); one franc is worth about $1.13.",
    ),
    P(
        "calendar-06",
        "extra_call",
        "Plain copy of title, date and times.",
        "an unrequested reminder is set alongside the calendar event.",
        dict(
            tools=["create_event", "set_reminder"],
            user="Add 'Call with Priya' to my calendar on 2026-04-08 from 16:00 to 16:30.",
            steps=[
                c(
                    "create_event",
                    {
                        "title": "Call with Priya",
                        "date": "2026-04-08",
                        "start_time": "16:00",
                        "end_time": "16:30",
                    },
                    {"event_id": "evt_19e4", "status": "confirmed"},
                )
            ],
            answer="'Call with Priya' is on your calendar for 8 April, 16:00 to 16:30.",
        ),
        steps=[
            [
                c(
                    "create_event",
                    {
                        "title": "Call with Priya",
                        "date": "2026-04-08",
                        "start_time": "16:00",
                        "end_time": "16:30",
                    },
                    {"event_id": "evt_19e4", "status": "confirmed"},
                ),
                c(
                    "set_reminder",
                    {"text": "Call with Priya", "date": "2026-04-08", "time": "15:45"},
                    {
                        "reminder_id": "rem_3301",
                        "text": "Call with Priya",
                        "date": "2026-04-08",
                        "time": "15:45",
                    },
                ),
            ]
        ],
        answer="'Call with Priya' is on your calendar for 8 April, 16:00 to 16:30, and I'll remind you at 15:45.",
    ),
    P(
        "route-05",
        "extra_call",
        "Plain copy of the two cities; driving is the default mode.",
        "an unrequested weather lookup for Boulder is made alongside the route.",
        dict(
            tools=["get_route", "get_weather"],
            user="How long is the drive from Denver to Boulder?",
            steps=[
                c(
                    "get_route",
                    {"origin": "Denver", "destination": "Boulder"},
                    {"distance_km": 48.3, "duration_minutes": 37, "summary": "US-36 W"},
                )
            ],
            answer="It's about 48.3 km and 37 minutes via US-36 West.",
        ),
        steps=[
            [
                c(
                    "get_route",
                    {"origin": "Denver", "destination": "Boulder"},
                    {"distance_km": 48.3, "duration_minutes": 37, "summary": "US-36 W"},
                ),
                c("get_weather", {"city": "Boulder"}, current("Boulder", 12, "sunny", 28)),
            ]
        ],
        answer="It's about 48.3 km and 37 minutes via US-36 West, and it's 12°C and sunny in Boulder.",
    ),
]

# --- useless_answer: the tools returned what was needed, the final answer does not pass it on ---
UPS_STATUS = {
    "tracking_number": "1Z999AA10123456784",
    "status": "delivered",
    "last_location": "Front porch, Columbus, OH",
    "estimated_delivery": "2026-02-24",
}

PAIRS += [
    P(
        "stock-05",
        "useless_answer",
        "IBM is already a ticker symbol.",
        "the final answer is an empty courtesy ('Thank you for the quote.') that gives no price.",
        dict(
            tools=["get_stock_quote", "search_news"],
            user="Can you get me a quote for IBM?",
            steps=[
                c(
                    "get_stock_quote",
                    {"symbol": "IBM"},
                    {"symbol": "IBM", "price": 238.14, "currency": "USD", "change_percent": -0.4},
                )
            ],
            answer="IBM is trading at $238.14, down 0.4% today.",
        ),
        answer="Thank you for the quote.",
    ),
    P(
        "weather-06",
        "useless_answer",
        "Plain copy of the city.",
        "the final answer is just 'Done!' and reports no weather.",
        dict(
            tools=["get_weather"],
            user="Weather in Cape Town?",
            steps=[c("get_weather", {"city": "Cape Town"}, current("Cape Town", 22, "windy", 55))],
            answer="It's 22°C and windy in Cape Town, with 55% humidity.",
        ),
        answer="Done!",
    ),
    P(
        "package-04",
        "useless_answer",
        "'UPS' maps to carrier 'ups'; the number is copied.",
        "the final answer echoes the raw JSON output instead of telling the user the parcel was delivered.",
        dict(
            tools=["track_package"],
            user="Can you track my UPS package 1Z999AA10123456784?",
            steps=[
                c("track_package", {"tracking_number": "1Z999AA10123456784", "carrier": "ups"}, UPS_STATUS)
            ],
            answer="Your UPS package was delivered on 24 February 2026 and left on the front porch in Columbus, OH.",
        ),
        answer=compact(UPS_STATUS),
    ),
    P(
        "flight-08",
        "useless_answer",
        "Oslo and Stockholm become OSL and ARN, the cities' main airports.",
        "the final answer only says a search was made and lists none of the flights found.",
        dict(
            tools=["search_flights"],
            user="Flights from Oslo to Stockholm on 2026-05-30?",
            steps=[
                c(
                    "search_flights",
                    {"origin": "OSL", "destination": "ARN", "date": "2026-05-30"},
                    {
                        "flights": [
                            flight("SK 485", "2026-05-30T07:05", "2026-05-30T08:05", 1190.0, "NOK"),
                            flight("DY 4211", "2026-05-30T16:40", "2026-05-30T17:40", 849.0, "NOK"),
                        ]
                    },
                )
            ],
            answer="On 30 May there's SK 485 at 07:05 (arrives 08:05) for NOK 1,190 and DY 4211 at 16:40 (arrives 17:40) for NOK 849, both nonstop.",
        ),
        answer="I searched for flights from Oslo to Stockholm for you.",
    ),
    P(
        "restaurant-03",
        "useless_answer",
        "'Cheap' maps to price_level 1.",
        "the final answer promises options but names none of them.",
        dict(
            tools=["search_restaurants", "get_route"],
            user="Find cheap Mexican food in San Diego.",
            steps=[
                c(
                    "search_restaurants",
                    {"city": "San Diego", "cuisine": "mexican", "price_level": 1},
                    {
                        "restaurants": [
                            restaurant("Taquería El Faro", 4.6, 1, True, "2120 Logan Ave"),
                            restaurant("Burrito Norte", 4.4, 1, True, "845 University Ave"),
                        ]
                    },
                )
            ],
            answer="Two cheap and well-rated spots: Taquería El Faro at 2120 Logan Ave (4.6) and Burrito Norte at 845 University Ave (4.4). Both are open now.",
        ),
        answer="Here are some options for you!",
    ),
    P(
        "kitchen-05",
        "useless_answer",
        "'Under 30 minutes' is max_total_minutes 30 and 'gluten-free' the diet 'gluten_free'.",
        "the final answer is a sign-off that mentions none of the recipes found.",
        dict(
            tools=["search_recipes"],
            user="I need some quick gluten-free dinner ideas, under 30 minutes.",
            steps=[
                c(
                    "search_recipes",
                    {"query": "dinner", "max_total_minutes": 30, "diet": "gluten_free"},
                    {
                        "results": [
                            {
                                "id": "r-7731",
                                "title": "Lemon Garlic Salmon with Rice",
                                "total_minutes": 25,
                                "servings": 2,
                            },
                            {
                                "id": "r-7802",
                                "title": "Chicken and Vegetable Stir-Fry",
                                "total_minutes": 20,
                                "servings": 3,
                            },
                        ]
                    },
                )
            ],
            answer="Try Lemon Garlic Salmon with Rice (25 minutes, serves 2) or Chicken and Vegetable Stir-Fry (20 minutes, serves 3).",
        ),
        answer="Let me know if you need anything else!",
    ),
    P(
        "holidays-02",
        "useless_answer",
        "Ireland becomes IE and March is month 3.",
        "the final answer only says the tool worked and never names the holiday.",
        dict(
            tools=["get_public_holidays"],
            user="Are there any public holidays in Ireland in March 2026?",
            steps=[
                c(
                    "get_public_holidays",
                    {"country_code": "IE", "year": 2026, "month": 3},
                    {"holidays": [{"date": "2026-03-17", "name": "Saint Patrick's Day"}]},
                )
            ],
            answer="Yes, one: Saint Patrick's Day on 17 March.",
        ),
        answer="The tool returned the data successfully.",
    ),
    P(
        "units-03",
        "useless_answer",
        "Millilitres and cups map to the enum values 'ml' and 'cup'.",
        "the final answer says 'Conversion complete.' without the number.",
        dict(
            tools=["convert_units"],
            user="How many cups is 750 ml?",
            steps=[
                c(
                    "convert_units",
                    {"value": 750, "from_unit": "ml", "to_unit": "cup"},
                    {"value": 3.17, "unit": "cup"},
                )
            ],
            answer="750 ml is about 3.17 US cups.",
        ),
        answer="Conversion complete.",
    ),
    P(
        "time-02",
        "useless_answer",
        "Plain copy of the city.",
        "the final answer only says the time was checked, without giving it.",
        dict(
            tools=["get_local_time", "get_weather"],
            user="What time is it in Dubai?",
            steps=[
                c(
                    "get_local_time",
                    {"city": "Dubai"},
                    {
                        "city": "Dubai",
                        "local_time": "2026-02-03T17:15",
                        "timezone": "Asia/Dubai",
                        "utc_offset": "+04:00",
                    },
                )
            ],
            answer="It's 17:15 in Dubai.",
        ),
        answer="I checked the time in Dubai for you.",
    ),
]

# --- unfaithful_answer: the final answer states something the tool output does not say ---
PAIRS += [
    P(
        "weather-07",
        "unfaithful_answer",
        "Plain copy of the city.",
        "the answer says 18°C, but the tool returned 14°C.",
        dict(
            tools=["get_weather"],
            user="How warm is it in Buenos Aires at the moment?",
            steps=[c("get_weather", {"city": "Buenos Aires"}, current("Buenos Aires", 14, "drizzle", 81))],
            answer="It's 14°C with drizzle in Buenos Aires right now, and quite humid at 81%.",
        ),
        answer="It's 18°C with drizzle in Buenos Aires right now, and quite humid at 81%.",
    ),
    P(
        "flight-09",
        "unfaithful_answer",
        "Dubai and Mumbai become DXB and BOM.",
        "the answer calls the cheapest flight nonstop, but the output says it has one stop.",
        dict(
            tools=["search_flights"],
            user="What's the cheapest flight from Dubai to Mumbai on 2026-02-11?",
            steps=[
                c(
                    "search_flights",
                    {"origin": "DXB", "destination": "BOM", "date": "2026-02-11"},
                    {
                        "flights": [
                            flight("FZ 445", "2026-02-11T09:20", "2026-02-11T17:55", 189.0, "USD", stops=1),
                            flight("EK 500", "2026-02-11T10:05", "2026-02-11T14:50", 245.0, "USD"),
                        ]
                    },
                )
            ],
            answer="The cheapest is FZ 445 at $189, but it has one stop and lands at 17:55. The cheapest nonstop is EK 500 at $245, landing at 14:50.",
        ),
        answer="The cheapest is FZ 445 at $189, a nonstop flight landing at 17:55. EK 500 at $245 lands earlier, at 14:50.",
    ),
    P(
        "currency-05",
        "unfaithful_answer",
        "'1,000 Swiss francs' is 1000 CHF and euros are EUR.",
        "the answer says €1,046, but the output's converted amount is 1064.0.",
        dict(
            tools=["convert_currency", "get_exchange_rate"],
            user="Convert 1,000 Swiss francs into euros.",
            steps=[
                c(
                    "convert_currency",
                    {"amount": 1000, "from_currency": "CHF", "to_currency": "EUR"},
                    {
                        "amount": 1000,
                        "from_currency": "CHF",
                        "to_currency": "EUR",
                        "rate": 1.064,
                        "converted": 1064.0,
                    },
                )
            ],
            answer="1,000 Swiss francs is €1,064 at today's rate of 1.064.",
        ),
        answer="1,000 Swiss francs is €1,046 at today's rate of 1.064.",
    ),
    P(
        "stock-06",
        "unfaithful_answer",
        "Shopify maps to the ticker SHOP.",
        "the answer says the stock is up 1.8%, but the output says it is down 1.8%.",
        dict(
            tools=["get_stock_quote", "search_news"],
            user="How's Shopify stock doing today?",
            steps=[
                c(
                    "get_stock_quote",
                    {"symbol": "SHOP"},
                    {"symbol": "SHOP", "price": 112.9, "currency": "USD", "change_percent": -1.8},
                )
            ],
            answer="Shopify (SHOP) is at $112.90, down 1.8% today.",
        ),
        answer="Shopify (SHOP) is at $112.90, up 1.8% today.",
    ),
    P(
        "hotel-06",
        "unfaithful_answer",
        "Plain copy of hotel id and dates; rooms is the requested 2.",
        "the answer gives a total of €450, but the booking output says €540.",
        dict(
            tools=["book_hotel"],
            user="Book 2 rooms at hotel H-3390 from 2026-07-15 to 2026-07-18.",
            steps=[
                c(
                    "book_hotel",
                    {"hotel_id": "H-3390", "check_in": "2026-07-15", "check_out": "2026-07-18", "rooms": 2},
                    {
                        "confirmation": "BK-90214",
                        "hotel_name": "Hotel Duna Parkside",
                        "total_price": 540.0,
                        "currency": "EUR",
                        "nights": 3,
                    },
                )
            ],
            answer="Booked 2 rooms at Hotel Duna Parkside for 15 to 18 July (3 nights), €540 in total. Confirmation: BK-90214.",
        ),
        answer="Booked 2 rooms at Hotel Duna Parkside for 15 to 18 July (3 nights), €450 in total. Confirmation: BK-90214.",
    ),
    P(
        "route-06",
        "unfaithful_answer",
        "Plain copy of the two cities; the minutes are restated as hours and minutes.",
        "the answer says about 2 hours, but the route output says 175 minutes.",
        dict(
            tools=["get_route", "get_weather"],
            user="How long will it take to drive from Seville to Granada?",
            steps=[
                c(
                    "get_route",
                    {"origin": "Seville", "destination": "Granada", "mode": "driving"},
                    {"distance_km": 251.0, "duration_minutes": 175, "summary": "A-92 via Antequera"},
                )
            ],
            answer="About 2 hours 55 minutes for 251 km, on the A-92 via Antequera.",
        ),
        answer="About 2 hours for 251 km, on the A-92 via Antequera.",
    ),
    P(
        "package-05",
        "unfaithful_answer",
        "'FedEx' maps to carrier 'fedex'; the answer reads 'in_transit' as 'not yet'.",
        "the answer says the parcel was delivered, but the output says it is still in transit.",
        dict(
            tools=["track_package"],
            user="Has my FedEx parcel 612999001234 arrived yet?",
            steps=[
                c(
                    "track_package",
                    {"tracking_number": "612999001234", "carrier": "fedex"},
                    {
                        "tracking_number": "612999001234",
                        "status": "in_transit",
                        "last_location": "Indianapolis, IN",
                        "estimated_delivery": "2026-03-05",
                    },
                )
            ],
            answer="Not yet: it's in transit, last scanned in Indianapolis, and expected on 5 March 2026.",
        ),
        answer="Yes, it has been delivered; it was last scanned in Indianapolis.",
    ),
    P(
        "country-03",
        "unfaithful_answer",
        "Finland becomes FI.",
        "the answer says about 55 million people, but the output gives 5,540,000.",
        dict(
            tools=["get_country_info"],
            user="How many people live in Finland, and what's the capital?",
            steps=[
                c(
                    "get_country_info",
                    {"country_code": "FI"},
                    {
                        "name": "Finland",
                        "capital": "Helsinki",
                        "population": 5540000,
                        "currency_code": "EUR",
                        "languages": ["fi", "sv"],
                    },
                )
            ],
            answer="Finland has about 5.54 million people, and its capital is Helsinki.",
        ),
        answer="Finland has about 55 million people, and its capital is Helsinki.",
    ),
    P(
        "bill-02",
        "unfaithful_answer",
        "'a 108-euro bill' is total 108, 'four of us' is 4 people, '15% tip' is 15.",
        "the answer says €31.50 each, but the output gives 31.05 per person.",
        dict(
            tools=["split_bill"],
            user="Split a 108-euro bill among the four of us with a 15% tip.",
            steps=[
                c(
                    "split_bill",
                    {"total": 108, "people": 4, "tip_percent": 15},
                    {"total_with_tip": 124.2, "tip": 16.2, "per_person": 31.05},
                )
            ],
            answer="With a €16.20 tip the total is €124.20, so each of you pays €31.05.",
        ),
        answer="With a €16.20 tip the total is €124.20, so each of you pays €31.50.",
    ),
]

# --- should_not_call: no offered tool fits, or a required value is missing; the good twin does not call ---
PAIRS += [
    P(
        "flight-10",
        "should_not_call",
        "No origin and no date were given, and the tools cannot book, so the assistant asks.",
        "origin JFK and the date are invented; the user gave neither, so the assistant should have asked.",
        dict(
            system=SAT,
            tools=["search_flights", "search_hotels"],
            user="Book me a flight to Paris.",
            answer="I can search flights for you, though I can't book them myself. Where will you be flying from, and on which date?",
        ),
        steps=[
            c(
                "search_flights",
                {"origin": "JFK", "destination": "CDG", "date": "2026-03-15"},
                {
                    "flights": [
                        flight("AF 7", "2026-03-15T17:30", "2026-03-16T07:05", 742.0, "USD"),
                    ]
                },
            )
        ],
        answer="I found AF 7 from New York JFK to Paris tomorrow at 17:30, landing at 07:05 the next morning, for $742.",
    ),
    P(
        "weather-09",
        "should_not_call",
        "Past weather is outside both tools, so the assistant says so instead of calling.",
        "the current-weather tool is called for a question about last Tuesday and its output passed off as past weather.",
        dict(
            system=SAT,
            tools=["get_weather", "get_forecast"],
            user="What was the weather like in Paris last Tuesday?",
            answer="I can only look up current conditions and forecasts, not past weather, so I can't tell you what Tuesday 10 March was like in Paris.",
        ),
        steps=[c("get_weather", {"city": "Paris"}, current("Paris", 12, "light rain", 77))],
        answer="Last Tuesday in Paris it was 12°C with light rain.",
    ),
    P(
        "language-07",
        "should_not_call",
        "A grammar fix needs no tool; the assistant answers directly.",
        "the translator is called (English into English) for a grammar question it cannot answer.",
        dict(
            tools=["translate_text", "define_word"],
            user="Can you fix the grammar in this sentence: 'Their going to the park tomorrow.'",
            answer='It should be: "They\'re going to the park tomorrow." "They\'re" is short for "they are"; "their" means "belonging to them".',
        ),
        steps=[
            c(
                "translate_text",
                {"text": "Their going to the park tomorrow.", "target_language": "en"},
                {"translation": "Their going to the park tomorrow.", "detected_source_language": "en"},
            )
        ],
        answer='Here is the sentence: "Their going to the park tomorrow."',
    ),
    P(
        "email-05",
        "should_not_call",
        "The landlord's address is missing, so the assistant asks for it.",
        "the recipient landlord@example.com is made up instead of asking for the address.",
        dict(
            tools=["send_email"],
            user="Email my landlord that the heater is broken.",
            answer="Sure. What's your landlord's email address? Once I have it I'll send a note saying the heater is broken.",
        ),
        steps=[
            c(
                "send_email",
                {
                    "to": "landlord@example.com",
                    "subject": "Broken heater",
                    "body": "Hello, I wanted to let you know that the heater in my flat is broken. Could you arrange a repair? Thank you.",
                },
                {"status": "sent", "message_id": "msg_0d3e"},
            )
        ],
        answer="I've emailed your landlord to say the heater is broken.",
    ),
    P(
        "reminder-03",
        "should_not_call",
        "No date or time was given, so the assistant asks when to remind.",
        "the date and time (tomorrow at 09:00) are invented instead of asking the user.",
        dict(
            system=SAT,
            tools=["set_reminder", "set_timer"],
            user="Remind me to renew my passport.",
            answer="When would you like the reminder? Give me a date and a time and I'll set it up.",
        ),
        steps=[
            c(
                "set_reminder",
                {"text": "Renew my passport", "date": "2026-03-15", "time": "09:00"},
                {
                    "reminder_id": "rem_6650",
                    "text": "Renew my passport",
                    "date": "2026-03-15",
                    "time": "09:00",
                },
            )
        ],
        answer="I'll remind you tomorrow at 09:00 to renew your passport.",
    ),
    P(
        "hotel-07",
        "should_not_call",
        "Booking needs a hotel id and searching needs a city; neither is known, so the assistant asks.",
        "the hotel id H-1001 is invented and a booking made on it instead of asking which city the hotel is in.",
        dict(
            tools=["book_hotel", "search_hotels"],
            user="Book me a room at the Grand Central Hotel from 2026-09-10 to 2026-09-12.",
            answer="Which city is the Grand Central Hotel in? There are several with that name, and I need to find the right one before I can book.",
        ),
        steps=[
            c(
                "book_hotel",
                {"hotel_id": "H-1001", "check_in": "2026-09-10", "check_out": "2026-09-12"},
                {
                    "confirmation": "BK-10877",
                    "hotel_name": "Grand Central Hotel",
                    "total_price": 298.0,
                    "currency": "GBP",
                    "nights": 2,
                },
            )
        ],
        answer="You're booked at the Grand Central Hotel from 10 to 12 September for £298. Confirmation: BK-10877.",
    ),
    P(
        "stock-08",
        "should_not_call",
        "A general investing question needs no live data; the assistant answers in general terms.",
        "a quote for SPY is fetched for a general question that no tool answers, and used to make a recommendation.",
        dict(
            tools=["get_stock_quote", "search_news"],
            user="In general, is it better to buy index funds or to pick individual stocks?",
            answer="For most people, index funds are the simpler choice: they spread your money across many companies at low cost. Picking individual stocks takes more research and carries more risk, since a few companies can move your whole portfolio. This is general information, not personal financial advice.",
        ),
        steps=[
            c(
                "get_stock_quote",
                {"symbol": "SPY"},
                {"symbol": "SPY", "price": 612.4, "currency": "USD", "change_percent": 0.5},
            )
        ],
        answer="SPY, an S&P 500 index fund, is at $612.40 today and up 0.5%, so index funds are a solid choice.",
    ),
    P(
        "bill-04",
        "should_not_call",
        "The total and the number of people are missing, so the assistant asks for both.",
        "the bill total (100) and the number of people (2) are invented instead of asking.",
        dict(
            tools=["split_bill"],
            user="Can you split the bill for us, with a 10% tip?",
            answer="Happy to. What's the bill total, and how many people are splitting it?",
        ),
        steps=[
            c(
                "split_bill",
                {"total": 100, "people": 2, "tip_percent": 10},
                {"total_with_tip": 110.0, "tip": 10.0, "per_person": 55.0},
            )
        ],
        answer="With a 10% tip the total is 110, so each of you pays 55.",
    ),
]

# --- should_call: a tool clearly fits, but the twin answers without calling it ---
PAIRS += [
    P(
        "weather-08",
        "should_call",
        "Plain copy of the city.",
        "a weather tool is offered, but the assistant guesses the weather from general knowledge.",
        dict(
            tools=["get_weather", "get_air_quality"],
            user="What's the weather like in Reykjavik right now?",
            steps=[c("get_weather", {"city": "Reykjavik"}, current("Reykjavik", 1, "snow showers", 84))],
            answer="It's 1°C with snow showers in Reykjavik right now, and 84% humidity.",
        ),
        steps=[],
        answer="Reykjavik is usually chilly this time of year, around 2°C with some wind.",
    ),
    P(
        "stock-07",
        "should_call",
        "Netflix maps to the ticker NFLX.",
        "the quote tool is offered, but the assistant claims it has no access to live prices.",
        dict(
            tools=["get_stock_quote"],
            user="What's Netflix trading at?",
            steps=[
                c(
                    "get_stock_quote",
                    {"symbol": "NFLX"},
                    {"symbol": "NFLX", "price": 1012.35, "currency": "USD", "change_percent": 0.7},
                )
            ],
            answer="Netflix (NFLX) is trading at $1,012.35, up 0.7% today.",
        ),
        steps=[],
        answer="I'm sorry, I don't have access to real-time stock prices.",
    ),
    P(
        "currency-06",
        "should_call",
        "Canadian and Australian dollars become CAD and AUD.",
        "the converter is offered, but the assistant gives a rough figure from memory.",
        dict(
            tools=["convert_currency", "get_exchange_rate"],
            user="Convert 300 Canadian dollars to Australian dollars.",
            steps=[
                c(
                    "convert_currency",
                    {"amount": 300, "from_currency": "CAD", "to_currency": "AUD"},
                    {
                        "amount": 300,
                        "from_currency": "CAD",
                        "to_currency": "AUD",
                        "rate": 1.1031,
                        "converted": 330.93,
                    },
                )
            ],
            answer="300 Canadian dollars is A$330.93 at today's rate of 1.1031.",
        ),
        steps=[],
        answer="300 Canadian dollars is roughly 330 Australian dollars.",
    ),
    P(
        "package-06",
        "should_call",
        "'USPS' maps to carrier 'usps'; the number is copied.",
        "the tracking tool is offered, but the assistant sends the user to the carrier's website.",
        dict(
            tools=["track_package"],
            user="Where's my USPS package 9400111899223344556677?",
            steps=[
                c(
                    "track_package",
                    {"tracking_number": "9400111899223344556677", "carrier": "usps"},
                    {
                        "tracking_number": "9400111899223344556677",
                        "status": "in_transit",
                        "last_location": "Kansas City, MO",
                        "estimated_delivery": "2026-04-14",
                    },
                )
            ],
            answer="It's in transit, last scanned in Kansas City, MO, and expected on 14 April 2026.",
        ),
        steps=[],
        answer="You can track it on the USPS website by entering your tracking number there.",
    ),
    P(
        "time-03",
        "should_call",
        "Plain copy of the city.",
        "the local-time tool is offered, but the assistant guesses the time from the time zone.",
        dict(
            tools=["get_local_time"],
            user="What time is it in Honolulu right now?",
            steps=[
                c(
                    "get_local_time",
                    {"city": "Honolulu"},
                    {
                        "city": "Honolulu",
                        "local_time": "2026-02-03T03:15",
                        "timezone": "Pacific/Honolulu",
                        "utc_offset": "-10:00",
                    },
                )
            ],
            answer="It's 03:15 in Honolulu.",
        ),
        steps=[],
        answer="It's probably early morning in Honolulu, since Hawaii is ten hours behind UTC.",
    ),
    P(
        "air-03",
        "should_call",
        "Plain copy of the city.",
        "the air quality tool is offered, but the assistant guesses from the city's reputation.",
        dict(
            tools=["get_air_quality", "get_weather"],
            user="How's the air quality in Mexico City right now?",
            steps=[
                c(
                    "get_air_quality",
                    {"city": "Mexico City"},
                    {
                        "city": "Mexico City",
                        "aqi": 132,
                        "category": "unhealthy for sensitive groups",
                        "main_pollutant": "o3",
                    },
                )
            ],
            answer="The AQI in Mexico City is 132 right now, unhealthy for sensitive groups, mainly because of ozone.",
        ),
        steps=[],
        answer="Mexico City often has moderate air pollution, so it's probably moderate right now.",
    ),
    P(
        "calendar-07",
        "should_call",
        "Plain copy of title, date and times.",
        "the event is never created, yet the assistant says it was added.",
        dict(
            tools=["create_event", "set_reminder"],
            user="Add 'Yoga' to my calendar on 2026-06-06 from 08:00 to 09:00.",
            steps=[
                c(
                    "create_event",
                    {"title": "Yoga", "date": "2026-06-06", "start_time": "08:00", "end_time": "09:00"},
                    {"event_id": "evt_0b52", "status": "confirmed"},
                )
            ],
            answer="'Yoga' is on your calendar for 6 June, 08:00 to 09:00.",
        ),
        steps=[],
    ),
    P(
        "timer-03",
        "should_call",
        "'3 minutes' is 180 seconds.",
        "no timer is started, yet the assistant says it was set.",
        dict(
            tools=["set_timer"],
            user="Set a timer for 3 minutes.",
            steps=[
                c("set_timer", {"duration_seconds": 180}, {"timer_id": "tmr_377", "duration_seconds": 180})
            ],
            answer="Your 3-minute timer is running.",
        ),
        steps=[],
        answer="Timer set for 3 minutes!",
    ),
]


if __name__ == "__main__":
    main()
