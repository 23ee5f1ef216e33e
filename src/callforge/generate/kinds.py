"""Scenario kinds: small strategy objects, each choosing its tools and fixing a Plan of calls and values.

A kind answers two questions. `sampler(tools, graph)`: which tools a scenario of this kind draws
(one tool, a domain, a chain, fan or DAG of the tool graph) and how many distractors ride along.
`plan(sample, ctx)`: which calls, with which values, in which order, and what the user must leave out. Every
plan is proven on the engine while it is built (see `Planner`), so a kind never hands the roles a
call that cannot succeed. The default mix and how to change it are in docs/generate.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from callforge.core import ConfigError, Scenario, ToolCall, ToolSpec
from callforge.execute import error_payload
from callforge.generate.personas import Voice
from callforge.generate.plan import Plan, PlannedCall, Turn, resolve
from callforge.generate.planner import GenerationFailure, Planner, Slot
from callforge.generate.sample import (
    ChainSampler,
    DagSampler,
    DomainSampler,
    FanInSampler,
    FanOutSampler,
    MixedSampler,
    RandomSampler,
    Sampler,
    SamplingError,
    ToolSample,
)
from callforge.tools import DAG_SIZES, Edge, ToolGraph


@dataclass
class PlanContext:
    """What a kind plans with: the planner (values, dry runs), the attempt's rng, voice and seed."""

    planner: Planner
    rng: random.Random
    voice: Voice
    seed: int
    feedback: str = ""
    world: str = ""
    """What the calls act on (a stateful environment's starting state), so values can name what exists."""
    optional: bool | None = None
    """Optional parameters (the difficulty knob): False leaves them out, True asks for every one, None lets the planner choose."""
    hint: str = ""
    """A line the difficulty knob adds to the planner's request (hard: values said in a person's own words)."""


@runtime_checkable
class Kind(Protocol):
    """A scenario kind: how it samples tools and how it plans calls."""

    name: Scenario

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """The sampler for this kind; raises SamplingError when these tools cannot make one."""
        ...

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """The calls and values of one scenario; raises GenerationFailure when none can be made."""
        ...


class _Base:
    """Shared steps: offer tools in a random order, fill slots, prove calls one after another."""

    name: Scenario

    def offered(self, sample: ToolSample, rng: random.Random) -> tuple[ToolSpec, ...]:
        tools = [*sample.tools, *sample.distractors]
        rng.shuffle(tools)
        return tuple(tools)

    async def values(self, ctx: PlanContext, slots: Sequence[Slot]) -> list[dict[str, Any]]:
        return await ctx.planner.arguments(
            slots,
            persona=ctx.voice.persona,
            topic=ctx.voice.theme,
            seed=ctx.seed,
            feedback=ctx.feedback,
            world=ctx.world,
            optional=ctx.optional,
            hint=ctx.hint,
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
    wanted = needs(tools, graph)
    return [tool for tool in tools if tool.name not in wanted]


def needs(tools: Sequence[ToolSpec], graph: ToolGraph) -> dict[str, frozenset[str]]:
    """Per tool, its required identifiers that another tool returns: values a sample must feed it.

    Only identifiers count: a planner can invent a city, not a booking id the tool will accept.
    Tools without such parameters are left out, so they are exactly the `standalone` ones.
    """
    out: dict[str, frozenset[str]] = {}
    for tool in tools:
        fed = {e.parameter for e in graph.edges_to(tool.name)}
        found = frozenset(p for p in tool.required if p in fed and _identifier(p))
        if found:
            out[tool.name] = found
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

    name = Scenario.SINGLE

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return RandomSampler(_standalone(tools, graph, self.name), 1, distractors=0)

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        call = await self.one_call(sample, ctx)
        return self.made(sample, ctx, Turn(steps=((call,),)))


class Multiple(Single):
    """One call, chosen among 3–4 offered tools of the same domain (BFCL's `multiple`)."""

    name = Scenario.MULTIPLE

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return DomainSampler(_standalone(tools, graph, self.name), 1, distractors=(2, 3))


class Parallel(_Base):
    """The same function called 2–3 times at once with different values (BFCL's `parallel`)."""

    name = Scenario.PARALLEL

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

    name = Scenario.PARALLEL_MULTIPLE

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


NESTED_SHAPES: dict[str, float] = {"chain": 0.4, "fan_out": 0.2, "fan_in": 0.2, "dag": 0.2}
"""How often `nested` draws each shape of dependent calls; a shape the graph lacks is left out."""


def graph_sampler(
    tools: Sequence[ToolSpec],
    graph: ToolGraph,
    shapes: dict[str, float],
    *,
    length: tuple[int, int] = (2, 3),
    distractors: tuple[int, int] = (1, 2),
) -> Sampler:
    """Dependent calls of the given shapes, mixed by weight, each starting at tools callable on their own.

    Every tool's required ids that another tool returns (`needs`) are fed inside the sample, so
    its roots (the first tool of a chain, the hub of a fan-out, the producers of a fan-in, the
    sources of a DAG) are standalone, and no later call gets an invented id: a chain starting at
    `cancel_event(event_id)`, or reaching `plan_outing(forecast_id, venue_id)` from the venue
    search alone, is never drawn. A shape the graph cannot make is left out; a SamplingError says
    why each one failed when none can be made.
    """
    wanted = needs(tools, graph)
    makers: dict[str, Callable[[], Sampler]] = {
        "chain": lambda: ChainSampler(graph, length, distractors=distractors, needs=wanted),
        "fan_out": lambda: FanOutSampler(graph, 2, distractors=distractors, needs=wanted),
        "fan_in": lambda: FanInSampler(graph, 2, distractors=distractors, needs=wanted),
        "dag": lambda: DagSampler(graph, DAG_SIZES, distractors=distractors, needs=wanted),
    }
    unknown = sorted(set(shapes) - set(makers))
    if unknown:
        raise ConfigError(f"unknown shape(s) {', '.join(unknown)}; the shapes are {', '.join(makers)}")
    choices: list[tuple[Sampler, float]] = []
    reasons: list[str] = []
    for name, weight in shapes.items():
        if weight <= 0:
            continue
        try:
            choices.append((makers[name](), weight))
        except SamplingError as exc:
            reasons.append(f"{name}: {exc}")
    if not choices:
        raise SamplingError("no dependent calls in the tool graph: " + "; ".join(reasons))
    return choices[0][0] if len(choices) == 1 else MixedSampler(choices)


class Nested(_Base):
    """Dependent calls along the tool graph: each fed argument is read from an earlier call's real output.

    The tools are a chain, a fan-out, a fan-in or a small DAG (weights in `shapes`, by default
    NESTED_SHAPES), so the data teaches one result feeding the next, one result feeding several
    calls, and several results filling one call. Calls that wait on nothing but done calls go out
    in one step (a fan-out's consumers together, after the hub).
    """

    name = Scenario.NESTED

    def __init__(self, length: tuple[int, int] = (2, 3), shapes: dict[str, float] | None = None) -> None:
        self.length = length
        self.shapes = dict(NESTED_SHAPES if shapes is None else shapes)

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return graph_sampler(tools, graph, self.shapes, length=self.length, distractors=(1, 2))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        calls = await chain_calls(sample, ctx, self)
        return self.made(sample, ctx, Turn(steps=_layers(sample, calls)))


def _feeds(sample: ToolSample) -> dict[str, dict[str, Edge]]:
    """Per tool, the edge that feeds each of its parameters; the first in `sample.chain` wins a tie."""
    feeds: dict[str, dict[str, Edge]] = {}
    for edge in sample.chain:
        feeds.setdefault(edge.target, {}).setdefault(edge.parameter, edge)
    return feeds


def _layers(sample: ToolSample, calls: Sequence[PlannedCall]) -> tuple[tuple[PlannedCall, ...], ...]:
    """Calls grouped into steps: a call goes one step after the last call that feeds it."""
    feeds = _feeds(sample)
    depth: dict[str, int] = {}
    for tool in sample.tools:  # in call order, so every producer has its depth already
        depth[tool.name] = 1 + max((depth[e.source] for e in feeds.get(tool.name, {}).values()), default=-1)
    steps: dict[int, list[PlannedCall]] = {}
    for call in calls:
        steps.setdefault(depth[call.name], []).append(call)
    return tuple(tuple(steps[d]) for d in sorted(steps))


async def chain_calls(sample: ToolSample, ctx: PlanContext, kind: _Base) -> list[PlannedCall]:
    """Calls along the sample's edges: values for the free parameters, fed ones read from real outputs.

    Every edge into a tool feeds its parameter from the output of the call that produced it (the
    previous call of a chain, the hub of a fan-out, each producer of a fan-in or DAG), so
    `find_airports` may feed both an airport code and a city to `search_flights`; the planner is
    asked only for the rest. The sample lists tools in call order, so each output is there when
    it is needed. Where two edges feed one parameter (producers of a fan-in that both carry it),
    the first edge of `sample.chain` is used.
    """
    feeds = _feeds(sample)
    slots = [Slot(t, frozenset(feeds.get(t.name, {}))) for t in sample.tools]
    try:
        return await _run_chain(sample, feeds, await kind.values(ctx, slots), ctx)
    except GenerationFailure as failure:
        if failure.code != "gen.plan_chain":
            raise
        # A search that finds nothing feeds nothing: one new set of values, told which call came back empty.
        again = replace(ctx, seed=ctx.seed + 1, feedback=f"{failure}; choose values for which it finds something")
        return await _run_chain(sample, feeds, await kind.values(again, slots), again)


async def _run_chain(
    sample: ToolSample, feeds: dict[str, dict[str, Edge]], filled: list[dict[str, Any]], ctx: PlanContext
) -> list[PlannedCall]:
    calls: list[PlannedCall] = []
    outputs: dict[str, Any] = {}
    for tool, arguments in zip(sample.tools, filled, strict=True):
        refs: dict[str, str] = {}
        for parameter, edge in feeds.get(tool.name, {}).items():
            try:
                arguments = {**arguments, parameter: resolve(outputs[edge.source], edge.output_path)}
            except LookupError as exc:
                raise GenerationFailure(
                    "gen.plan_chain", f"{edge.source} gave no {edge.output_path} to feed {tool.name}: {exc}"
                ) from None
            refs[parameter] = edge.output_path
        observation = await ctx.planner.prove(ToolCall(name=tool.name, arguments=arguments), tool)
        outputs[tool.name] = observation.output
        calls.append(PlannedCall(name=tool.name, arguments=arguments, refs=refs))
    return calls


class NoCall(_Base):
    """1–2 tools offered and a request none of them serves: the assistant answers without calling."""

    name = Scenario.NO_CALL

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        return DomainSampler(tools, (1, 2), distractors=0)

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        return self.made(sample, ctx, Turn(offtopic=True))


def askable(tool: ToolSpec) -> list[str]:
    """Required parameters a user would state in words (not flags or fixed choices)."""
    out = []
    for name in tool.required:
        schema = tool.properties.get(name)
        if isinstance(schema, dict) and "enum" not in schema and schema.get("type") in ("string", "number", "integer"):
            out.append(name)
    return out


class Clarify(_Base):
    """A required value left out of the request: the assistant must ask for it instead of guessing."""

    name = Scenario.CLARIFY

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        candidates = [t for t in standalone(tools, graph) if askable(t)]
        if not candidates:
            raise SamplingError("clarify needs a tool with a required string or number parameter; none has one")
        return RandomSampler(candidates, 1, distractors=(0, 2))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        call = await self.one_call(sample, ctx)
        missing = ctx.rng.choice(askable(sample.tools[0]))
        return self.made(sample, ctx, Turn(steps=((call,),), missing=(missing,)))


class MultiTurn(_Base):
    """2–3 user turns, one call each; later turns build on earlier results when the tools chain.

    A chain of the tool graph spread over the turns is preferred (each turn's request uses what
    the last one found); tools with no chain starting at a standalone tool fall back to a domain.
    """

    name = Scenario.MULTI_TURN

    def __init__(self, turns: tuple[int, int] = (2, 3)) -> None:
        self.turns = turns

    def sampler(self, tools: Sequence[ToolSpec], graph: ToolGraph) -> Sampler:
        """Draw the tools this kind needs (the class docstring says which)."""
        try:
            return graph_sampler(tools, graph, {"chain": 1.0}, length=self.turns, distractors=(0, 1))
        except SamplingError:
            return DomainSampler(tools, self.turns, distractors=(0, 1))

    async def plan(self, sample: ToolSample, ctx: PlanContext) -> Plan:
        """Fix this kind's calls and values, proven on the engine."""
        calls = await chain_calls(sample, ctx, self)
        return self.made(sample, ctx, *(Turn(steps=((c,),)) for c in calls))


class ErrorRecovery(_Base):
    """A first call with a bad value, the tool's error, then the assistant's corrected call.

    The bad call is scripted (the generator writes it, masked as injected in `Dialog.meta`), and
    must really fail on the engine; the lesson is the correction that follows the error message.
    """

    name = Scenario.ERROR_RECOVERY

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
    k.name.value: k
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
    return parse_weights(text, KINDS, "mix", DEFAULT_MIX, example="single=2,nested=1", noun="scenario kind")


def parse_weights(
    text: str | Mapping[str, float] | None,
    known: Iterable[str],
    what: str,
    default: Mapping[str, float],
    *,
    example: str,
    noun: str = "name",
) -> dict[str, float]:
    """`"a=2,b=1"` (or a mapping) over the names in `known` -> weights summing to 1; None gives `default`.

    The one parser for every "which kinds, how often" option, so they all read and fail alike.
    """
    if text is None or text == "" or text == "default":
        return dict(default)
    names = list(known)
    pairs: dict[str, float] = {}
    if isinstance(text, Mapping):
        pairs = {str(k): float(v) for k, v in text.items()}
    else:
        for part in text.split(","):
            name, sep, weight = part.strip().partition("=")
            try:
                pairs[name.strip()] = float(weight) if sep else 1.0
            except ValueError:
                raise ConfigError(f"`{what}`: {part.strip()!r} has no number after '='; write e.g. {example}") from None
    unknown = sorted(set(pairs) - set(names))
    if unknown:
        raise ConfigError(f"`{what}`: unknown {noun}(s) {', '.join(unknown)}; the {noun}s are {', '.join(names)}")
    if any(w < 0 for w in pairs.values()) or sum(pairs.values()) <= 0:
        raise ConfigError(f"`{what}`: weights must be non-negative and not all zero")
    total = sum(pairs.values())
    return {k: w / total for k, w in pairs.items() if w > 0}
