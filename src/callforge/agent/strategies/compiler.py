"""`compiler`: the model plans a graph of calls once; independent calls run together; a joiner answers or replans.

LLMCompiler (Kim et al., 2024; TinyAgent builds on it): instead of one request per call, the model
writes the whole plan in one request, as JSON: tasks `{id, tool, arguments}` where an argument value
`"$<id>"` (the task's whole output) or `"$<id>.path.to.field"` (a field of it: dict keys, list
indices) stands for another task's output. The executor starts every task as soon as the tasks it
refers to have finished, so independent calls run concurrently on an engine (on an environment, one
state, they run one at a time in an order that respects the references). With the results in the
conversation a joiner request answers in words, or asks to replan (`{"action": "replan", "why": ...}`),
at most `max_replans` times. A plan that cannot run (not JSON, an unknown tool, a reference to no task,
a cycle) goes back to the planner with what is wrong once; a second bad plan is answered in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from callforge.agent.strategy import Step, StepContext, tool_message
from callforge.agent.trace import PlanEvent
from callforge.core import ConfigError, Message, ToolCall, ToolSpec, Verdict
from callforge.execute import Observation
from callforge.llm import strip_fence

REF = re.compile(r"^\$([\w-]+)((?:\.[^.]+)*)$")
"""A reference: `$t1` or `$t1.path.to.field`; `$$...` is a literal string starting with `$`."""
ID = re.compile(r"[\w-]+")
"""What a task id may be: letters, digits, `_`, `-`."""

PLANNER = """\
Plan the tool calls that answer the last request of the conversation above.
Reply with JSON only: {{"tasks": [{{"id": "t1", "tool": "<tool name>", "arguments": {{...}}}}, ...]}}.
An argument value "$<id>" is the whole output of the task <id>; "$<id>.field.0.name" is a field of it
(dict keys, list indices). Tasks that do not refer to each other run at the same time, so plan every
call that can be made now, and only the calls the request needs. Reply {{"tasks": []}} when no call is needed.
The tools:
{tools}"""

JOINER = """\
Answer the request from the tool results above, in words for the user.{replan}"""

JOINER_REPLAN = """
If the results are not enough and more tool calls would help, reply with JSON only instead:
{"action": "replan", "why": "<what is missing>"}"""


class PlanError(ValueError):
    """A plan the executor cannot run: what is wrong, in words for the planner."""


@dataclass(frozen=True, slots=True)
class Task:
    """One planned call: its id, the tool, the arguments as planned (with references) and the ids it waits for."""

    id: str
    tool: str
    arguments: dict[str, Any]
    needs: frozenset[str] = field(default_factory=frozenset)


def _planned_only(tasks: Sequence[Task], step: int) -> Step:
    """The plan's first wave as the step's answer, where nothing may run (`eval --agent`: BFCL scores the calls).

    Calls that wait for another call's output cannot be written without running it, so only the
    ones that need nothing are given; a plan with none of those answers in words.
    """
    ready = [t for t in tasks if not t.needs]
    if not ready:
        return Step((Message(role="assistant", content="Every planned call needs another call's result first."),))
    calls = tuple(ToolCall(name=t.tool, arguments=t.arguments, id=f"{t.id}_s{step}") for t in ready)
    return Step((Message(role="assistant", tool_calls=calls),))


class RefError(LookupError):
    """A reference that does not resolve against the real output: the task fails with this message."""


def parse_plan(text: str, tools: Sequence[ToolSpec]) -> tuple[Task, ...]:
    """The tasks of a planner's reply, in an order where every task comes after the tasks it refers to.

    Raises PlanError for a reply that is not a plan: not JSON, a task without a tool or with one
    that does not exist, a repeated id, a reference to no task of the plan, a cycle.
    """
    try:
        data = orjson.loads(strip_fence(text))
    except orjson.JSONDecodeError:
        raise PlanError(f"the plan is not JSON: {text[:200]!r}") from None
    raw = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        raise PlanError('the plan must be a JSON object {"tasks": [...]}')
    names = {t.name for t in tools}
    tasks: dict[str, Task] = {}
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise PlanError(f"task #{number} is not an object with id, tool and arguments")
        task_id = str(item.get("id", number))
        tool, arguments = item.get("tool"), item.get("arguments", {})
        if not ID.fullmatch(task_id):
            raise PlanError(f"task id {task_id!r} must be letters, digits, _ or -")
        if task_id in tasks:
            raise PlanError(f"two tasks have the id {task_id!r}")
        if tool not in names:
            raise PlanError(f"task {task_id} calls {tool!r}, which is not a tool; the tools are: {', '.join(sorted(names))}")
        if not isinstance(arguments, dict):
            raise PlanError(f"task {task_id}: arguments must be an object")
        tasks[task_id] = Task(task_id, str(tool), arguments, frozenset(_refs(arguments)))
    for task in tasks.values():
        unknown = sorted(task.needs - set(tasks))
        if unknown:
            raise PlanError(f"task {task.id} refers to ${unknown[0]}, which is no task of the plan")
    return _ordered(tasks)


def _refs(value: Any) -> list[str]:
    if isinstance(value, str):
        match = REF.match(value)
        return [match.group(1)] if match else []
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _ordered(tasks: Mapping[str, Task]) -> tuple[Task, ...]:
    """The tasks in the order written, except that each comes after what it needs; PlanError on a cycle.

    The written order is kept where it can be because on an environment it is the order calls act in.
    """
    order: list[Task] = []
    done: set[str] = set()
    left = dict(tasks)
    while left:
        ready = next((t for t in left.values() if t.needs <= done), None)
        if ready is None:  # every task left waits for another task left: follow the waits round
            path = [next(iter(left))]
            while True:
                step = sorted(left[path[-1]].needs & set(left))[0]
                if step in path:
                    cycle = " -> ".join([*path[path.index(step) :], step])
                    raise PlanError(f"the tasks refer to each other in a cycle: {cycle}")
                path.append(step)
        order.append(ready)
        done.add(ready.id)
        del left[ready.id]
    return tuple(order)


def resolve(value: Any, outputs: Mapping[str, Any]) -> Any:
    """`value` with every reference replaced by the output it names; RefError when a path is not there."""
    if isinstance(value, str):
        if value.startswith("$$"):
            return value[1:]
        match = REF.match(value)
        if not match:
            return value
        found = outputs[match.group(1)]
        walked = f"${match.group(1)}"
        for key in [k for k in match.group(2).split(".") if k]:
            found = _field(found, key, walked)
            walked += f".{key}"
        return found
    if isinstance(value, Mapping):
        return {k: resolve(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, outputs) for v in value]
    return value


def _field(value: Any, key: str, walked: str) -> Any:
    if isinstance(value, str):  # an output that is JSON text is read as its value
        with contextlib.suppress(orjson.JSONDecodeError):
            value = orjson.loads(value)
    if isinstance(value, Mapping) and key in value:
        return value[key]
    if isinstance(value, list) and key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
        return value[int(key)]
    kind = type(value).__name__
    raise RefError(f"{walked}.{key}: {walked} has no field {key!r} (it is {kind} {_short(value)})")


def _short(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class Compiler:
    """Plan every call in one request, run independent calls together, then join: answer or replan.

    Cost: two requests per request answered (plan, join), one more per replan (`max_replans`,
    default 1) plus its join, and one more when a plan cannot run and is sent back once with what is
    wrong. All of it is one step of the loop; the conversation reads as a tool dialog: one assistant
    message per wave of calls (the calls that needed no other result, then those that needed them,
    with the references resolved), their tool messages, and the answer.
    """

    name = "compiler"

    def __init__(self, *, max_replans: int = 1, max_fixes: int = 1) -> None:
        if max_replans < 0 or max_fixes < 0:
            raise ConfigError(f"compiler: max_replans and max_fixes must be 0 or more, got {max_replans}, {max_fixes}")
        self.max_replans = max_replans
        self.max_fixes = max_fixes

    async def step(self, context: StepContext) -> Step:
        """Plan, execute, join; replan while the joiner asks for it and replans are left."""
        added: list[Message] = []
        reason = ""
        for number in range(self.max_replans + 1):
            tasks, problem = await self._plan(context, added, number, reason)
            if tasks is None:
                text = f"I could not plan the tool calls for this request: {problem}"
                return Step((*added, Message(role="assistant", content=text)))
            if not context.can_execute:
                return _planned_only(tasks, context.step)
            added.extend(await self._execute(context, tasks, number))
            replans_left = number < self.max_replans
            hint = JOINER_REPLAN if replans_left else ""
            asked = [*context.messages, *added, Message(role="user", content=JOINER.format(replan=hint))]
            joined = await context.complete(asked, tools=(), purpose="join")
            wanted = _replan(joined.text)
            if wanted is None:
                return Step((*added, Message(role="assistant", content=joined.text)))
            reason = wanted
            if not replans_left:
                text = f"I could not complete the request with the tools' results: {wanted or 'more calls were needed'}"
                return Step((*added, Message(role="assistant", content=text)))
        raise AssertionError("unreachable: the last round always returns")

    async def _plan(
        self, context: StepContext, added: Sequence[Message], number: int, reason: str
    ) -> tuple[tuple[Task, ...] | None, str]:
        prompt = PLANNER.format(tools="\n".join(_described(t) for t in context.tools))
        if number:
            prompt = (
                f"The results above were not enough: {reason or 'more calls are needed'}. Plan the calls still needed "
                f"(ids and references are of this new plan only).\n{prompt}"
            )
        asked = [*context.messages, *added, Message(role="user", content=prompt)]
        problem = ""
        for fix in range(self.max_fixes + 1):
            purpose = "plan" if fix == 0 else "fix_plan"
            completion = await context.complete(asked, tools=(), purpose=purpose, json_schema=plan_schema(context.tools))
            try:
                tasks = parse_plan(completion.text, context.tools)
            except PlanError as exc:
                problem = str(exc)
                context.record(PlanEvent(step=context.step, t=context.t, round=number, reason=reason, problem=problem))
                asked = [
                    *asked,
                    Message(role="assistant", content=completion.text),
                    Message(role="user", content=f"That plan cannot run: {problem}. Reply with a corrected plan, JSON only."),
                ]
                continue
            planned = tuple({"id": t.id, "tool": t.tool, "arguments": t.arguments} for t in tasks)
            context.record(PlanEvent(step=context.step, t=context.t, round=number, reason=reason, tasks=planned))
            return tasks, ""
        return None, problem

    async def _execute(self, context: StepContext, tasks: Sequence[Task], number: int) -> list[Message]:
        """Run the tasks as their inputs resolve; the messages: one assistant message and its results per wave."""
        taken = {c.id for m in context.messages for c in m.tool_calls if c.id}
        ids = {t.id: _fresh(f"{t.id}_s{context.step}r{number}", taken) for t in tasks}
        results: dict[str, Observation] = {}
        if context.stateful:  # one state: one call at a time, in the written order, each after what it needs
            for task in tasks:
                results[task.id] = await self._run(context, task, ids[task.id], results, None)
        else:
            running: dict[str, asyncio.Task[Observation]] = {}
            for task in tasks:  # ordered: what a task needs is scheduled before it
                waits = [running[n] for n in sorted(task.needs)]
                running[task.id] = asyncio.ensure_future(self._run(context, task, ids[task.id], results, waits))
            await asyncio.gather(*running.values())
        depth: dict[str, int] = {}
        for task in tasks:
            depth[task.id] = 1 + max((depth[n] for n in task.needs), default=-1)
        messages: list[Message] = []
        for wave in range(max(depth.values(), default=-1) + 1):
            observations = [results[t.id] for t in tasks if depth[t.id] == wave]
            messages.append(Message(role="assistant", tool_calls=tuple(o.call for o in observations)))
            messages.extend(tool_message(o) for o in observations)
        return messages

    async def _run(
        self,
        context: StepContext,
        task: Task,
        call_id: str,
        results: dict[str, Observation],
        waits: Sequence[asyncio.Task[Observation]] | None,
    ) -> Observation:
        if waits:
            await asyncio.gather(*waits)
        failed = [n for n in sorted(task.needs) if not results[n].ok]
        arguments: dict[str, Any] = task.arguments
        problem = ""
        if failed:
            problem = f"not run: its input ${failed[0]} failed ({results[failed[0]].verdict.message})"
        else:
            try:
                arguments = resolve(task.arguments, {n: results[n].output for n in task.needs})
            except RefError as exc:
                problem = f"not run: {exc}"
        call = ToolCall(name=task.tool, arguments=arguments, id=call_id)
        if problem:
            observation = Observation(call=call, verdict=Verdict.failed("agent.ref", problem), engine="compiler")
        else:
            (observation,) = await context.execute([call], purpose="run")
        results[task.id] = observation
        return observation


def _replan(text: str) -> str | None:
    """The joiner's reason when it asks to replan (possibly empty), None when it answered."""
    stripped = strip_fence(text).strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("action") != "replan":
        return None
    return str(data.get("why") or "")


def _fresh(wanted: str, taken: set[str]) -> str:
    made, number = wanted, 1
    while made in taken:
        number += 1
        made = f"{wanted}_{number}"
    taken.add(made)
    return made


def _described(tool: ToolSpec) -> str:
    return orjson.dumps({"name": tool.name, "description": tool.description, "parameters": tool.parameters}).decode()


def plan_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """The JSON schema a plan answers to (constrained decoding, where the backend supports it)."""
    return {
        "type": "object",
        "properties": {
            "tasks": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                        "tool": {"type": "string", **({"enum": sorted(t.name for t in tools)} if tools else {})},
                        "arguments": {"type": "object"},
                    },
                    "required": ["id", "tool", "arguments"],
                },
            }
        },
        "required": ["tasks"],
    }
