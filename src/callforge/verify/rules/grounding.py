"""Value grounding: every argument value must come from somewhere the assistant could have read it.

A value is grounded when the system or user text, or a tool output earlier in the dialog, states it
(after normalising case, accents, number formats, number words and dates; see `normalize`).
Exempt, because the model is meant to choose them: booleans and nulls, the schema's `default`,
values listed in the schema's `enum`/`const`, a default or an option its description states in words
("default is 'cm'", "can be 'asc' or 'desc'"; a quoted *example* after "e.g." stays checked),
wildcards that state no preference (`any`, `dontcare`), round integers (0, 1, 2, 10, 50, 100, 1000: limits, page sizes and
defaults a call commonly picks), well-known constants (gravity, the speed of light, 52 cards;
see `places.CONSTANTS`), and empty values.
"""

from __future__ import annotations

import re
from typing import Any

from callforge.core import Verdict
from callforge.verify.rules import derive, knowledge
from callforge.verify.rules.base import CallSite, DialogView, call_label, shown_value, site_evidence
from callforge.verify.rules.normalize import (
    STOPWORDS,
    Haystack,
    fold,
    foreign,
    is_region,
    stem,
    unspaced,
    words,
)
from callforge.verify.rules.places import CONSTANTS, KNOWN_TICKERS

_MAX_DEPTH = 8
_DEFAULT = re.compile(r"defaults?(?: value)?(?: is| to|:|=)?\s+(['\"]?[^'\".,;()]+['\"]?)")
_QUOTED = re.compile(r"(['\"])([^'\"]{1,60})\1")
_LISTED = re.compile(r"\(([^()]*,[^()]*)\)|\b(\w+(?:/\w+)+)\b")
_EXAMPLE_MARKERS = ("e.g", "for example", "such as", "example", "like ")
WILDCARDS = frozenset({"any", "all", "dontcare", "don't care", "none", "default", "auto", "unknown", "n/a"})
"""Values that state no preference, which some tools take instead of leaving an argument out."""


class GroundingCheck:
    """No argument value is invented: the commonest defect in LLM-written calls that pass a schema.

    A value that is not a copy but a standard normalisation of what the text says ("French" ->
    `fr`, "$1,200" -> `USD`, "an hour and a half" -> `5400`; see `knowledge`) is grounded. A value
    the text only partly supports ("Manhattan, New York City" for "Manhattan"), or a short code no
    table knows, is *unsure* (`arg.unproven`): plausible world knowledge, for the judge to settle.
    A value with nothing in the text behind it fails (`arg.ungrounded`).
    """

    name = "grounding"
    codes = ("arg.ungrounded", "arg.unproven")

    def check(self, view: DialogView) -> list[Verdict]:
        """Trace each leaf value of each call to the text before its message."""
        out = []
        for site in view.calls:
            tool = view.tools.get(site.call.name)
            if tool is None:
                continue  # an unknown function is reported once, by the function check
            haystack = view.sources_before(site.message_index)
            properties = tool.properties
            raw: str | None = None  # the text as written, read only when a value is not a copy
            for key, value in site.call.arguments.items():
                schema = properties.get(key)
                if schema is None:
                    continue  # an invented parameter is reported by the arguments check
                for path, leaf in _ungrounded(
                    value, schema if isinstance(schema, dict) else {}, haystack, key, 0
                ):
                    raw = _raw_before(view, site.message_index) if raw is None else raw
                    if _known(leaf, haystack, raw):
                        continue
                    doubt = _plausible(leaf, haystack, raw) or _composed(leaf, path, schema, haystack, raw)
                    out.append(_unproven(site, path, leaf) if doubt else _fail(site, path, leaf))
        return out


def _ungrounded(
    value: Any, schema: dict[str, Any], haystack: Haystack, path: str, depth: int
) -> list[tuple[str, Any]]:
    """The (path, value) leaves under `value` that the haystack does not state."""
    if _exempt(value, schema) or depth > _MAX_DEPTH:
        return []
    if isinstance(value, str):
        return [] if haystack.has_string(value) else [(path, value)]
    if isinstance(value, int | float):
        number = float(value)
        return [] if _round(value) or number in CONSTANTS or haystack.has_number(number) else [(path, value)]
    if isinstance(value, list | tuple):
        items = schema.get("items")
        item_schema = items if isinstance(items, dict) else {}
        found = []
        for i, item in enumerate(value):
            found.extend(_ungrounded(item, item_schema, haystack, f"{path}[{i}]", depth + 1))
        return found
    if isinstance(value, dict):
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        extra = schema.get("additionalProperties")
        found = []
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else {})
            found.extend(
                _ungrounded(item, sub if isinstance(sub, dict) else {}, haystack, f"{path}.{key}", depth + 1)
            )
        return found
    return []


def _round(value: int | float) -> bool:
    """0, 1 and integers with one significant digit (2, 5, 10, 50, 100, 1000): limits, page sizes, defaults."""
    if value != int(value) or abs(value) > 1e12:
        return False
    digits = str(abs(int(value))).rstrip("0")
    return len(digits) <= 1


def _exempt(value: Any, schema: dict[str, Any]) -> bool:
    if value is None or isinstance(value, bool) or value == "" or value == [] or value == {}:
        return True
    if "default" in schema and schema["default"] == value:
        return True
    if "const" in schema and schema["const"] == value:
        return True
    if isinstance(value, str) and value.strip().casefold() in WILDCARDS:
        return True
    if isinstance(value, str):
        description = schema.get("description")
        if (
            isinstance(description, str)
            and description
            and _described(fold(value.strip()), fold(description))
        ):
            return True
    enum = schema.get("enum")
    if isinstance(enum, list) and value in enum:
        return True
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and any(isinstance(o, dict) and _exempt(value, o) for o in options):
            return True
    return False


def _described(value: str, description: str) -> bool:
    """The description names `value` as its default or as one of its options (not as an example).

    "Default is 'cm'", "defaults to global", "Can be 'melting', 'freezing'", "'asc' for ascending"
    are prose versions of `default` and `enum`. "e.g. 'New York, NY'" is a format example, not an
    option, so a value quoted after "e.g.", "for example", "such as" or "examples" stays checked.
    """
    if not value or value not in description:
        return False
    for match in _DEFAULT.finditer(description):
        stated = match.group(1).strip(" '\"")
        if stated == value or (stated.startswith(value) and not stated[len(value)].isalnum()):
            return True  # "defaults to global if not specified" states `global`
    for match in _LISTED.finditer(description):  # "(walk, bike, transit, drive)", "city/state/country"
        options = re.split(r"\s*(?:,|/|\bor\b)\s*", match.group(1) or match.group(2))
        if value in (o.strip(" '\"") for o in options):
            return True
    for match in _QUOTED.finditer(description):
        if match.group(2) == value:
            before = description[max(0, match.start() - 40) : match.start()]
            return not any(marker in before for marker in _EXAMPLE_MARKERS)
    return False


def _raw_before(view: DialogView, index: int) -> str:
    """The system, user and tool text before message `index`, as written (symbols such as `$` kept)."""
    return "\n".join(m.content or "" for m in view.messages[:index] if m.role != "assistant")


def _known(value: Any, haystack: Haystack, raw: str) -> bool:
    """Whether world knowledge grounds a value the text does not copy: a standard code, a symbol, a conversion."""
    if isinstance(value, str):
        return (
            knowledge.grounds_string(value, haystack, raw)
            or value.strip().upper() in knowledge.symbol_currency(raw)
            or (_ISO_DAY.match(value.strip()) is not None and value.strip()[:10] in derive.shifted_dates(raw))
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(float(value), 6) in knowledge.quantities(raw) or derive.is_exact_number(
            float(value), raw
        )
    return False


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _plausible(value: Any, haystack: Haystack, raw: str) -> bool:
    """A value that may be world knowledge the text leads to, not plainly invented: unsure rather than failed.

    Two shapes qualify. An enrichment of a name the text gives ("Manhattan, New York City" for
    "Manhattan", "New York City" for "New York"): some of its words are a capitalised name in the
    text, the rest are not there. A short lowercase code no table knows (`mi`, `cm`): a unit or
    locale a careful reader may pick. Dates, times, ids with digits, upper-case codes (the user
    named "AAPL", the call has `MSFT`) and text in scripts without word case are never guesses of
    this kind: they are grounded, or they fail.

    A number one arithmetic step from two stated numbers (`14000` for "5 moles" at "2800 kJ/mol",
    `120` seconds from 15:30 to 15:32) is plausible too: a small number can match such a step by
    chance, so it is not proven.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return derive.is_derived_number(float(value), raw)
    if not isinstance(value, str):
        return False
    stripped = value.strip()
    if _EMAIL.fullmatch(stripped) and _EMAIL.search(raw):
        return False  # the text gives an address and this is another one: a wrong recipient, not a guess
    if unspaced(stripped):
        return True  # 西红柿 for 番茄: without word boundaries, rules cannot tell a synonym from an invention
    if not stripped.isascii() or any(c.isdigit() for c in stripped):
        return False
    tokens = [t for t in words(stripped) if t not in STOPWORDS]
    if not tokens:
        return False
    if len(stripped) <= 3 and stripped.isalpha():
        return stripped.islower()
    if knowledge.is_named_thing(stripped):
        return True  # a language or a country the assistant chose ("english" for a review written in English)
    supported = [
        t for t in tokens if (t in haystack.word_set or stem(t) in haystack.stems) and not is_region(t)
    ]
    if not supported or len(supported) == len(tokens):
        return False
    names = {fold(m) for m in _CAPITALISED_WORD.findall(raw)}
    return any(t in names for t in supported)


_CAPITALISED_WORD = re.compile(r"\b[A-Z][a-z]+\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CODE_PARAMETER = re.compile(
    r"\b(?:command|cmd|shell|url|uri|endpoint|sql|code|script|expression|formula|regex)s?\b"
)
_SHAPED_UNITS = ("square ", "sq ", "cubic ")
_COORDINATE = re.compile(r"(?:^|[._\[])(?:lat|lon|lng|latitude|longitude|coordinates?)(?:$|[._\]])")


def _composed(value: Any, path: str, schema: Any, haystack: Haystack, raw: str) -> bool:
    """A string the assistant had to compose or translate, not copy: unsure when the text backs part of it.

    A number is composed when its parameter holds coordinates (`latitude` 40.7128 for "New York").
    Strings come in five shapes: a short upper-case code that starts a name of the text (`SHOP` for "Shopify"); a command, URL, query or expression built for the request (`dir C:` for "list c
    drive"; the parameter's name or description says which); a value in Latin letters for a
    request in another script (`Shanghai, China` for 上海); a word sharing a long stem with one
    the text uses (`Cardiology` for "cardiologist"); an area or volume unit of a length the text
    names (`square feet` for "feet").
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return bool(_COORDINATE.search(path.casefold()))  # 40.7128 for "New York": a fact, not a copy
    if not isinstance(value, str) or not value.strip():
        return False
    folded = fold(value)
    tokens = [t for t in words(folded) if t not in STOPWORDS]
    if any(folded.startswith(shape) and haystack.has_string(folded[len(shape) :]) for shape in _SHAPED_UNITS):
        return True
    described = schema.get("description") if isinstance(schema, dict) else None
    key = path.split(".")[0].split("[")[0]
    names = f"{key.replace('_', ' ')} {described if isinstance(described, str) else ''}".casefold()
    if _CODE_PARAMETER.search(names) and any(t in haystack.word_set for t in tokens):
        return True
    if value.isascii() and foreign(raw):
        return True
    if _TICKER.match(value.strip()):
        return _ticker_of_a_name(value.strip(), names, raw)
    return any(len(t) >= 6 and any(_shared_stem(t, w) for w in haystack.word_set) for t in tokens)


_TICKER = re.compile(r"^[A-Z0-9]{1,6}(?:\.[A-Z]{1,2})?$")
_TICKER_PARAMETER = re.compile(r"\b(?:ticker|symbol|stock)s?\b")
_MID_SENTENCE_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+")


def _ticker_of_a_name(value: str, names: str, raw: str) -> bool:
    """A ticker for a company the text names: `SHOP` for "Shopify", `7203.T` for "Toyota" where a symbol is wanted.

    Unsure, never proven: rules know a few tickers only. A known ticker of another company
    (`GOOGL` for "Amazon") is not unsure, nor is any ticker where the text names one itself
    (the user said "AAPL", the call has `MSFT`): those are grounded, or they fail.
    """
    prefix = value.isalpha() and 2 <= len(value) <= 5
    if prefix and any(len(n) > len(value) and fold(n).startswith(fold(value)) for n in _CAPITALISED_WORD.findall(raw)):
        return True
    if not _TICKER_PARAMETER.search(names) or fold(value) in KNOWN_TICKERS:
        return False
    stated = (token.strip(".,;:!?()'\"") for token in raw.split())
    if any(len(t) >= 2 and t.isupper() and _TICKER.match(t) and not is_region(t) for t in stated):
        return False
    return any(fold(name) not in STOPWORDS for name in _MID_SENTENCE_NAME.findall(raw))


def _shared_stem(a: str, b: str) -> bool:
    """Two different words that share their first six letters or more: "cardiology" and "cardiologist"."""
    if a == b or len(b) < 6:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(6, min(len(a), len(b)) - 3)


def _unproven(site: CallSite, path: str, value: Any) -> Verdict:
    return Verdict.unproven(
        "arg.unproven",
        f"{call_label(site)}: argument {path}={shown_value(value)} is not in the text as written; it may be world "
        "knowledge (a code, a fuller name) or a guess: a judge should confirm it",
        **site_evidence(site, path, value),
    )


def _fail(site: CallSite, path: str, value: Any) -> Verdict:
    return Verdict.failed(
        "arg.ungrounded",
        f"{call_label(site)}: argument {path}={shown_value(value)} appears nowhere in the system or user text or an "
        "earlier tool output",
        **site_evidence(site, path, value),
    )


def unstated(value: Any, schema: dict[str, Any], haystack: Haystack, path: str) -> list[tuple[str, Any]]:
    """The (path, value) leaves of one argument that `haystack` does not state, exempt values left out.

    The grounding rule's own walk, public so difficulty (`callforge.verify.measure_difficulty`)
    counts implicit and fed values by the same reading of "stated" as the rule that checks them.
    """
    return _ungrounded(value, schema, haystack, path, 0)
