"""Playing a plan out: user turns written from the plan, assistant turns from the model, tool turns from the engine.

The Director is the only place that assembles generated messages. Per user turn it asks the user
role for the request, replays any scripted (deliberately failing) calls, then lets the assistant
call tools until it answers in text. Tool outputs come from the engine, never from the model
playing the assistant, so a dialog's tool messages are what the tools really return.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from callforge.core import Dialog, MaskedCall, MaskReason, Message, Provenance, ToolCall, ToolSpec
from callforge.execute import Engine
from callforge.generate.personas import Voice
from callforge.generate.plan import Plan, Turn
from callforge.generate.planner import GenerationFailure
from callforge.generate.roles import AssistantRole, UserRole
from callforge.llm import Completion
from callforge.verify import RuleStage, default_checks


class Director:
    """Turns a Plan into a Dialog with the two roles and the engine."""

    def __init__(
        self, user: UserRole, assistant: AssistantRole, engine: Engine, *, max_steps: int = 5, answer_questions: bool = False
    ) -> None:
        """`max_steps` bounds assistant messages per user turn (a model looping on calls is cut off).

        With `answer_questions` (episodes), an assistant that asks instead of making a turn's calls
        gets the user's answer, written from the turn's values only (`UserRole.answer`), and acts then.
        """
        self.user = user
        self.assistant = assistant
        self.engine = engine
        self.max_steps = max_steps
        self.answer_questions = answer_questions

    async def play(self, plan: Plan, voice: Voice, *, seed: int, meta: Provenance | None = None) -> Dialog:
        """Play every turn of `plan`; raises GenerationFailure (with the dialog so far) when a role fails."""
        messages: list[Message] = [Message(role="system", content=self.assistant.system)]
        injected: list[str] = []
        clarified: list[int] = []
        try:
            await self._turns(plan, voice, seed, messages, injected, clarified)
        except GenerationFailure as failure:
            failure.partial = _partial(plan, messages, _clarified(meta, clarified))
            raise
        meta = _clarified(meta, clarified)
        planned = _planned(plan, meta).model_copy(
            update={
                "missing": tuple(m for turn in plan.turns for m in turn.missing),
                "masked": tuple(MaskedCall(id=i, reason=MaskReason.INJECTED) for i in injected),
            }
        )
        return Dialog(tools=plan.tools, messages=tuple(messages), meta=planned)

    async def _turns(
        self, plan: Plan, voice: Voice, seed: int, messages: list[Message], injected: list[str], clarified: list[int]
    ) -> None:
        tools = {t.name: t for t in plan.tools}
        ids = CallIds()
        for number, turn in enumerate(plan.turns):
            offered = tuple(t for t in plan.tools if t.name not in turn.withheld)
            text = await self.user.write(turn, plan.tools, messages[1:], voice, seed=seed + 101 * number)
            if len(turn.pasted) == 2:  # long context: the request sits inside notes, a log or a thread
                text = f"{turn.pasted[0]}{text}{turn.pasted[1]}"
            messages.append(Message(role="user", content=text))
            made: set[tuple[str, bytes]] = set()
            for step in turn.steps:
                if step and all(c.fails for c in step):  # scripted: the wrong call the assistant recovers from
                    calls = tuple(ToolCall(name=c.name, arguments=c.arguments, id=ids.next()) for c in step)
                    injected.extend(str(c.id) for c in calls)
                    made |= {signature(c) for c in calls}  # repeating the planted error ends the calling
                    messages.append(Message(role="assistant", tool_calls=calls))
                    messages.extend(await self._run(calls, tools))
            start = len(messages)
            await self.respond(messages, offered, ids, made, seed=seed + 101 * number, turn=number + 1)
            question = _asked_back(turn, messages[start:], set(injected)) if self.answer_questions else None
            if question is not None:
                # It asked instead of acting: the user answers from the turn's values only, then it acts.
                reply = await self.user.answer(turn, plan.tools, messages[1:], voice, question, seed=seed + 101 * number + 53)
                messages.append(Message(role="user", content=reply))
                clarified.append(number)
                await self.respond(messages, offered, ids, made, seed=seed + 101 * number + 59, turn=number + 1)

    async def respond(
        self,
        messages: list[Message],
        tools: Sequence[ToolSpec],
        ids: CallIds,
        made: set[tuple[str, bytes]],
        *,
        seed: int,
        turn: int,
    ) -> None:
        """Let the assistant call tools (run by the engine) until it answers in text; appends to `messages`.

        Refinement reuses this to replay a dialog from a rejected step, so both paths stop looping
        models the same way.
        """
        by_name = {t.name: t for t in tools}
        for count in range(self.max_steps):
            step_seed = seed + count + 1
            reply = await self.assistant.reply(shown(messages), tools, seed=step_seed)
            signatures = {signature(c) for c in reply.tool_calls}
            if signatures & made:
                # Calling again for results it already has: small models loop here instead of
                # answering. The calling phase is over; ask for the answer with tools withheld.
                reply = await self.assistant.answer(shown(messages), tools, seed=step_seed)
            thought, text = self.assistant.thought(reply)
            if not reply.tool_calls:
                flaw = _unfinished(reply, text)
                if flaw or (_after_outputs(messages) and _answer_fails(messages, tools, text)):
                    # "Thank you for the quote." after a quote: small models thank instead of answering.
                    # Asked once more, in words and with the results in view, they usually answer.
                    answered = await self.assistant.answer(shown(messages), tools, seed=step_seed + 7, brief=True)
                    retry, again = self.assistant.thought(answered)
                    # a cut or leaking answer gives way to any whole one (the verifier judges it); a
                    # refused one only to an answer the rules accept
                    if again and _unfinished(answered, again) is None and (flaw or not _answer_fails(messages, tools, again)):
                        thought, text, flaw = retry, again, None
                if flaw is not None:
                    raise GenerationFailure(flaw[0], f"turn {turn}: {flaw[1]}", text=text[:400])
                messages.append(Message(role="assistant", content=text, reasoning=thought))
                return
            made |= signatures
            calls = tuple(c.model_copy(update={"id": ids.next()}) for c in reply.tool_calls)
            messages.append(Message(role="assistant", tool_calls=calls, reasoning=thought))
            messages.extend(await self._run(calls, by_name))
        raise GenerationFailure(
            "gen.max_steps",
            f"the assistant was still calling tools after {self.max_steps} messages in turn {turn}",
        )

    async def _run(self, calls: Sequence[ToolCall], tools: dict[str, ToolSpec]) -> list[Message]:
        async def one(call: ToolCall) -> Message:
            tool = tools.get(call.name)
            if tool is None:
                output: Any = {"error": f"unknown tool {call.name!r}; the tools are {', '.join(sorted(tools))}"}
            else:
                observation = await self.engine.execute(call, tool)
                output = observation.output if observation.ok else {"error": observation.verdict.message}
            return Message(role="tool", tool_call_id=call.id, name=call.name, content=_text(output))

        return list(await asyncio.gather(*(one(c) for c in calls)))


SHOWN_OUTPUT_CHARS = 4000
"""Tool outputs longer than this are cut in what the assistant model is sent (the dialog keeps them whole)."""


def shown(messages: Sequence[Message]) -> list[Message]:
    """The conversation as the assistant model sees it: long tool outputs cut, with a note.

    Two years of weekly prices are 6,900 tokens: on a CPU that one prompt takes minutes (200 s for
    the 1.5B model on 2 cores), and a small model answers from the first rows anyway. The dialog
    keeps the whole output, so the verifier checks the answer against what the tool returned.
    """
    return [
        m.model_copy(update={"content": f"{m.content[:SHOWN_OUTPUT_CHARS]} ... [{len(m.content) - SHOWN_OUTPUT_CHARS} more characters cut]"})
        if m.role == "tool" and m.content and len(m.content) > SHOWN_OUTPUT_CHARS
        else m
        for m in messages
    ]


_ANSWER_RULES = RuleStage([c for c in default_checks() if c.name in ("answer", "claims")])


def _after_outputs(messages: Sequence[Message]) -> bool:
    """Whether the current turn has tool outputs: the next text is the answer from them."""
    for message in reversed(messages):
        if message.role == "user":
            return False
        if message.role == "tool":
            return True
    return False


_NUDGE_WORDS = ("in plain words", "the tool results above", "do not call any tool", "answer my request", "short sentences")


def _unfinished(completion: Completion, text: str) -> tuple[str, str] | None:
    """Why an answer cannot end a dialog whatever the verifier says: cut by the token limit, or quoting our instruction.

    Neither shows in the dialog the verifier reads: a reply that hit `max_tokens` looks like any
    other text (a price list ending in "- 2025-"), and "Sure, here's the answer in plain words"
    echoes the nudge `AssistantRole.answer` sends, which the dialog does not keep.
    """
    if completion.finish_reason == "length":
        return "gen.answer_cut", f"the answer was cut by the token limit: ...{text[-80:]!r}"
    lowered = text.casefold()
    quoted = next((words for words in _NUDGE_WORDS if words in lowered), None)
    if quoted is not None:
        return "gen.answer_leak", f"the answer quotes the instruction that asked for it ({quoted!r}): {text[:120]!r}"
    return None


def _answer_fails(messages: Sequence[Message], tools: Sequence[ToolSpec], text: str) -> bool:
    """Whether the answer rules the verifier will run reject `text` as this turn's answer."""
    dialog = Dialog(tools=tuple(tools), messages=(*messages, Message(role="assistant", content=text)))
    return bool(_ANSWER_RULES.run(dialog))


def _asked_back(turn: Turn, replies: Sequence[Message], injected: set[str]) -> str | None:
    """The assistant's question when it asked one instead of making any of a turn's calls, else None.

    Only a turn that asks for calls it can make counts (not a missing value's turn, where asking is
    the right answer, nor a withheld tool's); a planted failing call is not the assistant's.
    """
    if not [c for c in turn.calls if not c.fails] or turn.missing or turn.blocked or turn.offtopic:
        return None
    if any(c.id not in injected for m in replies for c in m.tool_calls):
        return None
    last = replies[-1] if replies else None
    text = (last.content or "").strip() if last is not None and last.role == "assistant" else ""
    return text if "?" in text else None


def _clarified(meta: Provenance | None, clarified: Sequence[int]) -> Provenance | None:
    """An episode's trace with an empty truth for each turn answered by a question (the answer's message holds the calls).

    The user's answer is a message of its own, so the truth per user message gains an entry, as a
    missing value's turn does (BFCL's miss_param shape).
    """
    trace = meta.episode if meta is not None else None
    if not clarified or trace is None or meta is None:
        return meta
    truth: list[tuple[ToolCall, ...]] = []
    for number, calls in enumerate(trace.truth):
        if number in clarified:
            truth.append(())
        truth.append(calls)
    late = {str(int(k) + sum(1 for n in clarified if n < int(k))): v for k, v in trace.late_tools.items()}
    return meta.model_copy(update={"episode": trace.model_copy(update={"truth": tuple(truth), "late_tools": late})})


def signature(call: ToolCall) -> tuple[str, bytes]:
    """A call's name and canonical arguments: what "the same call again" means."""
    return call.name, orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS)


def _planned(plan: Plan, meta: Provenance | None) -> Provenance:
    return (meta or Provenance()).model_copy(update={"scenario": plan.kind, "plan": plan.expected()})


def _partial(plan: Plan, messages: list[Message], meta: Provenance | None) -> Dialog:
    """The dialog as far as it got, kept on the rejected record so a failure can be read."""
    return Dialog(tools=plan.tools, messages=tuple(messages), meta=_planned(plan, meta))


def _text(output: Any) -> str:
    if isinstance(output, str):
        return output
    try:
        return orjson.dumps(output).decode()
    except TypeError:
        return repr(output)


class CallIds:
    """Call ids unique within a dialog: `call_1`, `call_2`, ... (deterministic, so a re-run matches)."""

    def __init__(self, start: int = 0) -> None:
        """Number from `start + 1`, past the ids a dialog already holds."""
        self.n = start

    def next(self) -> str:
        """The next unused id."""
        self.n += 1
        return f"call_{self.n}"
