"""Values that contradict the request: grounded in the loose sense, wrong in the one that matters.

A misread date (`2026-01-07` for "2026-07-01"), "tomorrow" filled in as today, "3pm" as `03:00`,
"15 minutes" passed as `15` to a parameter in seconds, "two dozen" as `2`, "no tolls" as
`avoid_tolls: false`, "in Fahrenheit" with `unit="celsius"`: every one of these passes a check that
only asks whether the value appears somewhere. `arg.contradicts` compares the value with what the
request states about that slot, and speaks only when the request states it plainly.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from callforge.core import Verdict
from callforge.verify.rules.base import CallSite, DialogView, call_label, site_evidence
from callforge.verify.rules.derive import stated_spans
from callforge.verify.rules.knowledge import clock_times, durations, relative_dates, stated_today, time_value
from callforge.verify.rules.normalize import STOPWORDS, fold, name_parts, stem, words

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_TEXT_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_UNITS = {"seconds": ("seconds", "second", "secs", "sec"), "minutes": ("minutes", "minute", "mins", "min"),
          "hours": ("hours", "hour", "hrs", "hr"), "milliseconds": ("milliseconds", "millisecond", "ms"),
          "days": ("days", "day")}  # fmt: skip
_NEGATIONS = frozenset({"no", "without", "avoid", "avoiding", "skip", "exclude", "excluding", "except", "not", "dont"})
_NEGATED_AFTER = frozenset({"avoided", "excluded", "skipped", "disabled", "off"})
_STOP_THINGS = frozenset({"from", "with", "into", "only", "data", "true", "false", "flag", "mode", "value"})
_AVOID_PREFIXES = ("avoid", "exclude", "no", "skip", "without")
_INCLUDE_PREFIXES = ("include", "with", "allow", "use")


class ContradictionCheck:
    """A value that the request states otherwise fails, whatever else grounds it."""

    name = "contradicts"
    codes = ("arg.contradicts",)

    def check(self, view: DialogView) -> list[Verdict]:
        """Compare dates, times, durations, booleans and enum choices with what the request says."""
        out: list[Verdict] = []
        for site in view.calls:
            tool = view.tools.get(site.call.name)
            if tool is None:
                continue
            request, context = _texts(view, site.message_index)
            if not request:
                continue
            for key, value in site.call.arguments.items():
                schema = tool.properties.get(key)
                schema = schema if isinstance(schema, dict) else {}
                if _varies(view, site, key):
                    continue  # parallel calls that set this argument differently: the request asks for several
                why = _contradiction(key, value, schema, request, context)
                if why is not None:
                    out.append(_fail(site, key, value, why))
        return out


def _varies(view: DialogView, site: CallSite, key: str) -> bool:
    """Whether another call of the same tool in the same message sets `key` to another value."""
    mine = site.call.arguments.get(key)
    return any(
        other.message_index == site.message_index
        and other.call.name == site.call.name
        and key in other.call.arguments
        and other.call.arguments[key] != mine
        for other in view.calls
    )


def _texts(view: DialogView, index: int) -> tuple[str, str]:
    """(the user text of the turn the call answers, all system and user text before the call)."""
    request = ""
    context = []
    for message in view.messages[:index]:
        if message.role in ("system", "user") and message.content:
            context.append(message.content)
        if message.role == "user" and message.content:
            request = message.content
    return request, "\n".join(context)


def _contradiction(key: str, value: Any, schema: dict[str, Any], request: str, context: str) -> str | None:
    if isinstance(value, bool):
        return _boolean(key, value, request)
    if isinstance(value, str):
        return _date(value, request, context) or _clock(value, request) or _enum(value, schema, request)
    if isinstance(value, int | float):
        return _duration(key, float(value), schema, request) or _dozen(float(value), request)
    return None


def _date(value: str, request: str, context: str) -> str | None:
    match = _ISO.match(value.strip())
    if match is None:
        return None
    try:
        date = datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    stated = [_safe_date(m) for m in _TEXT_ISO.finditer(request)]
    stated_dates = [d for d in stated if d is not None]
    if date in stated_dates:
        return None
    for other in stated_dates:
        if other.year == date.year and (other.month, other.day) == (date.day, date.month):
            return f"the request says {other.isoformat()} (month {other.month}, day {other.day}), not {value}"
    today = stated_today(context)
    if today is None or stated_dates:
        return None
    named = relative_dates(request, today)
    spans = stated_spans(request)
    back = _BEFORE.search(request) is not None  # "3 days before Monday"; otherwise a span runs forward
    if named and not any(
        (date - meant).days in spans or (back and (meant - date).days in spans) or date == meant
        for meant in named.values()
    ):
        word, meant = next(iter(named.items()))
        return f"the request says {word!r}, which is {meant.isoformat()} (today is {today.isoformat()}), not {value}"
    return None


_BEFORE = re.compile(r"\b(?:before|earlier|prior)\b", re.IGNORECASE)


def _safe_date(match: re.Match[str]) -> datetime.date | None:
    try:
        return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def _clock(value: str, request: str) -> str | None:
    clock = time_value(value)
    if clock is None:
        return None
    said = clock_times(request)
    if not said or clock in said:
        return None
    flipped = ((clock[0] + 12) % 24, clock[1])
    if flipped in said:
        hour, minute = flipped
        return f"the request says {hour % 12 or 12}:{minute:02d} {'pm' if hour >= 12 else 'am'} ({hour:02d}:{minute:02d}), not {value}"
    return None


def _enum(value: str, schema: dict[str, Any], request: str) -> str | None:
    options = schema.get("enum")
    if not isinstance(options, list) or value not in options:
        return None
    tokens = words(request)
    said = {stem(w) for i, w in enumerate(tokens) if not _negated(tokens, i)}
    chosen = [stem(w) for w in words(value)]
    if chosen and all(w in said for w in chosen):
        return None
    named = [
        o
        for o in options
        if isinstance(o, str) and o != value and _nameable(o) and (ws := [stem(w) for w in words(o)]) and all(w in said for w in ws)
    ]
    if len(named) == 1:
        return f"the request names {named[0]!r}, one of the other options, not {value!r}"
    return None


_VAGUE_OPTIONS = frozenset({"all", "any", "none", "default", "auto", "other", "both", "yes", "no", "true", "false"})


def _nameable(option: str) -> bool:
    """Whether mentioning an option's words means choosing it.

    Not a quantifier ("all"), not a bare number, not a word every sentence uses (`in` for inches
    is also "in kilometres").
    """
    folded = fold(option).strip()
    return (
        bool(folded)
        and folded not in _VAGUE_OPTIONS
        and folded not in STOPWORDS
        and not folded.replace(".", "").isdigit()
    )


def _negated(tokens: list[str], index: int) -> bool:
    """A word said under a negation ("not too pricey", "no tolls") is not asked for."""
    return any(t in _NEGATIONS or t == "t" for t in tokens[max(0, index - 3) : index])


def _duration(key: str, value: float, schema: dict[str, Any], request: str) -> str | None:
    unit = _unit_of(key, schema)
    if unit is None:
        return None
    tokens = words(request)
    for i in range(1, len(tokens)):
        said = next((u for u, names in _UNITS.items() if tokens[i] in names), None)
        if said is None or said == unit:
            continue
        try:
            amount = float(tokens[i - 1])
        except ValueError:
            continue
        if amount == value:
            return f"the request says {tokens[i - 1]} {tokens[i]}, and `{key}` is in {unit}"
    wanted = _SECONDS[unit]
    for seconds in durations(request):  # "an hour and a half" passed as 90 to a parameter in seconds
        if abs(seconds / wanted - value) < 1e-9:
            return None
        other = next((u for u, size in _SECONDS.items() if u != unit and abs(seconds / size - value) < 1e-9), None)
        if other is not None and value not in (0, 1):
            return f"the request asks for {seconds / wanted:g} {unit} ({value:g} is that in {other}), and `{key}` is in {unit}"
    return None


_SECONDS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "milliseconds": 0.001, "days": 86400.0}


def _unit_of(key: str, schema: dict[str, Any]) -> str | None:
    """The time unit a parameter takes, from its name (`timeout_seconds`, `duration_min`) or description."""
    parts = name_parts(key)
    for unit, names in _UNITS.items():
        if parts and parts[-1] in names and len(parts) > 1:
            return unit
    description = fold(str(schema.get("description") or ""))
    for unit, names in _UNITS.items():
        if re.search(rf"\bin ({'|'.join(names)})\b", description):
            return unit
    return None


def _dozen(value: float, request: str) -> str | None:
    tokens = words(request)
    for i in range(1, len(tokens)):
        if tokens[i] in ("dozen", "dozens"):
            from callforge.verify.rules.knowledge import _amount

            amount = _amount(tokens[i - 1])
            if amount is not None and amount == value and amount * 12 != value:
                return f"the request says {tokens[i - 1]} dozen ({amount * 12:g}), not {value:g}"
    return None


def _boolean(key: str, value: bool, request: str) -> str | None:
    parts = name_parts(key)
    if not parts:
        return None
    thing = stem(parts[-1])
    if len(thing) < 4 or thing in _STOP_THINGS:
        return None  # `includeTo`, `with_id`: the word names no feature a request would ask for
    tokens = words(request)
    negated = affirmed = False
    for i, token in enumerate(tokens):
        if stem(token) != thing:
            continue
        after = tokens[i + 1 : i + 3]
        if _negated(tokens, i) or any(a in _NEGATED_AFTER for a in after):
            negated = True
        else:
            affirmed = True
    if negated == affirmed:
        return None  # not mentioned, or mentioned both ways
    avoid = parts[0] in _AVOID_PREFIXES
    include = parts[0] in _INCLUDE_PREFIXES or len(parts) == 1
    if not (avoid or include):
        return None
    expected = negated if avoid else affirmed
    if value != expected:
        said = "no" if negated else "with"
        return f"the request asks for {said} {parts[-1]}, so `{key}` should be {str(expected).lower()}"
    return None


def _fail(site: CallSite, key: str, value: Any, why: str) -> Verdict:
    return Verdict.failed(
        "arg.contradicts",
        f"{call_label(site)}: argument {key}={value!r} contradicts the request: {why}",
        **site_evidence(site, key, value),
    )
