"""What a tool graph holds, in numbers and as a picture: `graph_stats` and `to_dot`.

Before generating from a pool it pays to know whether its tools chain at all: how many data
edges, how many tools stand alone, how long the longest chain is, how many chains, fans and DAGs
the samplers can draw, and which tools are hubs (a hub that feeds everything usually means a
generic field such as `currency` links unrelated tools). `callforge tools graph` prints these and
writes the DOT file Graphviz renders.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, ConfigDict

from callforge.core import ConfigError
from callforge.tools.graph import ToolGraph
from callforge.tools.graph_shapes import DAG_SIZES, count_chains, count_dags, count_fans, longest_chain


class HubTool(BaseModel):
    """A tool joined to many others by data edges: how many it feeds and how many feed it."""

    model_config = ConfigDict(frozen=True)

    name: str
    domain: str
    feeds: int
    fed_by: int


class GraphStats(BaseModel):
    """Counts of one tool graph; `capped` names the counts that stopped at a limit (lower bounds).

    `domain_edges` counts pairs of tools that share a domain; `components` are weakly connected
    components over data edges, tools without any counting as one each; `roots` feed others and
    are fed by none; `isolated` have no data edge at all; `longest_chain` is the number of tools
    on the longest simple path; `chains` are paths of 2–3 tools, `fan_outs` and `fan_ins` hubs
    with 2 of their successors or predecessors, and `dags` sets of 3–5 tools that form a branched
    DAG: what the chain, fan and DAG samplers draw from.
    """

    model_config = ConfigDict(frozen=True)

    tools: int
    data_edges: int
    domain_edges: int
    domains: int
    components: int
    largest_component: int
    roots: int
    isolated: tuple[str, ...]
    longest_chain: int
    chains: int
    fan_outs: int
    fan_ins: int
    dags: int
    hubs: tuple[HubTool, ...]
    threshold: float
    hub_limit: int | None
    capped: tuple[str, ...] = ()


def graph_stats(graph: ToolGraph, *, top: int = 10, limit: int = 10_000) -> GraphStats:
    """Count what `graph` holds; `top` hub tools are listed, counts of shapes stop at `limit`.

    Chains, fans and DAG sets can number in the millions on a pool of thousands of tools, so the
    counts that enumerate stop at `limit` and say so in `capped`.
    """
    if top < 0 or limit < 1:
        raise ConfigError(f"top={top}, limit={limit}: use top ≥ 0 and limit ≥ 1")
    names = graph.names
    sizes = _components(graph)
    longest, longest_capped = longest_chain(graph)
    chains, chains_capped = count_chains(graph, limit=limit)
    dags, dags_capped = count_dags(graph, DAG_SIZES, limit=limit)
    ranked = sorted(names, key=lambda n: (-_degree(graph, n), n))
    hubs = tuple(
        HubTool(
            name=n, domain=graph.domain(n), feeds=len(graph.neighbors(n)), fed_by=len(graph.predecessors(n))
        )
        for n in ranked[:top]
        if _degree(graph, n)
    )
    capped = [
        name
        for name, hit in (("longest_chain", longest_capped), ("chains", chains_capped), ("dags", dags_capped))
        if hit
    ]
    return GraphStats(
        tools=len(names),
        data_edges=len(graph.edges),
        domain_edges=sum(len(m) * (len(m) - 1) // 2 for m in graph.domains.values()),
        domains=len(graph.domains),
        components=len(sizes),
        largest_component=max(sizes, default=0),
        roots=len(graph.roots()),
        isolated=tuple(n for n in names if not _degree(graph, n)),
        longest_chain=longest,
        chains=chains,
        fan_outs=count_fans(graph, out=True),
        fan_ins=count_fans(graph, out=False),
        dags=dags,
        hubs=hubs,
        threshold=graph.threshold,
        hub_limit=graph.hub_limit,
        capped=tuple(capped),
    )


def to_dot(graph: ToolGraph, *, clusters: bool = True, name: str = "tools") -> str:
    """The graph in Graphviz DOT: data edges as arrows, domains as dashed clusters.

    Each arrow carries one line per parameter it fills, `output_path → parameter (score)`.
    With `clusters`, every domain of two or more tools is drawn as a dashed box around them: the
    same-domain edges, without drawing k(k−1)/2 lines per domain. Render with
    `dot -Tsvg graph.dot -o graph.svg`.
    """
    lines = [
        f"digraph {_quote(name)} {{",
        "  graph [rankdir=LR, fontname=Helvetica];",
        "  node [shape=box, style=rounded, fontname=Helvetica];",
        "  edge [fontname=Helvetica, fontsize=10];",
    ]
    placed: set[str] = set()
    if clusters:
        for index, (domain, members) in enumerate(graph.domains.items()):
            if len(members) < 2:
                continue
            lines.append(f"  subgraph cluster_{index} {{")
            lines.append(f"    label={_quote(domain)}; style=dashed; color=gray50;")
            lines.extend(f"    {_quote(m)};" for m in members)
            lines.append("  }")
            placed.update(members)
    lines.extend(f"  {_quote(n)};" for n in graph.names if n not in placed)
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    for edge in graph.edges:
        labels[(edge.source, edge.target)].append(f"{edge.output_path} → {edge.parameter} ({edge.score:.2f})")
    for (source, target), text in labels.items():
        lines.append(f"  {_quote(source)} -> {_quote(target)} [label={_quote(chr(10).join(text))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    r"""A DOT string: quotes and backslashes escaped, newlines as DOT's `\n` line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _degree(graph: ToolGraph, name: str) -> int:
    return len(graph.neighbors(name)) + len(graph.predecessors(name))


def _components(graph: ToolGraph) -> list[int]:
    """Sizes of the weakly connected components over data edges, largest first."""
    parent = {n: n for n in graph.names}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for edge in graph.edges:
        a, b = find(edge.source), find(edge.target)
        if a != b:
            parent[max(a, b)] = min(a, b)
    sizes: dict[str, int] = defaultdict(int)
    for n in graph.names:
        sizes[find(n)] += 1
    return sorted(sizes.values(), reverse=True)
