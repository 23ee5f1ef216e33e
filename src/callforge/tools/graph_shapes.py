"""Shapes in the tool graph: small DAGs of dependent calls, and how many chains, fans and DAGs it holds.

A chain is one call after another; a fan-out one result feeding several calls; a fan-in several
results filling one call. A DAG mixes them (geocode feeds a hotel search and the weather, and both
feed an itinerary), which is how real multi-step requests look. DAGs are grown here, in `tools`,
so the sampler in `callforge.generate` and the graph report count the same shapes.

A DAG grows one tool at a time from a seed tool. A joining tool takes every parameter the tools
already in can fill (the best edge per parameter) and fills every parameter of theirs that nothing
fills yet, unless that would close a cycle; then it joins as a consumer or as a producer only. So
each parameter has exactly one feeding edge (a planner knows which output to pass), and the tools
are listed in a call order: every edge goes from an earlier tool to a later one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from callforge.core import ConfigError
from callforge.tools.graph import Edge, ToolGraph

DAG_SIZES = (3, 5)
"""Sizes of the DAGs samplers draw and reports count: 3 to 5 tools."""

Needs = Mapping[str, Collection[str]]
"""Per tool, parameters a sample must feed it from another of its tools (an id only a search returns).

A tool with needs cannot start a sample, and one whose needs no tool of the sample fills would be
called with an invented value; samplers take `needs` so they never draw such a sample.
"""


@dataclass(frozen=True)
class Dag:
    """A small DAG of the tool graph: tools in call order and the edges the calls pass along.

    `edges` are sorted by (position of target, position of source, parameter), so each call's
    inputs come after the calls that produce them.
    """

    tools: tuple[str, ...]
    edges: tuple[Edge, ...]

    @property
    def roots(self) -> tuple[str, ...]:
        """Tools nothing in the DAG feeds: the calls a request starts with, in call order."""
        fed = {e.target for e in self.edges}
        return tuple(t for t in self.tools if t not in fed)

    @property
    def branched(self) -> bool:
        """Whether a tool has two predecessors or two successors here: a fan, not a plain chain."""
        pairs = {(e.source, e.target) for e in self.edges}
        outs = [s for s, _ in pairs]
        ins = [t for _, t in pairs]
        return any(outs.count(n) > 1 or ins.count(n) > 1 for n in self.tools)


def grow_dag(graph: ToolGraph, size: int, rng: random.Random, *, needs: Needs | None = None) -> Dag | None:
    """A random branched DAG of `size` tools, or None when the graph has none.

    Seeds and growth steps are tried in an order drawn from `rng`, with backtracking, so a DAG is
    found whenever one exists and one seed always gives the same DAG. With `needs`, every tool's
    needs are fed inside the DAG (so its roots have none).
    """
    if size < 3:
        raise ConfigError(f"size={size}: a branched DAG has at least 3 tools; use a chain for 2")
    seeds = _seeds(graph)
    search = _Search(graph, size, needs)
    for seed in rng.sample(seeds, len(seeds)):
        found = search.first(_State((seed,), ()), rng)
        if found is not None:
            return found
    return None


def count_dags(
    graph: ToolGraph, sizes: tuple[int, int] = DAG_SIZES, *, limit: int = 10_000
) -> tuple[int, bool]:
    """How many distinct sets of `sizes` tools form a branched DAG, and whether counting stopped at `limit`.

    Every growth state is visited once, so the count is exact below the limit; a graph with more
    (a pool of thousands of tools) is reported as at least `limit`.
    """
    low, high = sizes
    if low < 3 or high < low:
        raise ConfigError(f"sizes={sizes!r}: expected (low, high) with 3 ≤ low ≤ high")
    search = _Search(graph, high, None)
    found: set[frozenset[str]] = set()
    seen: set[tuple[frozenset[str], frozenset[Edge]]] = set()
    budget = limit * 50  # states; a dense graph reaches the limit long before
    stack = [_State((seed,), ()) for seed in reversed(_seeds(graph))]
    while stack:
        state = stack.pop()
        key = state.key
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > budget:
            return len(found), True
        if low <= len(state.tools) and search.valid(state):
            found.add(key[0])
            if len(found) >= limit:
                return limit, True
        if len(state.tools) < high:
            stack.extend(search.moves(state))
    return len(found), False


def count_chains(
    graph: ToolGraph, lengths: tuple[int, int] = (2, 3), *, limit: int = 100_000
) -> tuple[int, bool]:
    """How many simple paths of `lengths` tools the graph has, and whether counting stopped at `limit`."""
    low, high = lengths
    if low < 2 or high < low:
        raise ConfigError(f"lengths={lengths!r}: expected (low, high) with 2 ≤ low ≤ high")
    count = 0
    for path in _paths(graph, high):
        if len(path) >= low:
            count += 1
            if count >= limit:
                return limit, True
    return count, False


def count_fans(graph: ToolGraph, width: int = 2, *, out: bool = True) -> int:
    """How many fan-outs (`out`) or fan-ins of `width` tools around one hub the graph has: Σ C(degree, width)."""
    if width < 2:
        raise ConfigError(f"width={width}: a fan joins a hub to at least 2 tools")
    joined = graph.neighbors if out else graph.predecessors
    return sum(math.comb(len(joined(n)), width) for n in graph.names)


def longest_chain(graph: ToolGraph, *, cap: int = 10, budget: int = 200_000) -> tuple[int, bool]:
    """Tools in the longest simple path (1 when there is no edge), and whether the answer is only a lower bound.

    The exact answer is NP-hard in general, so the search stops at `cap` tools or after `budget`
    steps; a graph of a few hundred tools is answered exactly in well under a second.
    """
    best = 1 if graph.names else 0
    for steps, path in enumerate(_paths(graph, cap), 1):
        best = max(best, len(path))
        if best >= cap or steps >= budget:
            return best, True
    return best, False


# --- the search --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    tools: tuple[str, ...]  # growth order; `_dag` puts them in call order
    edges: tuple[Edge, ...]

    @property
    def key(self) -> tuple[frozenset[str], frozenset[Edge]]:
        """What the future of a state depends on: its tools and edges, not the order they came in."""
        return frozenset(self.tools), frozenset(self.edges)


class _Search:
    """Growth steps and the final check, shared by sampling and counting."""

    def __init__(self, graph: ToolGraph, size: int, needs: Needs | None) -> None:
        self.graph = graph
        self.size = size
        self.needs = {k: frozenset(v) for k, v in (needs or {}).items() if v}

    def first(self, state: _State, rng: random.Random) -> Dag | None:
        """The first complete DAG found from `state`, trying steps in an order drawn from `rng`."""
        failed: set[tuple[frozenset[str], frozenset[Edge]]] = set()

        def walk(current: _State) -> _State | None:
            if len(current.tools) == self.size:
                return current if self.valid(current) else None
            key = current.key
            if key in failed:  # pruning a dead end never changes which DAG is found first
                return None
            steps = self.moves(current)
            for step in rng.sample(steps, len(steps)):
                done = walk(step)
                if done is not None:
                    return done
            failed.add(key)
            return None

        found = walk(state)
        return None if found is None else _dag(found)

    def valid(self, state: _State) -> bool:
        dag = _dag(state)
        if not dag.branched:
            return False
        if not self.needs:
            return True
        fed: dict[str, set[str]] = {}
        for edge in dag.edges:
            fed.setdefault(edge.target, set()).add(edge.parameter)
        return all(self.needs.get(t, frozenset()) <= fed.get(t, set()) for t in dag.tools)

    def moves(self, state: _State) -> list[_State]:
        """Every state one tool larger, in a fixed order (callers shuffle with their rng)."""
        members = set(state.tools)
        fed = {(e.target, e.parameter) for e in state.edges}
        near: set[str] = set()
        for name in state.tools:
            near.update(self.graph.neighbors(name), self.graph.predecessors(name))
        out: list[_State] = []
        for name in sorted(near - members):
            best: dict[str, Edge] = {}
            for edge in self.graph.edges_to(name):
                if edge.source in members:
                    held = best.get(edge.parameter)
                    if held is None or _rank(edge) < _rank(held):
                        best[edge.parameter] = edge
            taking = tuple(best[p] for p in sorted(best))
            feeding = tuple(
                e
                for e in self.graph.edges_from(name)
                if e.target in members and (e.target, e.parameter) not in fed
            )
            grown = (*state.tools, name)
            if (
                taking
                and feeding
                and not _reaches(state.edges, {e.target for e in feeding}, {e.source for e in taking})
            ):
                out.append(_State(grown, (*state.edges, *taking, *feeding)))
                continue
            out.extend(_State(grown, (*state.edges, *edges)) for edges in (taking, feeding) if edges)
        return out


def _rank(edge: Edge) -> tuple[float, str, str]:
    return (-edge.score, edge.source, edge.output_path)


def _reaches(edges: Collection[Edge], starts: set[str], goals: set[str]) -> bool:
    """Whether a path of `edges` leads from one of `starts` to one of `goals`."""
    seen, todo = set(starts), list(starts)
    while todo:
        here = todo.pop()
        if here in goals:
            return True
        for edge in edges:
            if edge.source == here and edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return False


def _dag(state: _State) -> Dag:
    """The state in call order: producers before consumers, ties in growth order."""
    grown = {name: i for i, name in enumerate(state.tools)}
    waiting = {name: {e.source for e in state.edges if e.target == name} for name in state.tools}
    order: list[str] = []
    while waiting:
        ready = min((n for n, sources in waiting.items() if not sources), key=grown.__getitem__)
        order.append(ready)
        del waiting[ready]
        for sources in waiting.values():
            sources.discard(ready)
    position = {name: i for i, name in enumerate(order)}
    edges = sorted(state.edges, key=lambda e: (position[e.target], position[e.source], e.parameter))
    return Dag(tools=tuple(order), edges=tuple(edges))


def _seeds(graph: ToolGraph) -> list[str]:
    return [n for n in graph.names if graph.neighbors(n) or graph.predecessors(n)]


def _paths(graph: ToolGraph, max_len: int) -> Iterator[tuple[str, ...]]:
    """Every simple path of 2..`max_len` tools, depth first, without building a list."""
    stack: list[tuple[str, ...]] = [(n,) for n in reversed(graph.names)]
    while stack:
        path = stack.pop()
        if len(path) > 1:
            yield path
        if len(path) < max_len:
            stack.extend((*path, n) for n in reversed(graph.neighbors(path[-1])) if n not in path)
