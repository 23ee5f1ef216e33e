"""Schema-valid random arguments for any ToolSpec, and a backend that calls tools with them.

`SchemaFuzzBackend` stands in for a model when a test needs plausible calls to many different
tools (pipelines, verifiers, throughput benchmarks) without writing a script per tool. Its output
depends only on the seed and the request, never on timing, so concurrent runs are reproducible.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Sequence
from typing import Any

import orjson

from callforge.core import Message, ToolCall, ToolSpec, Verdict
from callforge.llm.backend import Completion, Usage, parse_options

_MAX_DEPTH = 6
_FORMATS = {
    "date": lambda r: f"20{r.randint(10, 30)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "date-time": lambda r: (
        f"20{r.randint(10, 30)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T"
        f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"
    ),
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00",
    "email": lambda r: f"{_word(r)}@example.com",
    "uri": lambda r: f"https://example.com/{_word(r)}",
    "url": lambda r: f"https://example.com/{_word(r)}",
    "uuid": lambda r: "-".join(
        "".join(r.choice("0123456789abcdef") for _ in range(n)) for n in (8, 4, 4, 4, 12)
    ),
    "ipv4": lambda r: ".".join(str(r.randint(1, 254)) for _ in range(4)),
}


def _word(rng: random.Random, low: int = 3, high: int = 8) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(low, high)))


def schema_instance(
    schema: Any, rng: random.Random, *, root: dict[str, Any] | None = None, depth: int = 0
) -> Any:
    """A random value valid under `schema` (types, enum/const, bounds, lengths, formats, $ref, anyOf).

    `pattern` is not honoured (a general regex generator is out of scope); everything else in
    the JSON Schema subset tool specs use is.
    """
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None if depth > _MAX_DEPTH else "x"
    root = root if root is not None else schema
    if "$ref" in schema:
        return schema_instance(_resolve(schema["$ref"], root), rng, root=root, depth=depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return schema_instance(rng.choice(schema[key]), rng, root=root, depth=depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part if isinstance(part, dict) else {})
        return schema_instance(merged, rng, root=root, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice([k for k in kind if k != "null"] or ["null"])
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return _by_type(kind, schema, rng, root, depth)


def _by_type(kind: str, schema: dict[str, Any], rng: random.Random, root: dict[str, Any], depth: int) -> Any:
    if kind == "string":
        fmt = schema.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt](rng)
        low = int(schema.get("minLength", 1))
        size = rng.randint(low, max(low, min(int(schema.get("maxLength", low + 10)), low + 10)))
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(size))
    if kind == "integer":
        lowest, highest = _bounds(schema, integer=True)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first = -(-int(lowest) // step) * step
            return first + step * rng.randint(0, max(0, (int(highest) - first) // step))
        return rng.randint(int(lowest), int(highest))
    if kind == "number":
        lowest, highest = _bounds(schema, integer=False)
        value = round(rng.uniform(lowest, highest), 2)
        return value if lowest <= value <= highest else lowest
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        least = int(schema.get("minItems", 0))
        most = max(least, min(int(schema.get("maxItems", least + 3)), least + 3))
        items = schema.get("items", {})
        values: list[Any] = []
        wanted = rng.randint(least, most)
        for _ in range(wanted * 4):
            if len(values) >= wanted:
                break
            value = schema_instance(items, rng, root=root, depth=depth + 1)
            if schema.get("uniqueItems") and value in values:
                continue
            values.append(value)
        return values
    if kind == "object":
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or rng.random() < 0.5:
                out[name] = schema_instance(sub, rng, root=root, depth=depth + 1)
        return out
    return _word(rng)


def _bounds(schema: dict[str, Any], *, integer: bool) -> tuple[float, float]:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0 if integer else 0.0))
    high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], int | float):
        low = schema["exclusiveMinimum"] + (1 if integer else 0.01)
    if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], int | float):
        high = schema["exclusiveMaximum"] - (1 if integer else 0.01)
    if integer:
        low, high = -(-low // 1), high // 1
    return float(low), float(max(low, high))


def _resolve(ref: Any, root: dict[str, Any]) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
    return node


class SchemaFuzzBackend:
    """Calls a random offered tool with random schema-valid arguments; seeded and request-stable.

    `max_parallel` > 1 lets it call several tools in one turn; `text_rate` is the share of requests
    answered with text instead, so code paths for "no call" get exercised too.
    """

    def __init__(
        self, *, seed: int = 0, max_parallel: int = 1, text_rate: float = 0.0, model: str = "fuzz"
    ) -> None:
        self.model = model
        self.seed = seed
        self.max_parallel = max(1, max_parallel)
        self.text_rate = text_rate
        self.requests = 0

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Answer with schema-valid calls to the offered tools (text when none are offered)."""
        parsed = parse_options(options)
        self.requests += 1
        rng = random.Random(self._request_seed(messages, tools, parsed.sample))
        if not tools or parsed.tool_choice == "none" or rng.random() < self.text_rate:
            return Completion(
                text="I can answer that without a tool.", model=self.model, finish_reason="stop"
            )
        pool = list(tools)
        if isinstance(parsed.tool_choice, str) and parsed.tool_choice not in ("auto", "required"):
            pool = [t for t in pool if t.name == parsed.tool_choice] or pool
        calls = []
        for index in range(rng.randint(1, self.max_parallel)):
            tool = rng.choice(pool)
            arguments = schema_instance(tool.parameters, rng)
            calls.append(ToolCall(name=tool.name, arguments=arguments or {}, id=f"call_{index}"))
        size = len(orjson.dumps([c.arguments for c in calls]))
        return Completion(
            tool_calls=tuple(calls),
            model=self.model,
            finish_reason="tool_calls",
            parse=Verdict.passed(format="native"),
            usage=Usage(
                prompt_tokens=sum(len(m.content or "") for m in messages) // 4, completion_tokens=size // 4
            ),
        )

    def _request_seed(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, sample: int
    ) -> int:
        digest = hashlib.sha256(str(self.seed).encode())
        digest.update(orjson.dumps([m.model_dump(mode="json") for m in messages]))
        digest.update(orjson.dumps([t.name for t in tools or ()]))
        digest.update(str(sample).encode())
        return int.from_bytes(digest.digest()[:8], "big")
