"""LLMJudge: prompt contents, JSON parsing, voting, committees, the no-answer policy and the record."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from callforge.core import ConfigError, Dialog, Message, ToolCall, ToolSpec
from callforge.llm.backend import Backend, BackendError, Completion, Usage
from callforge.llm.scripted import FunctionBackend, Request, ScriptedBackend
from callforge.verify.judge import (
    MAX_ARGUMENT_QUESTIONS,
    NO_ANSWER,
    QUESTIONS,
    JudgeQuestion,
    answer_schema,
    applicable_questions,
    parse_answer,
    per_call_questions,
)
from callforge.verify.judge import LLMJudge as _LLMJudge
from callforge.verify.record import Stage, StageResult

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
    returns={
        "type": "object",
        "properties": {"temperature": {"type": "number"}, "condition": {"type": "string"}},
    },
)
EMAIL = ToolSpec(
    name="send_email",
    description="Send an email.",
    parameters={
        "type": "object",
        "properties": {"to": {"type": "string", "format": "email"}, "body": {"type": "string"}},
        "required": ["to", "body"],
    },
)

FULL = Dialog(
    tools=(WEATHER, EMAIL),
    messages=(
        Message(role="system", content="You are a helpful assistant."),
        Message(role="user", content="Weather in Paris, in celsius please?"),
        Message(
            role="assistant",
            tool_calls=(
                ToolCall(name="get_weather", arguments={"city": "Paris", "unit": "celsius"}, id="c1"),
            ),
        ),
        Message(role="tool", tool_call_id="c1", content='{"temperature": 18, "condition": "sunny"}'),
        Message(role="assistant", content="It is 18 degrees and sunny in Paris."),
    ),
)
CALL_ONLY = Dialog(
    tools=(WEATHER,),
    messages=(
        Message(role="user", content="Weather in Oslo?"),
        Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "Oslo"}),)),
    ),
)
NO_CALL = Dialog(
    tools=(WEATHER,),
    messages=(
        Message(role="user", content="Is it raining in Tokyo?"),
        Message(role="assistant", content="Sorry, I cannot check the weather."),
    ),
)
FULL_KEYS = ["arguments_grounded", "intent_fulfilled", "outputs_consistent", "answer_faithful"]


def LLMJudge(backend: Any, **options: Any) -> _LLMJudge:
    """The judge with the one-question-per-aspect set most tests here were written for."""
    return _LLMJudge(backend, **{"questions": QUESTIONS, **options})


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def reply(fail: tuple[str, ...] = (), keys: list[str] | None = None, **reasons: str) -> str:
    """A judge reply in the requested shape: every key passes unless listed in `fail`."""
    return json.dumps(
        {
            key: {
                "reason": reasons.get(key, f"looked at {key}"),
                "verdict": "fail" if key in fail else "pass",
            }
            for key in (keys or FULL_KEYS)
        }
    )


def user_prompt(request: Request) -> str:
    return request.messages[-1].content or ""


# -- the prompt -------------------------------------------------------------------------------------


def test_prompt_holds_full_schemas_conversation_and_applicable_questions() -> None:
    backend = ScriptedBackend([reply()])
    run(LLMJudge(backend).check(FULL))
    backend.assert_done()
    (request,) = backend.requests
    assert request.tools == ()  # tools are shown as text, never offered for calling
    system, user = request.messages
    assert system.role == "system" and user.role == "user"
    text = user.content or ""
    # full schemas, not just descriptions: parameters and returns as JSON, for every offered tool
    assert json.dumps(WEATHER.parameters) in text
    assert json.dumps(WEATHER.returns) in text
    assert json.dumps(EMAIL.parameters) in text
    assert "Current weather for a city." in text and "Send an email." in text
    # the conversation: system and user text, the call with JSON arguments, the output, the answer
    assert "You are a helpful assistant." in text
    assert "Weather in Paris, in celsius please?" in text
    assert 'get_weather {"city": "Paris", "unit": "celsius"}' in text
    assert '(get_weather, id c1): {"temperature": 18, "condition": "sunny"}' in text
    assert "It is 18 degrees and sunny in Paris." in text
    for key in FULL_KEYS:
        assert f"- {key}:" in text
    assert "no_call_justified" not in text


def test_questions_without_their_subject_are_not_asked() -> None:
    backend = ScriptedBackend([reply(keys=["arguments_grounded", "intent_fulfilled"])])
    result = run(LLMJudge(backend).check(CALL_ONLY))
    text = user_prompt(backend.requests[0])
    assert "- arguments_grounded:" in text and "- intent_fulfilled:" in text
    assert "outputs_consistent" not in text and "answer_faithful" not in text
    assert result.meta["questions"] == ["arguments_grounded", "intent_fulfilled"]
    assert result.ok


def test_answer_question_needs_a_reply_after_outputs() -> None:
    without_answer = FULL.model_copy(update={"messages": FULL.messages[:-1]})
    keys = [q.key for q in applicable_questions(without_answer)]
    assert keys == ["arguments_grounded", "intent_fulfilled", "outputs_consistent"]


def test_no_call_dialog_asks_only_should_call_and_can_fail_it() -> None:
    backend = ScriptedBackend(
        [
            reply(
                fail=("no_call_justified",), keys=["no_call_justified"], no_call_justified="get_weather fits."
            )
        ]
    )
    result = run(LLMJudge(backend).check(NO_CALL))
    text = user_prompt(backend.requests[0])
    assert "- no_call_justified:" in text
    assert all(f"- {key}:" not in text for key in FULL_KEYS)
    (verdict,) = result.verdicts
    assert verdict.code == "judge.should_call" and not verdict.ok
    assert "get_weather fits." in verdict.message


def test_json_schema_option_is_sent_with_reason_before_verdict() -> None:
    backend = ScriptedBackend([reply()])
    run(LLMJudge(backend, max_tokens=333).check(FULL))
    options = backend.requests[0].options
    schema = options.json_schema
    assert schema is not None
    assert schema == answer_schema(applicable_questions(FULL))
    assert schema["required"] == FULL_KEYS
    entry = schema["properties"]["intent_fulfilled"]
    assert list(entry["properties"]) == ["reason", "verdict"]
    assert entry["properties"]["verdict"]["enum"] == ["pass", "fail"]
    assert entry["properties"]["reason"] == {"type": "string", "maxLength": 400}
    assert options.temperature == 0.0 and options.max_tokens == 333 and options.sample == 0


def test_constrain_false_sends_no_schema_and_the_reason_cap_can_be_lifted() -> None:
    backend = ScriptedBackend([reply()])
    run(LLMJudge(backend, constrain=False).check(FULL))
    assert backend.requests[0].options.json_schema is None
    uncapped = ScriptedBackend([reply()])
    run(LLMJudge(uncapped, max_reason_chars=None).check(FULL))
    schema = uncapped.requests[0].options.json_schema or {}
    assert schema["properties"]["answer_faithful"]["properties"]["reason"] == {"type": "string"}


def test_calls_of_tools_not_offered_are_marked() -> None:
    call = Message(role="assistant", tool_calls=(ToolCall(name="get_forecast", arguments={"city": "Oslo"}),))
    dialog = CALL_ONLY.model_copy(update={"messages": (CALL_ONLY.messages[0], call)})
    text = LLMJudge(ScriptedBackend([])).prompt_for(dialog)[-1].content or ""
    assert 'get_forecast {"city": "Oslo"}  (not an offered tool)' in text


def test_long_tool_outputs_are_cut_with_a_note() -> None:
    long_output = Message(role="tool", tool_call_id="c1", content="x" * 500)
    dialog = FULL.model_copy(update={"messages": (*FULL.messages[:3], long_output, FULL.messages[4])})
    prompt = LLMJudge(ScriptedBackend([]), max_output_chars=100).prompt_for(dialog)
    text = prompt[-1].content or ""
    assert "x" * 100 in text and "x" * 101 not in text
    assert "400 more characters cut" in text


# -- parsing ----------------------------------------------------------------------------------------


def test_all_pass_gives_a_passing_stage() -> None:
    judge = LLMJudge(ScriptedBackend([reply()]), name="judge-small")
    assert isinstance(judge, Stage)
    result = run(judge.check(FULL))
    assert isinstance(result, StageResult)
    assert result.stage == "judge-small" and result.ok and result.verdicts == ()
    assert result.meta["tally"]["intent_fulfilled"] == {
        "code": "judge.intent",
        "votes": ["pass"],
        "outcome": "pass",
    }


def test_each_failing_question_becomes_a_verdict_with_its_code_and_reason() -> None:
    text = reply(
        fail=("arguments_grounded", "answer_faithful"),
        arguments_grounded="unit was never given",
        answer_faithful="the reply says 18 degrees but the output says 81",
    )
    result = run(LLMJudge(ScriptedBackend([text])).check(FULL))
    assert [v.code for v in result.failures] == ["judge.hallucinated_args", "judge.answer_unfaithful"]
    grounded, answer = result.failures
    assert grounded.message.startswith("argument grounding")
    assert "unit was never given" in grounded.message
    assert answer.message.startswith("final answer") and "81" in answer.message
    assert grounded.evidence == {
        "question": "arguments_grounded",
        "votes": ["fail"],
        "reasons": ["unit was never given"],
        "models": ["scripted"],
    }


def test_codes_of_the_default_questions_are_stable() -> None:
    assert {q.key: q.code for q in QUESTIONS} == {
        "arguments_grounded": "judge.hallucinated_args",
        "intent_fulfilled": "judge.intent",
        "outputs_consistent": "judge.tool_response",
        "answer_faithful": "judge.answer_unfaithful",
        "no_call_justified": "judge.should_call",
    }


def test_json_in_a_fence_inside_prose_is_accepted() -> None:
    body = reply(fail=("intent_fulfilled",), intent_fulfilled="a second call was needed")
    text = f"Let me check each question.\n```json\n{body}\n```\nThat is my answer."
    backend = ScriptedBackend([text])
    result = run(LLMJudge(backend).check(FULL))
    backend.assert_done()  # no retry was needed
    assert [v.code for v in result.failures] == ["judge.intent"]


def test_parse_answer_is_lenient_about_prose_case_and_keys() -> None:
    asked = applicable_questions(CALL_ONLY)
    text = (
        'Sure! {"ARGUMENTS_GROUNDED": {"reason": "ok", "verdict": "Pass"}, '
        '"judge.intent": {"verdict": "FAILED.", "reason": "wrong city"}} hope that helps'
    )
    parsed = parse_answer(text, asked)
    assert parsed.error is None
    assert parsed.answers["arguments_grounded"].verdict == "pass"
    assert parsed.answers["intent_fulfilled"].verdict == "fail"
    assert parsed.answers["intent_fulfilled"].reason == "wrong city"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty"),
        ("I think it is fine.", "no JSON object"),
        (
            '{"arguments_grounded": {"reason": "ok", "verdict": "maybe"}}',
            "arguments_grounded, intent_fulfilled",
        ),
    ],
)
def test_parse_answer_reports_what_is_missing(text: str, error: str) -> None:
    parsed = parse_answer(text, applicable_questions(CALL_ONLY))
    assert parsed.error is not None and error in parsed.error


def test_complete_entries_of_a_cut_off_reply_are_kept() -> None:
    text = '{"arguments_grounded": {"reason": "all given", "verdict": "pass"}, "intent_fulfilled": {"reason": "the us'
    parsed = parse_answer(text, applicable_questions(CALL_ONLY))
    assert parsed.answers["arguments_grounded"].verdict == "pass"
    assert parsed.error == "no usable verdict for intent_fulfilled"


# -- the no-answer policy ---------------------------------------------------------------------------


def test_unparseable_answer_is_retried_once_with_a_repair_turn() -> None:
    backend = ScriptedBackend(["The dialog looks fine to me.", reply()])
    result = run(LLMJudge(backend).check(FULL))
    backend.assert_done()
    assert result.ok
    first, second = backend.requests
    assert second.messages[: len(first.messages)] == first.messages
    assert second.messages[-2] == Message(role="assistant", content="The dialog looks fine to me.")
    assert second.messages[-1].role == "user" and "no JSON object" in (second.messages[-1].content or "")
    assert second.options.json_schema == first.options.json_schema
    assert result.meta["retries"] == [
        {"vote": 0, "error": "no JSON object found in the reply", "answer": reply()}
    ]
    assert result.meta["usage"]["requests"] == 2


def test_still_unparseable_counts_as_fail_by_default() -> None:
    backend = ScriptedBackend(["no idea", "still no idea"])
    result = run(LLMJudge(backend).check(FULL))
    backend.assert_done()
    (verdict,) = result.verdicts
    assert verdict.code == NO_ANSWER and not verdict.ok
    assert verdict.evidence["questions"] == FULL_KEYS
    assert result.meta["no_answer"] == FULL_KEYS
    assert result.meta["answers"] == ["no idea"]


def test_still_unparseable_passes_when_the_policy_says_so() -> None:
    backend = ScriptedBackend(["no idea", "still no idea"])
    result = run(LLMJudge(backend, on_no_answer="pass").check(FULL))
    assert result.ok and result.verdicts == ()
    assert result.meta["no_answer"] == FULL_KEYS  # still on the record


def test_partial_answer_is_completed_by_the_retry_and_first_answers_are_kept() -> None:
    partial = json.dumps({"arguments_grounded": {"reason": "invented unit", "verdict": "fail"}})
    backend = ScriptedBackend([partial, reply(keys=["arguments_grounded", "intent_fulfilled"])])
    result = run(LLMJudge(backend).check(CALL_ONLY))
    backend.assert_done()
    assert "intent_fulfilled" in (backend.requests[1].messages[-1].content or "")
    assert [v.code for v in result.failures] == ["judge.hallucinated_args"]  # first answer wins


# -- votes and committees ---------------------------------------------------------------------------


def voter(fail_on: set[int], key: str = "intent_fulfilled") -> FunctionBackend:
    """Votes fail on `key` for the samples in `fail_on`, pass otherwise."""

    def respond(request: Request) -> str:
        sample = request.options.sample
        return reply(
            fail=(key,) if sample in fail_on else (), keys=["arguments_grounded", key], **{key: f"s{sample}"}
        )

    return FunctionBackend(respond)


def test_two_of_three_votes_fail() -> None:
    backend = voter({0, 2})
    result = run(LLMJudge(backend, votes=3).check(CALL_ONLY))
    (verdict,) = result.failures
    assert verdict.code == "judge.intent"
    assert verdict.evidence["votes"] == ["fail", "pass", "fail"]
    assert verdict.evidence["reasons"] == ["s0", "s1", "s2"]
    assert "2 of 3 votes" in verdict.message and "s0" in verdict.message
    assert sorted(r.options.sample for r in backend.requests) == [0, 1, 2]
    assert sorted(r.options.seed or 0 for r in backend.requests) == [0, 1, 2]
    assert {r.options.temperature for r in backend.requests} == {0.7}
    assert len(result.meta["answers"]) == 3


def test_one_of_three_votes_fail_passes() -> None:
    result = run(LLMJudge(voter({1}), votes=3).check(CALL_ONLY))
    assert result.ok
    assert result.meta["tally"]["intent_fulfilled"]["votes"] == ["pass", "fail", "pass"]


def test_a_tie_passes() -> None:
    result = run(LLMJudge(voter({0}), votes=2).check(CALL_ONLY))
    assert result.ok


def test_votes_that_give_no_answer_abstain() -> None:
    def respond(request: Request) -> str:
        sample = request.options.sample
        if sample == 0:
            return "unreadable"
        return reply(
            fail=("intent_fulfilled",) if sample == 1 else (), keys=["arguments_grounded", "intent_fulfilled"]
        )

    backend = FunctionBackend(respond)
    result = run(LLMJudge(backend, votes=3).check(CALL_ONLY))
    assert len(backend.requests) == 4  # vote 0 was retried once
    assert result.meta["tally"]["intent_fulfilled"]["votes"] == [None, "fail", "pass"]
    assert result.ok  # 1 fail, 1 pass among those that answered: a tie
    assert "no_answer" not in result.meta


def test_committee_of_backends_votes_by_majority() -> None:
    keys = ["arguments_grounded", "intent_fulfilled"]
    members: list[Backend] = [
        ScriptedBackend([reply(fail=("arguments_grounded",), keys=keys)], model="alpha"),
        ScriptedBackend([reply(keys=keys)], model="beta"),
        ScriptedBackend([reply(fail=("arguments_grounded",), keys=keys)], model="gamma"),
    ]
    result = run(LLMJudge(members).check(CALL_ONLY))
    for member in members:
        assert isinstance(member, ScriptedBackend)
        member.assert_done()
        assert member.requests[0].options.temperature == 0.0  # different models, no sampling needed
    (verdict,) = result.failures
    assert verdict.code == "judge.hallucinated_args"
    assert verdict.evidence["models"] == ["alpha", "beta", "gamma"]
    assert result.meta["model"] == ["alpha", "beta", "gamma"]


def test_committee_with_votes_sends_votes_per_member() -> None:
    a, b = voter(set()), voter({0, 1})
    result = run(LLMJudge([a, b], votes=2).check(CALL_ONLY))
    assert len(a.requests) == 2 and len(b.requests) == 2
    assert result.meta["tally"]["intent_fulfilled"]["votes"] == ["pass", "pass", "fail", "fail"]
    assert result.ok  # 2 against 2


# -- the record -------------------------------------------------------------------------------------


def test_record_keeps_prompt_raw_answers_models_and_summed_usage() -> None:
    raw = [
        Completion(text=reply(), model="m-1", usage=Usage(prompt_tokens=700, completion_tokens=90)),
        Completion(
            text=reply(fail=("intent_fulfilled",)), usage=Usage(prompt_tokens=700, completion_tokens=80)
        ),
    ]
    backend = FunctionBackend(lambda r: raw[r.options.sample], model="fb")
    judge = LLMJudge(backend, votes=2)
    result = run(judge.check(FULL))
    assert result.meta["prompt"] == [
        m.model_dump(mode="json", exclude_none=True) for m in judge.prompt_for(FULL)
    ]
    assert result.meta["prompt"][0]["role"] == "system"
    assert result.meta["answers"] == [raw[0].text, raw[1].text]
    assert result.meta["model"] == ["m-1", "fb"]
    assert result.meta["usage"] == {
        "prompt_tokens": 1400,
        "completion_tokens": 170,
        "total_tokens": 1570,
        "requests": 2,
    }
    json.dumps(result.model_dump(mode="json"))  # the whole record is JSON-serialisable


def test_backend_errors_propagate() -> None:
    backend = ScriptedBackend([BackendError("endpoint down", model="scripted", retryable=True)])
    with pytest.raises(BackendError, match="endpoint down"):
        run(LLMJudge(backend).check(FULL))


def test_backend_error_in_one_vote_propagates_and_stops_the_others() -> None:
    async def respond(request: Request) -> str:
        if request.options.sample == 1:
            raise BackendError("rate limited for good")
        await asyncio.sleep(10)
        return reply()

    with pytest.raises(BackendError, match="rate limited"):
        run(asyncio.wait_for(LLMJudge(FunctionBackend(respond), votes=3).check(FULL), timeout=5))


# -- custom questions and setup errors --------------------------------------------------------------


def test_custom_questions_and_skip_when_none_applies() -> None:
    tone = JudgeQuestion(key="polite", code="judge.tone", title="tone", text="Is the assistant polite?")
    backend = ScriptedBackend([json.dumps({"polite": {"reason": "curt", "verdict": "fail"}})])
    result = run(LLMJudge(backend, questions=[tone]).check(NO_CALL))
    assert [v.code for v in result.failures] == ["judge.tone"]
    assert result.failures[0].message == "tone (judge): curt"

    only_intent = [q for q in QUESTIONS if q.key == "intent_fulfilled"]
    idle = ScriptedBackend([])
    skipped = run(LLMJudge(idle, questions=only_intent).check(NO_CALL))
    assert skipped.skipped and skipped.ok and idle.requests == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"votes": 0}, "votes"),
        ({"on_no_answer": "maybe"}, "on_no_answer"),
        ({"questions": []}, "question"),
        ({"questions": [QUESTIONS[0], QUESTIONS[0]]}, "unique"),
        ({"temperature": -1.0}, "temperature"),
        ({"max_reason_chars": 0}, "max_reason_chars"),
    ],
)
def test_impossible_setups_are_config_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LLMJudge(ScriptedBackend([]), **kwargs)


def test_empty_committee_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="backend"):
        LLMJudge([])


def test_question_keys_must_be_identifiers() -> None:
    with pytest.raises(ValueError, match="lowercase identifier"):
        JudgeQuestion(key="Has Space", code="judge.x", title="x", text="x?")


# -- doubts the rules leave to the judge ----------------------------------------------------------------

TRANSLATE = ToolSpec(
    name="translate",
    description="Translate text.",
    parameters={
        "type": "object",
        "properties": {"text": {"type": "string"}, "target": {"type": "string"}},
        "required": ["text", "target"],
    },
)
CHINESE_CITY = Dialog(
    tools=(WEATHER,),
    messages=(
        Message(role="user", content="上海现在的天气怎么样？"),
        Message(
            role="assistant",
            tool_calls=(ToolCall(name="get_weather", arguments={"city": "Shanghai"}, id="c1"),),
        ),
    ),
)
DOUBT_KEYS = ["arguments_grounded", "intent_fulfilled", "doubtful_values_right"]


def test_the_rules_doubts_reach_the_judge_as_a_question_naming_the_value_and_are_settled() -> None:
    from callforge.verify import Cascade, RuleStage

    backend = ScriptedBackend([reply(keys=DOUBT_KEYS)])
    rules_only = run(Cascade([RuleStage()]).check(CHINESE_CITY))
    assert rules_only.ok and [v.code for v in rules_only.unsure] == ["arg.unproven"]

    checked = run(Cascade([RuleStage(), LLMJudge(backend)]).check(CHINESE_CITY))
    asked = user_prompt(backend.requests[0])
    assert "doubtful_values_right" in asked and "get_weather: argument city='Shanghai'" in asked
    assert "(message 1" not in asked  # the rules' 0-based message numbers would not match the prompt's
    assert checked.ok and checked.unsure == ()  # settled: no longer counted as unsure
    assert checked.stages[0].unsure and checked.stages[1].settles


def test_a_doubt_the_judge_rejects_fails_the_dialog_and_reject_policy_waits_for_the_judge() -> None:
    from callforge.verify import Cascade, Funnel, RuleStage

    backend = ScriptedBackend(
        [
            reply(
                fail=("doubtful_values_right",),
                keys=DOUBT_KEYS,
                doubtful_values_right="上海 is Shanghai, fine",
            )
        ]
    )
    checked = run(Cascade([RuleStage(), LLMJudge(backend)], unsure="reject").check(CHINESE_CITY))
    assert checked.rejected_by == "judge" and [v.code for v in checked.failures] == ["judge.unproven"]
    assert checked.stages[0].ok  # the rules passed it on (unsure) instead of rejecting it themselves

    passing = run(
        Cascade([RuleStage(), LLMJudge(ScriptedBackend([reply(keys=DOUBT_KEYS)]))], unsure="reject").check(
            CHINESE_CITY
        )
    )
    kept = run(Cascade([RuleStage()]).check(CHINESE_CITY))
    funnel = Funnel(["rules", "judge"])
    funnel.add(passing)
    funnel.add(kept)
    assert funnel.accepted == 2 and funnel.unsure == 1  # only the one no judge looked at stays unsure
    assert not run(Cascade([RuleStage()], unsure="reject").check(CHINESE_CITY)).ok


def test_a_request_the_judges_server_refuses_is_no_answer_for_that_dialog_not_a_crash() -> None:
    from callforge.llm import RequestRejected

    def too_long(request: Request) -> str:
        raise RequestRejected("the prompt is longer than the context")

    result = run(LLMJudge(FunctionBackend(too_long)).check(FULL))
    assert [v.code for v in result.failures] == [NO_ANSWER]
    assert "refused the request" in str(result.failures[0].evidence["errors"])
    assert result.meta["answers"] == [""]
    passed = run(LLMJudge(FunctionBackend(too_long), on_no_answer="pass").check(FULL))
    assert passed.ok and passed.meta["no_answer"] == FULL_KEYS


# -- per-call questions (the default) ------------------------------------------------------------------


def test_the_default_asks_per_call_and_per_argument_then_coverage_and_the_answer() -> None:
    keys = [q.key for q in per_call_questions(FULL)]
    assert keys == [
        "call_1_tool_fits",
        "call_1_city_right",
        "call_1_unit_right",
        "every_request_has_a_call",
        "answer_faithful",
        "answer_gives_what_was_asked",
    ]
    city = next(q for q in per_call_questions(FULL) if q.key == "call_1_city_right")
    assert '`city` = "Paris"' in city.text and city.code == "judge.wrong_value"
    assert [q.key for q in per_call_questions(NO_CALL)] == ["no_call_justified"]
    backend = ScriptedBackend([reply(keys=keys, fail=("call_1_unit_right",), call_1_unit_right="the user never chose a unit")])
    result = run(_LLMJudge(backend).check(FULL))
    assert [v.code for v in result.failures] == ["judge.wrong_value"]
    assert "call 1 (get_weather): argument unit" in result.failures[0].message
    assert "call_1_tool_fits" in user_prompt(backend.requests[0])


def test_many_arguments_share_one_grounding_question_and_keys_stay_identifiers() -> None:
    many = ToolCall(name="get_weather", arguments={f"Field-{i}": i for i in range(MAX_ARGUMENT_QUESTIONS + 3)}, id="c1")
    dialog = Dialog(tools=(WEATHER,), messages=(Message(role="user", content="x"), Message(role="assistant", tool_calls=(many,))))
    questions = per_call_questions(dialog)
    assert sum(q.code == "judge.wrong_value" for q in questions) == MAX_ARGUMENT_QUESTIONS
    assert "arguments_grounded" in [q.key for q in questions]
    assert "call_1_field_0_right" in [q.key for q in questions]


def test_verdict_only_replies_are_asked_for_and_read() -> None:
    keys = [q.key for q in per_call_questions(CALL_ONLY)]
    backend = ScriptedBackend([json.dumps(dict.fromkeys(keys, "pass"))])
    result = run(_LLMJudge(backend, reasons=False).check(CALL_ONLY))
    assert result.ok
    schema = backend.requests[0].options.json_schema or {}
    assert schema["properties"]["call_1_tool_fits"] == {"type": "string", "enum": ["pass", "fail"]}


# -- the reference judge ---------------------------------------------------------------------------------


def test_the_reference_judge_answers_the_request_itself_and_compares_calls() -> None:
    from callforge.verify.judge import DISAGREES, ReferenceJudge, compare_calls

    paris = ToolCall(name="get_weather", arguments={"city": "Paris", "unit": "celsius"})
    backend = ScriptedBackend([paris])
    agreed = run(ReferenceJudge(backend).check(FULL))
    assert agreed.ok and agreed.meta["references"][0]["message_index"] == 2
    sent = backend.requests[0]
    assert [m.role for m in sent.messages] == ["system", "user"] and [t.name for t in sent.tools] == ["get_weather", "send_email"]

    sister = Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="What's the weather in Paris? My sister lives in Lyon."),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "Lyon"}, id="c1"),)),
        ),
    )
    differs = run(ReferenceJudge(ScriptedBackend([ToolCall(name="get_weather", arguments={"city": "Paris"})])).check(sister))
    assert [v.code for v in differs.failures] == [DISAGREES]
    assert "sets get_weather's city='Paris' where the dialog has 'Lyon'" in differs.failures[0].message

    words = run(ReferenceJudge(ScriptedBackend(["I can't check the weather."])).check(FULL))
    assert "answers in words where the dialog calls get_weather" in words.failures[0].message
    called = run(ReferenceJudge(ScriptedBackend([ToolCall(name="get_weather", arguments={"city": "Tokyo"})])).check(NO_CALL))
    assert "calls get_weather where the dialog answers in words" in called.failures[0].message

    rome = ToolCall(name="get_weather", arguments={"city": "Rome"})
    assert compare_calls([paris, rome], [paris]) is None  # fewer calls of the same tool: a model stopping early
    assert compare_calls([paris], [paris, rome]) == "calls get_weather ×2 where the dialog calls get_weather"
    assert compare_calls([ToolCall(name="get_weather", arguments={"city": "PARIS "})], [paris]) is None


def test_judge_mode_reference_builds_the_reference_judge_and_is_stored_only_when_chosen() -> None:
    from callforge.verify import CascadeSpec, build_cascade
    from callforge.verify.judge import ReferenceJudge

    cascade = build_cascade(CascadeSpec(stages=("rules", "judge"), judge_mode="reference"), judge=ScriptedBackend([]))
    assert isinstance(cascade.stages[1], ReferenceJudge)
    assert "judge_mode" not in CascadeSpec().model_dump()
    assert CascadeSpec(judge_mode="per_aspect").model_dump()["judge_mode"] == "per_aspect"


def test_a_reference_the_rules_reject_has_no_say_and_free_text_is_not_compared() -> None:
    from callforge.verify.judge import ReferenceJudge, compare_calls

    invented = ToolCall(name="get_weather", arguments={"city": "Atlantis"})  # the user asked about Paris
    result = run(ReferenceJudge(ScriptedBackend([invented])).check(FULL))
    assert result.ok and result.meta["references"][0]["rejected_by_rules"] == ["arg.ungrounded"]
    ours = ToolCall(name="send_email", arguments={"to": "ann@x.org", "body": "Hi Ann, the report is ready. Best, Bo"})
    theirs = ToolCall(name="send_email", arguments={"to": "ann@x.org", "body": "The report is ready."})
    assert compare_calls([ours], [theirs]) is None
    titled = ToolCall(name="create_event", arguments={"title": "Dentist"})
    assert compare_calls([titled], [ToolCall(name="create_event", arguments={"title": "Dentist appointment"})]) is None
    assert compare_calls([titled], [ToolCall(name="create_event", arguments={"title": "Haircut"})]) is not None


def test_a_reference_loses_its_say_only_on_doubted_arguments_and_a_question_back_is_not_outvoted() -> None:
    from callforge.verify.judge import DISAGREES, ReferenceJudge

    trains = ToolSpec(
        name="search_trains",
        parameters={"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"},
                    "depart_after": {"type": "string"}}, "required": ["origin", "destination"]},
    )  # fmt: skip
    flights = ToolSpec(
        name="search_flights",
        parameters={"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}},
                    "required": ["origin", "destination"]},
    )  # fmt: skip
    wrong_tool = Dialog(
        tools=(trains, flights),
        messages=(
            Message(role="user", content="Show me trains from Paris to London."),
            Message(role="assistant", tool_calls=(ToolCall(name="search_flights", arguments={"origin": "CDG", "destination": "LHR"}, id="c1"),)),
        ),
    )
    # the model invents an optional departure time: that argument has no say, its choice of tool still does
    reference = ToolCall(name="search_trains", arguments={"origin": "Paris", "destination": "London", "depart_after": "06:00"})
    result = run(ReferenceJudge(ScriptedBackend([reference])).check(wrong_tool))
    assert [v.code for v in result.failures] == [DISAGREES]
    assert "calls search_trains where the dialog calls search_flights" in result.failures[0].message

    asked_back = Dialog(
        tools=(trains,),
        messages=(
            Message(role="user", content="Book me a train."),
            Message(role="assistant", content="Sure: from where to where, and when?"),
        ),
    )
    guess = ToolCall(name="search_trains", arguments={"origin": "Paris", "destination": "London"})
    assert run(ReferenceJudge(ScriptedBackend([guess])).check(asked_back)).ok
