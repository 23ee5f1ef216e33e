"""Granular tasks: the exact records each kind of verified dialog yields, and that trainers can read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from callforge.core import (
    ConfigError,
    Dialog,
    MaskedCall,
    MaskReason,
    Message,
    Provenance,
    ToolCall,
    ToolSpec,
)
from callforge.export import export
from callforge.export.tasks import INSTRUCTIONS, TASKS, count_tasks, granular_tasks
from callforge.formats import read_dialogs
from tests.test_export import TIME, WEATHER, _parallel, _recovery

SEARCH = ToolSpec(
    name="search_flights",
    description="Flights between two cities on a date.",
    parameters={
        "type": "object",
        "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}, "date": {"type": "string"}},
        "required": ["origin", "destination", "date"],
    },
)
BOOK = ToolSpec(
    name="book_flight",
    description="Book a seat on a flight found by search_flights.",
    parameters={
        "type": "object",
        "properties": {
            "flight_id": {"type": "string"},
            "passenger": {"type": "string"},
            "city": {"type": "string"},
            "price": {"type": "number"},
            "note": {"type": "string"},
            "seats": {"type": "integer"},
            "date": {"type": "string"},
        },
        "required": ["flight_id", "passenger"],
    },
)
FLIGHTS = {
    "destination": "Rome",
    "date": "2025-12-31",
    "seats_left": 2,
    "flights": [
        {"flight_id": "SK4411", "price": 129.5, "gate": "Gate B12"},
        {"flight_id": "DY602", "price": 99.0, "gate": "Gate C3"},
    ],
}
REQUEST = "Find a flight from Oslo to Rome on New Year's Eve 2025 and book the cheapest one for Ada Lovelace, 2 seats."


def _nested() -> Dialog:
    """A chain: the booking takes its flight id, price and gate from the search's output."""
    search = ToolCall(
        name="search_flights", arguments={"origin": "Oslo", "destination": "Rome", "date": "2025-12-31"}, id="call_1"
    )
    book = ToolCall(
        name="book_flight",
        arguments={
            "flight_id": "DY602",  # from the output: linked
            "passenger": "Ada Lovelace",  # stated by the user
            "city": "Rome",  # stated by the user, although the output echoes it: not linked
            "price": 99.0,  # from the output: linked, a number
            "note": "Meet at Gate C3",  # contains an output value: linked inside the text
            "seats": 2,  # the output has 2 too, but 2 is too short to be a link
            "date": "2025-12-31",  # the output echoes the search's own argument: not linked
        },
        id="call_2",
    )
    return Dialog(
        tools=(SEARCH, BOOK, WEATHER),
        messages=(
            Message(role="system", content="You are a travel agent."),
            Message(role="user", content=REQUEST),
            Message(role="assistant", tool_calls=(search,)),
            Message(role="tool", tool_call_id="call_1", name="search_flights", content=json.dumps(FLIGHTS)),
            Message(role="assistant", tool_calls=(book,)),
            Message(role="tool", tool_call_id="call_2", name="book_flight", content='{"booking": "BK-77Q"}'),
            Message(role="assistant", content="Booked DY602 for Ada Lovelace, reference BK-77Q."),
        ),
        meta={"id": "n1", "scenario": "nested"},
    )


def _no_call() -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="Tell me a joke about penguins."),
            Message(role="assistant", content="I can only look up the weather, sorry."),
        ),
        meta={"id": "z1", "scenario": "no_call"},
    )


def _chained() -> Dialog:
    """Two calls one after the other, both with values the user gave: a chain, not a nesting."""
    weather = ToolCall(name="get_weather", arguments={"city": "Lisbon"}, id="a")
    clock = ToolCall(name="get_time", arguments={"city": "Lisbon"}, id="b")
    return Dialog(
        tools=(WEATHER, TIME),
        messages=(
            Message(role="user", content="Weather in Lisbon, then the local time there."),
            Message(role="assistant", tool_calls=(weather,)),
            Message(role="tool", tool_call_id="a", content='{"temp_c": 18, "city": "Lisbon"}'),
            Message(role="assistant", tool_calls=(clock,)),
            Message(role="tool", tool_call_id="b", content='"09:30"'),
            Message(role="assistant", content="18 °C, and it is 09:30 in Lisbon."),
        ),
        meta={"id": "c1", "scenario": "multiple"},
    )


def _answers(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["id"], r["messages"][2]["content"]) for r in records]


def _input(records: list[dict[str, Any]], record_id: str) -> str:
    return str(next(r for r in records if r["id"] == record_id)["messages"][1]["content"])


SEARCH_LINE = (
    'Assistant calls: [{"name":"search_flights","arguments":{"origin":"Oslo","destination":"Rome","date":"2025-12-31"}}]'
)
OUTPUT_LINE = f"Output of search_flights: {json.dumps(FLIGHTS)}"
BOOK_ARGS = {
    "flight_id": "DY602", "passenger": "Ada Lovelace", "city": "Rome", "price": 99.0, "note": "Meet at Gate C3", "seats": 2,
    "date": "2025-12-31",
}


def test_nested_dialog_yields_the_linked_plan_and_every_step() -> None:
    records = granular_tasks(_nested())
    tools = [SEARCH.to_openai(), BOOK.to_openai(), WEATHER.to_openai()]
    after_search = f"User: {REQUEST}\n{SEARCH_LINE}\n{OUTPUT_LINE}"
    booked = f'{after_search}\nAssistant calls: [{{"name":"book_flight","arguments":{json.dumps(BOOK_ARGS, separators=(",", ":"))}}}]\nOutput of book_flight: {{"booking": "BK-77Q"}}'
    plan = [
        {"name": "search_flights", "arguments": {"origin": "Oslo", "destination": "Rome", "date": "2025-12-31"}},
        {
            "name": "book_flight",
            "arguments": {
                "flight_id": "${1.flights[1].flight_id}",
                "passenger": "Ada Lovelace",
                "city": "Rome",
                "price": "${1.flights[1].price}",
                "note": "Meet at ${1.flights[1].gate}",
                "seats": 2,
                "date": "2025-12-31",
            },
        },
    ]
    expected = [
        ("function_name", f"User: {REQUEST}", ["search_flights", "book_flight"]),
        ("parameter_value", f"User: {REQUEST}\n\nFunction: search_flights", plan[0]["arguments"]),
        ("parameter_value", f"{after_search}\n\nFunction: book_flight", BOOK_ARGS),
        ("next_function", f"User: {REQUEST}", {"name": "search_flights"}),
        ("next_function", after_search, {"name": "book_flight"}),
        ("next_function", booked, {"name": None}),
        ("response", booked, "Booked DY602 for Ada Lovelace, reference BK-77Q."),
        ("nested", f"User: {REQUEST}", plan),
    ]
    counters: dict[str, int] = {}
    want = []
    for task, prompt, answer in expected:
        k = counters[task] = counters.get(task, -1) + 1
        content = answer if isinstance(answer, str) else json.dumps(answer, separators=(",", ":"), ensure_ascii=False)
        want.append(
            {
                "id": f"n1:{task}:{k}",
                "task": task,
                "messages": [
                    {"role": "system", "content": INSTRUCTIONS[task]},
                    {"role": "user", "content": prompt},
                    {"role": "assistant", "content": content},
                ],
                "tools": tools,
            }
        )
    assert records == want
    # the answers are the JSON the instructions promise, the dialog's own system prompt is gone
    assert json.loads(records[-1]["messages"][2]["content"]) == plan
    assert not any("travel agent" in m["content"] for r in records for m in r["messages"])


def test_parallel_multi_turn_dialog() -> None:
    records = granular_tasks(_parallel())
    assert _answers(records) == [
        ("d1:function_name:0", '["get_weather","get_time"]'),
        ("d1:function_name:1", '["get_weather"]'),
        ("d1:parameter_value:0", '{"city":"Oslo"}'),
        ("d1:parameter_value:1", '{"city":"Oslo","h24":true}'),
        ("d1:parameter_value:2", '{"city":"Rome"}'),
        ("d1:next_function:0", '{"name":null}'),
        ("d1:next_function:1", '{"name":"get_weather"}'),
        ("d1:next_function:2", '{"name":null}'),
        ("d1:response:0", "3 °C and 14:05 in Oslo."),
        ("d1:response:1", "15 °C in Rome."),
        ("d1:parallel:0", '[{"name":"get_weather","arguments":{"city":"Oslo"}},{"name":"get_time","arguments":{"city":"Oslo","h24":true}}]'),
    ]
    assert _input(records, "d1:parallel:0") == "User: Weather and time in Oslo?"
    # the second turn's tasks see the first turn whole, outputs included, and end with its request
    second = _input(records, "d1:function_name:1")
    assert second.startswith("User: Weather and time in Oslo?\nAssistant calls: ")
    assert 'Output of get_time: "14:05"\nAssistant: 3 °C and 14:05 in Oslo.\nUser: And Rome?' in second
    assert _input(records, "d1:parameter_value:2") == second + "\n\nFunction: get_weather"
    assert _input(records, "d1:response:1").endswith('User: And Rome?\nAssistant calls: [{"name":"get_weather","arguments":{"city":"Rome"}}]\nOutput of get_weather: {"temp_c": 15}')


def test_no_call_dialog_gives_the_negative_examples() -> None:
    records = granular_tasks(_no_call())
    assert _answers(records) == [
        ("z1:function_name:0", "[]"),
        ("z1:next_function:0", '{"name":null}'),
        ("z1:response:0", "I can only look up the weather, sorry."),
    ]
    assert all(_input(records, r["id"]) == "User: Tell me a joke about penguins." for r in records)


def test_injected_wrong_call_is_context_never_an_answer() -> None:
    records = granular_tasks(_recovery())
    assert _answers(records) == [
        ("d2:function_name:0", '["get_weather"]'),
        ("d2:parameter_value:0", '{"city":"Paris"}'),
        ("d2:next_function:0", '{"name":"get_weather"}'),  # after the error, not before the planted call
        ("d2:next_function:1", '{"name":null}'),
        ("d2:response:0", "9 °C in Paris."),
    ]
    assert all("Pariss" not in r["messages"][2]["content"] for r in records)
    # the recovery is learned: its input shows the wrong call and the error it got
    assert _input(records, "d2:parameter_value:0") == (
        'User: Weather in Paris?\nAssistant calls: [{"name":"get_weather","arguments":{"city":"Pariss"}}]\n'
        'Output of get_weather: {"error": "unknown city Pariss"}\n\nFunction: get_weather'
    )


def test_injected_call_inside_a_chain_is_left_out_of_the_plan() -> None:
    dialog = _nested()
    bad = ToolCall(name="search_flights", arguments={"origin": "Oslo", "destination": "Rom", "date": "2025-12-31"}, id="bad")
    messages = (
        *dialog.messages[:2],
        Message(role="assistant", tool_calls=(bad,)),
        Message(role="tool", tool_call_id="bad", content='{"error": "unknown city Rom"}'),
        *dialog.messages[2:],
    )
    records = granular_tasks(dialog.model_copy(update={"messages": messages, "meta": Provenance(id="n2", masked=(MaskedCall(id="bad", reason=MaskReason.INJECTED),))}))
    answers = dict(_answers(records))
    assert answers["n2:function_name:0"] == '["search_flights","book_flight"]'
    assert json.loads(answers["n2:nested:0"])[1]["arguments"]["flight_id"] == "${1.flights[1].flight_id}"
    assert [a for i, a in answers.items() if i.startswith("n2:next_function")] == [
        '{"name":"search_flights"}', '{"name":"book_flight"}', '{"name":null}'
    ]
    assert all('"Rom"' not in a for a in answers.values())


def test_sequential_calls_with_stated_values_are_chaining() -> None:
    records = granular_tasks(_chained())
    answers = dict(_answers(records))
    assert answers["c1:chaining:0"] == '[{"name":"get_weather","arguments":{"city":"Lisbon"}},{"name":"get_time","arguments":{"city":"Lisbon"}}]'
    assert "c1:nested:0" not in answers
    assert count_tasks(records) == {
        "function_name": 1, "parameter_value": 2, "next_function": 3, "response": 1, "parallel": 0, "nested": 0, "chaining": 1
    }


def test_every_answer_is_the_promised_json() -> None:
    for dialog in (_parallel(), _recovery(), _nested(), _no_call(), _chained()):
        for record in granular_tasks(dialog):
            assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]
            answer = record["messages"][2]["content"]
            if record["task"] == "response":
                continue
            value = orjson.loads(answer)
            shape = {
                "function_name": list, "parameter_value": dict, "next_function": dict,
                "parallel": list, "nested": list, "chaining": list,
            }[record["task"]]
            assert isinstance(value, shape), record["id"]


def test_task_selection_ids_and_errors() -> None:
    only = granular_tasks(_nested(), tasks=("nested", "function_name"))
    assert [r["id"] for r in only] == ["n1:function_name:0", "n1:nested:0"]
    with pytest.raises(ConfigError, match="unknown task 'names'"):
        granular_tasks(_nested(), tasks=("names",))
    anonymous = _no_call().model_copy(update={"meta": Provenance()})
    first, again = granular_tasks(anonymous), granular_tasks(anonymous)
    assert first == again and first[0]["id"].endswith(":function_name:0") and len(first[0]["id"]) > len(":function_name:0")
    assert set(TASKS) == set(INSTRUCTIONS)


def test_written_records_read_back_as_openai_dialogs(tmp_path: Path) -> None:
    dialogs = [_parallel(), _recovery(), _nested(), _no_call(), _chained()]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(orjson.dumps({"dialog": d.model_dump(mode="json"), "id": d.meta.id}).decode() + "\n" for d in dialogs))
    done = export(src, tmp_path / "out", format="tasks")
    expected = [r for d in dialogs for r in granular_tasks(d)]
    counts = {k: v for k, v in count_tasks(expected).items() if v}
    assert done.written == 5 and done.records == len(expected) and done.categories == dict(sorted(counts.items()))
    assert done.categories["nested"] == 1 and done.categories["parallel"] == 1
    back = list(read_dialogs(done.files[0]))
    assert [d.meta.id for d in back] == [r["id"] for r in expected]
    assert all(d.meta.source == "openai" and not d.meta.read_errors for d in back)
    for dialog, record in zip(back, expected, strict=True):
        assert [(m.role, m.content) for m in dialog.messages] == [(m["role"], m["content"]) for m in record["messages"]]
        assert [t.name for t in dialog.tools] == [t["function"]["name"] for t in record["tools"]]
    with pytest.raises(ConfigError, match="already exists"):
        export(src, tmp_path / "out", format="tasks")
    assert not list((tmp_path / "out").glob(".*partial"))
