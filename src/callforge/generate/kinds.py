"""Scenario kinds: small strategy objects, each choosing its tools and fixing a Plan of calls and values.

A kind answers two questions. `sampler(tools, graph)`: which tools a scenario of this kind draws
(one tool, a domain, a chain of the tool graph) and how many distractors ride along. `plan(sample,
ctx)`: which calls, with which values, in which order, and what the user must leave out. Every
plan is proven on the engine while it is built (see `Planner`), so a kind never hands the roles a
call that cannot succeed. The default mix and how to change it are in docs/generate.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from callforge.core import ConfigError, ToolCall, ToolSpec
from callforge.generate.personas import Voice
from callforge.generate.plan import Plan, PlannedCall, Turn, resolve
from callforge.generate.planner import GenerationFailure, Planner, Slot
from callforge.generate.sample import (
    ChainSampler,
    DomainSampler,
    RandomSampler,
    Sampler,
    SamplingError,
    ToolSample,
)
from callforge.tools.graph import ToolGraph
from callforge.verify.execute import error_payload


@dataclass
class PlanContext:
    """What a kind plans with: the planner (values, dry runs), the attempt's rng, voice and seed."""

    planner: Planner
    rng: random.Random
    voice: Voice
    seed: int
    feedback: str = ""


@runtime_checkable
class Kind(Protocol):
    """A scenario kind: how it samples tools and how it plans calls."""

    name: str

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """The sampler for this kind; raises SamplingError when these tools cannot make one."""
        ...

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """The calls and values of one scenario; raises GenerationFailure when none can be made."""
        ...


class _Base:
    """Shared steps: offer tools in a random order, fill slots, prove calls one after another."""

    name = ""

    def offered(self, sample: ToolSample, rng: random.Random) -> tuple[ToolSpec, ...]:
        tools = [*sample.tools, *sample.distractors]
        rng.shuffle(tools)
        return tuple(tools)

    async def values(self, ctx: PlanContext, slots: Sequence[Slot]) -> list[dict[str, Any]]:
        return await ctx.planner.arguments(
            slots, persona=ctx.voice.persona, topic=ctx.voice.theme, seed=ctx.seed, feedback=ctx.feedback
        )

    async def one_call(self, sample: ToolSample, ctx: PlanContext) -> PlannedCall:
        tool = sample.tools[0]
        (arguments,) = await self.values(ctx, [Slot(tool)])
        await ctx.planner.prove(ToolCall(name=tool.name, arguments=arguments), tool)
        return PlannedCall(name=tool.name, arguments=arguments)

    def made(self, sample: ToolSample, ctx: PlanContext, *turns: Turn) -> Plan:
        return Plan(kind=self.name, tools=self.offered(sample, ctx.rng), turns=turns)


def standalone(tools: Sequence[ToolSpec], graph: ToolGraph) -> list[ToolSpec]:
    """Tools a user can call out of the blue: no required identifier that only another tool's output gives.

    `book_flight(flight_id)` is fed by `search_flights`; asked alone, its id would be invented and
    the tool would reject it. Such tools appear in chains (nested, multi_turn) instead.
    """
    out = []
    for tool in tools:
        fed = {e.parameter for e in graph.edges_to(tool.name)}
        if not any(p in fed and _identifier(p) for p in tool.required):
            out.append(tool)
    return out


def _identifier(name: str) -> bool:
    lowered = name.lower()
    return lowered == "id" or lowered.endswith(("_id", "id", "_ids", "ids"))


def _standalone(tools: Sequence[ToolSpec], graph: ToolGraph, what: str) -> list[ToolSpec]:
    found = standalone(tools, graph)
    if not found:
        raise SamplingError(f"{what} needs a tool callable on its own; every tool needs an id another tool returns")
    return found


class Single(_Base):
    """One tool offered, one call: the plainest lesson, BFCL's `simple`."""

    name = "single"

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return RandomSampler(_standalone(tools, graph, self.name), 1, distractors=0)

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        call = await self.one_call(sample, ctx)
        return self.made(sample, ctx, Turn(steps=((call,),)))


class Multiple(Single):
    """One call, chosen among 3–4 offered tools of the same domain (BFCL's `multiple`)."""

    name = "multiple"

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return DomainSampler(_standalone(tools, graph, self.name), 1, distractors=(2, 3))


class Parallel(_Base):
    """The same function called 2–3 times at once with different values (BFCL's `parallel`)."""

    name = "parallel"

    def __init__(self, count: tuple[int, int] = (2, 3)) -> None:
        self.count = count

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        with_params = [t for t in standalone(tools, graph) if t.properties]
        if not with_params:
            raise SamplingError("parallel calls need a standalone tool with parameters to vary; none has any")
        return RandomSampler(with_params, 1, distractors=(0, 1))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        tool = sample.tools[0]
        wanted = ctx.rng.randint(*self.count)
        filled = await self.values(ctx, [Slot(tool)] * wanted)
        distinct: list[dict[str, Any]] = []
        for arguments in filled:
            if arguments not in distinct:
                distinct.append(arguments)
        if len(distinct) < 2:
            raise GenerationFailure("gen.plan_values", f"the planner gave {tool.name} the same values {wanted} times")
        for arguments in distinct:
            await ctx.planner.prove(ToolCall(name=tool.name, arguments=arguments), tool)
        step = tuple(PlannedCall(name=tool.name, arguments=a) for a in distinct)
        return self.made(sample, ctx, Turn(steps=(step,)))


class ParallelMultiple(_Base):
    """2–3 different functions of one domain, called together in one message."""

    name = "parallel_multiple"

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return DomainSampler(_standalone(tools, graph, self.name), (2, 3), distractors=(1, 2))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        filled = await self.values(ctx, [Slot(t) for t in sample.tools])
        step = []
        for tool, arguments in zip(sample.tools, filled, strict=True):
            await ctx.planner.prove(ToolCall(name=tool.name, arguments=arguments), tool)
            step.append(PlannedCall(name=tool.name, arguments=arguments))
        return self.made(sample, ctx, Turn(steps=(tuple(step),)))


class StandaloneStart:
    """A chain sampler whose chains start at a standalone tool: the first call has nothing to feed it.

    Draws again (up to 50 times, from the same rng, so a seed still fixes the result) when the
    chain starts at a tool that needs an id from elsewhere, such as `cancel_event(event_id)`.
    """

    def __init__(self, inner: Sampler, starts: Sequence[ToolSpec]) -> None:
        """Wrap `inner`; `starts` are the tools a chain may begin with."""
        self.inner = inner
        self.starts = frozenset(t.name for t in starts)
        self.strategy = getattr(inner, "strategy", "chain")

    def sample(self, rng: random.Random) -> ToolSample:
        """A chain of `inner` that starts at a standalone tool."""
        for _ in range(50):
            found = self.inner.sample(rng)
            if found.tools[0].name in self.starts:
                return found
        raise SamplingError("no chain of the tool graph starts at a tool callable on its own")


def _chains(tools: Sequence[ToolSpec], graph: ToolGraph, length: tuple[int, int], distractors: tuple[int, int]) -> Sampler:
    starts = standalone(tools, graph)
    if not any(graph.neighbors(t.name) for t in starts):
        raise SamplingError("no edge of the tool graph leaves a tool callable on its own, so no chain can start")
    return StandaloneStart(ChainSampler(graph, length, distractors=distractors), starts)


class Nested(_Base):
    """A chain of the tool graph: each call takes an argument from the previous call's real output."""

    name = "nested"

    def __init__(self, length: tuple[int, int] = (2, 3)) -> None:
        self.length = length

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return _chains(tools, graph, self.length, (1, 2))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        calls = await chain_calls(sample, ctx, self)
        return self.made(sample, ctx, Turn(steps=tuple((c,) for c in calls)))


async def chain_calls(sample: ToolSample, ctx: PlanContext, kind: _Base) -> list[PlannedCall]:
    """Calls along the sample's chain: values for the free parameters, fed ones read from real outputs.

    Every edge from a tool to the next one feeds its parameter (`find_airports` may feed both an
    airport code and a city to `search_flights`); the planner is asked only for the rest.
    """
    feeds: dict[str, list[Any]] = {}
    for edge in sample.chain:
        feeds.setdefault(edge.target, []).append(edge)
    slots = [
        Slot(t, frozenset(e.parameter for e in feeds.get(t.name, ())) if i else frozenset())
        for i, t in enumerate(sample.tools)
    ]
    filled = await kind.values(ctx, slots)
    calls: list[PlannedCall] = []
    previous: Any = None
    for i, (tool, arguments) in enumerate(zip(sample.tools, filled, strict=True)):
        refs: dict[str, str] = {}
        for edge in feeds.get(tool.name, ()) if i else ():
            try:
                arguments = {**arguments, edge.parameter: resolve(previous, edge.output_path)}
            except LookupError as exc:
                raise GenerationFailure(
                    "gen.plan_chain", f"{edge.source} gave no {edge.output_path} to feed {tool.name}: {exc}"
                ) from None
            refs[edge.parameter] = edge.output_path
        observation = await ctx.planner.prove(ToolCall(name=tool.name, arguments=arguments), tool)
        previous = observation.output
        calls.append(PlannedCall(name=tool.name, arguments=arguments, refs=refs))
    return calls


class NoCall(_Base):
    """1–2 tools offered and a request none of them serves: the assistant answers without calling."""

    name = "no_call"

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return DomainSampler(tools, (1, 2), distractors=0)

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        return self.made(sample, ctx, Turn(offtopic=True))


def _askable(tool: ToolSpec) -> list[str]:
    """Required parameters a user would state in words (not flags or fixed choices)."""
    out = []
    for name in tool.required:
        schema = tool.properties.get(name)
        if isinstance(schema, dict) and "enum" not in schema and schema.get("type") in ("string", "number", "integer"):
            out.append(name)
    return out


class Clarify(_Base):
    """A required value left out of the request: the assistant must ask for it instead of guessing."""

    name = "clarify"

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        askable = [t for t in standalone(tools, graph) if _askable(t)]
        if not askable:
            raise SamplingError("clarify needs a tool with a required string or number parameter; none has one")
        return RandomSampler(askable, 1, distractors=(0, 2))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        call = await self.one_call(sample, ctx)
        missing = ctx.rng.choice(_askable(sample.tools[0]))
        return self.made(sample, ctx, Turn(steps=((call,),), missing=(missing,)))


class MultiTurn(_Base):
    """2–3 user turns, one call each; later turns build on earlier results when the tools chain."""

    name = "multi_turn"

    def __init__(self, turns: tuple[int, int] = (2, 3)) -> None:
        self.turns = turns

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        try:
            return _chains(tools, graph, self.turns, (0, 1))
        except SamplingError:
            return DomainSampler(tools, self.turns, distractors=(0, 1))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        calls = await chain_calls(sample, ctx, self)
        return self.made(sample, ctx, *(Turn(steps=((c,),)) for c in calls))


class ErrorRecovery(_Base):
    """A first call with a bad value, the tool's error, then the assistant's corrected call.

    The bad call is scripted (the generator writes it, recorded in `meta["injected_errors"]`), and
    must really fail on the engine; the lesson is the correction that follows the error message.
    """

    name = "error_recovery"

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        with_params = [t for t in standalone(tools, graph) if t.properties]
        if not with_params:
            raise SamplingError("error recovery needs a standalone tool with parameters to get wrong; none has any")
        return RandomSampler(with_params, 1, distractors=(0, 1))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        good = await self.one_call(sample, ctx)
        tool = sample.tools[0]
        for arguments in breakages(good.arguments, tool, ctx.rng)[:4]:
            observation = await ctx.planner.engine.execute(ToolCall(name=tool.name, arguments=arguments), tool)
            if not observation.ok or error_payload(observation.output) is not None:
                bad = PlannedCall(name=tool.name, arguments=arguments, fails=True)
                return self.made(sample, ctx, Turn(steps=((bad,), (good,))))
        raise GenerationFailure("gen.no_error", f"no wrong value made {tool.name} fail; it accepts everything tried")


def breakages(arguments: dict[str, Any], tool: ToolSpec, rng: random.Random) -> list[dict[str, Any]]:
    """Plausible wrong versions of good arguments (a mangled format, an impossible number, a dropped value).

    Each changes one argument the way a hurried caller would: a date in another format, a code in
    the wrong case, a truncated name, a negative amount, an empty list, a required value left out.
    """
    out: list[dict[str, Any]] = []
    for key in sorted(arguments):
        value = arguments[key]
        for wrong in _wrong_values(value):
            out.append({**arguments, key: wrong})
        if key in tool.required:
            out.append({k: v for k, v in arguments.items() if k != key})
    rng.shuffle(out)
    return out


def _wrong_values(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [-abs(value) - 1, value * 1_000_000 + 1]
    if isinstance(value, str):
        found: list[Any] = []
        parts = value.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            found.append(f"{parts[2]}/{parts[1]}/{parts[0]}")
        if len(value) > 4:
            found.append(value[: len(value) // 2])
        found.append(value.swapcase() if value.upper() != value else value.lower() + "x")
        return found
    if isinstance(value, list) and value:
        return [[]]
    return []


KINDS: dict[str, Callable[[], Kind]] = {
    k.name: k
    for k in (Single, Multiple, Parallel, ParallelMultiple, Nested, NoCall, Clarify, MultiTurn, ErrorRecovery)
}

DEFAULT_MIX: dict[str, float] = {
    "single": 0.15,
    "multiple": 0.15,
    "parallel": 0.10,
    "parallel_multiple": 0.10,
    "nested": 0.10,
    "no_call": 0.10,
    "clarify": 0.10,
    "multi_turn": 0.10,
    "error_recovery": 0.10,
}


def parse_mix(text: str | dict[str, float] | None) -> dict[str, float]:
    """`"single=2,nested=1"` (or a dict) -> weights summing to 1; None gives DEFAULT_MIX."""
    if text is None or text == "" or text == "default":
        return dict(DEFAULT_MIX)
    pairs: dict[str, float] = {}
    if isinstance(text, dict):
        pairs = {str(k): float(v) for k, v in text.items()}
    else:
        for part in text.split(","):
            name, sep, weight = part.strip().partition("=")
            try:
                pairs[name.strip()] = float(weight) if sep else 1.0
            except ValueError:
                raise ConfigError(f"--mix: {part.strip()!r} has no number after '='; write e.g. single=2,nested=1") from None
    unknown = sorted(set(pairs) - set(KINDS))
    if unknown:
        raise ConfigError(f"--mix: unknown scenario kind(s) {', '.join(unknown)}; the kinds are {', '.join(KINDS)}")
    if any(w < 0 for w in pairs.values()) or sum(pairs.values()) <= 0:
        raise ConfigError("--mix: weights must be non-negative and not all zero")
    total = sum(pairs.values())
    return {k: w / total for k, w in pairs.items() if w > 0}
