"""A rule-based model for `generate` served by the fake OpenAI server, for bench/generate_throughput.py.

It plays every role generation asks an endpoint for, told apart by the request's shape:

* simulator: the last user message starts with "Tool definition:"; the answer fills the tool's
  `returns` schema, echoing argument values where a field has an argument's name and deriving the
  rest from a hash of the call (so the same call always gets the same output);
* planner: `response_format` is a schema whose properties are `call_1..call_k`; values come from
  the request `seed` and the slot, so every attempt plans different values;
* user: a `{"message"}` schema; states the values of every call the prompt asks for (the
  `- what (name value, ...)` bullets of the user-role prompt, or the older `(values: k = v; ...)`)
  as `name value` groups between "Please help:" and " ~ ", with seeded filler words around them;
* assistant: everything else; reads the groups back into calls of the offered tool whose
  parameters they name, then answers from the tool results once they are there (no tool is
  offered when generate asks for the final answer with `tool_choice="none"`).

The parsing follows generate's prompt wording: when that changes, the yield drops and
generate_throughput.py says so (it exits non-zero below a yield of 0.5).

Run as a script it serves this policy in its own process (so the benchmark's CPU figures are the
client's alone) and answers line commands on stdin: `mark` opens a measurement window, `report [T0 T1]`
prints the window's counters as one JSON line (with the mean in flight between the perf_counter
times T0 and T1 too, Linux's perf_counter being the system-wide monotonic clock), `quit` stops.

    python bench/_gen_fake.py --latency 0.25 --capacity 64
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from callforge.core import ToolCall
from callforge.llm.fake_server import FakeOpenAIServer, Reply

# BFCL dialect, because its `response` becomes the ToolSpec's `returns` (the simulator's schema).
TOOLS: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "description": "Weather forecast for a city on a given day.",
        "parameters": {
            "type": "dict",
            "properties": {
                "city": {"type": "string", "description": "City name."},
                "date": {"type": "string", "description": "Day of the forecast, YYYY-MM-DD."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "date"],
        },
        "response": {
            "type": "dict",
            "properties": {
                "city": {"type": "string"},
                "date": {"type": "string"},
                "temperature": {"type": "float"},
                "conditions": {"type": "string"},
            },
            "required": ["city", "date", "temperature", "conditions"],
        },
    },
    {
        "name": "convert_currency",
        "description": "Convert an amount of money from one currency to another.",
        "parameters": {
            "type": "dict",
            "properties": {
                "amount": {"type": "float", "description": "Amount to convert."},
                "from_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY", "CHF"]},
                "to_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY", "CHF"]},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
        "response": {
            "type": "dict",
            "properties": {
                "amount": {"type": "float"},
                "converted": {"type": "float"},
                "rate": {"type": "float"},
            },
            "required": ["amount", "converted", "rate"],
        },
    },
    {
        "name": "find_books",
        "description": "Search a library catalogue for books on a topic.",
        "parameters": {
            "type": "dict",
            "properties": {
                "topic": {"type": "string", "description": "What the books are about."},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["topic"],
        },
        "response": {
            "type": "dict",
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "dict",
                        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
                        "required": ["title", "year"],
                    },
                },
                "total": {"type": "integer"},
            },
            "required": ["results", "total"],
        },
    },
]

CITIES = (
    "Paris", "Lisbon", "Tokyo", "Lima", "Oslo", "Nairobi", "Quito", "Hanoi", "Dublin", "Vienna",
    "Seoul", "Denver", "Porto", "Krakow", "Cairo", "Bogota", "Perth", "Lyon", "Tallinn", "Accra",
    "Zurich", "Madrid", "Austin", "Kyoto", "Bergen", "Riga", "Osaka", "Havana", "Manila", "Dakar",
)  # fmt: skip
ADJECTIVES = (
    "ancient", "urban", "coastal", "modern", "medieval", "tropical", "quiet", "alpine", "desert",
    "northern", "rural", "electric", "maritime", "baroque", "nomadic", "volcanic", "arctic", "lunar",
)  # fmt: skip
NOUNS = (
    "gardens", "bridges", "railways", "lighthouses", "markets", "orchards", "observatories",
    "monasteries", "canals", "vineyards", "glaciers", "libraries", "harbours", "windmills", "caves",
)  # fmt: skip
OPENERS = (
    "Hi there.", "Hello!", "Good morning.", "Hey, quick one.", "Hi, hoping you can help.",
    "Evening!", "Hello again.", "Hi, I am planning ahead.", "Greetings.", "Hey there, small favour.",
)  # fmt: skip
CLOSERS = (
    "thanks a lot", "much appreciated", "cheers", "thank you kindly", "that would be great",
    "grateful as always", "thanks in advance", "many thanks", "you are a star", "appreciate it",
)  # fmt: skip
FILLER = (
    "today", "soon", "please", "honestly", "quickly", "for my notes", "when you can", "if possible",
    "for the family", "before the weekend", "for work", "for a friend", "before lunch", "tonight",
)  # fmt: skip

_VALUES = re.compile(r"\(values: ([^)]*)\)")
_BULLET = re.compile(r"^- .*\(([^()]*)\)(?:;.*)?$")
_START = "Please help: "
_END = " ~ "


def write_tools(folder: Path) -> Path:
    """Write the tool spec (JSON, no code: its tools run on the simulating model) into `folder`."""
    path = folder / "bench_tools.json"
    path.write_text(json.dumps(TOOLS, indent=1))
    return path


def _rng(*parts: Any) -> random.Random:
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


class GenWorld:
    """The policy: one reply per request, counted by the role that asked (`counts`)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def reply(self, request: dict[str, Any]) -> Reply:
        """Tell the role from the request's shape and answer as that role."""
        messages = [m for m in request.get("messages") or () if isinstance(m, dict)]
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        last_user = _text(messages[users[-1]].get("content")) if users else ""
        schema = ((request.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
        props = schema.get("properties") if isinstance(schema, dict) else None
        props = props if isinstance(props, dict) else {}
        if last_user.startswith("Tool definition:"):
            self.counts["simulator"] += 1
            return Reply(text=_simulate(last_user))
        if props and all(k.startswith("call_") for k in props) and not request.get("tools"):
            self.counts["planner"] += 1
            return Reply(text=_plan(props, int(request.get("seed") or 0)))
        if set(props) == {"message"} and not request.get("tools"):
            self.counts["user"] += 1
            return Reply(text=_user(last_user, int(request.get("seed") or 0)))
        self.counts["assistant"] += 1
        return _assistant(messages, request.get("tools") or [])


# -- planner ---------------------------------------------------------------------------------------


def _plan(props: dict[str, Any], seed: int) -> str:
    out = {}
    for slot, schema in props.items():
        params = (schema.get("properties") if isinstance(schema, dict) else None) or {}
        out[slot] = {name: _value(name, prop, _rng(seed, slot, name)) for name, prop in params.items()}
    return orjson.dumps(out).decode()


def _value(name: str, prop: dict[str, Any], rng: random.Random) -> Any:
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return rng.choice(prop["enum"])
    kind = prop.get("type")
    if kind == "integer":
        low, high = max(int(prop.get("minimum", 2)), 2), min(int(prop.get("maximum", 40)), 40)
        return rng.randint(low, max(low, high))
    if kind == "number":
        return round(rng.uniform(12, 9000), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if name == "date" or name.endswith("_date"):
        return (datetime.date(2026, 1, 1) + datetime.timedelta(days=rng.randrange(365))).isoformat()
    if name in ("city", "location"):
        return rng.choice(CITIES)
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


# -- user ------------------------------------------------------------------------------------------


def _user(prompt: str, seed: int) -> str:
    rng = _rng("user", seed)
    if "can only do these things" in prompt:  # no_call: ask for something no tool does
        topic = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        return orjson.dumps({"message": f"{rng.choice(OPENERS)} What makes {topic} worth a visit, in your view?"}).decode()
    filler = " ".join(rng.sample(FILLER, 2))
    groups = " | ".join(_asked(prompt))
    text = f"{rng.choice(OPENERS)} {filler}. {_START}{groups}{_END}{rng.choice(CLOSERS)}."
    return orjson.dumps({"message": text}).decode()


def _asked(prompt: str) -> list[str]:
    """One `name value, name value` group per call the prompt asks for (both prompt styles)."""
    groups = []
    for values in _VALUES.findall(prompt):  # "(values: city = Paris; date = 2026-03-04)"
        groups.append(", ".join(f"{k} {v}" for k, v in (p.split(" = ", 1) for p in values.split("; ") if " = " in p)))
    if groups:
        return groups
    for line in prompt.splitlines():  # "- Weather forecast for a city (city Paris, date 2026-03-04)"
        match = _BULLET.match(line)
        if match:
            groups.append(match.group(1))
    return groups


# -- assistant -------------------------------------------------------------------------------------


def _assistant(messages: list[dict[str, Any]], tools: list[Any]) -> Reply:
    functions = [t.get("function", t) for t in tools if isinstance(t, dict)]
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    after = messages[last_user + 1 :]
    results = [m for m in after if m.get("role") == "tool"]
    if results:
        parts = [_flatten(orjson.loads(_text(m.get("content")) or "null")) for m in results]
        return Reply(text="Here is what I found: " + "; ".join(p for p in parts if p) + ".")
    text = _text(messages[last_user].get("content")) if last_user >= 0 else ""
    if _START not in text:
        return Reply(text="I cannot look that up with the tools I have, but I am happy to talk it through.")
    body = text.split(_START, 1)[1].split(_END, 1)[0]
    calls = []
    for group in body.split(" | "):
        found = _match(group.split(", "), functions)
        if found is not None:
            function, pairs = found
            calls.append(ToolCall(name=function["name"], arguments=_typed(pairs, function)))
    if not calls:
        return Reply(text="Could you tell me a bit more about what you need?")
    return Reply(tool_calls=tuple(calls))


def _match(items: list[str], functions: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The offered function whose parameters name every `name value` item (names with `_` or spaces)."""
    fits = []
    for function in functions:
        params = function.get("parameters") or {}
        props = params.get("properties") or {}
        # longest names first, so "to currency" is not read as a parameter "to"
        names = sorted(props, key=len, reverse=True)
        pairs: dict[str, str] = {}
        for item in items:
            name = next((n for n in names if item.startswith((n + " ", n.replace("_", " ") + " "))), None)
            if name is None:
                break
            pairs[name] = item[len(name) + 1 :]
        else:
            if pairs and set(params.get("required") or ()) <= set(pairs):
                fits.append((len(props), function["name"], function, pairs))
    return min(fits, key=lambda f: f[:2])[2:] if fits else None


def _typed(pairs: dict[str, str], function: dict[str, Any]) -> dict[str, Any]:
    props = (function.get("parameters") or {}).get("properties") or {}
    out: dict[str, Any] = {}
    for key, value in pairs.items():
        kind = (props.get(key) or {}).get("type")
        out[key] = int(value) if kind == "integer" else float(value) if kind == "number" else value
    return out


def _flatten(value: Any, key: str = "") -> str:
    if isinstance(value, dict):
        return ", ".join(s for k, v in value.items() if (s := _flatten(v, k)))
    if isinstance(value, list):
        return ", ".join(s for v in value if (s := _flatten(v, key)))
    if value is None or isinstance(value, bool):
        return ""
    return f"{key} {value}".strip()


# -- simulator -------------------------------------------------------------------------------------


def _simulate(prompt: str) -> str:
    head, _, rest = prompt.partition("\n\nCall arguments:\n")
    definition = orjson.loads(head.removeprefix("Tool definition:\n"))
    arguments = orjson.loads(rest.split("\n\nThe tool's output", 1)[0])
    rng = _rng(definition.get("name"), orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS).decode())
    returns = definition.get("returns") or {"type": "object", "properties": {"result": {"type": "string"}}}
    return orjson.dumps(_fill(returns, arguments, rng, "")).decode()


def _fill(schema: dict[str, Any], arguments: dict[str, Any], rng: random.Random, name: str) -> Any:
    if name in arguments:
        return arguments[name]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: _fill(v if isinstance(v, dict) else {}, arguments, rng, k) for k, v in props.items()}
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [_fill(items, {}, rng, "") for _ in range(rng.randint(1, 3))]
    if kind == "integer":
        return rng.randint(1900, 2025) if name == "year" else rng.randint(3, 400)
    if kind == "number":
        return round(rng.uniform(0.5, 40), 2)
    if kind == "boolean":
        return True
    if name == "conditions":
        return rng.choice(("sunny", "light rain", "overcast", "snow showers", "windy"))
    return f"the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


# -- the server process ----------------------------------------------------------------------------


class _Sampler(threading.Thread):
    """Samples the server's in-flight and queue counters every `every` seconds (so plain means are time means)."""

    def __init__(self, server: FakeOpenAIServer, capacity: int, every: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.capacity = capacity
        self.every = every
        self.lock = threading.Lock()
        self.trace: list[tuple[float, int, int]] = []

    def reset(self) -> None:
        with self.lock:
            self.trace = []

    def run(self) -> None:
        while True:
            stats = self.server.stats
            with self.lock:
                self.trace.append((time.perf_counter(), stats.in_flight, stats.waiting))
            time.sleep(self.every)

    def summary(self, until: float, steady: tuple[float, float] | None) -> dict[str, Any]:
        """Means over the window, its tenths, and over `steady` (perf_counter times: CLOCK_MONOTONIC on Linux)."""
        with self.lock:
            trace = [s for s in self.trace if s[0] <= until]
        if not trace:
            return {"samples": 0, "mean_in_flight": 0.0, "mean_waiting": 0.0, "window_max_in_flight": 0,
                    "at_capacity_share": 0.0, "tenths": [0.0] * 10, "steady_in_flight": 0.0}  # fmt: skip
        first, span = trace[0][0], max(1e-9, until - trace[0][0])
        tenths: list[list[int]] = [[] for _ in range(10)]
        for t, flying, _ in trace:
            tenths[min(9, int(10 * (t - first) / span))].append(flying)
        inside = [f for t, f, _ in trace if steady and steady[0] <= t <= steady[1]]
        return {
            "samples": len(trace),
            "mean_in_flight": sum(f for _, f, _ in trace) / len(trace),
            "mean_waiting": sum(w for _, _, w in trace) / len(trace),
            "window_max_in_flight": max(f for _, f, _ in trace),
            "at_capacity_share": sum(f >= self.capacity for _, f, _ in trace) / len(trace),
            "tenths": [sum(b) / len(b) if b else 0.0 for b in tenths],
            "steady_in_flight": sum(inside) / len(inside) if inside else 0.0,
        }


def serve() -> None:
    """Serve `GenWorld` until stdin closes or says `quit`; `mark`/`report` measure a window."""
    parser = argparse.ArgumentParser(description="GenWorld on the fake OpenAI server (for generate_throughput.py)")
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--capacity", type=int, default=64)
    args = parser.parse_args()
    policy = GenWorld()
    server = FakeOpenAIServer(policy, latency_s=args.latency, capacity=args.capacity, record=False)
    with server:
        print(server.base_url, flush=True)
        sampler = _Sampler(server, args.capacity)
        sampler.start()
        start_stats, start_cpu, start_counts, start_wall = server.stats, time.process_time(), Counter(policy.counts), time.perf_counter()
        for line in sys.stdin:
            command, *times = line.split() or [""]
            if command == "mark":
                sampler.reset()
                start_stats, start_cpu, start_counts = server.stats, time.process_time(), Counter(policy.counts)
                start_wall = time.perf_counter()
            elif command == "report":
                stats = server.stats
                report = {
                    "received": stats.received - start_stats.received,
                    "served": stats.served - start_stats.served,
                    "max_in_flight": stats.max_in_flight,
                    "max_waiting": stats.max_waiting,
                    "by_status": {str(k): v - start_stats.by_status.get(k, 0) for k, v in stats.by_status.items()},
                    "roles": dict(policy.counts - start_counts),
                    "cpu_s": time.process_time() - start_cpu,
                    "wall_s": time.perf_counter() - start_wall,
                    **sampler.summary(time.perf_counter(), (float(times[0]), float(times[1])) if len(times) == 2 else None),
                }
                print(json.dumps(report), flush=True)
            elif command == "quit":
                break


if __name__ == "__main__":
    serve()
