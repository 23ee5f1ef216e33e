"""callforge.reward: reading completions and rows, each component, the mix, and TRL's reward-function call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, DataError, ToolCall
from callforge.execute import ObjectEnvironment, PythonEngine
from callforge.reward import (
    DEFAULT_WEIGHTS,
    EndStateReward,
    ExactReward,
    ExecutionReward,
    FormatReward,
    MixReward,
    decode_completion,
    make_reward,
    parse_mix,
    read_row,
)
from tests.conftest import EXAMPLES

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PARIS = {"name": "get_weather", "arguments": {"city": "Paris"}}


def hermes(*calls: dict[str, Any]) -> str:
    return "\n".join(f"<tool_call>\n{json.dumps(c, ensure_ascii=False)}\n</tool_call>" for c in calls)


def columns(n: int, reference: Any = None, tools: Any = None, **more: Any) -> dict[str, list[Any]]:
    """TRL's columns for n completions of one row (JSON strings, as a Parquet export holds them)."""
    row = {
        "tools": json.dumps(tools if tools is not None else [WEATHER, TIME]),
        "reference_calls": json.dumps(reference if reference is not None else [PARIS]),
        **more,
    }
    return {k: [v] * n for k, v in row.items()}


# ------------------------------------------------------------------ reading completions


@pytest.mark.parametrize(
    ("completion", "shape", "names"),
    [
        (hermes(PARIS), "calls", ["get_weather"]),
        ("[get_weather(city='Paris')]", "calls", ["get_weather"]),
        ('{"name": "get_weather", "arguments": {"city": "Paris"}}', "calls", ["get_weather"]),
        ("<think>Paris, so get_weather.</think>\n" + hermes(PARIS), "calls", ["get_weather"]),
        ("It is sunny.", "plain", []),
        ("", "empty", []),
        (" \n\t", "empty", []),
        ("<think>hmm</think>  ", "empty", []),
        ("I'd call " + json.dumps(PARIS) + " now.", "prose", ["get_weather"]),
        (hermes(PARIS) + " Done.", "prose", ["get_weather"]),
        ('<tool_call>{"name": "get_weather", "arguments": {</tool_call>', "broken", []),
        ("[get_weather(city=open('/etc/passwd').read())]", "broken", []),
        ("[\uff47et_weather(city='Paris')]", "broken", ["get_weather"]),
        ('<tool_call>{"name": "\\u0067et_weather", "arguments": {}}</tool_call>', "broken", ["get_weather"]),
        (hermes(PARIS) + " " * 20_000, "too_long", []),
        (42, "bad_input", []),
    ],
)
def test_a_completion_is_calls_only_or_says_why_not(completion: Any, shape: str, names: list[str]) -> None:
    decoded = decode_completion(completion)
    assert decoded.shape == shape, decoded
    assert [c.name for c in decoded.calls] == names


def test_chat_message_completions_read_tool_calls_with_object_or_string_arguments() -> None:
    as_string = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}
    as_object = {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}
    for message in (as_string, as_object):
        decoded = decode_completion([message])
        assert decoded.shape == "calls" and decoded.convention == "messages"
        assert decoded.calls == (ToolCall(name="get_weather", arguments={"city": "Paris"}),)
    assert decode_completion([{**as_string, "content": "The answer is correct."}]).shape == "prose"
    assert decode_completion([{"role": "assistant", "content": hermes(PARIS)}]).shape == "calls"
    broken = {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{"}}]}
    assert decode_completion([broken]).shape == "broken"


def test_positional_python_arguments_are_bound_to_the_schema() -> None:
    row = read_row({"tools": [WEATHER], "reference_calls": [PARIS]})
    decoded = decode_completion("[get_weather('Paris')]", row.tools)
    assert decoded.calls == (ToolCall(name="get_weather", arguments={"city": "Paris"}),)


# ------------------------------------------------------------------ reading rows


def test_reference_calls_are_read_in_every_shape_exports_write() -> None:
    shapes: list[Any] = [
        [PARIS],
        [{"name": "get_weather", "arguments": '{"city": "Paris"}'}],
        [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}],
        ["get_weather(city='Paris')"],
        [{"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]}],
        json.dumps([PARIS]),
    ]
    for reference in shapes:
        row = read_row({"tools": json.dumps([WEATHER]), "reference_calls": reference})
        assert row.reference == (ToolCall(name="get_weather", arguments={"city": "Paris"}),)
        assert row.case.category.value == "simple_python"
        (expected,) = row.case.expected
        assert expected.arguments == {"city": ["Paris"], "unit": ["celsius", ""]}


def test_a_bfcl_possible_answer_gives_accepted_values_and_a_concrete_call() -> None:
    row = read_row({"tools": [WEATHER], "reference_calls": [{"get_weather": {"city": ["Paris", "paris, fr"], "unit": ["", "celsius"]}}]})
    assert row.case.expected[0].arguments["city"] == ["Paris", "paris, fr"]
    assert row.reference == (ToolCall(name="get_weather", arguments={"city": "Paris"}),)
    assert make_reward("exact").score_one(hermes({"name": "get_weather", "arguments": {"city": "paris, fr"}}), row).ok


def test_row_categories_follow_the_reference() -> None:
    def category(reference: list[Any], tools: list[Any]) -> str:
        return read_row({"tools": tools, "reference_calls": reference}).case.category.value

    assert category([], [WEATHER]) == "irrelevance"
    assert category([PARIS], [WEATHER, TIME]) == "multiple"
    assert category([PARIS, {"name": "get_weather", "arguments": {"city": "Oslo"}}], [WEATHER]) == "parallel"
    assert category([PARIS, {"name": "get_time", "arguments": {"city": "Oslo"}}], [WEATHER, TIME]) == "parallel_multiple"
    a_reply = [{"role": "assistant", "content": "Hello!"}]
    assert read_row({"tools": [WEATHER], "reference_calls": a_reply}).reference == ()


def test_bad_rows_are_data_errors_that_name_the_column() -> None:
    reward = make_reward("exact")
    with pytest.raises(DataError, match="reference_calls"):
        reward([hermes(PARIS)], tools=[[WEATHER]])
    with pytest.raises(DataError, match="one value per completion"):
        reward([hermes(PARIS), hermes(PARIS)], tools=[[WEATHER]], reference_calls=[[PARIS]])
    with pytest.raises(DataError, match="not JSON"):
        reward([hermes(PARIS)], tools=[[WEATHER]], reference_calls=["[{"])
    with pytest.raises(DataError, match="tools"):
        reward([hermes(PARIS)], tools=[[{"name": "x", "parameters": {"type": "object", "required": ["a"]}}]], reference_calls=[[PARIS]])


# ------------------------------------------------------------------ TRL's call


def test_the_reward_takes_trls_call_and_logs_its_reasons() -> None:
    """GRPOTrainer calls reward(prompts=, completions=, completion_ids=, trainer_state=, log_extra=, log_metric=, **columns)."""
    logged: dict[str, list[Any]] = {}
    completions = [
        [{"role": "assistant", "content": hermes(PARIS)}],
        [{"role": "assistant", "content": hermes({"name": "get_weather", "arguments": {"city": "London"}})}],
        [{"role": "assistant", "content": "The answer is correct."}],
    ]
    reward = make_reward()
    scores = reward(
        prompts=[[{"role": "user", "content": "Weather in Paris?"}]] * 3,
        completions=completions,
        completion_ids=[[1, 2, 3]] * 3,
        trainer_state=object(),
        log_extra=lambda column, values: logged.__setitem__(column, values),
        log_metric=lambda name, value: None,
        id=["r1"] * 3,
        **columns(3),
    )
    weight = DEFAULT_WEIGHTS["format"] / (DEFAULT_WEIGHTS["format"] + DEFAULT_WEIGHTS["exact"])
    assert scores == [1.0, pytest.approx(weight), 0.0]
    assert logged == {"mix_code": ["mix.full", "exact.arg.value_string", "format.no_call"]}
    assert reward.__name__ == "mix" and make_reward("format").__name__ == "format"


def test_trl_sees_a_named_synchronous_reward_function() -> None:
    utils = pytest.importorskip("trl.trainer.utils")
    for reward in (make_reward(), FormatReward(), ExactReward(), ExecutionReward(), EndStateReward()):
        assert utils.get_callable_name(reward) == reward.name
        assert not utils.is_async_callable(reward)


def test_importing_the_package_loads_neither_torch_nor_trl() -> None:
    code = "import sys, callforge.reward; print(sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_results_work_inside_a_running_event_loop() -> None:
    import asyncio

    async def inside() -> list[float | None]:
        return make_reward("exact")([hermes(PARIS)], **columns(1))

    assert asyncio.run(inside()) == [1.0]


# ------------------------------------------------------------------ components


def test_format_rewards_calls_only_and_a_plain_answer_only_where_no_call_is_wanted() -> None:
    reward = FormatReward()
    call_row, no_call_row = columns(1), columns(1, reference=[])
    assert reward.results([hermes(PARIS)], **call_row)[0].code == "format.calls"
    assert reward.results(["Sunny."], **call_row)[0].code == "format.no_call"
    assert reward.results(["I can't help with that."], **no_call_row)[0].code == "format.plain_answer"
    assert reward(["", "   "], **columns(2, reference=[])) == [0.0, 0.0]


def test_format_runs_verifys_schema_rules_on_the_calls() -> None:
    completions = [
        hermes({"name": "get_weather", "arguments": {"city": "Paris", "unit": "kelvin"}}),
        hermes({"name": "get_forecast", "arguments": {"city": "Paris"}}),
        hermes({"name": "get_weather", "arguments": {}}),
        hermes(PARIS, PARIS),
        hermes({"name": "get_weather", "arguments": {"city": "London"}}),  # wrong, but well formed
    ]
    codes = [r.code for r in FormatReward().results(completions, **columns(5))]
    assert codes == [
        "format.arg.enum", "format.call.unknown_function", "format.call.missing_required", "format.call.duplicate",
        "format.calls",
    ]
    assert FormatReward(schema=False)(completions, **columns(5)) == [1.0] * 5


def test_exact_mode_semantic_accepts_what_bfcl_rejects() -> None:
    other_case = hermes({"name": "get_weather", "arguments": {"city": "Paris", "unit": "CELSIUS"}})
    positional = "[get_weather('Paris')]"
    semantic, bfcl = ExactReward("semantic"), ExactReward("bfcl")
    assert semantic([other_case, positional], **columns(2)) == [1.0, 1.0]
    verdicts = bfcl.results([positional], **columns(1))
    assert verdicts[0].score == 0.0 and verdicts[0].code == "exact.call.missing_required"


def test_exact_matches_parallel_calls_in_any_order_and_counts_them() -> None:
    oslo = {"name": "get_weather", "arguments": {"city": "Oslo"}}
    cols = columns(3, reference=[PARIS, oslo], tools=[WEATHER])
    for mode in ("semantic", "bfcl"):
        scores = ExactReward(mode)([hermes(oslo, PARIS), hermes(PARIS), hermes(PARIS, oslo, oslo)], **cols)
        assert scores == [1.0, 0.0, 0.0], mode


TOOLS_PY = '''
def get_weather(city: str, unit: str = "celsius") -> dict:
    """Weather."""
    temperatures = {"paris": 18, "london": 12}
    t = temperatures[city.lower()]
    return {"temperature": t if unit == "celsius" else t * 9 / 5 + 32, "unit": unit}


def get_time(city: str) -> dict:
    """Time."""
    return {"error": "clock offline"}
'''


def test_execution_runs_the_calls_in_the_sandbox_and_compares_results(tmp_path: Path) -> None:
    source = tmp_path / "tools.py"
    source.write_text(TOOLS_PY)
    reward = ExecutionReward(PythonEngine(source))
    completions = [
        hermes({"name": "get_weather", "arguments": {"city": "paris"}}),  # another spelling, same result
        hermes({"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}),  # explicit default
        hermes({"name": "get_weather", "arguments": {"city": "London"}}),
        hermes({"name": "get_weather", "arguments": {"city": "Atlantis"}}),
        hermes({"name": "get_weather", "arguments": {"city": "Paris", "unit": "fahrenheit"}}),
        hermes({"name": "get_time", "arguments": {"city": "Paris"}}),
        hermes({"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Paris"}}),
        hermes({"name": "get_w\u0435ather", "arguments": {"city": "Paris"}}),
        "It is sunny.",
        "",
    ]
    results = reward.results(completions, **columns(len(completions)))
    assert [r.code for r in results] == [
        "execution.ok",
        "execution.ok",
        "execution.result_mismatch",
        "execution.call_failed",
        "execution.result_mismatch",
        "execution.error_payload",
        "execution.wrong_count",
        "execution.unknown_tool",
        "execution.no_call",
        "execution.unreadable",
    ]
    assert [r.score for r in results] == [1.0, 1.0] + [0.0] * 8


def test_a_reward_closes_the_tools_it_loaded_and_leaves_an_engine_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callforge.execute import Toolbox

    source = tmp_path / "tools.py"
    source.write_text(TOOLS_PY)
    closed: list[Toolbox] = []

    async def aclose(self: Toolbox) -> None:
        closed.append(self)

    monkeypatch.setattr(Toolbox, "aclose", aclose)
    loaded = make_reward("format=0.2,execution=1", executor=[str(source)])
    completion = hermes({"name": "get_weather", "arguments": {"city": "Paris"}})
    assert loaded([completion], **columns(1)) == [1.0]
    loaded.close()
    assert len(closed) == 1  # the toolbox it loaded from sources, via the mix
    given = ExecutionReward(PythonEngine(source))
    given.close()
    assert len(closed) == 1  # an Engine passed in is the caller's to close


def test_execution_does_not_apply_without_an_executor_a_reference_call_or_a_working_reference() -> None:
    def executor(call: ToolCall) -> Any:
        if call.arguments.get("city") == "Nowhere":
            raise KeyError("Nowhere")
        return {"city": call.arguments["city"].title()}

    assert ExecutionReward().results([hermes(PARIS)], **columns(1))[0].code == "execution.not_applicable"
    assert ExecutionReward(executor).results(["Hi."], **columns(1, reference=[]))[0].score is None
    broken = columns(1, reference=[{"name": "get_weather", "arguments": {"city": "Nowhere"}}])
    (result,) = ExecutionReward(executor).results([hermes(PARIS)], **broken)
    assert result.score is None and result.code == "execution.reference_failed"
    assert ExecutionReward(executor)([hermes(PARIS)], **columns(1)) == [1.0]


def test_execution_refuses_an_argument_the_reference_leaves_out_unless_at_its_default() -> None:
    def executor(call: ToolCall) -> Any:
        return {"ok": True}  # the output shows nothing of the extra argument

    reward = ExecutionReward(executor)
    tools = [{"name": "send", "parameters": {"type": "object", "properties": {
        "to": {"type": "string"}, "cc": {"type": "string", "default": ""}}, "required": ["to"]}}]
    cols = columns(3, reference=[{"name": "send", "arguments": {"to": "ann"}}], tools=tools)
    completions = [
        hermes({"name": "send", "arguments": {"to": "ann"}}),
        hermes({"name": "send", "arguments": {"to": "ann", "cc": ""}}),
        hermes({"name": "send", "arguments": {"to": "ann", "cc": "everyone"}}),
    ]
    assert [r.code for r in reward.results(completions, **cols)] == [
        "execution.ok", "execution.ok", "execution.extra_arguments"]


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.log: list[str] = []

    def add(self, n: int) -> int:
        self.count += n
        return self.count

    def read(self) -> int:
        return self.count

    def note(self, text: str) -> str:
        self.log.append(text)
        return "noted"


COUNTER_TOOLS = [
    {"name": "add", "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}},
    {"name": "read", "parameters": {"type": "object", "properties": {}}},
    {"name": "note", "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
]


def counter() -> ObjectEnvironment:
    return ObjectEnvironment("counter", lambda: {"counter": Counter()})


def test_end_state_compares_where_the_calls_leave_the_environment() -> None:
    reward = EndStateReward(counter)
    cols = columns(5, reference=[{"name": "add", "arguments": {"n": 3}}], tools=COUNTER_TOOLS)
    add = lambda n: {"name": "add", "arguments": {"n": n}}  # noqa: E731
    completions = [hermes(add(3)), hermes(add(4)), hermes(add(1), add(2)), "Done!", hermes(add("x"))]
    results = reward.results(completions, **cols)
    assert [r.code for r in results] == [
        "end_state.ok",
        "end_state.episode.state_mismatch",
        "end_state.extra_calls",
        "end_state.episode.state_mismatch",
        "end_state.episode.state_mismatch",
    ]
    assert EndStateReward(counter, max_extra_calls=1)([hermes(add(1), add(2))], **columns(1, reference=[add(3)], tools=COUNTER_TOOLS)) == [1.0]


def test_end_state_wants_the_results_of_the_reference_reads() -> None:
    reward = EndStateReward(counter)
    cols = columns(2, reference=[{"name": "read", "arguments": {}}], tools=COUNTER_TOOLS)
    results = reward.results([hermes({"name": "read", "arguments": {}}), "The count is 0."], **cols)
    assert [r.code for r in results] == ["end_state.ok", "end_state.episode.output_missing"]


def test_end_state_replays_the_calls_the_prompt_already_made() -> None:
    prompt = [
        {"role": "user", "content": "Add 5."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"n": 5}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "5"},
        {"role": "user", "content": "And 2 more."},
    ]
    cols = columns(1, reference=[{"name": "add", "arguments": {"n": 2}}], tools=COUNTER_TOOLS)
    row = read_row({"prompt": prompt, **{k: v[0] for k, v in cols.items()}})
    assert row.prior_calls == (ToolCall(name="add", arguments={"n": 5}),)
    reward = EndStateReward(counter)
    assert reward([hermes({"name": "add", "arguments": {"n": 2}})], prompts=[prompt], **cols) == [1.0]
    assert reward([hermes({"name": "add", "arguments": {"n": 7}})], prompts=[prompt], **cols) == [0.0]


def test_end_state_on_a_users_class_file_from_the_environment_column(tmp_path: Path) -> None:
    """The row names its environment as an export's task file does: a class file run in the sandbox."""
    (tmp_path / "bank.py").write_text((EXAMPLES / "environments" / "bank.py").read_text())
    environment = json.dumps({"python": "bank.py", "class": "Bank", "init": {"accounts": {"Ann Lee": 100.0}}})
    reference = [{"name": "withdraw", "arguments": {"account_id": "ACC-0001", "amount": 30}}]
    cols = columns(3, reference=reference, tools=[], environment=environment)
    reward = EndStateReward(base=tmp_path)
    completions = [
        hermes({"name": "withdraw", "arguments": {"account_id": "ACC-0001", "amount": 30.0}}),
        hermes({"name": "withdraw", "arguments": {"account_id": "ACC-0001", "amount": 20}}),
        hermes({"name": "withdraw", "arguments": {"account_id": "ACC-0009", "amount": 30}}),
    ]
    assert [r.code for r in reward.results(completions, **cols)] == [
        "end_state.ok", "end_state.episode.state_mismatch", "end_state.episode.state_mismatch"]


def test_end_state_does_not_apply_without_an_environment_or_with_a_failing_reference() -> None:
    assert EndStateReward()([hermes(PARIS)], **columns(1)) == [None]
    cols = columns(1, reference=[{"name": "add", "arguments": {"n": "three"}}], tools=COUNTER_TOOLS)
    (result,) = EndStateReward(counter).results([hermes({"name": "add", "arguments": {"n": 3}})], **cols)
    assert result.score is None and result.code == "end_state.reference_failed"


# ------------------------------------------------------------------ the mix


def test_the_mix_weighs_the_components_that_apply_and_keeps_their_reasons() -> None:
    def executor(call: ToolCall) -> Any:
        return {"city": call.arguments["city"].title()}

    reward = make_reward("format=1,exact=2,execution=1,end_state=5", executor=executor)
    assert isinstance(reward, MixReward)
    wrong = hermes({"name": "get_weather", "arguments": {"city": "London"}})
    right_value_other_case = hermes({"name": "get_weather", "arguments": {"city": "paris"}})
    results = reward.results([wrong, right_value_other_case], **columns(2))
    assert [r.score for r in results] == [pytest.approx(1 / 4), 1.0]  # end state does not apply: no environment
    assert [p.component for p in results[0].parts] == ["format", "exact", "execution", "end_state"]
    assert [p.score for p in results[0].parts] == [1.0, 0.0, 0.0, None]
    assert results[0].code == "exact.arg.value_string" and results[1].code == "mix.full"


def test_mix_specs() -> None:
    assert parse_mix("default") == DEFAULT_WEIGHTS
    assert parse_mix("format=0.5, exact") == {"format": 0.5, "exact": 1.0}
    assert isinstance(make_reward("exact"), ExactReward)
    assert isinstance(make_reward("exact=1"), MixReward)
    for bad in ("judge=1", "exact=x", "", "format=-1"):
        with pytest.raises(ConfigError):
            make_reward(bad)
    assert make_reward("exact", mode="bfcl").mode.value == "bfcl"  # type: ignore[attr-defined]
