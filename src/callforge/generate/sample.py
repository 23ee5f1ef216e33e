"""Tool samplers: which tools one generated scenario uses, and which it offers as distractors.

Every sampler answers `sample(rng) -> ToolSample` and draws only from the `random.Random` it is
given, iterating tools and graph queries in sorted order, so one seed gives the same samples in
every process (no global random state, no dependence on set order or hash seeds).
See docs/generate.md, section "Samplers".
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath
from typing import Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, model_validator

from callforge.core import CallforgeError, ConfigError, SpecError, ToolSpec
from callforge.tools.graph import DEFAULT_THRESHOLD, Edge, ToolGraph, main_noun, name_keys, name_similarity

Span = int | tuple[int, int]
"""A count or an inclusive range `(low, high)` drawn uniformly per sample."""

DomainKey = Callable[[ToolSpec], str]

SAMPLER_NAMES = ("random", "domain", "chain", "fan_out", "fan_in")

_FILE_SUFFIXES = (".py", ".json", ".jsonl", ".yaml", ".yml")
_NAMESPACE = re.compile(r"\.|__|/|:")


class SamplingError(CallforgeError):
    """A sampler cannot draw a sample from these tools; the message says what is missing and the fix."""


class ToolSample(BaseModel):
    """The tools one scenario is built on.

    `tools` are the ones the scenario means to call, in call order for dependent samples;
    `distractors` are offered alongside but not meant to be called, so a model learns to choose;
    `chain` lists the edges joining consecutive `tools` (empty unless the sampler followed the
    tool graph), so the planner knows which result feeds which argument; `strategy` names the
    sampler that produced it ("random" when the domain sampler had to fall back).
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
        used = {t.name for t in self.tools}
        for edge in self.chain:
            if edge.source not in used or edge.target not in used:
                raise ValueError(f"chain edge {edge.source}→{edge.target} leaves the sampled tools")
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


def domain_of(tool: ToolSpec) -> str:
    """The tool's domain, used to keep a domain sample (and its distractors) on one topic.

    Rules, first match wins: (0) the tool's own `domain` (synthesized pools, OpenAPI tags, MCP
    servers set it); (1) a `source` naming a file (a path, or a name ending in .py,
    .json, .jsonl, .yaml, .yml, optionally followed by `:line`) gives the file's stem, so the
    tools of `travel.py` form the domain `travel`; (2) a name with a namespace (`weather.forecast`,
    MCP-style `github__create_issue`, `a/b`, `a:b`) gives the part before it; (3) otherwise the
    name's main noun (`callforge.tools.graph.main_noun`): its first word once a leading verb and
    modifiers are skipped, singularised (`search_flights`, `book_flight` and
    `get_current_flight_status` → `flight`; `get_book_details` → `book`; `spotify_play` → `spotify`;
    `geocode` → `geocode`). Pass another function as `domain_key` where a catalogue has real categories.
    """
    if tool.domain:
        return tool.domain.lower()
    source = tool.source.rsplit(":", 1)[0] if re.search(r":\d+$", tool.source) else tool.source
    if "/" in source or "\\" in source or source.lower().endswith(_FILE_SUFFIXES):
        return PurePath(source.replace("\\", "/")).stem.lower()
    parts = _NAMESPACE.split(tool.name, maxsplit=1)
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0].lower()
    return main_noun(tool.name)


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
    """A path of 2..n tools in the ToolGraph, so each call can use the previous call's output."""

    strategy = "chain"

    def __init__(
        self,
        graph: ToolGraph,
        length: Span = (2, 3),
        *,
        distractors: Span = (1, 3),
        domain_key: DomainKey = domain_of,
    ) -> None:
        self.graph = graph
        self.length = _span(length, "length", 2)
        self._starts = tuple(n for n in graph.names if graph.neighbors(n))
        if not self._starts:
            raise SamplingError(_no_edges(graph, "chains"))
        # Which sizes have a path is settled here, once, so that sample() never spends draws on a
        # search that fails: a draw then depends on the seed alone, not on earlier samples.
        probe = random.Random(0)  # backtracking finds a path whenever one exists, whatever the order
        self._sizes = tuple(n for n in range(self.length[0], self.length[1] + 1) if self._path(n, probe))
        if not self._sizes:
            longest = next(n for n in range(self.length[0] - 1, 1, -1) if self._path(n, probe))
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
        nexts = [n for n in self.graph.neighbors(path[-1]) if n not in path]
        for nxt in rng.sample(nexts, len(nexts)):
            found = self._extend((*path, nxt), size, rng)
            if found:
                return found
        return ()


class _FanSampler:
    """One tool joined to `width` others through the graph: fan-out (feeds) or fan-in (fed by)."""

    strategy = ""

    def __init__(
        self,
        graph: ToolGraph,
        width: int = 2,
        *,
        distractors: Span = (1, 3),
        domain_key: DomainKey = domain_of,
    ) -> None:
        self.graph = graph
        self.width = _span(width, "width", 2)[0]
        self._hubs = tuple(n for n in graph.names if len(self._others(n)) >= self.width)
        if not self._hubs:
            raise SamplingError(self._none_message())
        self._distractors = _Distractors(graph.tools, distractors, domain_key)

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw a hub, then `width` of the tools it is joined to."""
        hub = rng.choice(self._hubs)
        others = rng.sample(self._others(hub), self.width)
        tools, chain = self._arrange(hub, others)
        specs = tuple(self.graph.tool(n) for n in tools)
        return ToolSample(
            tools=specs, distractors=self._distractors.pick(specs, rng), chain=chain, strategy=self.strategy
        )

    def _others(self, name: str) -> tuple[str, ...]:
        raise NotImplementedError

    def _arrange(self, hub: str, others: Sequence[str]) -> tuple[tuple[str, ...], tuple[Edge, ...]]:
        raise NotImplementedError

    def _none_message(self) -> str:
        raise NotImplementedError


class FanOutSampler(_FanSampler):
    """One producer whose result feeds `width` consumers (look up a city, then weather and hotels)."""

    strategy = "fan_out"

    def _others(self, name: str) -> tuple[str, ...]:
        return self.graph.neighbors(name)

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

    def _others(self, name: str) -> tuple[str, ...]:
        return self.graph.predecessors(name)

    def _arrange(self, hub: str, others: Sequence[str]) -> tuple[tuple[str, ...], tuple[Edge, ...]]:
        edges = tuple(e for other in others for e in self.graph.edges_between(other, hub))
        return (*others, hub), edges

    def _none_message(self) -> str:
        if not self.graph.edges:
            return _no_edges(self.graph, "fan-ins")
        return f"no tool takes results from {self.width} other tools in the tool graph; use the chain sampler"


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
    distractors: Span = (1, 3),
    threshold: float = DEFAULT_THRESHOLD,
    graph: ToolGraph | None = None,
    domain_key: DomainKey = domain_of,
) -> Sampler:
    """Build a sampler by name, the way a config file or CLI flag names one.

    `k` applies to `random` and `domain`, `length` to `chain`, `width` to `fan_out`/`fan_in`.
    Graph samplers build a ToolGraph from `tools` with `threshold` unless `graph` is given.
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
    fan = FanOutSampler if name == "fan_out" else FanInSampler
    return fan(built, width, distractors=distractors, domain_key=domain_key)
