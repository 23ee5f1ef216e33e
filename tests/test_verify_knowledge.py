"""World knowledge is not a defect, contradictions are: the issue-17 cases, one by one, plus unsure values."""

from __future__ import annotations

from typing import Any

import pytest

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.verify import Cascade, RuleStage


def _tool(name: str, **props: Any) -> ToolSpec:
    schemas = {k: v if isinstance(v, dict) else {"type": v} for k, v in props.items()}
    return ToolSpec(
        name=name, parameters={"type": "object", "properties": schemas, "required": list(schemas)}
    )


def _dialog(request: str, tool: ToolSpec, *, system: str | None = None, **arguments: Any) -> Dialog:
    messages = [Message(role="system", content=system)] if system else []
    messages += [
        Message(role="user", content=request),
        Message(role="assistant", tool_calls=(ToolCall(name=tool.name, arguments=arguments, id="c1"),)),
    ]
    return Dialog(tools=(tool,), messages=tuple(messages))


def _verdicts(dialog: Dialog) -> list[tuple[str, bool]]:
    """(code, unsure) of every finding, failures and unsure ones alike."""
    return sorted((v.code, v.unsure) for v in RuleStage().judge(dialog))


TRANSLATE = _tool("translate", text="string", target_language="string")
FLIGHTS = _tool("search_flights", origin="string", destination="string", date="string")
CONVERT = _tool("convert", amount="number", from_currency="string", to_currency="string")
TIMER = _tool("set_timer", duration_seconds="integer")
ROUTE = _tool("plan_route", destination="string", avoid_tolls="boolean")
WEATHER = _tool("get_weather", city="string", unit={"type": "string", "enum": ["celsius", "fahrenheit"]})
EGGS = _tool("order_eggs", quantity="integer")
MEETING = _tool("book_meeting", date="string", time="string")
TODAY = "You are a helpful assistant. Today is 2025-12-31."

KNOWLEDGE = [
    ("language name -> ISO 639 code", _dialog("Translate 'good morning' into French", TRANSLATE, text="good morning", target_language="fr")),
    ("city -> IATA code", _dialog("Flights from San Francisco to Boston on 2026-03-02", FLIGHTS, origin="SFO", destination="BOS", date="2026-03-02")),
    ("currency symbol -> ISO 4217", _dialog("Convert $1,200 to euros", CONVERT, amount=1200, from_currency="USD", to_currency="EUR")),
    ("a duration in words -> seconds", _dialog("Set a timer for an hour and a half", TIMER, duration_seconds=5400)),
    ("12-hour time -> 24-hour value", _dialog("Book the meeting on 2026-03-02 at 3pm", MEETING, date="2026-03-02", time="15:00")),
    ("tomorrow, counted from the stated date", _dialog("Book the meeting tomorrow at 9am", MEETING, system=TODAY, date="2026-01-01", time="09:00")),
    ("no tolls -> avoid_tolls true", _dialog("Route me to Lyon with no tolls please", ROUTE, destination="Lyon", avoid_tolls=True)),
    ("two dozen -> 24", _dialog("Order two dozen eggs", EGGS, quantity=24)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), KNOWLEDGE, ids=[n for n, _ in KNOWLEDGE])
def test_world_knowledge_is_grounded(name: str, dialog: Dialog) -> None:
    assert _verdicts(dialog) == []


CONTRADICTIONS = [
    ("date misread day for month", _dialog("Flights from Oslo to Rome on 2026-07-01", FLIGHTS, origin="Oslo", destination="Rome", date="2026-01-07")),
    ("tomorrow filled in as today", _dialog("Book the meeting tomorrow at 9am", MEETING, system=TODAY, date="2025-12-31", time="09:00")),
    ("3pm as 03:00", _dialog("Book the meeting on 2026-03-02 at 3pm", MEETING, date="2026-03-02", time="03:00")),
    ("15 minutes as 15 seconds", _dialog("Set a timer for 15 minutes", TIMER, duration_seconds=15)),
    ("two dozen as 2", _dialog("Order two dozen eggs", EGGS, quantity=2)),
    ("no tolls as avoid_tolls false", _dialog("Route me to Lyon with no tolls please", ROUTE, destination="Lyon", avoid_tolls=False)),
    ("Fahrenheit asked, celsius given", _dialog("Weather in Oslo in Fahrenheit", WEATHER, city="Oslo", unit="celsius")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), CONTRADICTIONS, ids=[n for n, _ in CONTRADICTIONS])
def test_contradictions_fail(name: str, dialog: Dialog) -> None:
    assert ("arg.contradicts", False) in _verdicts(dialog), _verdicts(dialog)


def test_a_partly_supported_value_is_unsure_not_rejected_and_the_policy_decides() -> None:
    dialog = _dialog("Find Italian restaurants in Manhattan", _tool("find_restaurants", cuisine="string", location="string"),
                     cuisine="Italian", location="Manhattan, New York City")  # fmt: skip
    assert _verdicts(dialog) == [("arg.unproven", True)]
    import asyncio

    kept = asyncio.run(Cascade([RuleStage()]).check(dialog))
    assert kept.ok and [v.code for v in kept.unsure] == ["arg.unproven"]
    strict = asyncio.run(Cascade([RuleStage()], unsure="reject").check(dialog))
    assert not strict.ok and [v.code for v in strict.failures] == ["arg.unproven"]


def test_an_invented_value_still_fails() -> None:
    dialog = _dialog("Weather in Oslo please", WEATHER, city="Madrid", unit="celsius")
    assert ("arg.ungrounded", False) in _verdicts(dialog)


CRIME = _tool("crime_rate", city="string", state="string")
SENTIMENT = _tool("sentiment", text="string", language="string")
COUNTDOWN = _tool("countdown", duration="string")
SINCE = _tool("opinion_trend", brand="string", since="string")
HOMES = _tool("find_homes", city="string")

MORE_KNOWLEDGE = [
    ("the state of a city the text names", _dialog("Violent crime rate in San Francisco?", CRIME, city="San Francisco", state="California")),
    ("a country code for a city", _dialog("Weather in London please", _tool("weather", city="string", country="string"), city="London", country="GB")),
    ("an abbreviation of a city the text names", _dialog("Villas for sale in San Diego", HOMES, city="SD")),
    ("a duration in other units", _dialog("Set a countdown for 5 mins", COUNTDOWN, duration="5 minutes")),
    ("the first of a month the text names", _dialog("How have views of Apple changed since July 2022?", SINCE, brand="Apple", since="2022-07-01")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), MORE_KNOWLEDGE, ids=[n for n, _ in MORE_KNOWLEDGE])
def test_more_world_knowledge_is_grounded(name: str, dialog: Dialog) -> None:
    assert _verdicts(dialog) == []


def test_a_chosen_language_is_unsure_and_a_wrong_ticker_fails() -> None:
    review = _dialog(
        "Analyze the sentiment of 'I love the food here!'",
        SENTIMENT,
        text="I love the food here!",
        language="english",
    )
    assert _verdicts(review) == [("arg.unproven", True)]
    ticker = _dialog("What's the share price of AAPL?", _tool("quote", symbol="string"), symbol="MSFT")
    assert _verdicts(ticker) == [("arg.ungrounded", False)]


HOTEL = _tool("book_hotel", hotel="string", check_in="string", check_out="string")
BMI = _tool("bmi", weight_lb="number", height_in="integer")
FORCE = _tool("force", charge="number", permittivity="number")
SONGS = _tool("find_songs", genre="string", year="integer")
EXHIBIT = _tool("find_exhibition", city="string", month="string")

EXACT_FORMS = [
    ("a check-out date three nights after the stated start", _dialog("Book the Plaza Hotel for 3 nights starting from 1st June 2022", HOTEL, hotel="Plaza Hotel", check_in="2022-06-01", check_out="2022-06-04")),
    ("feet and inches -> inches", _dialog("BMI for 200 pounds, 6 feet 2 inches tall", BMI, weight_lb=200, height_in=74)),
    ("5'11\" -> inches", _dialog("I am 180 lbs, 5'11\" tall", BMI, weight_lb=180, height_in=71)),
    ("scientific notation", _dialog("Force for 5 C in a medium of permittivity 5 x 10^-12 F/m", FORCE, charge=5, permittivity=5e-12)),
    ("a two-digit year", _dialog("Pop songs from '19", SONGS, genre="Pop", year=2019)),
    ("a month the text abbreviates", _dialog("Sculpture shows in New York next month (Feb)", EXHIBIT, city="New York", month="February")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), EXACT_FORMS, ids=[n for n, _ in EXACT_FORMS])
def test_exact_rewritings_are_grounded(name: str, dialog: Dialog) -> None:
    assert _verdicts(dialog) == []


SHELL = _tool("run", command={"type": "string", "description": "A Windows shell command"})
BIOMASS = _tool("biomass", energy="number", efficiency="number")
SENSORS = _tool("sensor_history", timespan={"type": "integer", "description": "Seconds"})
DOCTOR = _tool("find_doctor", city="string", specialty="string")
AREA = _tool("area", base="number", height="number", unit="string")

COMPOSED = [
    ("one arithmetic step from two stated numbers", _dialog("5 moles of glucose at 2800 kJ/mol, 10% efficiency", BIOMASS, energy=14000, efficiency=0.1)),
    ("the span between two stated clock times", _dialog("Readings from 15:30 to 15:32 today", SENSORS, timespan=120)),
    ("a command built for the request", _dialog("close firefox using taskkill", SHELL, command="taskkill /F /IM firefox.exe")),
    ("a Latin name for a request in another script", _dialog("我想知道上海目前的天气状况", _tool("weather", location="string"), location="Shanghai, China")),
    ("a word sharing a long stem with the text's", _dialog("Find a cardiologist in Chicago", DOCTOR, city="Chicago", specialty="Cardiology")),
    ("an area unit of a stated length unit", _dialog("A triangle with base 25 feet and height 30 feet", AREA, base=25, height=30, unit="square feet")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), COMPOSED, ids=[n for n, _ in COMPOSED])
def test_composed_and_derived_values_are_unsure_not_rejected(name: str, dialog: Dialog) -> None:
    assert _verdicts(dialog) == [("arg.unproven", True)]


def test_derivations_do_not_ground_a_value_from_nowhere() -> None:
    unrelated = _dialog("5 moles of glucose at 2800 kJ/mol", BIOMASS, energy=13999, efficiency=0.1)
    assert ("arg.ungrounded", False) in _verdicts(unrelated)
    wrong_stay = _dialog(
        "Book the Plaza Hotel for 3 nights starting from 1st June 2022",
        HOTEL,
        hotel="Plaza Hotel",
        check_in="2022-06-01",
        check_out="2022-06-09",
    )
    assert ("arg.ungrounded", False) in _verdicts(wrong_stay)
    other_command = _dialog("close firefox using taskkill", SHELL, command="shutdown /s /t 0")
    assert ("arg.ungrounded", False) in _verdicts(other_command)


def _answered(request: str, tool: ToolSpec, arguments: dict[str, Any], output: str, answer: str, *, system: str | None = None) -> Dialog:
    """A full turn: request, one call, its output, the final answer."""
    messages = [Message(role="system", content=system)] if system else []
    messages += [
        Message(role="user", content=request),
        Message(role="assistant", tool_calls=(ToolCall(name=tool.name, arguments=arguments, id="c1"),)),
        Message(role="tool", tool_call_id="c1", content=output),
        Message(role="assistant", content=answer),
    ]
    return Dialog(tools=(tool,), messages=tuple(messages))


REMIND = _tool("set_reminder", date="string", text="string")
NEWS = _tool("search_news", query="string", from_date="string")
UNITS = _tool("convert_units", value="number", from_unit={"type": "string", "enum": ["mi", "km", "in", "cm"]}, to_unit={"type": "string", "enum": ["mi", "km", "in", "cm"]})
COUNTRY = _tool("country_info", code="string")
ROUTE_TIME = _tool("route", origin="string", destination="string")
THURSDAY = "Today is 2026-05-07 (Thursday)."

READ_RIGHT = [
    ("the day after tomorrow", _dialog("Remind me the day after tomorrow to call mum", REMIND, system=THURSDAY, date="2026-05-09", text="call mum")),
    ("a week from today", _dialog("Remind me a week from today to pay rent", REMIND, system=THURSDAY, date="2026-05-14", text="pay rent")),
    ("since last Monday", _dialog("News about Artemis since last Monday?", NEWS, system=THURSDAY, query="Artemis", from_date="2026-05-04")),
    ("a stay counted from a named weekday", _dialog("A hotel in Rome arriving this coming Monday and staying three nights", HOTEL, system=THURSDAY, hotel="Rome", check_in="2026-05-11", check_out="2026-05-14")),
    ("'in kilometres' does not name the unit 'in'", _dialog("A marathon is 26.2 miles. How far is that in kilometres?", UNITS, value=26.2, from_unit="mi", to_unit="km")),
    ("NYC spelled out", _dialog("Weather in NYC?", WEATHER, city="New York City", unit="celsius")),
    ("an airport named after the city it serves", _dialog("Flights from Toronto to Vancouver on 2026-09-12", FLIGHTS, origin="YYZ", destination="YVR", date="2026-09-12")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), READ_RIGHT, ids=[n for n, _ in READ_RIGHT])
def test_relative_dates_units_and_aliases_are_read_right(name: str, dialog: Dialog) -> None:
    assert _verdicts(dialog) == []


def test_a_wrong_relative_date_still_contradicts() -> None:
    wrong = _dialog("Remind me the day after tomorrow to call mum", REMIND, system=THURSDAY, date="2026-05-08", text="call mum")
    assert ("arg.contradicts", False) in _verdicts(wrong)


RETOLD = [
    ("month and weekday names of a stated date", _answered("Remind me on 2026-10-23 to vote", REMIND, {"date": "2026-10-23", "text": "vote"}, '{"reminder_id": "rem_7712", "date": "2026-10-23"}', "Done: a reminder for Friday, 23 October, to vote.")),
    ("a scaled number", _answered("Population of Kenya?", COUNTRY, {"code": "KE"}, '{"population": 55100000}', "Kenya has about 55.1 million people.")),
    ("hours and minutes of stated minutes", _answered("Route from Lyon to Geneva", ROUTE_TIME, {"origin": "Lyon", "destination": "Geneva"}, '{"distance_km": 162.4, "duration_minutes": 154}', "It's 162.4 km, about 2 h 34 min.")),
    ("a numbered list", _answered("Sports news about Lyon since 2026-01-01?", NEWS, {"query": "Lyon", "from_date": "2026-01-01"}, '{"titles": ["Lyon win", "Lyon lose"]}', "Here you go: 1. Lyon win 2. Lyon lose")),
    ("an acronym spelled out", _answered("EMI for a 50000 loan?", _tool("emi", amount="number"), {"amount": 50000}, '{"emi": 943.56}', "Your Equated Monthly Installment (EMI) is 943.56.")),
    ("a status the answer reports as done", _answered("Email Ann that I'm late", _tool("send", to="string", body="string"), {"to": "Ann", "body": "I'm late"}, '{"id": "msg_5f2a", "status": "sent"}', "I've let Ann know you're running late.")),
    ("a duration retold in other units", _answered("Set a timer for 3 minutes", COUNTDOWN, {"duration": "3 minutes"}, '{"timer_id": "tmr_377", "seconds": 180}', "Your 3-minute timer is running.")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "dialog"), RETOLD, ids=[n for n, _ in RETOLD])
def test_answers_may_retell_outputs_in_other_words(name: str, dialog: Dialog) -> None:
    assert _verdicts(dialog) == []


def test_a_later_chat_reply_is_not_an_answer_from_the_tools_and_the_latest_request_sets_direction() -> None:
    chat = _answered("Weather in Oslo?", WEATHER, {"city": "Oslo", "unit": "celsius"}, '{"temp": 4}', "It is 4 degrees in Oslo.")
    chat = chat.model_copy(update={"messages": (*chat.messages, Message(role="user", content="Can you order me a coat?"), Message(role="assistant", content="As an AI, I cannot shop for you."))})
    assert _verdicts(chat) == []
    two_turns = Dialog(
        tools=(CONVERT,),
        messages=(
            Message(role="user", content="Convert 1000 US dollars to euros"),
            Message(role="assistant", tool_calls=(ToolCall(name="convert", arguments={"amount": 1000, "from_currency": "USD", "to_currency": "EUR"}, id="c1"),)),
            Message(role="tool", tool_call_id="c1", content='{"converted": 850}'),
            Message(role="assistant", content="That is 850 euros."),
            Message(role="user", content="Now convert 500 euros to British pounds"),
            Message(role="assistant", tool_calls=(ToolCall(name="convert", arguments={"amount": 500, "from_currency": "EUR", "to_currency": "GBP"}, id="c2"),)),
        ),
    )
    assert _verdicts(two_turns) == []
    swapped = two_turns.model_copy(update={"messages": (*two_turns.messages[:5], Message(role="assistant", tool_calls=(ToolCall(name="convert", arguments={"amount": 500, "from_currency": "GBP", "to_currency": "EUR"}, id="c2"),)))})
    assert ("arg.swapped", False) in _verdicts(swapped)


def test_values_in_a_script_without_spaces_are_unsure_and_its_dates_are_read() -> None:
    synonym = _dialog("我在找一个番茄的食谱", _tool("recipes", ingredient="string"), ingredient="西红柿")
    assert _verdicts(synonym) == [("arg.unproven", True)]
    date = _dialog("团队会议 日期：2022-05-15", _tool("event", date="string"), date="2022年5月15日")
    assert _verdicts(date) == []


def test_coordinates_are_unsure_and_answers_in_unspaced_scripts_are_compared_by_characters() -> None:
    distance = _tool("distance", point={"type": "object", "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}}})
    coordinates = _dialog("How far is New York from here?", distance, point={"latitude": 40.7128, "longitude": -74.006})
    assert _verdicts(coordinates) == [("arg.unproven", True), ("arg.unproven", True)]
    sent = _answered("给老板发邮件说我迟到了", _tool("send", body="string"), {"body": "我迟到了"}, '{"result": "邮件已成功发送"}', "好的，邮件已发送。")
    assert _verdicts(sent) == []
    silent = _answered("给老板发邮件说我迟到了", _tool("send", body="string"), {"body": "我迟到了"}, '{"result": "邮件已成功发送"}', "谢谢！")
    assert ("answer.useless", False) in _verdicts(silent)
    translated = _answered("帮我找蝙蝠侠的影评", _tool("reviews", title="string"), {"title": "蝙蝠侠"}, '{"review": "蝙蝠侠：黑暗骑士 很好看"}', "《The Dark Knight》很好看。")
    assert _verdicts(translated) == []


def test_country_facts_a_reader_knows_ground_values_and_answers() -> None:
    capital = _dialog("Any good sushi places in the capital of Japan?", _tool("restaurants", city="string"), city="Tokyo")
    assert _verdicts(capital) == []
    # without "capital" the country does not name its capital: "sushi in Japan" is not a request about Tokyo
    country = _dialog("Any good sushi places in Japan?", _tool("restaurants", city="string"), city="Tokyo")
    assert _verdicts(country) == [("arg.ungrounded", False)]
    demonym = _answered("What currency does Switzerland use?", COUNTRY, {"code": "CH"}, '{"currency_code": "CHF"}', "Switzerland uses the Swiss franc (CHF).")
    assert _verdicts(demonym) == []
    invented = _answered("What currency does Switzerland use?", COUNTRY, {"code": "CH"}, '{"currency_code": "CHF"}', "Switzerland uses the Austrian franc (CHF).")
    assert ("answer.unsupported", False) in _verdicts(invented)


def test_an_answer_may_use_the_called_tools_words_but_not_their_numbers() -> None:
    cups = ToolSpec(
        name="convert_units",
        description="Convert between two units of volume (US cups and gallons).",
        parameters={"type": "object", "properties": {"value": {"type": "number"}, "unit": {"type": "string"}}},
    )
    named = _answered("How many cups is 750 ml?", cups, {"value": 750, "unit": "ml"}, '{"value": 3.17}', "750 ml is about 3.17 US cups.")
    assert _verdicts(named) == []
    counted = _answered("How many cups is 750 ml?", cups, {"value": 750, "unit": "ml"}, '{"value": 3.17}', "750 ml is about 2 cups.")
    assert ("answer.unsupported", False) in _verdicts(counted)


def test_a_ticker_for_a_named_company_is_unsure_and_a_known_other_ticker_fails() -> None:
    quote = _tool("quote", symbol={"type": "string", "description": "Ticker symbol, e.g. 'AAPL'"})
    toyota = _dialog("What is one Toyota share worth in US dollars?", quote, symbol="7203.T")
    assert _verdicts(toyota) == [("arg.unproven", True)]
    other = _dialog("What is one Amazon share worth?", quote, symbol="GOOGL")
    assert _verdicts(other) == [("arg.ungrounded", False)]
    named = _dialog("What is TM trading at, the Toyota ADR?", quote, symbol="7203.T")
    assert _verdicts(named) == [("arg.ungrounded", False)]


EMAIL = _tool("send_email", to="string", body="string")
TRACK = _tool("track_package", tracking_number="string")


def _claimed(answer: str, *, send: bool = False) -> Dialog:
    """A parcel lookup, optionally followed by the email the user asked for, then `answer`."""
    messages = [
        Message(role="user", content="Where is parcel 4471920035? Email the date to sam@example.com."),
        Message(role="assistant", tool_calls=(ToolCall(name="track_package", arguments={"tracking_number": "4471920035"}, id="c1"),)),
        Message(role="tool", tool_call_id="c1", content='{"status": "in_transit", "estimated_delivery": "2026-02-19"}'),
    ]
    if send:
        arguments = {"to": "sam@example.com", "body": "Due 2026-02-19"}
        messages += [
            Message(role="assistant", tool_calls=(ToolCall(name="send_email", arguments=arguments, id="c2"),)),
            Message(role="tool", tool_call_id="c2", content='{"status": "sent"}'),
        ]
    messages.append(Message(role="assistant", content=answer))
    return Dialog(tools=(TRACK, EMAIL), messages=tuple(messages))


@pytest.mark.parametrize(
    "answer",
    ["It's due on 2026-02-19. I've emailed that date to sam@example.com.", "Due 2026-02-19. Sent to sam@example.com.",
     "It arrives 2026-02-19; the email has been sent to sam@example.com."],
)  # fmt: skip
def test_an_answer_that_claims_an_action_no_call_made_fails(answer: str) -> None:
    assert ("answer.unperformed", False) in _verdicts(_claimed(answer))
    assert _verdicts(_claimed(answer, send=True)) == []


@pytest.mark.parametrize(
    "answer",
    ["It's due on 2026-02-19. Shall I email that to sam@example.com?", "It's due on 2026-02-19. I haven't emailed Sam yet.",
     "It's due on 2026-02-19; once you confirm, I'll email it to sam@example.com.", "It's due on 2026-02-19, I checked."],
)  # fmt: skip
def test_offers_promises_and_negations_are_not_claims(answer: str) -> None:
    assert ("answer.unperformed", False) not in _verdicts(_claimed(answer))


def test_an_answer_that_only_echoes_the_request_is_useless() -> None:
    clock = _tool("local_time", city="string")
    output = '{"city": "Dubai", "local_time": "2026-02-03T17:15", "timezone": "Asia/Dubai"}'
    echoed = _answered("What time is it in Dubai?", clock, {"city": "Dubai"}, output, "I checked the time in Dubai for you.")
    assert ("answer.useless", False) in _verdicts(echoed)
    told = _answered("What time is it in Dubai right now?", clock, {"city": "Dubai"}, output, "It's 17:15 in Dubai.")
    assert _verdicts(told) == []


def test_a_duration_in_the_wrong_unit_and_another_address_fail_and_a_symbol_grounds_nothing_by_itself() -> None:
    proofing = _dialog("Start a timer for an hour and a half", TIMER, duration_seconds=90)
    assert ("arg.contradicts", False) in _verdicts(proofing)
    assert _verdicts(_dialog("Start a timer for an hour and a half", TIMER, duration_seconds=5400)) == []
    mail = _tool("send_email", to="string", body="string")
    wrong = _dialog("Tell Ben (ben.kowalski@example.net) I'm late", mail, to="ben@example.com", body="I'm late")
    assert _verdicts(wrong) == [("arg.ungrounded", False)]
    euros = _dialog("Split $96 between 3 people", CONVERT, amount=32, from_currency="USD", to_currency="EUR")
    assert ("arg.ungrounded", False) in _verdicts(euros)  # (32 is one division away: unsure)
    assert _verdicts(_dialog("What is €50 in dollars?", CONVERT, amount=50, from_currency="EUR", to_currency="USD")) == []


def test_an_answer_that_flips_the_direction_of_a_change_fails() -> None:
    quote = _tool("quote", symbol="string")
    output = '{"symbol": "SHOP", "price": 112.9, "change_percent": -1.8}'
    up = _answered("How is SHOP doing?", quote, {"symbol": "SHOP"}, output, "SHOP is at $112.90, up 1.8% today.")
    assert ("answer.unsupported", False) in _verdicts(up)
    down = _answered("How is SHOP doing?", quote, {"symbol": "SHOP"}, output, "SHOP is at $112.90, down 1.8% today.")
    assert _verdicts(down) == []
