"""Granular tasks: one verified dialog cut into the small supervised tasks Granite trains on.

IBM's Granite function-calling model (Abdelaziz et al. 2024) learns function calling as several
sub-skills trained side by side rather than as one end-to-end target: which functions a request
needs, which value goes in which parameter, what to call next, how to answer from the outputs,
several calls at once, and calls in sequence with or without one feeding the next. A verified
dialog already holds every answer, so each task is a different question asked of the same data,
and a model practices each skill in isolation as well as in the full dialogs.

Every record is an OpenAI chat example of three messages: a system message with the task's
instruction (which fixes the answer's JSON shape), a user message with the input (the
conversation so far as a transcript, see `transcript_line`), and the assistant's answer as compact
JSON (plain text for `response`). The record's `tools` are the tools the dialog offered.

A call the generator made wrong on purpose (masked as injected in `Dialog.meta`) is never an answer: it
stays visible in later inputs (recovering from its error is the point of those dialogs), but no
record asks for it. Records are derived by walking the dialog, without randomness, so a re-export
writes the same records with the same ids.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from callforge.core import ConfigError, Dialog, Message, ToolCall

TASKS: tuple[str, ...] = (
    "function_name",
    "parameter_value",
    "next_function",
    "response",
    "parallel",
    "nested",
    "chaining",
)
"""Stable task codes, in the order records are returned and counted."""

INSTRUCTIONS: dict[str, str] = {
    "function_name": (
        "You choose functions. Read the conversation below and the tools on offer, then list the "
        "names of the functions that have to be called for the user's latest message, in the order "
        "they are called, one name per call. Answer with a JSON array of strings and nothing else. "
        "Answer [] when the assistant should reply in words instead: no tool fits the request, or a "
        "required value is still missing and must be asked for."
    ),
    "parameter_value": (
        "You fill in arguments. The conversation below ends with the name of the function to call "
        "next. Answer with a JSON object that maps each parameter the call should set to its value, "
        "taken from the conversation (what the user said, or what earlier calls returned). Leave out "
        "parameters the call should not set. Answer with the JSON object only."
    ),
    "next_function": (
        "You decide the next step. The conversation below shows what the user asked and which calls "
        'were already made, with their outputs. Answer {"name": "<function>"} with the one function '
        'to call next, or {"name": null} when no further call is needed and the assistant should now '
        "reply to the user in words. Answer with the JSON object only."
    ),
    "response": (
        "You write the assistant's reply. The conversation below includes the outputs of every "
        "function called so far. Reply to the user's latest message in plain language, using those "
        "outputs as they are (do not invent values), or ask for what is missing. Do not call a function."
    ),
    "parallel": (
        "You make independent calls together. For the user's latest message, give every call that "
        'should be made at once, now, as a JSON array of {"name": ..., "arguments": {...}} objects '
        "in order. Answer with the JSON array only."
    ),
    "nested": (
        "You plan dependent calls. The user's latest message needs several calls where a later call "
        "uses what an earlier one returns. Give all the calls in order as a JSON array of "
        '{"name": ..., "arguments": {...}} objects. Where an argument comes from an earlier call\'s '
        "output, write ${N.path} instead of the value: N is that call's position in your array "
        "(1 for the first) and path leads to the value in its output, e.g. ${1.flights[0].flight_id}; "
        "${1} is the whole output. A text that only contains such a value keeps the reference inside "
        "it. Answer with the JSON array only."
    ),
    "chaining": (
        "You sequence calls. The user's latest message needs several calls made one after another. "
        'Give all of them, in the order they are made, as a JSON array of {"name": ..., '
        '"arguments": {...}} objects. Answer with the JSON array only.'
    ),
}
"""The system message of each task: our own wording, stating the answer's exact JSON shape."""

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MIN_TEXT = 3
"""Shorter strings (and numbers of fewer characters) match outputs by chance too often to be a link."""


def transcript_line(message: Message, names: dict[str, str]) -> list[str]:
    """How one message reads in a task's input: `User: ...`, `Assistant: ...`, `Assistant calls: [...]`, `Output of f: ...`.

    A transcript keeps the record a plain three-message chat that every trainer and chat template
    takes, while still showing the calls and what they returned. `names` maps call ids to tool
    names, for tool messages that do not carry one.
    """
    if message.role == "user":
        return [f"User: {message.content or ''}"]
    if message.role == "tool":
        name = message.name or names.get(message.tool_call_id or "", "tool")
        return [f"Output of {name}: {message.content or ''}"]
    if message.role == "assistant":
        lines = [f"Assistant: {message.content}"] if message.content else []
        if message.tool_calls:
            lines.append(f"Assistant calls: {_json([_call(c) for c in message.tool_calls])}")
        return lines
    return []  # the dialog's own system prompt is replaced by the task's instruction


@dataclass(frozen=True)
class _Step:
    """An assistant message with calls, and the outputs its tool messages gave (aligned with the calls)."""

    index: int
    calls: tuple[ToolCall, ...]
    outputs: tuple[str | None, ...]


@dataclass(frozen=True)
class _Turn:
    """One user message and everything up to the next one."""

    start: int
    end: int
    steps: tuple[_Step, ...]


def granular_tasks(dialog: Dialog, *, tasks: Iterable[str] = TASKS) -> list[dict[str, Any]]:
    """Every record `dialog` yields for `tasks`, grouped by task in `TASKS` order, ids `<dialog id>:<task>:<k>`.

    Per user turn: `function_name` (also `[]` for a turn answered without a call), `nested` or
    `chaining` (when the turn's calls span two or more steps: `nested` if a later call uses an
    earlier output, `chaining` otherwise). Per assistant step: `parameter_value` for each call,
    `next_function` before a one-call step and before each text reply (`null`), `parallel` for a
    step of two or more calls, and `response` for each text reply. Raises ConfigError for an
    unknown task code.
    """
    wanted = _check(tasks)
    injected = dialog.masked_calls()
    names = {c.id: c.name for m in dialog.messages for c in m.tool_calls if c.id}
    tools = [t.to_openai() for t in dialog.tools]
    found: dict[str, list[tuple[str, str]]] = {task: [] for task in TASKS}

    def add(task: str, lines: Sequence[str], answer: str) -> None:
        if task in wanted:
            found[task].append(("\n".join(lines), answer))

    messages = dialog.messages
    first = next((i for i, m in enumerate(messages) if m.role == "user"), len(messages))
    lines = [line for m in messages[:first] for line in transcript_line(m, names)]  # a greeting, say
    for turn in _turns(messages):
        lines += transcript_line(messages[turn.start], names)
        good = [
            (step, call, output)
            for step in turn.steps
            for call, output in zip(step.calls, step.outputs, strict=True)
            if call.id not in injected
        ]
        add("function_name", lines, _json([call.name for _, call, _ in good]))
        if len({step.index for step, _, _ in good}) >= 2:
            plan, linked = _link_turn(good, "\n".join(lines))
            add("nested" if linked else "chaining", lines, _json(plan))
        steps = {step.index: step for step in turn.steps}
        for index in range(turn.start + 1, turn.end):
            message = messages[index]
            step = steps.get(index)
            if step is not None and not any(c.id in injected for c in step.calls):
                if len(step.calls) == 1:
                    add("next_function", lines, _json({"name": step.calls[0].name}))
                else:
                    add("parallel", lines, _json([_call(c) for c in step.calls]))
                for call in step.calls:
                    add("parameter_value", [*lines, "", f"Function: {call.name}"], _json(call.arguments))
            elif message.role == "assistant" and not message.tool_calls and (message.content or "").strip():
                add("next_function", lines, _json({"name": None}))
                add("response", lines, message.content or "")
            lines += transcript_line(message, names)
    base = _dialog_id(dialog)
    return [
        {
            "id": f"{base}:{task}:{k}",
            "task": task,
            "messages": [
                {"role": "system", "content": INSTRUCTIONS[task]},
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": answer},
            ],
            "tools": tools,
        }
        for task in TASKS
        for k, (prompt, answer) in enumerate(found[task])
    ]


def count_tasks(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Records per task code, every code of `TASKS` listed (0 when none), so a summary shows what is missing."""
    counts = dict.fromkeys(TASKS, 0)
    for record in records:
        task = str(record.get("task"))
        counts[task] = counts.get(task, 0) + 1
    return counts


def _check(tasks: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(tasks)
    unknown = [t for t in chosen if t not in TASKS]
    if unknown:
        raise ConfigError(f"unknown task {', '.join(map(repr, unknown))}; the tasks are {', '.join(TASKS)}")
    return chosen


def _turns(messages: Sequence[Message]) -> Iterator[_Turn]:
    """The user turns; messages before the first user message are never a task's answer."""
    starts = [i for i, m in enumerate(messages) if m.role == "user"]
    for start, end in zip(starts, [*starts[1:], len(messages)], strict=True):
        steps = []
        for index in range(start + 1, end):
            message = messages[index]
            if message.role == "assistant" and message.tool_calls:
                steps.append(_Step(index, message.tool_calls, _outputs(messages, index, end)))
        yield _Turn(start, end, tuple(steps))


def _outputs(messages: Sequence[Message], index: int, end: int) -> tuple[str | None, ...]:
    """Each call's output: the tool message answering its id, else the tool message in its position."""
    calls = messages[index].tool_calls
    results: list[Message] = []
    for message in messages[index + 1 : end]:
        if message.role != "tool":
            break
        results.append(message)
    by_id = {m.tool_call_id: m.content for m in results if m.tool_call_id}
    return tuple(
        by_id[c.id] if c.id in by_id else (results[i].content if i < len(results) and not results[i].tool_call_id else None)
        for i, c in enumerate(calls)
    )


def _link_turn(good: list[tuple[_Step, ToolCall, str | None]], known: str) -> tuple[list[dict[str, Any]], bool]:
    """The turn's calls with every value taken from an earlier step's output written as `${N.path}`.

    `meta["plan"]` keeps the planned calls but not which output fed which argument, so the link is
    read back from the values: an argument value (or a text containing it) that an earlier step
    returned, that the conversation before the calls never stated, and that is distinctive enough
    (`_distinctive`) not to match by chance. Tools often echo their arguments, so a value an earlier
    call already passed (as written in the plan, links replaced) counts as stated, not as returned.
    """
    plan: list[dict[str, Any]] = []
    linked = False
    for position, (step, call, _) in enumerate(good):
        lowered = "\n".join([known, *(_json(p["arguments"]) for p in plan)]).lower()
        sources = [
            (number, _parse(output))
            for number, (earlier, _, output) in enumerate(good[:position], 1)
            if earlier.index < step.index and output is not None
        ]
        arguments: dict[str, Any] = {}
        for key, value in call.arguments.items():
            new = _link(value, sources, lowered)
            linked = linked or new != value
            arguments[key] = new
        plan.append({"name": call.name, "arguments": arguments})
    return plan, linked


def _link(value: Any, sources: list[tuple[int, Any]], known: str) -> Any:
    if _distinctive(value, known):
        for number, output in sources:
            path = _find(output, value)
            if path is not None:
                return "${" + f"{number}{path}" + "}"
    if isinstance(value, dict):
        return {k: _link(v, sources, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_link(v, sources, known) for v in value]
    if isinstance(value, str):
        best: tuple[int, str, str] | None = None
        for number, output in sources:
            for path, leaf in _nodes(output, ""):
                fits = isinstance(leaf, str) and leaf != value and leaf in value and _distinctive(leaf, known)
                if fits and (best is None or len(leaf) > len(best[1])):
                    best = (number, leaf, path)
        if best is not None:
            number, leaf, path = best
            return value.replace(leaf, "${" + f"{number}{path}" + "}")
    return value


def _distinctive(value: Any, known: str) -> bool:
    """A value specific enough that finding it in an output, and not in the conversation, means it came from there."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return len(value.strip()) >= _MIN_TEXT and value.lower() not in known
    if isinstance(value, int | float):
        text = str(value)
        return len(text) >= _MIN_TEXT and re.search(rf"(?<![\d.]){re.escape(text)}(?![\d])", known) is None
    if isinstance(value, dict | list):
        return bool(value) and any(_distinctive(leaf, known) for _, leaf in _nodes(value, "") if not isinstance(leaf, dict | list))
    return False


def _find(output: Any, value: Any) -> str | None:
    """The path (`.a[0].b`, `""` for the whole output) of the first node equal to `value`, by type too."""
    for path, node in _nodes(output, ""):
        if node == value and type(node) is type(value):
            return path
    return None


def _nodes(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every node of a JSON value with its path, parents before children, in document order."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            step = f".{key}" if _IDENT.fullmatch(str(key)) else f"[{_json(str(key))}]"
            yield from _nodes(item, path + step)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nodes(item, f"{path}[{i}]")


def _parse(output: str) -> Any:
    try:
        return orjson.loads(output)
    except orjson.JSONDecodeError:
        return output


def _call(call: ToolCall) -> dict[str, Any]:
    return {"name": call.name, "arguments": call.arguments}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _dialog_id(dialog: Dialog) -> str:
    """The dialog's own id, or a digest of its content so that records of an id-less dialog stay stable."""
    if dialog.meta.id:
        return dialog.meta.id
    return hashlib.sha256(dialog.model_dump_json().encode()).hexdigest()[:12]
