"""Values for the `fake:world` model: plausible, schema-valid and seeded, plus a tool's complaint read back.

The planner and the tool simulator of `world.py` invent their values here. A value depends on the
parameter's schema, its name and description ("City name, e.g. Paris."), and a seeded
`random.Random`, so the same request always gets the same values and another seed gets others.
When a tool rejected the first values, `replan` reads its message ("must be one of A, B",
"between 1 and 30", "known cities: Paris, Lima", "the latest trading day is 2025-12-31") and
changes only the values it complains about, the way a model that reads the feedback would.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import re
from typing import Any

import orjson

CITIES = (
    "Paris", "Lisbon", "Tokyo", "Lima", "Madrid", "Berlin", "Rome", "London", "Seoul", "Sydney",
    "Toronto", "Chicago", "Dubai", "Singapore", "Amsterdam", "Barcelona", "Istanbul", "Mumbai",
)  # fmt: skip
PEOPLE = (
    "Maria Lopez", "Ken Tanaka", "Amara Okafor", "Lena Fischer", "Omar Haddad", "Sofia Rossi",
    "Jonas Berg", "Priya Nair", "Lucas Martin", "Chloe Dubois", "Ivan Petrov", "Ana Costa",
)  # fmt: skip
ADJECTIVES = (
    "ancient", "urban", "coastal", "modern", "medieval", "tropical", "quiet", "alpine", "desert",
    "northern", "rural", "electric", "maritime", "baroque", "nomadic", "volcanic", "arctic", "lunar",
)  # fmt: skip
NOUNS = (
    "gardens", "bridges", "railways", "lighthouses", "markets", "orchards", "observatories",
    "monasteries", "canals", "vineyards", "glaciers", "libraries", "harbours", "windmills", "caves",
)  # fmt: skip
PRODUCTS = (
    "wireless headphones", "running shoes", "coffee grinder", "desk lamp", "rain jacket", "yoga mat",
    "water bottle", "backpack", "phone case", "travel adapter", "wool socks", "notebook",
)  # fmt: skip
PLACES = (  # where people go, so a latitude and longitude asked together name a real spot
    (48.8566, 2.3522), (38.7223, -9.1393), (35.6762, 139.6503), (51.5074, -0.1278), (40.4168, -3.7038),
    (52.52, 13.405), (41.9028, 12.4964), (-33.8688, 151.2093), (1.3521, 103.8198), (41.8781, -87.6298),
)  # fmt: skip
TITLES = ("Team sync", "Project review", "Lunch with Sam", "Budget check-in", "Design workshop", "Dentist")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF", "CAD")
SYMBOLS = ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA")
AIRPORTS = ("CDG", "LHR", "JFK", "HND", "LIS", "MAD", "FCO", "SIN")
COUNTRIES = ("FR", "DE", "US", "JP", "PT", "ES", "IT", "GB")
_BFCL_TYPES = {"dict": "object", "float": "number", "int": "integer", "bool": "boolean", "list": "array",
               "tuple": "array", "str": "string", "any": "string"}  # fmt: skip
_EXAMPLE = re.compile(r"(?:e\.g\.|for example|such as|like)[,:]?\s+(.+?)(?:\)|;|\.(?:\s|$)|$)", re.I)
_QUOTED = re.compile(r"'([^']{1,60})'|\"([^\"]{1,60})\"")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_ISO = "%Y-%m-%d"


def rng_for(*parts: Any) -> random.Random:
    """A Random seeded by the parts' text: the same request, slot and name always draw the same."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def today_in(text: str) -> datetime.date:
    """The date a prompt says it is ("Today is 2025-12-31."), so planned dates sit near it."""
    found = re.search(r"Today is (\d{4}-\d{2}-\d{2})", text)
    return (_day(found.group(1)) if found else None) or datetime.date(2026, 1, 1)


def _day(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        return None


def plan_slots(schema: dict[str, Any], seed: int, today: datetime.date, feedback: str = "") -> dict[str, Any]:
    """The planner's answer: arguments for every `call_N` slot of its JSON schema."""
    out: dict[str, Any] = {}
    for slot, params in (schema.get("properties") or {}).items():
        params = params if isinstance(params, dict) else {}
        for attempt in range(5):  # parallel slots of one tool ask for different things
            values = _arguments(params, rng_for(seed, slot, attempt), today)
            if feedback:
                values = replan(values, params, feedback, rng_for(seed, slot, attempt, "again"), today)
            if values not in out.values():
                break
        out[slot] = values
    return out


def _arguments(params: dict[str, Any], rng: random.Random, today: datetime.date) -> dict[str, Any]:
    props = params.get("properties") or {}
    required = set(params.get("required") or ())
    values: dict[str, Any] = {}
    for name, prop in props.items():
        prop = _resolved(prop, params)
        if name in required or (_simple(prop) and rng.random() < 0.5):
            values[name] = invent(name, prop, rng, today, root=params)
    _order_dates(values, props)
    _place(values, rng)
    return values


def _place(values: dict[str, Any], rng: random.Random) -> None:
    lat = next(
        (k for k in values if k.lower() in ("lat", "latitude") or k.lower().endswith("_latitude")), None
    )
    lon = next(
        (k for k in values if k.lower() in ("lon", "lng", "longitude") or k.lower().endswith("_longitude")),
        None,
    )
    if lat and lon and all(isinstance(values[k], float) for k in (lat, lon)):
        values[lat], values[lon] = rng.choice(PLACES)


def _simple(prop: dict[str, Any]) -> bool:
    return bool(prop.get("enum")) or kind_of(prop) in ("boolean", "integer", "number")


def _order_dates(values: dict[str, Any], props: dict[str, Any]) -> None:
    """An end (check_out, end_date, return) a little after its start, as people plan: days, or an hour."""
    starts = [
        k for k in values if _is_date(k, props.get(k) or {}) and re.search(r"start|check_in|depart|from", k)
    ]
    ends = [
        k
        for k in values
        if _is_date(k, props.get(k) or {}) and re.search(r"end|check_out|return|until|to_date", k)
    ]
    for start, end in zip(starts, ends, strict=False):
        first = str(values[start])
        try:
            if "T" in first:
                moment = datetime.datetime.fromisoformat(first) + datetime.timedelta(hours=1)
                values[end] = moment.isoformat(timespec="seconds" if first.count(":") == 2 else "minutes")
            else:
                day = datetime.date.fromisoformat(first)
                values[end] = (day + datetime.timedelta(days=1 + day.toordinal() % 6)).isoformat()
        except ValueError:
            continue


def invent(
    name: str, schema: Any, rng: random.Random, today: datetime.date, *, root: Any = None, depth: int = 0
) -> Any:
    """A plausible value that `schema` accepts, chosen from the parameter's name and description."""
    schema = _resolved(schema, root)
    if not isinstance(schema, dict) or depth > 5:
        return None if depth > 5 else _phrase(rng)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key) or () if isinstance(o, dict) and o.get("type") != "null"]
        if options:
            return invent(name, options[0], rng, today, root=root, depth=depth + 1)
    kind = kind_of(schema)
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)
        return {
            k: invent(k, props[k], rng, today, root=root, depth=depth + 1) for k in required if k in props
        }
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        low = int(schema.get("minItems", 0))
        count = min(int(schema.get("maxItems", max(low, 2))), max(low, rng.randint(1, 2)))
        single = name[:-1] if name.endswith("s") else name
        values: list[Any] = []
        for _ in range(count * 4):
            value = invent(single, items, rng, today, root=root, depth=depth + 1)
            if value not in values:
                values.append(value)
            if len(values) == count:
                break
        return values
    if kind in ("integer", "number"):
        return _number(name, schema, rng, integer=kind == "integer")
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _fit(_string(name, schema, rng, today), schema, rng)


def kind_of(schema: dict[str, Any]) -> str:
    """A schema's JSON type (the first non-null one; BFCL's `dict`, `float`, ... read as JSON Schema's)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        return "object" if "properties" in schema else "string"
    return _BFCL_TYPES.get(str(kind), str(kind))


def _resolved(schema: Any, root: Any) -> Any:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and isinstance(root, dict):
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node
    return schema


def _number(name: str, schema: dict[str, Any], rng: random.Random, *, integer: bool) -> int | float:
    low, high = _range(name, integer)
    floor, ceiling = schema.get("minimum"), schema.get("maximum")
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        floor = schema["exclusiveMinimum"] + (1 if integer else 0.01)
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        ceiling = schema["exclusiveMaximum"] - (1 if integer else 0.01)
    if isinstance(floor, int | float):
        low = max(low, floor)
        high = max(high, low)
    if isinstance(ceiling, int | float):
        high = min(high, ceiling)
        low = min(low, high)
    if integer:
        return rng.randint(int(-(-low // 1)), max(int(-(-low // 1)), int(high // 1)))
    value = round(rng.uniform(low, high), 2)
    return value if low <= value <= high else float(low)


def _range(name: str, integer: bool) -> tuple[float, float]:
    lowered = name.lower()
    table = (
        (("night", "day", "week"), (1, 7)),
        (("guest", "adult", "passenger", "people", "person", "quantity", "count", "seat", "room"), (1, 4)),
        (("years",), (1, 30)),
        (("year",), (2018, 2025)),
        (("limit", "max_results", "top", "page_size", "size"), (3, 10)),
        (("minute", "duration"), (30, 90)),
        (("age",), (18, 75)),
        (("rate", "percent", "interest"), (1, 9)),
        (("month", "term"), (6, 48)),
        (("lat",), (-60, 60)),
        (("lon", "lng"), (-150, 150)),
        (("radius", "distance"), (5, 50)),
        (
            ("price", "amount", "budget", "principal", "deposit", "cost", "salary", "value", "balance"),
            (40, 2000),
        ),
    )
    for words, bounds in table:
        if any(w in lowered for w in words):
            return float(bounds[0]), float(bounds[1])
    return (1.0, 20.0) if integer else (1.0, 100.0)


def _is_date(name: str, schema: dict[str, Any]) -> bool:
    text = f"{schema.get('format', '')} {schema.get('description', '')}".lower()
    lowered = name.lower()
    return (
        (
            "date" in text
            or "yyyy-mm-dd" in text
            or lowered in ("date", "day", "check_in", "check_out", "departure", "arrival")
            or lowered.endswith(("_date", "_day", "_on"))
        )
        and "time" not in lowered
        and "birth" not in lowered
    )


def _string(name: str, schema: dict[str, Any], rng: random.Random, today: datetime.date) -> str:
    lowered = name.lower()
    description = str(schema.get("description") or "")
    text = f"{schema.get('format', '')} {description}".lower()
    day = today + datetime.timedelta(days=rng.randint(2, 45))
    if schema.get("format") == "date-time" or "thh:mm" in text:
        return f"{day.isoformat()}T{rng.randint(8, 18):02d}:{rng.choice((0, 15, 30, 45)):02d}" + (
            ":00" if schema.get("format") == "date-time" else ""
        )
    if "birth" in lowered:
        return datetime.date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28)).isoformat()
    if _is_date(name, schema):
        return day.isoformat()
    if schema.get("format") == "time" or "hh:mm" in text or lowered.endswith("time"):
        return f"{rng.randint(8, 18):02d}:{rng.choice((0, 15, 30, 45)):02d}"
    if (
        schema.get("format") == "email"
        or "email" in lowered
        or lowered in ("to", "cc", "recipient", "attendee")
    ):
        first, last = rng.choice(PEOPLE).lower().split()
        return f"{first}.{last}@example.com"
    if schema.get("format") in ("uri", "url") or lowered.endswith("url"):
        return f"https://example.com/{rng.choice(NOUNS)}"
    examples = examples_in(description)
    if examples and rng.random() < 0.6:
        return rng.choice(examples)
    for words, pool in (
        (("airport",), AIRPORTS),
        (("currency",), CURRENCIES),
        (("symbol", "ticker"), SYMBOLS),
        (("country",), COUNTRIES),
        (("city", "location", "address", "place", "destination", "origin", "town"), CITIES),
        (("name", "contact", "person", "guest", "customer", "attendee", "recipient"), PEOPLE),
        (("title", "subject", "event"), TITLES),
        (("product", "item"), PRODUCTS),
    ):
        if any(w in lowered for w in words):
            return rng.choice(pool)
    if lowered.endswith("id") or lowered.endswith("_code"):
        return f"{lowered.split('_')[0][:3].upper() or 'ID'}-{rng.randint(1000, 9999)}"
    if any(w in lowered for w in ("body", "message", "note", "text", "comment", "reason")):
        return f"Notes about the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
    return examples[0] if examples else _phrase(rng)


def _phrase(rng: random.Random) -> str:
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


def _fit(value: str, schema: dict[str, Any], rng: random.Random) -> str:
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not _matches(pattern, value):
        shapes = (value.replace(" ", ""), f"{rng.choice(NOUNS)}{rng.randint(10, 99)}", str(rng.randint(10000, 99999)),
                  "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3)), value.replace(" ", "-").lower())  # fmt: skip
        value = next((shape for shape in shapes if _matches(pattern, shape)), value)
    low = int(schema.get("minLength", 0) or 0)
    high = schema.get("maxLength")
    if len(value) < low:
        value = value + "x" * (low - len(value))
    if isinstance(high, int) and len(value) > high:
        value = value[:high]
    return value


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True  # a pattern Python cannot read: leave the value to the tool's own check


def examples_in(description: str) -> list[str]:
    """The example values a description gives ("e.g. Paris", "such as 'USD' or 'EUR'")."""
    found: list[str] = []
    for match in _EXAMPLE.finditer(description):
        part = match.group(1)
        quoted = [a or b for a, b in _QUOTED.findall(part)]
        items = quoted or re.split(r",\s*|\s+or\s+", part)
        found += [i.strip(" '\"") for i in items if 0 < len(i.strip(" '\"")) <= 40]
    return found


# -- the tool simulator --------------------------------------------------------------------------------------


def simulate(returns: Any, arguments: dict[str, Any], rng: random.Random, parameters: Any = None) -> Any:
    """A tool's output for a call: its `returns` schema filled, arguments echoed into fields of their name.

    Arguments a real tool would refuse (see `complaint`) get `{"error": ...}` instead, so error
    recovery has something to recover from on tools without code too.
    """
    problem = complaint(parameters, arguments) if isinstance(parameters, dict) else None
    if problem is not None:
        return {"error": problem}
    dates = [v for v in arguments.values() if isinstance(v, str) and _DATE.match(v)]
    today = (_day(dates[0]) if dates else None) or datetime.date(2026, 1, 1)
    if not isinstance(returns, dict) or not returns:
        return {"status": "ok", **arguments}
    return _output("", returns, arguments, rng, today, returns, 0)


def _output(
    name: str,
    schema: Any,
    arguments: dict[str, Any],
    rng: random.Random,
    today: datetime.date,
    root: Any,
    depth: int,
) -> Any:
    schema = _resolved(schema, root)
    if not isinstance(schema, dict) or depth > 5:
        return None
    kind = kind_of(schema)
    if name in arguments and _typed_as(arguments[name], kind) and not schema.get("enum"):
        return arguments[name]
    if kind == "object" and not schema.get("enum"):
        props = schema.get("properties") or {}
        return {k: _output(k, v, arguments, rng, today, root, depth + 1) for k, v in props.items()}
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        single = name[:-1] if name.endswith("s") else name
        return [
            _output(single, items, arguments, rng, today, root, depth + 1) for _ in range(rng.randint(1, 3))
        ]
    if kind == "string" and not schema.get("enum") and (name.lower() == "id" or name.lower().endswith("_id")):
        return f"{(name.split('_')[0] if name.lower() != 'id' else 'rec')[:3].upper()}-{rng.randint(10000, 99999)}"
    return invent(name, schema, rng, today, root=root, depth=depth)


def _typed_as(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return kind in ("array", "object") and isinstance(value, list if kind == "array" else dict)


def complaint(parameters: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    """What a careful tool says about these arguments: a missing or unknown value, a wrong type or format."""
    props = parameters.get("properties") or {}
    for name in parameters.get("required") or ():
        if name not in arguments:
            return f"missing required argument {name!r}"
    for name, value in arguments.items():
        prop = _resolved(props.get(name), parameters)
        if not isinstance(prop, dict):
            return f"unknown argument {name!r}"
        problem = _refused(name, value, prop)
        if problem is not None:
            return problem
    return None


def _refused(name: str, value: Any, prop: dict[str, Any]) -> str | None:
    kind = kind_of(prop)
    if isinstance(prop.get("enum"), list) and prop["enum"] and value not in prop["enum"]:
        return f"{name} must be one of {', '.join(map(str, prop['enum']))}; got {value!r}"
    if "type" in prop and not _typed_as(value, kind) and kind != "null":
        return f"{name} must be of type {kind}, got {value!r}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = prop.get("minimum"), prop.get("maximum")
        if (isinstance(low, int | float) and value < low) or (isinstance(high, int | float) and value > high):
            return f"{name} must be between {low} and {high}, got {value}"
        if (value < 0 and _range(name, kind == "integer")[0] >= 0) or abs(value) > 1e7:
            return f"{name} must be a positive, realistic amount, got {value}"
    if isinstance(value, str):
        if _is_date(name, prop) and not _DATE.fullmatch(value[:10]):
            return f"{name} must be a date in YYYY-MM-DD format, got {value!r}"
        letters = [c for c in value if c.isalpha()]
        if len(letters) > 1 and letters[0].islower() and all(c.isupper() for c in letters[1:]):
            return f"no {name.replace('_', ' ')} is called {value!r}"  # "pARIS": a caps-lock slip
    if isinstance(value, list) and len(value) < max(1, int(prop.get("minItems", 1))):
        return f"{name} must list at least {max(1, int(prop.get('minItems', 1)))} item(s)"
    return None


# -- reading a tool's complaint --------------------------------------------------------------------------


def replan(
    values: dict[str, Any], params: dict[str, Any], feedback: str, rng: random.Random, today: datetime.date
) -> dict[str, Any]:
    """New values for the arguments a tool's error message names (or whose value it quotes); the rest stay."""
    props = params.get("properties") or {}
    out = dict(values)
    for name, value in values.items():
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        if not (_mentions(feedback, name) or (shown and _mentions(feedback, shown))):
            continue
        prop = _resolved(props.get(name) or {}, params)
        if isinstance(value, str) and _is_date(name, prop) and _before(out, props, name, value, feedback):
            continue
        out[name] = _another(name, value, prop, feedback, rng, today, root=params)
        if isinstance(value, str) and _is_date(name, prop):
            _order_dates(out, props)  # a new start date takes its end along
    return out


def _before(values: dict[str, Any], props: dict[str, Any], name: str, value: str, feedback: str) -> bool:
    """For "after the latest trading day, 2025-12-31": move the call's dates back so `name` is that day."""
    limits = [day for d in _DATE.findall(feedback) if d != value[:10] and (day := _day(d))]
    first = _day(value)
    if not limits or first is None or min(limits) >= first:
        return False
    shift = min(limits) - first
    for key, other in values.items():
        if isinstance(other, str) and _is_date(key, props.get(key) or {}) and (day := _day(other)):
            values[key] = (day + shift).isoformat() + other[10:]
    return True


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def _another(
    name: str,
    value: Any,
    prop: dict[str, Any],
    feedback: str,
    rng: random.Random,
    today: datetime.date,
    *,
    root: Any,
) -> Any:
    kind = kind_of(prop) if isinstance(prop, dict) else "string"
    if kind in ("integer", "number"):
        between = re.search(r"between (-?[\d.]+) and (-?[\d.]+)", feedback)
        low, high = (float(between.group(1)), float(between.group(2))) if between else (1.0, 10.0)
        picked = rng.uniform(low, high)
        return round(picked) if kind == "integer" else round(picked, 2)
    if kind == "string":
        if "YYYY-MM-DDTHH:MM" in feedback or (_is_date(name, prop) and "T" in str(value)):
            day = today + datetime.timedelta(days=rng.randint(2, 30))
            return f"{day.isoformat()}T{rng.randint(8, 17):02d}:{rng.choice((0, 30)):02d}"
        listed = _listed(feedback, value)
        if listed:
            return rng.choice(listed)
        dates = _DATE.findall(feedback)
        if dates and _is_date(name, prop):
            latest = max((d for d in map(_day, dates) if d), default=today)
            return (latest - datetime.timedelta(days=rng.randint(0, 20))).isoformat()
        examples = examples_in(str(prop.get("description") or ""))
        if examples:
            return rng.choice(examples)
    return invent(name, prop, rng, today, root=root)


def _listed(feedback: str, rejected: Any) -> list[str]:
    """The values a message offers: "one of A, B, C", "known cities: A, B", "such as 'Paris' or 'Tokyo'"."""
    candidates: list[str] = []
    for match in re.finditer(
        r"(?:one of|known [\w ]+?:|such as|like|valid [\w ]+? are:?)\s+([^;]+)", feedback
    ):
        part = match.group(1).split("; got")[0].split(", got")[0]
        quoted = [a or b for a, b in _QUOTED.findall(part)]
        items = quoted or re.split(r",\s*|\s+or\s+", part.rstrip(". "))
        candidates += [i.strip(" '\"[]") for i in items]
    return [c for c in candidates if c and c != rejected and len(c) <= 40]
