"""The tool graph: which tool's output can feed which tool's input, scored without any model.

A data edge A→B means "a field of A's `returns` can be passed as a parameter of B", so a dialog
can call A and then B with A's result: the dependent (nested) calls that chain, fan and DAG
samplers need. The score of an edge is `type compatibility × name similarity`, both rule-based by
default, so the graph is pure, fast and the same on every machine. (DiGiT scores names with
sentence embeddings; names and abbreviations cover the common cases without a model, and an
embedding scorer can be plugged in, see `graph_embed`.) Tools of one domain are also related:
the graph keeps them as groups (`domains`, `domain_edges()`), apart from the data edges, so
samplers that follow data never mistake a shared topic for a dataflow.
See docs/generate.md, section "Tool graph".
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from callforge.core import ConfigError, SpecError, ToolSpec

DEFAULT_THRESHOLD = 0.6
"""Edges scoring below this are dropped. 0.6 keeps a partial name match (0.8) of same-typed fields,
an exact name across integer→number (0.8) and both at once (0.64); it drops a word overlap of one
word in two (0.5), any match to an unknown type (≤ 0.3) and disjoint objects (≤ 0.5)."""

HUB_MIN_FEEDERS = 5
HUB_SHARE = 0.02
"""With `hub_limit="auto"`, a parameter is a hub when more than max(HUB_MIN_FEEDERS, HUB_SHARE × tools)
tools can feed it (5 for up to 250 tools, 38 for 1,853)."""

# Type compatibility of an output (source) with a parameter (target).
TYPE_SAME = 1.0
TYPE_INTEGER_NUMBER = 0.8
TYPE_OBJECT_SHARED = 0.9
TYPE_OBJECT_DISJOINT = 0.5
TYPE_UNKNOWN = 0.3

# Name similarity tiers.
NAME_EXACT = 1.0
NAME_NORMALISED = 0.95
NAME_PARTIAL = 0.8

_MAX_DEPTH = 8  # how deep `returns` is walked; real APIs nest far less
# fmt: off
_ABBREVIATIONS = {
    "lat": "latitude", "lng": "longitude", "lon": "longitude", "long": "longitude", "qty": "quantity",
    "num": "number", "nr": "number", "no": "number", "addr": "address", "desc": "description",
    "temp": "temperature", "dest": "destination", "dst": "destination", "src": "source", "msg": "message",
    "img": "image", "loc": "location", "pos": "position", "tz": "timezone", "amt": "amount", "cnt": "count",
    "idx": "index", "pwd": "password", "usr": "user", "ref": "reference", "info": "information",
    "cfg": "configuration", "config": "configuration", "avg": "average", "dept": "department",
    "org": "organization", "repo": "repository", "lang": "language", "dir": "directory", "doc": "document",
    "dob": "birthdate",
}
# Words a name can add after a noun and still denote it: `city_name` is the city, `distance_km` the
# distance; `day_low` is not a day and `guest_rating` not a guest.
_DETAILS = frozenset((
    "id", "name", "code", "key", "number", "label", "title", "text", "value", "string",
    "c", "f", "k", "m", "km", "mi", "ft", "kg", "lb", "g", "l", "ms", "s", "sec",
    "usd", "eur", "gbp", "pct", "percent", "utc", "iso",
))
_QUALIFIERS = frozenset(("per", "of", "for"))  # `price_per_passenger` is a price, not a passenger
GENERIC_NAMES = frozenset((
    "id", "name", "code", "type", "value", "key", "title", "number", "status", "date", "time", "url", "label",
))
"""One-word field names that mean nothing without their context: read as `<context noun>_<name>`."""
_VERBS = frozenset((
    "get", "list", "search", "find", "fetch", "lookup", "query", "retrieve", "read", "show", "create", "add",
    "make", "generate", "post", "put", "update", "set", "edit", "modify", "delete", "remove", "cancel", "book",
    "reserve", "buy", "order", "send", "check", "calculate", "compute", "convert", "estimate", "count",
    "track", "validate", "verify", "translate", "start", "stop", "run", "play", "schedule", "is", "has",
))
_MODIFIERS = frozenset((
    "current", "latest", "new", "all", "top", "recent", "nearby", "my", "random", "daily", "hourly",
))
# fmt: on
_DIALECT_TYPES = {
    "float": "number",
    "double": "number",
    "int": "integer",
    "long": "integer",
    "dict": "object",
    "list": "array",
    "tuple": "array",
    "str": "string",
    "bool": "boolean",
}
_KINDS = ("string", "integer", "number", "boolean", "object", "array")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_FILE_SUFFIXES = (".py", ".json", ".jsonl", ".yaml", ".yml")
_NAMESPACE = re.compile(r"\.|__|/|:")

DomainKey = Callable[[ToolSpec], str]
"""A function giving a tool's domain; `domain_of` by default."""


class Edge(BaseModel):
    """One dataflow link: `output_path` of `source`'s result can be passed as `parameter` of `target`.

    `output_path` is written `flights[].flight_id` (`[]` steps into array items, so a scalar
    parameter is fed from one element), `[].id` when the result itself is an array, and `$`
    when the whole result is the value.
    """

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    output_path: str
    parameter: str
    score: float


class DomainEdge(BaseModel):
    """Two tools of one domain (see `domain_of`): related by topic, not by data.

    Undirected, so `a` < `b`; kept apart from `Edge` because nothing flows along it: samplers of
    dependent calls follow data edges only, while distractor and topic choices use domains.
    """

    model_config = ConfigDict(frozen=True)

    a: str
    b: str
    domain: str


class NameScorer(Protocol):
    """How likely two field names mean the same thing, from 0 to 1 (`name_similarity` by default)."""

    def __call__(self, a: str, b: str) -> float:
        """Score names `a` (an output) and `b` (a parameter)."""
        ...


@runtime_checkable
class BatchNameScorer(NameScorer, Protocol):
    """A scorer that wants every name up front (an embedding model encodes them in one batch)."""

    def prepare(self, names: Sequence[str]) -> None:
        """Called once by `ToolGraph.build` with every distinct name it will score, sorted."""
        ...


# --- type compatibility -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Type:
    """What the rules need of a schema: its JSON type, property names and item type."""

    kind: str | None  # one of _KINDS, or None when unknown / any
    props: frozenset[str] = frozenset()
    items: _Type | None = None


_UNKNOWN = _Type(None)


def type_compatibility(
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    *,
    source_defs: Mapping[str, Any] | None = None,
    target_defs: Mapping[str, Any] | None = None,
) -> float:
    """How well a value shaped like `source` fits a parameter shaped like `target` (0 to 1).

    Same scalar 1.0; integer↔number 0.8; object↔object 0.9 when they share a property name,
    else 0.5; array↔array the compatibility of their items; array↔non-array 0, since a list
    passed where one value is expected (or the reverse) is a wrong call; unknown or `any` 0.3;
    any other pair 0. `*_defs` resolve local `$ref`s (`#/$defs/...`).
    """
    return _compat(_type_of(source, source_defs or {}, ()), _type_of(target, target_defs or {}, ()))


def _compat(a: _Type, b: _Type) -> float:
    if a.kind is None or b.kind is None:
        return TYPE_UNKNOWN
    if (a.kind == "array") != (b.kind == "array"):
        return 0.0
    if a.kind == "array":
        if a.items is None or b.items is None:
            return TYPE_UNKNOWN
        return _compat(a.items, b.items)
    if a.kind == "object" or b.kind == "object":
        if a.kind != b.kind:
            return 0.0
        return TYPE_OBJECT_SHARED if a.props & b.props else TYPE_OBJECT_DISJOINT
    if a.kind == b.kind:
        return TYPE_SAME
    if {a.kind, b.kind} == {"integer", "number"}:
        return TYPE_INTEGER_NUMBER
    return 0.0


def _resolve(
    schema: Any, defs: Mapping[str, Any], stack: tuple[str, ...]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Follow local `$ref`s and single-branch `anyOf`/`oneOf`/`allOf` (pydantic's Optional)."""
    node: dict[str, Any] = schema if isinstance(schema, dict) else {}
    for _ in range(_MAX_DEPTH):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            target = defs.get(name) if ref.startswith(("#/$defs/", "#/definitions/")) else None
            if not isinstance(target, dict) or name in stack:
                return {}, stack  # remote, missing or recursive: unknown
            node, stack = {**target, **{k: v for k, v in node.items() if k != "$ref"}}, (*stack, name)
            continue
        branches = next((node[k] for k in ("anyOf", "oneOf", "allOf") if isinstance(node.get(k), list)), None)
        if branches is None:
            return node, stack
        kept = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(kept) != 1 or not isinstance(kept[0], dict):
            return node, stack
        node = {**{k: v for k, v in node.items() if k not in ("anyOf", "oneOf", "allOf")}, **kept[0]}
    return node, stack


def _kind_of(node: Mapping[str, Any]) -> str | None:
    declared = node.get("type")
    if isinstance(declared, list):
        kinds = {_DIALECT_TYPES.get(t, t) for t in declared if isinstance(t, str) and t != "null"}
        declared = "number" if kinds == {"integer", "number"} else (kinds.pop() if len(kinds) == 1 else None)
    if isinstance(declared, str):
        kind = _DIALECT_TYPES.get(declared, declared)
        return kind if kind in _KINDS else None
    if "properties" in node:
        return "object"
    if "items" in node:
        return "array"
    values: list[Any] = node["enum"] if isinstance(node.get("enum"), list) else []
    if "const" in node:
        values = [node["const"]]
    found = {_json_kind(v) for v in values}
    if len(found) == 1:
        return found.pop()
    branches = next((node[k] for k in ("anyOf", "oneOf") if isinstance(node.get(k), list)), None)
    if branches:
        found = {_kind_of(b) if isinstance(b, dict) else None for b in branches}
        found.discard("null")
        return found.pop() if len(found) == 1 else None
    return None


def _json_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _type_of(schema: Any, defs: Mapping[str, Any], stack: tuple[str, ...], depth: int = 0) -> _Type:
    node, stack = _resolve(schema, defs, stack)
    kind = _kind_of(node)
    if kind == "object":
        props = node.get("properties")
        return _Type("object", frozenset(props) if isinstance(props, dict) else frozenset())
    if kind == "array":
        items = node.get("items")
        if not isinstance(items, dict) or depth >= _MAX_DEPTH:
            return _Type("array")
        return _Type("array", items=_type_of(items, defs, stack, depth + 1))
    return _Type(kind) if kind else _UNKNOWN


# --- name similarity --------------------------------------------------------------------------


def _singular(token: str) -> str:
    if token == "ids":
        return "id"
    if len(token) <= 3:
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    if token.endswith(("sses", "shes", "ches", "xes", "zes", "uses")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


@functools.lru_cache(maxsize=16384)
def _tokens(name: str) -> tuple[str, ...]:
    """Lowercase singular words of a name: `flightIds` and `flight_ids` both give (flight, id)."""
    words = _NON_ALNUM.split(_CAMEL.sub("_", name))
    return tuple(_singular(w.lower()) for w in words if w)


def _expand(token: str) -> str:
    return _ABBREVIATIONS.get(token, token)


def _same_word(a: str, b: str) -> bool:
    """Equal, one a known abbreviation of the other, or a clear prefix (`temp`/`temperature`)."""
    a, b = _expand(a), _expand(b)
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 3 and len(long) >= len(short) + 3 and long.startswith(short)


def _same_words(a: Sequence[str], b: Sequence[str]) -> bool:
    return len(a) == len(b) and all(_same_word(x, y) for x, y in zip(a, b, strict=True))


def _split(tokens: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Head and qualifier: `max_price_per_night` → ((max, price), (per, night))."""
    cut = next((i for i, t in enumerate(tokens) if t in _QUALIFIERS), len(tokens))
    return (tokens[:cut], tokens[cut:]) if cut else (tokens, ())


def main_noun(name: str) -> str:
    """What a tool or field name is about: its first word once a leading verb and modifiers go.

    `search_flights`, `book_flight` and `get_current_flight_status` → `flight`; `get_book_details`
    → `book`; `geocode` → `geocode`. Used to read generic field names in context and, in
    `domain_of`, to group tools into domains.
    """
    words = _tokens(name)
    if not words:
        return name.lower()
    lead = 1 if len(words) > 1 and words[0] in _VERBS else 0
    while lead < len(words) - 1 and words[lead] in _MODIFIERS:
        lead += 1
    return words[lead]


def domain_of(tool: ToolSpec) -> str:
    """The tool's domain: what same-domain edges, domain samples and distractors group by.

    Rules, first match wins: (0) the tool's own `domain` (synthesized pools, OpenAPI tags, MCP
    servers set it); (1) a `source` naming a file (a path, or a name ending in .py,
    .json, .jsonl, .yaml, .yml, optionally followed by `:line`) gives the file's stem, so the
    tools of `travel.py` form the domain `travel`; (2) a name with a namespace (`weather.forecast`,
    MCP-style `github__create_issue`, `a/b`, `a:b`) gives the part before it; (3) otherwise the
    name's main noun (`main_noun`): its first word once a leading verb and modifiers are skipped,
    singularised (`search_flights`, `book_flight` and `get_current_flight_status` → `flight`;
    `get_book_details` → `book`; `spotify_play` → `spotify`; `geocode` → `geocode`). Pass another
    function as `domain_key` where a catalogue has real categories. It lives here, not in
    `callforge.generate`, because the graph needs it and `tools` must not import `generate`.
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


def _index_key(token: str) -> str:
    """A key that any two `_same_word` tokens share, so candidates are found without all pairs."""
    return _expand(token)[:3]


def name_keys(name: str) -> frozenset[str]:
    """Keys of a name's words: two names with `name_similarity` > 0 always share one.

    Lets a caller index many names and compare only those that share a key.
    """
    return frozenset(_index_key(t) for t in _tokens(name))


@functools.lru_cache(maxsize=65536)
def name_similarity(a: str, b: str) -> float:
    """How likely two field names mean the same thing (0 to 1), from their words alone.

    Names are split into lowercase singular words (`flightIds` → flight, id), then:

    - 1.0: the same name.
    - 0.95: the same words (`flightIds`/`flight_id`, `cities`/`city`).
    - 0.8: the words match through an abbreviation (`lat`/`latitude`), or one name's words end
      the other's (`id`/`flight_id`, `price`/`max_price`), or begin them followed only by an
      identifying word or a unit (`city`/`city_name`, `distance`/`distance_km`; not
      `day`/`day_low`). Words from `per`/`of`/`for` on must agree, so `max_price_per_night`
      matches `price_per_night` but `price_per_passenger` is no `passenger`.
    - otherwise the Jaccard overlap of the words, capped at 0.8; 0 when no word matches.
    """
    if a == b:
        return NAME_EXACT
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return 0.0
    if ta == tb:
        return NAME_NORMALISED
    (ha, qa), (hb, qb) = _split(ta), _split(tb)
    short, long = (ha, hb) if len(ha) <= len(hb) else (hb, ha)
    n = len(short)
    if _same_words(qa, qb) and (
        _same_words(short, long[-n:]) or (_same_words(short, long[:n]) and set(long[n:]) <= _DETAILS)
    ):
        return NAME_PARTIAL
    short, long = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    free = list(long)
    matched = 0
    for word in short:
        hit = next((i for i, other in enumerate(free) if _same_word(word, other)), None)
        if hit is not None:
            matched += 1
            del free[hit]
    if not matched:
        return 0.0
    return min(NAME_PARTIAL, matched / (len(ta) + len(tb) - matched))


# --- outputs and parameters -------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """An output of one tool or a parameter of another, ready for scoring."""

    path: str
    name: str  # the name scored: `flight_id` for the generic `id` of `flights[]`, else the field's own
    qualified: bool  # whether `name` was built from the context rather than read
    type: _Type


def _field(path: str, name: str, context: str, typ: _Type) -> _Field:
    """Read a generic name (`id`, `name`, …) in its context, so `airports[].name` ≠ `guest_name`."""
    words = _tokens(name)
    if len(words) == 1 and words[0] in GENERIC_NAMES and context and context != words[0]:
        return _Field(path, f"{context}_{name}", True, typ)
    return _Field(path, name, False, typ)


def _defs(schema: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        value = schema.get(key)
        if isinstance(value, dict):
            out.update(value)
    return out


def _outputs(tool: ToolSpec) -> list[_Field]:
    """Every named field of the tool's result: scalar leaves, and objects and arrays as wholes.

    Whole objects and arrays are kept because a parameter can take them as they are (a `location`
    object, a list of ids). `[]` steps into an array only when its items are records
    (`flights[].flight_id`): picking one search result and acting on it is the common dependent
    call, while a list of scalars stays a list, so `tags: list[str]` never feeds `tag: str`.
    Echoes of the tool's own arguments are left out (see `_echo`).
    """
    if not tool.returns:
        return []
    defs = _defs(tool.returns)
    found: list[_Field] = []

    def walk(schema: Any, path: str, name: str, context: str, stack: tuple[str, ...], depth: int) -> None:
        node, stack = _resolve(schema, defs, stack)
        typ = _type_of(node, defs, stack)
        props = node.get("properties") if typ.kind == "object" else None
        fields = props if isinstance(props, dict) and props else None
        if path or fields is None:
            found.append(_field(path or "$", name, context, typ))
        if depth >= _MAX_DEPTH:
            return
        inner = main_noun(name) if path else context  # `flights[].id` is read as `flight_id`
        if fields is not None:
            for key in sorted(fields):
                walk(fields[key], f"{path}.{key}" if path else key, key, inner, stack, depth + 1)
        elif _holds_records(typ):
            walk(node["items"], f"{path}[]", name, context, stack, depth + 1)

    walk(tool.returns, "", tool.name, main_noun(tool.name), (), 0)
    own = {_tokens(name) for name in tool.properties}
    return [f for f in found if not _echo(f.path, own)]


def _echo(path: str, own: set[tuple[str, ...]]) -> bool:
    """A result field outside any array that repeats one of the tool's own arguments.

    The caller had that value before the call, so passing it on is no dependency (`geocode`
    returning its `query`, `book_flight` returning its `cabin`); a field of an array item
    (`hotels[].latitude`) is new data even when an argument shares its name.
    """
    return "[]" not in path and path != "$" and _tokens(path.rsplit(".", 1)[-1]) in own


def _holds_records(typ: _Type) -> bool:
    """An array whose items are objects with fields (or arrays of them)."""
    items = typ.items
    if typ.kind != "array" or items is None:
        return False
    return (items.kind == "object" and bool(items.props)) or _holds_records(items)


def _parameters(tool: ToolSpec) -> list[_Field]:
    defs = _defs(tool.parameters)
    noun = main_noun(tool.name)  # get_user(id) takes a `user_id`
    return [
        _field(name, name, noun, _type_of(schema, defs, ()))
        for name, schema in sorted(tool.properties.items())
    ]


def _score(output: _Field, parameter: _Field, similarity: NameScorer = name_similarity) -> float:
    typ = _compat(output.type, parameter.type)
    if not typ:
        return 0.0
    name = similarity(output.name, parameter.name)
    if output.qualified or parameter.qualified:
        name = min(name, NAME_NORMALISED)  # a match through context is not an exact one
    return round(typ * name, 4)


# --- the graph --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ToolGraph:
    """Which tools can feed which: tools, scored edges, and the queries samplers need.

    Build one with `ToolGraph.build(tools)`. Edges are sorted by (source, target, parameter,
    output_path), and every query answers in a sorted order, so anything drawn from the graph
    with a seeded `random.Random` is the same on every run and machine.
    """

    tools: tuple[ToolSpec, ...]
    edges: tuple[Edge, ...]
    threshold: float = DEFAULT_THRESHOLD
    hub_limit: int | None = None
    domain_key: DomainKey = field(default=domain_of, repr=False)
    _by_name: dict[str, ToolSpec] = field(init=False, repr=False, compare=False)
    _out: dict[str, tuple[Edge, ...]] = field(init=False, repr=False, compare=False)
    _in: dict[str, tuple[Edge, ...]] = field(init=False, repr=False, compare=False)
    _succ: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _pred: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _domain: dict[str, str] = field(init=False, repr=False, compare=False)
    _members: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, ToolSpec] = {}
        for tool in self.tools:
            if tool.name in by_name:
                raise SpecError(
                    f"two tools are named {tool.name!r}",
                    source=tool.source,
                    tool=tool.name,
                    expected="unique tool names (a call names its tool)",
                )
            by_name[tool.name] = tool
        out: dict[str, list[Edge]] = {name: [] for name in by_name}
        into: dict[str, list[Edge]] = {name: [] for name in by_name}
        for edge in sorted(self.edges, key=_edge_key):
            if edge.source not in by_name or edge.target not in by_name:
                missing = edge.source if edge.source not in by_name else edge.target
                raise ConfigError(
                    f"edge {edge.source}→{edge.target} names {missing!r}, which is not among the tools"
                )
            if edge.source == edge.target:
                raise ConfigError(f"edge {edge.source}→{edge.target} is a self-loop; a chain needs two tools")
            out[edge.source].append(edge)
            into[edge.target].append(edge)
        object.__setattr__(self, "edges", tuple(sorted(self.edges, key=_edge_key)))
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_out", {k: tuple(v) for k, v in out.items()})
        object.__setattr__(self, "_in", {k: tuple(v) for k, v in into.items()})
        object.__setattr__(self, "_succ", {k: tuple(sorted({e.target for e in v})) for k, v in out.items()})
        object.__setattr__(self, "_pred", {k: tuple(sorted({e.source for e in v})) for k, v in into.items()})
        domain = {name: self.domain_key(by_name[name]) for name in sorted(by_name)}
        members: dict[str, list[str]] = {}
        for name, key in domain.items():
            members.setdefault(key, []).append(name)
        object.__setattr__(self, "_domain", domain)
        object.__setattr__(self, "_members", {k: tuple(members[k]) for k in sorted(members)})

    @classmethod
    def build(
        cls,
        tools: Sequence[ToolSpec],
        *,
        threshold: float = DEFAULT_THRESHOLD,
        similarity: NameScorer | None = None,
        hub_limit: int | Literal["auto"] | None = "auto",
        domain_key: DomainKey = domain_of,
    ) -> ToolGraph:
        """Score every output of every tool against every parameter of every other tool.

        For each (source, target, parameter) only the best-scoring output is kept (ties go to the
        shorter, then alphabetically first path), so an edge says which field to pass. Edges with
        score ≥ `threshold` stay; a score of 0 never does. Candidate pairs come from a word index
        (see `_Candidates`), so thousands of tools build in seconds, not hours.

        `similarity` replaces `name_similarity` (an embedding scorer, see `graph_embed`); since a
        model can match names that share no word, every type-compatible pair is then scored, once
        per distinct pair of names. `hub_limit` damps generic parameters: when k tools can feed a
        parameter and k exceeds the limit, their edges into it are scaled by limit / k (then the
        threshold applies again), so `currency`, which a dozen results carry, stops linking every
        booking to `portfolio_value`. "auto" is max(HUB_MIN_FEEDERS, HUB_SHARE × tools); None
        turns it off. `domain_key` groups tools into domains (`domain_of` by default).
        """
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold={threshold} is outside 0..1; the default is {DEFAULT_THRESHOLD}")
        limit = _hub_limit(hub_limit, len(tools))
        ordered = sorted(tools, key=lambda t: t.name)
        outputs = {tool.name: _outputs(tool) for tool in ordered}
        params = [(tool.name, param) for tool in ordered for param in _parameters(tool)]
        scorer: NameScorer = name_similarity
        finder: _Candidates | None = None
        if similarity is None:
            finder = _Candidates(params, [f for fields in outputs.values() for f in fields], threshold)
        else:  # a model may match names that share no word: no index, every pair
            names = {f.name for fields in outputs.values() for f in fields} | {p.name for _, p in params}
            scorer = _Cached(similarity, sorted(names))
        edges: list[Edge] = []
        for tool in ordered:
            best: dict[tuple[str, str], tuple[float, str]] = {}
            for output in outputs[tool.name]:
                for target, param in finder.for_output(output) if finder else params:
                    if target == tool.name:
                        continue
                    score = _score(output, param, scorer)
                    if score <= 0 or score < threshold:
                        continue
                    slot = (target, param.path)
                    held = best.get(slot)
                    if held is None or _better(score, output.path, *held):
                        best[slot] = (score, output.path)
            edges.extend(
                Edge(source=tool.name, target=target, output_path=path, parameter=param, score=score)
                for (target, param), (score, path) in best.items()
            )
        if limit is not None:
            edges = _damp_hubs(edges, limit, threshold)
        return cls(
            tools=tuple(tools),
            edges=tuple(edges),
            threshold=threshold,
            hub_limit=limit,
            domain_key=domain_key,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Tool names, sorted."""
        return tuple(sorted(self._by_name))

    def tool(self, name: str) -> ToolSpec:
        """The ToolSpec called `name`."""
        self._check(name)
        return self._by_name[name]

    def edges_from(self, name: str) -> tuple[Edge, ...]:
        """Edges whose source is `name`: where its results can go."""
        self._check(name)
        return self._out[name]

    def edges_to(self, name: str) -> tuple[Edge, ...]:
        """Edges whose target is `name`: which results can fill its parameters."""
        self._check(name)
        return self._in[name]

    def edges_between(self, source: str, target: str) -> tuple[Edge, ...]:
        """Every edge from `source` to `target` (one per parameter of `target` it can fill)."""
        self._check(target)
        return tuple(e for e in self.edges_from(source) if e.target == target)

    def neighbors(self, name: str) -> tuple[str, ...]:
        """Tools that `name`'s results can feed (its successors), sorted."""
        self._check(name)
        return self._succ[name]

    def predecessors(self, name: str) -> tuple[str, ...]:
        """Tools whose results can feed `name`, sorted."""
        self._check(name)
        return self._pred[name]

    def roots(self) -> tuple[str, ...]:
        """Tools that feed others and are fed by none: where a dependent scenario can start."""
        return tuple(n for n in self.names if self._out[n] and not self._in[n])

    def chains(self, max_len: int = 3) -> tuple[tuple[str, ...], ...]:
        """Every simple path of 2 to `max_len` tools, shortest first, then alphabetically.

        The count grows fast with `max_len` on a dense graph; samplers draw one path at a time
        instead of listing them all.
        """
        if max_len < 2:
            raise ConfigError(f"max_len={max_len}: a chain has at least 2 tools")
        found: list[tuple[str, ...]] = []
        for start in self.names:
            found.extend(self._paths((start,), max_len))
        return tuple(sorted(found, key=lambda p: (len(p), p)))

    def chain_edges(self, path: Sequence[str]) -> tuple[Edge, ...]:
        """The edges joining consecutive tools of `path`, in path order: what each call passes on."""
        edges: list[Edge] = []
        for source, target in itertools.pairwise(path):
            between = self.edges_between(source, target)
            if not between:
                raise ConfigError(
                    f"no edge from {source!r} to {target!r}; {path!r} is not a chain of this graph"
                )
            edges.extend(between)
        return tuple(edges)

    def _paths(self, path: tuple[str, ...], max_len: int) -> Iterator[tuple[str, ...]]:
        if len(path) >= max_len:
            return
        for nxt in self.neighbors(path[-1]):
            if nxt not in path:
                longer = (*path, nxt)
                yield longer
                yield from self._paths(longer, max_len)

    def domain(self, name: str) -> str:
        """The domain of the tool called `name` (by the graph's `domain_key`)."""
        self._check(name)
        return self._domain[name]

    @property
    def domains(self) -> dict[str, tuple[str, ...]]:
        """Each domain and its tools, both sorted; a copy, so changing it changes nothing here."""
        return dict(self._members)

    def same_domain(self, name: str) -> tuple[str, ...]:
        """The other tools of `name`'s domain, sorted: its same-domain neighbours."""
        return tuple(n for n in self._members[self.domain(name)] if n != name)

    def domain_edges(self) -> tuple[DomainEdge, ...]:
        """Every pair of tools that share a domain, sorted by (domain, a, b).

        A domain of k tools gives k(k−1)/2 pairs, so a big pool has many; `domains` answers the
        same question in k names per domain, and is what samplers and reports use.
        """
        return tuple(
            DomainEdge(a=a, b=b, domain=key)
            for key, names in self._members.items()
            for a, b in itertools.combinations(names, 2)
        )

    def _check(self, name: str) -> None:
        if name not in self._by_name:
            raise KeyError(f"no tool named {name!r} in this graph")


class _Candidates:
    """Which parameters an output could reach the threshold with, found without trying all pairs.

    A name scoring ≥ t > 0 shares words with the other name (equal words, abbreviations and
    prefixes share an `_index_key`), and one of the two names has at least a fraction 2t/(1+t) of
    its words matched: all of them for the exact, normalised and partial tiers, and that much
    for a Jaccard overlap ≥ t. So one of its rarest `n − ⌈f·n⌉ + 1` words is matched (prefix
    filtering). Parameters are indexed by all their keys and by their rarest ones; an output
    probes the first index with its rarest keys and the second with all of its keys, which
    finds every pair that can score ≥ t and skips the common words (`id`, `name`) shared by
    thousands of unrelated fields.
    """

    def __init__(
        self, params: Sequence[tuple[str, _Field]], outputs: Sequence[_Field], threshold: float
    ) -> None:
        self.fraction = 2 * threshold / (1 + threshold)
        self.counts: dict[str, int] = {}
        for name in [p.name for _, p in params] + [o.name for o in outputs]:
            for key in {_index_key(t) for t in _tokens(name)}:
                self.counts[key] = self.counts.get(key, 0) + 1
        self.by_any: dict[str, list[tuple[str, _Field]]] = {}
        self.by_rare: dict[str, list[tuple[str, _Field]]] = {}
        for entry in params:
            for key in self._keys(entry[1].name):
                self.by_any.setdefault(key, []).append(entry)
            for key in self._rare(entry[1].name):
                self.by_rare.setdefault(key, []).append(entry)

    def for_output(self, output: _Field) -> list[tuple[str, _Field]]:
        """Candidate (tool, parameter) pairs for `output`, each once, in a fixed order."""
        seen: set[tuple[str, str]] = set()
        found: list[tuple[str, _Field]] = []
        probes = [(self.by_any, k) for k in self._rare(output.name)]
        probes += [(self.by_rare, k) for k in self._keys(output.name)]
        for index, key in probes:
            for entry in index.get(key, ()):
                slot = (entry[0], entry[1].path)
                if slot not in seen:
                    seen.add(slot)
                    found.append(entry)
        return found

    def _keys(self, name: str) -> list[str]:
        return sorted({_index_key(t) for t in _tokens(name)})

    def _rare(self, name: str) -> list[str]:
        keys = sorted((self.counts.get(_index_key(t), 0), _index_key(t)) for t in _tokens(name))
        needed = max(1, math.ceil(self.fraction * len(keys) - 1e-9))
        return sorted({key for _, key in keys[: len(keys) - needed + 1]})


class _Cached:
    """A pluggable scorer, primed with every name once and asked once per distinct pair, clamped to 0..1."""

    def __init__(self, inner: NameScorer, names: Sequence[str]) -> None:
        self.inner = inner
        self.seen: dict[tuple[str, str], float] = {}
        if isinstance(inner, BatchNameScorer):
            inner.prepare(names)

    def __call__(self, a: str, b: str) -> float:
        key = (a, b)
        if key not in self.seen:
            value = NAME_EXACT if a == b else float(self.inner(a, b))
            if math.isnan(value):
                raise ConfigError(f"the similarity scorer gave NaN for {a!r} and {b!r}; it must return 0..1")
            self.seen[key] = min(1.0, max(0.0, value))
        return self.seen[key]


def _hub_limit(value: int | Literal["auto"] | None, count: int) -> int | None:
    if value is None:
        return None
    if value == "auto":
        return max(HUB_MIN_FEEDERS, math.ceil(HUB_SHARE * count))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"hub_limit={value!r}: use a number of tools ≥ 1, 'auto', or None to turn damping off"
        )
    return value


def _damp_hubs(edges: Sequence[Edge], limit: int, threshold: float) -> list[Edge]:
    """Scale the edges into each parameter that more than `limit` tools feed by limit / feeders."""
    feeders = Counter((e.target, e.parameter) for e in edges)
    kept: list[Edge] = []
    for edge in edges:
        count = feeders[(edge.target, edge.parameter)]
        if count > limit:
            score = round(edge.score * limit / count, 4)
            if score <= 0 or score < threshold:
                continue
            edge = edge.model_copy(update={"score": score})
        kept.append(edge)
    return kept


def _better(score: float, path: str, held_score: float, held_path: str) -> bool:
    return (-score, len(path), path) < (-held_score, len(held_path), held_path)


def _edge_key(edge: Edge) -> tuple[str, str, str, str]:
    return (edge.source, edge.target, edge.parameter, edge.output_path)
