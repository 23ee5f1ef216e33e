"""LLMJudge: the last, most expensive layer of the verification cascade.

One request per vote asks every applicable question at once, with the reply constrained to JSON;
the votes of several samples or of a committee of models are tallied per question by strict
majority. The judge is a secondary filter (LLM judges drift between model versions), so it only
sees dialogs that rules and execution already passed, and it keeps its prompt and every raw
answer on the record so each rejection can be audited.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from callforge.core import ConfigError, Dialog, Message, Verdict
from callforge.llm import Backend, Completion, RequestRejected, Usage
from callforge.verify.judge.percall import Questioner, fixed_questions, per_call_questions
from callforge.verify.judge.prompt import (
    DEFAULT_MAX_OUTPUT_CHARS,
    DEFAULT_MAX_REASON_CHARS,
    JudgeQuestion,
    answer_schema,
    doubt_question,
    render_prompt,
    repair_message,
)
from callforge.verify.record import StageResult

NO_ANSWER = "judge.no_answer"
"""Code of the verdict recorded when no vote gave a usable answer to a question."""

NoAnswerPolicy = Literal["fail", "pass"]

_T = TypeVar("_T")
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_VERDICT_WORDS: dict[str, Literal["pass", "fail"]] = {
    "pass": "pass",
    "passed": "pass",
    "fail": "fail",
    "failed": "fail",
}
_MAX_SCAN = 200  # at most this many '{' positions are tried when the JSON is buried in prose


class QuestionAnswer(BaseModel):
    """One vote's answer to one question."""

    model_config = ConfigDict(frozen=True)

    reason: str = ""
    verdict: Literal["pass", "fail"]


class ParsedAnswer(BaseModel):
    """What could be read from one raw reply: the usable answers, and why the rest could not be read."""

    model_config = ConfigDict(frozen=True)

    answers: dict[str, QuestionAnswer] = Field(default_factory=dict)
    error: str | None = None


class Ballot(BaseModel):
    """One vote: which model cast it, its raw replies (a second one after a repair request), its answers.

    Attributes:
        vote: index of the vote in the judge's order (backend by backend, sample by sample).
        model: the model that answered.
        sample: the `sample` option the request carried.
        texts: raw reply texts, the first request's first.
        errors: for each reply that was not fully usable, why.
        answers: the usable answer per question key; first reply wins, the repair fills gaps.
        usage: tokens of all of this vote's requests.
    """

    model_config = ConfigDict(frozen=True)

    vote: int
    model: str
    sample: int
    texts: tuple[str, ...]
    errors: tuple[str, ...] = ()
    answers: dict[str, QuestionAnswer] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)


def parse_answer(text: str, questions: Sequence[JudgeQuestion]) -> ParsedAnswer:
    """Read a judge reply leniently: bare JSON, JSON in a code fence, or JSON inside prose.

    Parsing is `json` only (model output is never evaluated). Under each question the answer may
    be keyed by the question's key, its code or the code's last part, in any letter case, and the
    verdict may be "pass"/"fail" or "passed"/"failed"; anything else counts as unanswered.

    Returns:
        The answers found; `error` names the unanswered question keys, or says no JSON was found.
    """
    if not text.strip():
        return ParsedAnswer(error="the reply was empty")
    candidates = _json_objects(text)
    best: dict[str, QuestionAnswer] = {}
    for candidate in candidates:
        found = _read_answers(candidate, questions)
        if len(found) > len(best):
            best = found
        if len(best) == len(questions):
            break
    if len(best) < len(questions):
        # A reply cut off at max_tokens is not valid JSON as a whole, but its complete entries are.
        for key, answer in _salvage(text, [q for q in questions if q.key not in best]).items():
            best.setdefault(key, answer)
    if not best and not candidates:
        return ParsedAnswer(error="no JSON object found in the reply")
    missing = [q.key for q in questions if q.key not in best]
    error = f"no usable verdict for {', '.join(missing)}" if missing else None
    return ParsedAnswer(answers=best, error=error)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object the reply holds, most likely first: whole text, fenced blocks, then any `{`."""
    found: list[dict[str, Any]] = []
    pieces = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for piece in pieces:
        try:
            value = json.loads(piece)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    if found:
        return _with_nested(found)
    decoder = json.JSONDecoder()
    start = text.find("{")
    tries = 0
    while start != -1 and tries < _MAX_SCAN:
        tries += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        start = text.find("{", end)
    return _with_nested(found)


def _salvage(text: str, questions: Sequence[JudgeQuestion]) -> dict[str, QuestionAnswer]:
    """Read `"key": {...}` entries one by one, for replies whose outer object is broken."""
    decoder = json.JSONDecoder()
    answers: dict[str, QuestionAnswer] = {}
    for q in questions:
        aliases = "|".join(re.escape(a) for a in _aliases(q))
        for match in re.finditer(rf'"(?:{aliases})"\s*:\s*', text, flags=re.IGNORECASE):
            try:
                value, _ = decoder.raw_decode(text, match.end())
            except ValueError:
                continue
            answer = _read_entry(value)
            if answer is not None:
                answers[q.key] = answer
                break
    return answers


def _aliases(q: JudgeQuestion) -> tuple[str, ...]:
    code = q.code.lower()
    return (q.key, code, code.rsplit(".", 1)[-1])


def _with_nested(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A model sometimes wraps the answers ({"answers": {...}}); the inner objects are candidates too.
    out = list(objects)
    for obj in objects:
        out.extend(value for value in obj.values() if isinstance(value, dict) and len(value) > 0)
    return out


def _read_answers(obj: dict[str, Any], questions: Sequence[JudgeQuestion]) -> dict[str, QuestionAnswer]:
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    answers: dict[str, QuestionAnswer] = {}
    for q in questions:
        for alias in _aliases(q):
            answer = _read_entry(lowered.get(alias))
            if answer is not None:
                answers[q.key] = answer
                break
    return answers


def _read_entry(entry: Any) -> QuestionAnswer | None:
    if isinstance(entry, str):
        word = _VERDICT_WORDS.get(entry.strip().strip(".!").lower())
        return QuestionAnswer(verdict=word) if word else None
    if not isinstance(entry, dict):
        return None
    fields = {str(k).strip().lower(): v for k, v in entry.items()}
    raw = fields.get("verdict")
    if not isinstance(raw, str):
        return None
    word = _VERDICT_WORDS.get(raw.strip().strip(".!").lower())
    if word is None:
        return None
    reason = fields.get("reason")
    return QuestionAnswer(reason=reason.strip() if isinstance(reason, str) else "", verdict=word)


class LLMJudge:
    """The judge stage: decomposed questions, answered as JSON, tallied over votes or a committee.

    Args:
        backend: one backend, or a list of backends that form a committee (each casts `votes`).
        votes: requests per backend; with more than one they are sampled (`temperature`, distinct
            `sample` and `seed`) so they can disagree.
        questions: a fixed list to choose from (only those that apply to a dialog are asked; e.g.
            `QUESTIONS`, one question per aspect), or a function that builds them per dialog.
            Default: `per_call_questions`, one question per call and per argument.
        max_tokens: reply budget per request; a reply cut short is unparseable and gets one retry.
        temperature: default 0 for a single vote per backend, 0.7 otherwise.
        seed: base seed; vote `i` is sent with `seed + i`.
        on_no_answer: what a question that no vote answered usably does to the dialog. "fail"
            (default, conservative for training data) adds a failing `judge.no_answer` verdict;
            "pass" lets the dialog through. Either way the questions are listed in
            `meta["no_answer"]`.
        constrain: send `json_schema` so servers that support it force a well-formed reply; turn
            off for a server that rejects the option.
        max_output_chars: tool outputs longer than this are cut in the prompt.
        max_reason_chars: `maxLength` of each reason in the schema (None: no cap).
        reasons: ask for a reason before each verdict (default); False asks for verdicts only,
            which costs a few tokens per question instead of a sentence.
        name: the stage name on the record.

    Raises:
        ConfigError: for an impossible setup (no backend, votes < 1, unknown policy, duplicate keys).
    """

    def __init__(
        self,
        backend: Backend | Sequence[Backend],
        *,
        votes: int = 1,
        questions: Sequence[JudgeQuestion] | Questioner | None = None,
        max_tokens: int = 1024,
        temperature: float | None = None,
        seed: int = 0,
        on_no_answer: NoAnswerPolicy = "fail",
        constrain: bool = True,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        max_reason_chars: int | None = DEFAULT_MAX_REASON_CHARS,
        reasons: bool = True,
        name: str = "judge",
    ) -> None:
        backends = tuple(backend) if isinstance(backend, Sequence) else (backend,)
        if not backends:
            raise ConfigError("LLMJudge needs at least one backend; pass a backend or a non-empty list")
        if votes < 1:
            raise ConfigError(f"votes must be at least 1, got {votes}")
        if on_no_answer not in ("fail", "pass"):
            raise ConfigError(f"on_no_answer must be 'fail' or 'pass', got {on_no_answer!r}")
        if max_tokens < 1:
            raise ConfigError(f"max_tokens must be at least 1, got {max_tokens}")
        if max_reason_chars is not None and max_reason_chars < 1:
            raise ConfigError(f"max_reason_chars must be at least 1 or None, got {max_reason_chars}")
        if temperature is not None and temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {temperature}")
        if questions is None or callable(questions):
            self.ask: Questioner = questions or per_call_questions
        else:
            chosen = tuple(questions)
            if not chosen:
                raise ConfigError("LLMJudge needs at least one question")
            keys = [q.key for q in chosen]
            if len(set(keys)) != len(keys):
                raise ConfigError(f"question keys must be unique, got {keys}")
            self.ask = fixed_questions(chosen)
        self.backends = backends
        self.votes = votes
        self.max_tokens = max_tokens
        self.temperature = temperature if temperature is not None else (0.0 if votes == 1 else 0.7)
        self.seed = seed
        self.on_no_answer: NoAnswerPolicy = on_no_answer
        self.constrain = constrain
        self.max_output_chars = max_output_chars
        self.max_reason_chars = max_reason_chars
        self.reasons = reasons
        self.name = name

    def questions_for(self, dialog: Dialog) -> tuple[JudgeQuestion, ...]:
        """The questions this judge asks about `dialog`."""
        return self.ask(dialog)

    def prompt_for(self, dialog: Dialog) -> tuple[Message, ...]:
        """The exact messages each vote is sent for `dialog` (before any repair turn)."""
        return render_prompt(dialog, self.questions_for(dialog), max_output_chars=self.max_output_chars, reasons=self.reasons)

    async def check(self, dialog: Dialog) -> StageResult:
        """Judge one dialog; `BackendError` from a backend propagates for the cascade to handle."""
        return await self._judge(dialog, self.questions_for(dialog))

    async def settle(self, dialog: Dialog, doubts: tuple[Verdict, ...]) -> StageResult:
        """Judge one dialog and rule on the earlier stages' doubts, asked as one more question.

        A doubt the judge finds wrong fails the dialog with `judge.unproven`; otherwise the doubts
        are settled and the dialog no longer counts as unsure.
        """
        asked = (*self.questions_for(dialog), doubt_question([_doubt_text(v) for v in doubts]))
        result = await self._judge(dialog, asked)
        return result.model_copy(update={"settles": True})

    async def _judge(self, dialog: Dialog, asked: tuple[JudgeQuestion, ...]) -> StageResult:
        if not asked:
            return StageResult(
                stage=self.name, skipped=True, meta={"reason": "no judge question applies to this dialog"}
            )
        prompt = render_prompt(dialog, asked, max_output_chars=self.max_output_chars, reasons=self.reasons)
        jobs = [(b, i) for b in self.backends for i in range(self.votes)]
        ballots = await _gather(
            [self._vote(n, backend, sample, prompt, asked) for n, (backend, sample) in enumerate(jobs)]
        )
        return self._tally(asked, prompt, ballots)

    async def _vote(
        self,
        vote: int,
        backend: Backend,
        sample: int,
        prompt: Sequence[Message],
        asked: Sequence[JudgeQuestion],
    ) -> Ballot:
        options: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed + sample,
            "sample": sample,
        }
        if self.constrain:
            options["json_schema"] = answer_schema(asked, max_reason_chars=self.max_reason_chars, reasons=self.reasons)
        try:
            first = await backend.complete(prompt, **options)
        except RequestRejected as exc:
            # This dialog only (longer than the judge's context): no answer from this vote, which
            # the no-answer policy decides; other dialogs still reach the judge.
            error = f"the judge's server refused the request: {exc}"
            return Ballot(vote=vote, model=backend.model, sample=sample, texts=(), errors=(error,))
        parsed = parse_answer(first.text, asked)
        completions = [first]
        errors = [_explain(parsed.error, first)] if parsed.error else []
        answers = dict(parsed.answers)
        if parsed.error:
            # One repair turn: the model sees its reply and what was wrong. The changed prompt also
            # keeps a response cache from handing back the same unusable reply.
            retry = [
                *prompt,
                Message(role="assistant", content=first.text),
                repair_message(errors[0], asked, reasons=self.reasons),
            ]
            second = await backend.complete(retry, **options)
            completions.append(second)
            again = parse_answer(second.text, asked)
            if again.error:
                errors.append(_explain(again.error, second))
            for key, answer in again.answers.items():
                answers.setdefault(key, answer)
        usage = Usage()
        for completion in completions:
            usage = usage + completion.usage
        return Ballot(
            vote=vote,
            model=first.model or backend.model,
            sample=sample,
            texts=tuple(c.text for c in completions),
            errors=tuple(errors),
            answers=answers,
            usage=usage,
        )

    def _tally(
        self, asked: Sequence[JudgeQuestion], prompt: Sequence[Message], ballots: Sequence[Ballot]
    ) -> StageResult:
        verdicts: list[Verdict] = []
        unanswered: list[str] = []
        tally: dict[str, dict[str, Any]] = {}
        models = [b.model for b in ballots]
        for q in asked:
            votes = [b.answers[q.key].verdict if q.key in b.answers else None for b in ballots]
            reasons = [b.answers[q.key].reason if q.key in b.answers else "" for b in ballots]
            fails, passes = votes.count("fail"), votes.count("pass")
            # Strict majority of the votes that answered; a tie passes (see docs/judge.md).
            outcome = "no_answer" if fails + passes == 0 else ("fail" if fails > passes else "pass")
            tally[q.key] = {"code": q.code, "votes": votes, "outcome": outcome}
            if outcome == "no_answer":
                unanswered.append(q.key)
            elif outcome == "fail":
                reason = (
                    next(r for v, r in zip(votes, reasons, strict=True) if v == "fail") or "(no reason given)"
                )
                count = "" if len(ballots) == 1 else f", {fails} of {fails + passes} votes"
                verdicts.append(
                    Verdict.failed(
                        q.code,
                        f"{q.title} (judge{count}): {reason}",
                        question=q.key,
                        votes=votes,
                        reasons=reasons,
                        models=models,
                    )
                )
        if unanswered and self.on_no_answer == "fail":
            verdicts.append(
                Verdict.failed(
                    NO_ANSWER,
                    f"the judge gave no usable answer for {', '.join(unanswered)} (after one retry per vote); "
                    "this says nothing about the dialog, only that the judge's reply could not be read",
                    questions=unanswered,
                    errors=[list(b.errors) for b in ballots],
                    models=models,
                )
            )
        usage = Usage()
        for ballot in ballots:
            usage = usage + ballot.usage
        meta: dict[str, Any] = {
            "prompt": [m.model_dump(mode="json", exclude_none=True) for m in prompt],
            "questions": [q.key for q in asked],
            "answers": [b.texts[0] if b.texts else "" for b in ballots],
            "model": models,
            "tally": tally,
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
                "requests": sum(len(b.texts) for b in ballots),
            },
        }
        retries = [
            {"vote": b.vote, "error": b.errors[0], "answer": b.texts[1]} for b in ballots if len(b.texts) > 1
        ]
        if retries:
            meta["retries"] = retries
        if unanswered:
            meta["no_answer"] = unanswered
        return StageResult(stage=self.name, verdicts=tuple(verdicts), meta=meta)


def _doubt_text(verdict: Verdict) -> str:
    """A doubt as the judge reads it: the call and value, without the rule's advice to the judge."""
    text = verdict.message.split(" is not in the text as written", 1)[0].split("; a judge", 1)[0]
    return _SITE.sub("", text)


_SITE = re.compile(r" \(message \d+, call \d+\)")


def _explain(error: str | None, completion: Completion) -> str:
    text = error or ""
    if completion.finish_reason == "length":
        text += " (the reply was cut off at max_tokens)"
    return text


async def _gather(jobs: Sequence[Awaitable[_T]]) -> list[_T]:
    """Run the votes concurrently; on the first error cancel the rest and re-raise it unchanged."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
