"""Tool samplers: which tools one generated scenario uses, and which it offers as distractors.

Every sampler answers `sample(rng) -> ToolSample` and draws only from the `random.Random` it is
given, iterating tools and graph queries in sorted order, so one seed gives the same samples in
every process (no global random state, no dependence on set order or hash seeds).
See docs/generate.md, section "Samplers".
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from typing import Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, model_validator

from callforge.core import CallforgeError, ConfigError, SpecError, ToolSpec
from callforge.tools import (
    DAG_SIZES,
    DEFAULT_THRESHOLD,
    Edge,
    Needs,
    ToolGraph,
    grow_dag,
    name_keys,
    name_similarity,
)

# Re-exported: both moved to callforge.tools.graph, which needs them and must not import generate.
from callforge.tools import DomainKey as DomainKey
from callforge.tools import domain_of as domain_of

Span = int | tuple[int, int]
"""A count or an inclusive range `(low, high)` drawn uniformly per sample."""

SAMPLER_NAMES = ("random", "domain", "chain", "fan_out", "fan_in", "dag")


class SamplingError(CallforgeError):
    """A sampler cannot draw a sample from these tools; the message says what is missing and the fix."""


class ToolSample(BaseModel):
    """The tools one scenario is built on.

    `tools` are the ones the scenario means to call, in call order for dependent samples;
    `distractors` are offered alongside but not meant to be called, so a model learns to choose;
    `chain` lists the data edges the calls pass values along (empty unless the sampler followed
    the tool graph): between consecutive tools for a chain, from the hub or into it for a fan,
    along the DAG for a DAG. Every edge goes from an earlier tool to a later one, so the planner
    can run the calls in order and read each fed argument from an output it already has.
    `strategy` names the sampler that produced it ("random" when the domain sampler had to fall
    back).
    """

    model_config = ConfigDict(frozen=True)

    tools: tuple[ToolSpec, ...]
    distractors: tuple[ToolSpec, ...] = ()
    chain: tuple[Edge, ...] = ()
    strategy: str

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.tools:
            raise ValueError("a sample uses at least one tool")
        names = [t.name for t in (*self.tools, *self.distractors)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"tool names repeat within one sample: {', '.join(repeated)}")
        position = {t.name: i for i, t in enumerate(self.tools)}
        for edge in self.chain:
            if edge.source not in position or edge.target not in position:
                raise ValueError(f"chain edge {edge.source}→{edge.target} leaves the sampled tools")
            if position[edge.source] > position[edge.target]:
                raise ValueError(
                    f"chain edge {edge.source}→{edge.target} runs backwards: list tools in call order"
                )
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the tools to call, in order."""
        return tuple(t.name for t in self.tools)


@runtime_checkable
class Sampler(Protocol):
    """Anything that draws a ToolSample from a seeded random source."""

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw one sample using only `rng`, so a seed reproduces it."""
        ...


def _span(value: Span, what: str, minimum: int) -> tuple[int, int]:
    low, high = (value, value) if isinstance(value, int) else value
    if low < minimum or high < low:
        raise ConfigError(
            f"{what}={value!r}: expected a count ≥ {minimum} or a range (low, high) with low ≤ high"
        )
    return low, high


def _unique(tools: Iterable[ToolSpec]) -> tuple[ToolSpec, ...]:
    """The tools sorted by name; a repeated name is an error, since a call names its tool."""
    ordered = sorted(tools, key=lambda t: t.name)
    for a, b in itertools.pairwise(ordered):
        if a.name == b.name:
            raise SpecError(
                f"two tools are named {a.name!r}",
                source=b.source,
                tool=a.name,
                expected="unique tool names (a call names its tool)",
            )
    return tuple(ordered)


def _pool(tools: Sequence[ToolSpec], k: Span, sampler: str) -> tuple[tuple[ToolSpec, ...], tuple[int, int]]:
    """The tools sorted and checked, and k capped at their number (a range may reach past it)."""
    ordered = _unique(tools)
    low, high = _span(k, "k", 1)
    if low > len(ordered):
        plural = "" if low == 1 else "s"
        raise SamplingError(f"the {sampler} sampler needs at least {low} tool{plural}, got {len(ordered)}")
    return ordered, (low, min(high, len(ordered)))


class _Distractors:
    """Picks tools to offer but not call: same domain first, then the nearest names."""

    def __init__(self, pool: Sequence[ToolSpec], count: Span, domain_key: DomainKey) -> None:
        self.pool = _unique(pool)
        self.count = _span(count, "distractors", 0)
        self.domain = {t.name: domain_key(t) for t in self.pool}
        self.by_domain: dict[str, list[ToolSpec]] = {}
        self.by_key: dict[str, list[ToolSpec]] = {}
        for tool in self.pool:  # sorted by name, and so is every list built here
            self.by_domain.setdefault(self.domain[tool.name], []).append(tool)
            for key in name_keys(tool.name):
                self.by_key.setdefault(key, []).append(tool)

    def pick(self, used: Sequence[ToolSpec], rng: random.Random) -> tuple[ToolSpec, ...]:
        """Draw 0..N distractors for `used`; fewer when the pool runs out, never a used name."""
        wanted = rng.randint(*self.count)
        if not wanted:
            return ()
        names = {t.name for t in used}
        domains = sorted({self.domain.get(t.name, "") for t in used})
        same = [t for d in domains for t in self.by_domain.get(d, ()) if t.name not in names]
        picked = rng.sample(same, min(wanted, len(same)))
        if len(picked) == wanted:
            return tuple(picked)
        taken = names | {t.name for t in picked}
        keys = sorted({k for t in used for k in name_keys(t.name)})
        near = {t.name: t for k in keys for t in self.by_key.get(k, ()) if t.name not in taken}
        ranked = sorted(
            (-max(name_similarity(n, u.name) for u in used), rng.random(), n) for n in sorted(near)
        )
        picked.extend(near[n] for score, _, n in ranked if score < 0)  # similarity > 0 only
        picked = picked[:wanted]
        if len(picked) < wanted:  # nothing near enough: any other tool will do
            taken |= {t.name for t in picked}
            rest = [t for t in self.pool if t.name not in taken]
            picked.extend(rng.sample(rest, min(wanted - len(picked), len(rest))))
        return tuple(picked)


class RandomSampler:
    """k tools drawn uniformly: the baseline, and the source of unrelated multi-tool prompts."""

    strategy = "random"

    def __init__(
        self,
        tools: Sequence[ToolSpec],
        k: Span = (1, 3),
        *,
        distractors: Span = (1, 3),
        domain_key: DomainKey = domain_of,
    ) -> None:
        self.tools, self.k = _pool(tools, k, "random")
        self._distractors = _Distractors(self.tools, distractors, domain_key)

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw k tools uniformly, then distractors for them."""
        chosen = rng.sample(self.tools, rng.randint(*self.k))
        return ToolSample(
            tools=tuple(chosen), distractors=self._distractors.pick(chosen, rng), strategy=self.strategy
        )


class DomainSampler:
    """k tools of one domain (see `domain_of`), so a multi-tool prompt stays on one topic.

    A domain is chosen uniformly among those with at least k tools, so small domains are not
    drowned by one big one; when no domain has k tools, the sample falls back to a random draw
    and says so in `strategy` ("random").
    """

    strategy = "domain"

    def __init__(
        self,
        tools: Sequence[ToolSpec],
        k: Span = (1, 3),
        *,
        distractors: Span = (1, 3),
        domain_key: DomainKey = domain_of,
    ) -> None:
        self.tools, self.k = _pool(tools, k, "domain")
        self._distractors = _Distractors(self.tools, distractors, domain_key)
        groups: dict[str, list[ToolSpec]] = {}
        for tool in self.tools:
            groups.setdefault(domain_key(tool), []).append(tool)
        self.domains = {d: tuple(groups[d]) for d in sorted(groups)}

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw k, a domain holding k tools, and k of its tools; else fall back to random."""
        k = rng.randint(*self.k)
        eligible = [d for d, members in self.domains.items() if len(members) >= k]
        if not eligible:
            chosen = rng.sample(self.tools, k)
            strategy = RandomSampler.strategy
        else:
            chosen = rng.sample(self.domains[rng.choice(eligible)], k)
            strategy = self.strategy
        distractors = self._distractors.pick(chosen, rng)
        return ToolSample(tools=tuple(chosen), distractors=distractors, strategy=strategy)


class ChainSampler:
    """A path of 2..n tools in the ToolGraph, so each call can use the previous call's output.

    With `needs` (see `callforge.tools.graph_shapes.Needs`), a path starts at a tool without
    needs and each next tool's needs are fed by the one before it.
    """

    strategy = "chain"

    def __init__(
        self,
        graph: ToolGraph,
        length: Span = (2, 3),
        *,
        distractors: Span = (1, 3),
        domain_key: DomainKey = domain_of,
        needs: Needs | None = None,
    ) -> None:
        self.graph = graph
        self.length = _span(length, "length", 2)
        self.needs = _needs(needs)
        self._starts = tuple(n for n in graph.names if graph.neighbors(n) and n not in self.needs)
        if not self._starts:
            raise SamplingError(_no_edges(graph, "chains") if not graph.edges else _unmet("chain"))
        # Which sizes have a path is settled here, once, so that sample() never spends draws on a
        # search that fails: a draw then depends on the seed alone, not on earlier samples.
        probe = random.Random(0)  # backtracking finds a path whenever one exists, whatever the order
        self._sizes = tuple(n for n in range(self.length[0], self.length[1] + 1) if self._path(n, probe))
        if not self._sizes:
            longest = next((n for n in range(self.length[0] - 1, 1, -1) if self._path(n, probe)), 0)
            if not longest:
                raise SamplingError(_unmet("chain"))
            raise SamplingError(
                f"no chain of {self.length[0]} tools in the tool graph (the longest has {longest});"
                f" lower length to ({longest}, ...) or add tools whose results feed the chain's last tool"
            )
        self._distractors = _Distractors(graph.tools, distractors, domain_key)

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw a length, then a path of that many tools (the longest there is if none is that long)."""
        wanted = rng.randint(*self.length)
        size = max((n for n in self._sizes if n <= wanted), default=self._sizes[0])
        path = self._path(size, rng)
        tools = tuple(self.graph.tool(n) for n in path)
        return ToolSample(
            tools=tools,
            distractors=self._distractors.pick(tools, rng),
            chain=self.graph.chain_edges(path),
            strategy=self.strategy,
        )

    def _path(self, size: int, rng: random.Random) -> tuple[str, ...]:
        """A random simple path of `size` tools, or () when the graph has none.

        Starts and successors are tried in a random order with backtracking, so a path is found
        whenever one exists, without listing every path of a large graph.
        """
        for start in rng.sample(self._starts, len(self._starts)):
            found = self._extend((start,), size, rng)
            if found:
                return found
        return ()

    def _extend(self, path: tuple[str, ...], size: int, rng: random.Random) -> tuple[str, ...]:
        if len(path) == size:
            return path
        nexts = [n for n in self.graph.neighbors(path[-1]) if n not in path and self._fed(path[-1], n)]
        for nxt in rng.sample(nexts, len(nexts)):
            found = self._extend((*path, nxt), size, rng)
            if found:
                return found
        return ()

    def _fed(self, source: str, target: str) -> bool:
        return _feeds(self.graph, self.needs, source, target)


class _FanSampler:
    """One tool joined to `width` others through the graph: fan-out (feeds) or fan-in (fed by).

    With `needs` (see `callforge.tools.graph_shapes.Needs`), a fan-out's hub has none and feeds
    every need of its consumers; a fan-in's producers have none and together feed every need of
    their consumer.
    """

    strategy = ""

    def __init__(
        self,
        graph: ToolGraph,
        width: int = 2,
        *,
        distractors: Span = (1, 3),
        domain_key: DomainKey = domain_of,
        needs: Needs | None = None,
    ) -> None:
        self.graph = graph
        self.width = _span(width, "width", 2)[0]
        self.needs = _needs(needs)
        self._hubs = self._find_hubs(self.needs)
        if not self._hubs:
            unmet = self.needs and self._find_hubs({})
            raise SamplingError(_unmet(self.strategy.replace("_", "-")) if unmet else self._none_message())
        self._distractors = _Distractors(graph.tools, distractors, domain_key)

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw a hub, then `width` of the tools it is joined to."""
        hub = rng.choice(self._hubs)
        others = self._pick(hub, rng)
        tools, chain = self._arrange(hub, others)
        specs = tuple(self.graph.tool(n) for n in tools)
        return ToolSample(
            tools=specs, distractors=self._distractors.pick(specs, rng), chain=chain, strategy=self.strategy
        )

    def _find_hubs(self, needs: dict[str, frozenset[str]]) -> tuple[str, ...]:
        return tuple(n for n in self.graph.names if self._fits(n, needs))

    def _fits(self, hub: str, needs: dict[str, frozenset[str]]) -> bool:
        return len(self._others(hub, needs)) >= self.width

    def _pick(self, hub: str, rng: random.Random) -> Sequence[str]:
        return rng.sample(self._others(hub, self.needs), self.width)

    def _others(self, name: str, needs: dict[str, frozenset[str]]) -> tuple[str, ...]:
        raise NotImplementedError

    def _arrange(self, hub: str, others: Sequence[str]) -> tuple[tuple[str, ...], tuple[Edge, ...]]:
        raise NotImplementedError

    def _none_message(self) -> str:
        raise NotImplementedError


class FanOutSampler(_FanSampler):
    """One producer whose result feeds `width` consumers (look up a city, then weather and hotels)."""

    strategy = "fan_out"

    def _others(self, name: str, needs: dict[str, frozenset[str]]) -> tuple[str, ...]:
        if name in needs:
            return ()
        return tuple(n for n in self.graph.neighbors(name) if _feeds(self.graph, needs, name, n))

    def _arrange(self, hub: str, others: Sequence[str]) -> tuple[tuple[str, ...], tuple[Edge, ...]]:
        edges = tuple(e for other in others for e in self.graph.edges_between(hub, other))
        return (hub, *others), edges

    def _none_message(self) -> str:
        if not self.graph.edges:
            return _no_edges(self.graph, "fan-outs")
        return f"no tool's result feeds {self.width} other tools in the tool graph; use the chain sampler"


class FanInSampler(_FanSampler):
    """`width` producers whose results together fill one consumer (geocode and a date, then book)."""

    strategy = "fan_in"

    def _others(self, name: str, needs: dict[str, frozenset[str]]) -> tuple[str, ...]:
        return tuple(n for n in self.graph.predecessors(name) if n not in needs)

    def _fits(self, hub: str, needs: dict[str, frozenset[str]]) -> bool:
        return bool(self._covers(hub, needs)) if hub in needs else super()._fits(hub, needs)

    def _pick(self, hub: str, rng: random.Random) -> Sequence[str]:
        if hub not in self.needs:
            return super()._pick(hub, rng)
        return rng.choice(self._covers(hub, self.needs))

    def _covers(self, hub: str, needs: dict[str, frozenset[str]]) -> list[tuple[str, ...]]:
        """Sets of `width` producers that together feed every need of `hub`, in a fixed order."""
        fed = {n: {e.parameter for e in self.graph.edges_between(n, hub)} for n in self._others(hub, needs)}
        return [
            group
            for group in itertools.combinations(sorted(fed), self.width)
            if needs[hub] <= set().union(*(fed[n] for n in group))
        ]

    def _arrange(self, hub: str, others: Sequence[str]) -> tuple[tuple[str, ...], tuple[Edge, ...]]:
        edges = tuple(e for other in others for e in self.graph.edges_between(other, hub))
        return (*others, hub), edges

    def _none_message(self) -> str:
        if not self.graph.edges:
            return _no_edges(self.graph, "fan-ins")
        return f"no tool takes results from {self.width} other tools in the tool graph; use the chain sampler"


class DagSampler:
    """3–5 tools whose data edges fork or join: fan-out and fan-in mixed in one request.

    Geocode a city, search hotels and the weather there, then plan the day from both: a DAG of
    the tool graph with at least one tool feeding two others or fed by two others (a plain path
    is the chain sampler's). Each fed parameter has exactly one edge, and `tools` are in call
    order. Grown by `callforge.tools.graph_shapes.grow_dag`; which sizes exist is settled when
    the sampler is built, like ChainSampler's lengths, so a draw depends on its seed alone.
    """

    strategy = "dag"

    def __init__(
        self,
        graph: ToolGraph,
        size: Span = DAG_SIZES,
        *,
        distractors: Span = (1, 3),
        domain_key: DomainKey = domain_of,
        needs: Needs | None = None,
    ) -> None:
        self.graph = graph
        self.size = _span(size, "size", 3)
        self.needs = _needs(needs)
        probe = random.Random(0)  # the search backtracks, so it finds a DAG whenever one exists
        low, high = self.size
        self._sizes = tuple(n for n in range(low, high + 1) if grow_dag(graph, n, probe, needs=self.needs))
        if not self._sizes:
            raise SamplingError(self._none_message())
        self._distractors = _Distractors(graph.tools, distractors, domain_key)

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw a size, then a DAG of that many tools (the nearest size there is if none is that big)."""
        wanted = rng.randint(*self.size)
        size = max((n for n in self._sizes if n <= wanted), default=self._sizes[0])
        dag = grow_dag(self.graph, size, rng, needs=self.needs)
        if dag is None:  # cannot happen: the size was found when the sampler was built
            raise SamplingError(f"no DAG of {size} tools in the tool graph")
        tools = tuple(self.graph.tool(n) for n in dag.tools)
        return ToolSample(
            tools=tools,
            distractors=self._distractors.pick(tools, rng),
            chain=dag.edges,
            strategy=self.strategy,
        )

    def _none_message(self) -> str:
        if not self.graph.edges:
            return _no_edges(self.graph, "DAGs")
        low, high = self.size
        probe = random.Random(0)
        if self.needs and any(grow_dag(self.graph, n, probe) for n in range(3, high + 1)):
            return _unmet("DAG")
        largest = next(
            (n for n in range(low - 1, 2, -1) if grow_dag(self.graph, n, probe, needs=self.needs)), 0
        )
        if largest:
            return (
                f"no DAG of {low} tools in the tool graph (the largest has {largest});"
                f" lower size to ({largest}, ...) or add tools that join its branches"
            )
        return (
            "no DAG with a fork or a join in the tool graph: no tool's result feeds two others, and none"
            " takes results from two others into different parameters; use the chain sampler"
        )


class MixedSampler:
    """Each draw from one of several samplers, chosen by weight: one scenario kind, many shapes.

    `nested` mixes chains, fans and DAGs this way; the sample's `strategy` names the sampler that
    drew it, so a run's records say which shape each one has.
    """

    strategy = "mixed"

    def __init__(self, choices: Sequence[tuple[Sampler, float]]) -> None:
        """Draw from each sampler with probability proportional to its weight."""
        if not choices or any(w < 0 for _, w in choices) or sum(w for _, w in choices) <= 0:
            raise ConfigError(
                "a mixed sampler needs at least one sampler and non-negative weights, not all zero"
            )
        self.samplers = tuple(s for s, _ in choices)
        self.weights = tuple(float(w) for _, w in choices)

    def sample(self, rng: random.Random) -> ToolSample:
        """Choose a sampler by weight, then draw from it with the same rng."""
        (chosen,) = rng.choices(self.samplers, weights=self.weights)
        return chosen.sample(rng)


def _needs(needs: Needs | None) -> dict[str, frozenset[str]]:
    """`needs` without the tools that have none, so `name in needs` says whether a tool has any."""
    return {name: frozenset(params) for name, params in sorted((needs or {}).items()) if params}


def _feeds(graph: ToolGraph, needs: dict[str, frozenset[str]], source: str, target: str) -> bool:
    """Whether `source` alone feeds every need of `target`."""
    wanted = needs.get(target)
    return not wanted or wanted <= {e.parameter for e in graph.edges_between(source, target)}


def _unmet(what: str) -> str:
    return (
        f"no {what} of the tool graph has every input it needs: each one would start at a tool, or reach"
        " one, that needs an id which none of its other tools returns"
    )


def _no_edges(graph: ToolGraph, what: str) -> str:
    """Why a graph has no edges, naming the tools that could gain one."""
    with_returns = sorted(t.name for t in graph.tools if t.returns)
    listed = ", ".join(with_returns[:10]) + (" …" if len(with_returns) > 10 else "")
    have = f"only {listed} have one" if with_returns else "none of them has one"
    return (
        f"no {what}: among {len(graph.tools)} tools, no field of any tool's `returns` schema matches a parameter"
        f" of another tool (score ≥ {graph.threshold}). A chain needs `returns` schemas ({have}) whose"
        " fields are named like the parameters others take, e.g. geocode returning `latitude` for"
        " get_weather(latitude, longitude), or search_flights returning `flights[].flight_id` for"
        " book_flight(flight_id). Add such `returns` (a Python return type hint gives one), lower the"
        " threshold, or use the `random` or `domain` sampler."
    )


def make_sampler(
    name: str,
    tools: Sequence[ToolSpec],
    *,
    k: Span = (1, 3),
    length: Span = (2, 3),
    width: int = 2,
    size: Span = DAG_SIZES,
    distractors: Span = (1, 3),
    threshold: float = DEFAULT_THRESHOLD,
    graph: ToolGraph | None = None,
    domain_key: DomainKey = domain_of,
) -> Sampler:
    """Build a sampler by name, the way a config file or CLI flag names one.

    `k` applies to `random` and `domain`, `length` to `chain`, `width` to `fan_out`/`fan_in`,
    `size` to `dag`. Graph samplers build a ToolGraph from `tools` with `threshold` unless `graph`
    is given.
    """
    if name == "random":
        return RandomSampler(tools, k, distractors=distractors, domain_key=domain_key)
    if name == "domain":
        return DomainSampler(tools, k, distractors=distractors, domain_key=domain_key)
    if name not in SAMPLER_NAMES:
        raise ConfigError(f"unknown sampler {name!r}; use one of {', '.join(SAMPLER_NAMES)}")
    built = graph if graph is not None else ToolGraph.build(tools, threshold=threshold)
    if name == "chain":
        return ChainSampler(built, length, distractors=distractors, domain_key=domain_key)
    if name == "dag":
        return DagSampler(built, size, distractors=distractors, domain_key=domain_key)
    fan = FanOutSampler if name == "fan_out" else FanInSampler
    return fan(built, width, distractors=distractors, domain_key=domain_key)


class _WithDistractors:
    """Another sampler's draw with its distractors redrawn: the difficulty knob offers more or fewer look-alikes."""

    def __init__(self, inner: Sampler, pool: Sequence[ToolSpec], count: Span, domain_key: DomainKey) -> None:
        self.inner = inner
        self._distractors = _Distractors(pool, count, domain_key)
        self.strategy = getattr(inner, "strategy", "mixed")

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw from the inner sampler, then `count` distractors for its tools (same domain first, then near names)."""
        drawn = self.inner.sample(rng)
        return drawn.model_copy(update={"distractors": self._distractors.pick(drawn.tools, rng)})


def with_distractors(
    sampler: Sampler, pool: Sequence[ToolSpec], count: Span, *, domain_key: DomainKey = domain_of
) -> Sampler:
    """`sampler`'s draws with `count` distractors from `pool` instead of its own (0 takes them all away).

    Why: how many tools a model must choose among, and how alike they are, is one of the knobs of
    difficulty (`generate --difficulty`), independent of which tools a kind calls.
    """
    return _WithDistractors(sampler, pool, count, domain_key)
