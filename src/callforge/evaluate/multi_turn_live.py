"""Drive a live model through a BFCL multi-turn entry, the way BFCL's inference loop does.

Each user turn is added to the conversation; then the model answers, its calls run in the entry's
environment and their results go back to it, step after step, until a reply holds no call (the
model talking, or output that does not decode) or the step limit forces the entry to stop. What is
stored per entry is what BFCL stores: a list of turns, each a list of the model's raw replies, so
the multi-turn checker (and BFCL's own) scores it afterwards. The requests are BFCL's too: FC
models get the tools as `tools=` and the results as `tool` messages; prompting models get BFCL's
system prompt with the tools and the results as one user message. A tool held out until a later
turn (`multi_turn_miss_func`) joins at that turn with BFCL's "I have updated some more functions"
message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callforge.core import Message, ToolCall
from callforge.evaluate.bfcl_prompt import fc_specs, tool_functions, with_system_prompt
from callforge.evaluate.check import Style
from callforge.evaluate.multi_turn import MultiTurnEntry, result_text, step_calls
from callforge.evaluate.stored import result_value
from callforge.llm import Backend, Completion, RequestRejected, Usage

STEP_LIMIT = 20
"""BFCL's MAXIMUM_STEP_LIMIT: a turn whose step counter passes it ends the entry (force-terminated)."""

MORE_TOOLS = "I have updated some more functions you can choose from. What about now?"
"""BFCL's user message for the turn where held-out tools join (prompting models also get the tools before it)."""

INFERENCE_ERROR = "Error during inference: "
"""How BFCL stores an entry whose inference failed; the checker reads it as `multi_turn:inference_error`."""


@dataclass(frozen=True, slots=True)
class EntryRun:
    """A model's run through one multi-turn entry: the output BFCL scores, and what it cost.

    `output` is a list of turns of raw replies, or `INFERENCE_ERROR + reason` when the server refused
    a request (longer than the context): BFCL scores both the same way. `force_terminated` says the
    step limit stopped the entry, which then has fewer turns than the ground truth.
    """

    output: list[list[Any]] | str
    steps: int
    force_terminated: bool
    usage: Usage
    latency_s: float
    model: str
    rejected: str = ""


async def run_multi_turn_entry(
    entry: MultiTurnEntry,
    backend: Backend,
    style: Style | str = Style.FC,
    *,
    step_limit: int = STEP_LIMIT,
    **sampling: Any,
) -> EntryRun:
    """Play `entry` with `backend` on a fresh environment, turn by turn, and return what BFCL would store.

    A request the server refuses (RequestRejected) ends the entry as BFCL's inference error; any
    other backend error propagates, so the job runner records it and a re-run retries the entry.
    """
    style = Style(style)
    environment = entry.environment()
    every = {tool.name: tool for tool in entry.tools_at(len(entry.turns))}
    functions = tool_functions(entry.tools_at(0))
    held = {h.turn: h for h in entry.held_out}
    history: list[Message] = []
    output: list[list[Any]] = []
    usage = Usage()
    latency = 0.0
    steps = 0
    model = backend.model
    for index, turn in enumerate(entry.turns):
        user = list(turn)
        if index in held:
            added = tool_functions([every[n] for n in held[index].tools if n in every], hints=False)
            functions = functions + added
            text = MORE_TOOLS if style is Style.FC else f"{added!r}\n{MORE_TOOLS}"
            user = [Message(role="user", content=text)]
        if index == 0 and style is Style.PROMPTING:
            user = with_system_prompt(user, functions)
        history.extend(user)
        tools = fc_specs(functions) if style is Style.FC else None
        replies: list[Any] = []
        output.append(replies)
        count = 0
        while True:
            try:
                completion = await backend.complete(history, tools, **sampling)
            except RequestRejected as exc:
                return EntryRun(
                    f"{INFERENCE_ERROR}{exc}", steps, False, usage, latency, model, rejected=str(exc)[:300]
                )
            usage = usage + completion.usage
            latency += completion.latency_s
            model = completion.model or model
            steps += 1
            stored = result_value(completion, style)
            replies.append(stored)
            calls = _with_ids(step_calls(stored, style), completion, index, count)
            history.append(_assistant(completion, stored, calls, style))
            if not calls:
                break
            results = [await _run(environment, call) for call in calls]
            history.extend(_feedback(calls, results, style))
            count += 1
            if count > step_limit:  # BFCL's check, made after counting the step
                return EntryRun(output, steps, True, usage, latency, model)
    return EntryRun(output, steps, False, usage, latency, model)


def _with_ids(
    calls: tuple[ToolCall, ...], completion: Completion, turn: int, step: int
) -> tuple[ToolCall, ...]:
    """The step's calls, carrying the ids the server gave (or made-up ones), so tool results can answer them."""
    given = [c.id for c in completion.tool_calls] if len(completion.tool_calls) == len(calls) else []
    return tuple(
        call.model_copy(update={"id": (given[i] if i < len(given) and given[i] else f"call_{turn}_{step}_{i}")})
        for i, call in enumerate(calls)
    )


def _assistant(completion: Completion, stored: Any, calls: tuple[ToolCall, ...], style: Style) -> Message:
    """The model's reply as it goes back into the history: its calls for FC, its raw text for prompting."""
    if style is Style.PROMPTING:
        return Message(role="assistant", content=stored if isinstance(stored, str) else completion.text)
    return Message(role="assistant", content=completion.text or None, tool_calls=calls)


async def _run(environment: Any, call: ToolCall) -> str:
    # An environment may block (a sandboxed class, a real service), so it runs off the event loop.
    observation = await asyncio.to_thread(environment.run, call)
    return result_text(observation.output)


def _feedback(calls: Sequence[ToolCall], results: Sequence[str], style: Style) -> list[Message]:
    """The results as BFCL returns them: one `tool` message per call (FC), or one user message listing them (prompting)."""
    if style is Style.FC:
        return [
            Message(role="tool", content=result, tool_call_id=call.id, name=call.name)
            for call, result in zip(calls, results, strict=True)
        ]
    listed = [
        {"role": "tool", "name": call_text(call), "content": result}
        for call, result in zip(calls, results, strict=True)
    ]
    return [Message(role="user", content=repr(listed))]


def call_text(call: ToolCall) -> str:
    """A call written as Python, `name(a=1, b='x')`: how BFCL names a result for a prompting model."""
    return f"{call.name}({', '.join(f'{k}={v!r}' for k, v in call.arguments.items())})"

