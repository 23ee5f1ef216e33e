"""The rule layer: each check's codes on small dialogs, the grounding normaliser, and a clean dialog passing."""

from __future__ import annotations

from typing import Any

import pytest

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.verify.rules import RuleStage, rule_codes
from callforge.verify.rules.normalize import Haystack

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            "days": {"type": "integer", "minimum": 1},
        },
        "required": ["city"],
    },
)
BOOK = ToolSpec(
    name="book_table",
    parameters={
        "type": "object",
        "properties": {
            "restaurant": {"type": "string"},
            "people": {"type": "integer"},
            "date": {"type": "string"},
            "notes": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["restaurant", "people"],
    },
)


def user(text: str) -> Message:
    return Message(role="user", content=text)


def calls(*items: ToolCall) -> Message:
    return Message(role="assistant", tool_calls=items)


def tool(call_id: str, content: str) -> Message:
    return Message(role="tool", tool_call_id=call_id, content=content)


def say(text: str) -> Message:
    return Message(role="assistant", content=text)


def call(name: str, id: str = "c1", **arguments: Any) -> ToolCall:
    return ToolCall(name=name, arguments=arguments, id=id)


def dialog(*messages: Message, tools: tuple[ToolSpec, ...] = (WEATHER, BOOK), **meta: Any) -> Dialog:
    return Dialog(tools=tools, messages=messages, meta=meta)


def codes(d: Dialog) -> list[str]:
    return sorted(v.code for v in RuleStage().run(d))


CLEAN = dialog(
    Message(role="system", content="You help with travel."),
    user("What's the weather in Paris for the next three days, in fahrenheit?"),
    calls(call("get_weather", city="Paris", days=3, unit="fahrenheit")),
    tool("c1", '{"forecast": [61.5, 64, 59], "city": "Paris"}'),
    say("Paris will be 61.5, 64 and 59 degrees Fahrenheit."),
)


def test_a_clean_dialog_passes_every_rule() -> None:
    assert codes(CLEAN) == []


CASES: list[tuple[str, Dialog, list[str]]] = [
    ("no user message", dialog(say("hi")), ["dialog.empty"]),
    (
        "tool message before its call",
        dialog(user("Weather in Paris?"), tool("c1", "{}"), calls(call("get_weather", city="Paris"))),
        ["dialog.orphan_response"],
    ),
    (
        "system message in the middle",
        dialog(user("Weather in Paris?"), Message(role="system", content="x"), calls(call("get_weather", city="Paris"))),
        ["dialog.role_order"],
    ),
    ("empty assistant message", dialog(user("Weather in Paris?"), say("  ")), ["dialog.empty_message"]),
    ("ends before the assistant answers", dialog(user("Weather in Paris?")), ["dialog.no_reply"]),
    (
        "call without id",
        dialog(user("Weather in Paris?"), calls(ToolCall(name="get_weather", arguments={"city": "Paris"}))),
        ["dialog.missing_call_id"],
    ),
    (
        "unanswered call before the dialog goes on",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), say("It is sunny.")),
        ["dialog.unanswered_call"],
    ),
    (
        "tool message answering an unknown id",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("zz", "{}")),
        ["dialog.orphan_response", "dialog.unanswered_call"],
    ),
    (
        "a call answered twice",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", "{}"), tool("c1", "{}")),
        ["dialog.duplicate_response"],
    ),
    (
        "the same id for two calls",
        dialog(
            user("Weather in Paris and Rome?"),
            calls(call("get_weather", "c1", city="Paris"), call("get_weather", "c1", city="Rome")),
        ),
        ["dialog.duplicate_call_id"],
    ),
    ("unknown function", dialog(user("Weather in Paris?"), calls(call("get_forecast", city="Paris"))), ["call.unknown_function"]),
    ("empty function name", dialog(user("Weather in Paris?"), calls(call("", city="Paris"))), ["call.format"]),
    (
        "invented parameter",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris", verbose=True))),
        ["call.unexpected_param"],
    ),
    ("missing required", dialog(user("Weather for 3 days?"), calls(call("get_weather", days=3))), ["call.missing_required"]),
    ("wrong type", dialog(user("Weather in Paris for 3 days?"), calls(call("get_weather", city="Paris", days="3"))), ["arg.type"]),
    (
        "enum violation",
        dialog(user("Weather in Paris in kelvin?"), calls(call("get_weather", city="Paris", unit="kelvin"))),
        ["arg.enum"],
    ),
    ("bound violation", dialog(user("Weather in Paris for 0 days?"), calls(call("get_weather", city="Paris", days=-3))), ["arg.schema"]),
    ("invented value", dialog(user("Weather in Paris?"), calls(call("get_weather", city="Lyon"))), ["arg.ungrounded"]),
    ("invented number", dialog(user("Weather in Paris this week?"), calls(call("get_weather", city="Paris", days=17))), ["arg.ungrounded"]),
    (
        "nested invented value",
        dialog(
            user("Book Chez Marie for 4 people, note: window seat"),
            calls(call("book_table", restaurant="Chez Marie", people=4, notes={"seat": "terrace"})),
        ),
        ["arg.ungrounded"],
    ),
    (
        "duplicate call in one turn",
        dialog(
            user("Weather in Paris?"),
            calls(call("get_weather", "c1", city="Paris"), call("get_weather", "c2", city="Paris")),
        ),
        ["call.duplicate"],
    ),
    (
        "parallel sample with one call",
        dialog(user("Weather in Paris and Rome?"), calls(call("get_weather", city="Paris")), scenario="parallel"),
        ["calls.missing_parallel", "scenario.parallel"],
    ),
    (
        "single sample with two calls",
        dialog(
            user("Weather in Paris and Rome?"),
            calls(call("get_weather", "c1", city="Paris"), call("get_weather", "c2", city="Rome")),
            scenario="single",
        ),
        ["scenario.call_count"],
    ),
    (
        "no-call sample that calls",
        dialog(user("Tell me a joke about Paris"), calls(call("get_weather", city="Paris")), scenario="no_call"),
        ["scenario.no_call"],
    ),
    (
        "clarification that does not ask",
        dialog(user("Book a table at Chez Marie"), say("Done, booked."), scenario="clarify", missing=["people"]),
        ["scenario.clarify"],
    ),
    (
        "clarification that asks something else",
        dialog(user("Book a table at Chez Marie"), say("Which date would you like?"), scenario="clarify", missing=["people"]),
        ["scenario.clarify"],
    ),
    (
        "calls differ from the plan",
        dialog(
            user("Weather in Paris, then book Chez Marie for 2"),
            calls(call("get_weather", city="Paris")),
            plan=[{"name": "get_weather"}, {"name": "book_table"}],
        ),
        ["scenario.plan_mismatch"],
    ),
    (
        "calls carry other values than planned",
        dialog(
            user("Weather in Paris and in Rome"),
            calls(call("get_weather", "c1", city="Paris"), call("get_weather", "c2", city="Rome", days=3)),
            plan=[{"name": "get_weather", "arguments": {"city": "Rome"}}, {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}],
        ),
        ["scenario.plan_mismatch"],
    ),
    (
        "answer cites a number no tool gave",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", '{"temp": 21}'), say("It is 25 degrees.")),
        ["answer.unsupported"],
    ),
    (
        "answer names a place nobody mentioned",
        dialog(
            user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", '{"temp": 21}'),
            say("It is 21 degrees, warmer than in Madrid."),
        ),
        ["answer.unsupported"],
    ),
    (
        "a stock refusal after the tools answered",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", '{"temp": 21}'), say("I'm sorry, but I can't assist with that.")),
        ["answer.refusal"],
    ),
    (
        "a claim of no access after the tool answered",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", '{"temp": 21}'), say("I'm sorry, but I don't have access to weather data.")),
        ["answer.refusal"],
    ),
    (
        "chat-template markup as the answer",
        dialog(user("Tell me a joke"), say("<tools></tools>"), scenario="no_call"),
        ["dialog.call_as_text"],
    ),
    (
        "a tool's arguments written out instead of calling it",
        dialog(user("Weather in Paris?"), say('You can use the `get_weather` function with: ```json {"city": "Paris"} ```')),
        ["dialog.call_as_text"],
    ),
    (
        "a tool call in Python syntax as text",
        dialog(user("Weather in Paris?"), say('get_weather(city="Paris")')),
        ["dialog.call_as_text"],
    ),
    (
        "reader's recorded parse failure",
        Dialog(tools=(WEATHER,), messages=(user("hi"), say("[get_weather(city=")), meta={"read_errors": [{"code": "call.format", "message": "unclosed"}]}),
        ["call.format", "dialog.call_as_text"],  # the broken call is also a call written as text
    ),
]


@pytest.mark.parametrize(("name", "d", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_defect_gets_its_code(name: str, d: Dialog, expected: list[str]) -> None:
    assert codes(d) == expected


PASSING: list[tuple[str, Dialog]] = [
    ("call-only sample (xLAM style)", dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")))),
    ("enum and default values need no grounding", dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris", unit="celsius")))),
    ("number words", dialog(user("Book Chez Marie for twelve people"), calls(call("book_table", restaurant="Chez Marie", people=12)))),
    ("thousands separators", dialog(user("Book Chez Marie for 1,200 people"), calls(call("book_table", restaurant="chez marie", people=1200)))),
    ("dates", dialog(user("Book Chez Marie for 2 on March 5th"), calls(call("book_table", restaurant="Chez Marie", people=2, date="2025-03-05")))),
    ("relative dates", dialog(user("Book Chez Marie for 2 tomorrow"), calls(call("book_table", restaurant="Chez Marie", people=2, date="2025-03-06")))),
    ("accents and case", dialog(user("Weather in ZURICH?"), calls(call("get_weather", city="Zürich")))),
    ("plural forms", dialog(user("Book the Golden Dragons for 2"), calls(call("book_table", restaurant="golden dragon", people=2)))),
    (
        "value from an earlier tool output",
        dialog(
            user("Book the best-rated place near here for 2"),
            calls(call("get_weather", "c1", city="here")),
            tool("c1", '{"top": "Chez Marie"}'),
            calls(call("book_table", "c2", restaurant="Chez Marie", people=2)),
            tools=(WEATHER, BOOK),
        ),
    ),
    (
        "clarification that asks for the missing value",
        dialog(user("Book a table at Chez Marie"), say("For how many people?"), scenario="clarify", missing=["people"]),
    ),
    (
        "answer rounds a tool number",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", '{"temp": 21.46}'), say("It is about 21.5 degrees.")),
    ),
]


PASSING += [
    (
        "calls match the plan up to case, spacing and int/float",
        dialog(
            user("Book CHEZ MARIE for 2"),
            calls(call("book_table", restaurant="CHEZ  MARIE", people=2.0)),
            plan=[{"name": "book_table", "arguments": {"restaurant": "Chez Marie", "people": 2}}],
        ),
    ),
    (
        "an answer that found nothing is not a refusal",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", '{"temp": null}'), say("Sorry, I can't find the weather for Paris right now.")),
    ),
    (
        "an answer quoting a tool's error names the tool without writing a call",
        dialog(
            user("Weather in Paris?"), calls(call("get_weather", city="Paris")),
            tool("c1", '{"error": "get_weather raised ValueError"}'),
            say("The forecast failed: get_weather raised ValueError for Paris."),
        ),
    ),
    (
        "a partial answer that says what it lacks is not a refusal",
        dialog(user("Weather in Paris?"), calls(call("get_weather", city="Paris")), tool("c1", '{"temp": 21}'), say("I don't have access to the forecast, but it is 21 degrees now.")),
    ),
    ("a clarification may name the tool", dialog(user("Book a table at Chez Marie"), say("To use book_table I need to know: for how many people?"), scenario="clarify", missing=["people"])),
    ("wildcards", dialog(user("Book Chez Marie for 2"), calls(call("book_table", restaurant="Chez Marie", people=2, date="dontcare")))),
]


def described(description: str) -> Dialog:
    spec = ToolSpec(
        name="area",
        parameters={"type": "object", "properties": {"unit": {"type": "string", "description": description}}},
    )
    return dialog(user("Area of a 3 by 4 rectangle"), calls(call("area", unit="cm")), tools=(spec,))


@pytest.mark.parametrize(
    ("description", "grounded"),
    [
        ("Unit of the result. Default is 'cm'.", True),
        ("Unit of the result, defaults to cm", True),
        ("Can be 'cm', 'm' or 'km'.", True),
        ("Unit (m, cm, km).", True),
        ("Unit: m/cm/km.", True),
        ("Unit; defaults to cm if not given.", True),
        ("Unit; defaults to cmx.", False),
        ("Unit, e.g. 'cm' or 'in'.", False),  # an example of the format is not an option
        ("Unit of the result.", False),
    ],
)
def test_defaults_and_options_stated_in_the_description(description: str, grounded: bool) -> None:
    assert (RuleStage().judge(described(description)) == []) is grounded  # unsure (`arg.unproven`) is not grounded


@pytest.mark.parametrize(("name", "d"), PASSING, ids=[p[0] for p in PASSING])
def test_legitimate_dialogs_pass(name: str, d: Dialog) -> None:
    assert RuleStage().run(d) == []


def test_every_failure_names_the_call_and_the_fix_material() -> None:
    d = dialog(user("Weather in Paris?"), calls(call("get_weather", city="Lyon", verbose=1)))
    messages = [v.message for v in RuleStage().run(d)]
    assert any("get_weather (message 1, call 1)" in m and "'verbose'" in m and "city, days, unit" in m for m in messages)
    assert any("city='Lyon'" in m for m in messages)


def test_plan_mismatch_names_the_argument() -> None:
    d = dialog(
        user("Weather in Paris for 2 days, and in Rome"),
        calls(call("get_weather", "c1", city="Paris", days=3), call("get_weather", "c2", city="Rome")),
        plan=[{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}, {"name": "get_weather", "arguments": {"city": "Rome"}}],
    )
    [verdict] = [v for v in RuleStage().run(d) if v.code == "scenario.plan_mismatch"]
    assert "days=2 planned, 3 made" in verdict.message


def test_skip_and_unknown_rule_names() -> None:
    d = dialog(user("Weather in Paris?"), calls(call("get_weather", city="Lyon")))
    assert RuleStage(skip=["grounding"]).run(d) == []
    from callforge.core import ConfigError

    with pytest.raises(ConfigError, match="grounding"):
        RuleStage(skip=["groundng"])


def test_rule_codes_are_namespaced_and_unique_per_check() -> None:
    every = rule_codes()
    assert all("." in c for c in every)
    assert "arg.ungrounded" in every and "dialog.unanswered_call" in every


@pytest.mark.parametrize(
    ("text", "value", "found"),
    [
        ("five thousand dollars", 5000, True),
        ("twenty-five people", 25, True),
        ("a budget of 5k", 5000, True),
        ("2.5 million", 2_500_000, True),
        ("15% tip", 0.15, True),
        ("15% tip", 15, True),
        ("minus 3 degrees, -3", -3, True),
        ("third floor", 3, True),
        ("in March", 3, True),
        ("a dozen eggs", 12, True),
        ("7 apples", 8, False),
        ("capacitance of 100µF", 0.0001, True),
        ("charges of 1e-9 and 2e-9", 2e-9, True),
        ("open until 11 PM", 23, True),
        ("cash flows [200,300,400]", 300, True),
        ("112.07 W", -112.07, True),
    ],
)
def test_numbers_in_text(text: str, value: float, found: bool) -> None:
    h = Haystack()
    h.add(text)
    assert h.has_number(float(value)) is found


@pytest.mark.parametrize(
    ("text", "value", "found"),
    [
        ("Restaurants in New York", "new york", True),
        ("Restaurants in New York", "restaurant", True),
        ("meet on 5 March 2024 at 2 pm", "2024-03-05", True),
        ("meet on 5 March 2024 at 2 pm", "14:00", True),
        ("meet on 5 March 2024", "2024-04-05", False),
        ("plays on 2023.4.15", "2023-04-15", True),
        ("train on April 22nd", "04/22/2023", True),
        ("hotels in Austin", "Austin, TX", True),
        ("hotels in Austin", "Austin, Springfield", False),
        ("北京后天的天气如何", "北京", True),
        ("a bus from LA", "Los Angeles", True),
        ("150 euros to dollars", "EUR", True),
        ("tax in Chicago, Illinois", "IL", True),
        ("weather in London, UK", "GB", True),
        ("convert to Canadian dollars", "CAD", True),
        ("send it in an email", "India", False),
        ("weather for Chcicago", "Chicago", True),
        ("order from mc donalds", "McDonald's", True),
        ("from New York time to London time", "America/New_York", True),
        ("a model of engine size", "engine_size", True),
        ("UV index for June01 2023", "06-01-2023", True),
        ("classify\\nhello\\nbye", "hello", True),
        ("weather for Chicago", "Boston", False),
        ("Restaurants in New York", "Boston", False),
        ("send 'hello there, see you at the harbour tonight' to Ann", "Hello there! See you at the harbour tonight.", True),
        ("", "-", True),
    ],
)
def test_strings_in_text(text: str, value: str, found: bool) -> None:
    h = Haystack()
    h.add(text)
    assert h.has_string(value) is found


def test_plan_mismatch_blames_the_extra_call_alone_and_feedback_spares_its_correct_neighbour() -> None:
    import json

    from callforge.learn.feedback import feedback_messages

    step = calls(call("get_weather", "c1", city="Paris"), call("get_weather", "c2", city="Rome"))
    d = dialog(user("Weather in Paris?"), step, plan=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    found = tuple(v for v in RuleStage().run(d) if v.code == "scenario.plan_mismatch")
    assert len(found) == 1 and found[0].evidence["position"] == 1 and "call 2" in found[0].message
    paris, rome = (json.loads(m.content or "") for m in feedback_messages(step, found))
    assert "not planned" not in paris["problem"] and "not asked for" not in paris["problem"]
    assert "Another call of this step was rejected" in paris["problem"]
    assert "not asked for" in rome["problem"]


def test_a_wrong_value_in_one_parallel_call_is_pinned_to_that_call() -> None:
    d = dialog(
        user("Weather in Paris and in Rome"),
        calls(call("get_weather", "c1", city="Paris"), call("get_weather", "c2", city="Roma")),
        plan=[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Rome"}}],
    )
    [verdict] = [v for v in RuleStage().run(d) if v.code == "scenario.plan_mismatch"]
    assert verdict.evidence["position"] == 1 and "city='Rome' planned, 'Roma' made" in verdict.message
