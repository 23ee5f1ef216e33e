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
    NO_ANSWER,
    QUESTIONS,
    JudgeQuestion,
    LLMJudge,
    answer_schema,
    applicable_questions,
    parse_answer,
)
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
