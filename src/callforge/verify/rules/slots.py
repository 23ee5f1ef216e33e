"""Slot-aware checks: which words of the request fill which parameter, and whether every entity got its call.

Grounding only asks whether a value appears somewhere; a swapped origin and destination passes it,
and so does a request for two cities answered with one call. These checks read the request the way
the call must have read it:

* `arg.swapped`: a pair of parameters with opposite roles (origin/destination, from/to, source/
  target, start/end, sender/recipient ...) whose values the request places the other way round:
  "from Oslo to Rome" with `origin="Rome"`, or a start date after the end date.
* `calls.missing_parallel`: the request lists entities side by side for a tool ("Paris and
  London"), the dialog calls the tool for one of them and never for the other.

Both only speak when the text is unambiguous (a direction word right before a value, a proper
name joined by "and" or a comma); anything else is left to the judge, never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from callforge.core import Verdict
from callforge.verify.rules import knowledge
from callforge.verify.rules.base import CallSite, DialogView, call_label
from callforge.verify.rules.normalize import fold, name_parts, words
from callforge.verify.rules.places import ALIASES, CANADA, COUNTRIES, REGIONS, TICKERS, US_STATES

_SOURCE_PARTS = ("origin", "from", "source", "src", "departure", "depart", "start", "begin", "sender", "base")
_TARGET_PARTS = ("destination", "dest", "to", "target", "arrival", "arrive", "end", "finish", "recipient", "quote")
_PAIRS = (("origin", "destination"), ("from", "to"), ("source", "target"), ("departure", "arrival"),
          ("start", "end"), ("begin", "end"), ("sender", "recipient"), ("base", "target"), ("src", "dest"))  # fmt: skip
_SOURCE_CUES = frozenset({"from", "leaving", "departing", "depart", "origin", "out"})
_TARGET_CUES = frozenset({"to", "into", "towards", "toward", "arriving", "destination", "reaching"})
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_CAPITALISED = re.compile(r"[A-Z][\w'\-]*(?:\s+[A-Z][\w'\-]*)*")


def role_of(parameter: str) -> tuple[str, str] | None:
    """(`source` or `target`, the pair's stem) for a parameter named for one end of a pair, else None.

    `origin_city` and `destination_city` are a pair; so are `from_currency`/`to_currency`,
    `start_date`/`end_date`, `source_lang`/`target_lang`.
    """
    lowered = name_parts(parameter)
    for i, part in enumerate(lowered):
        for side, names in (("source", _SOURCE_PARTS), ("target", _TARGET_PARTS)):
            if part in names:
                rest = "_".join(lowered[:i] + lowered[i + 1 :])
                return side, rest
    return None


class SwapCheck:
    """Values of a source/target pair of parameters sit the way the request puts them."""

    name = "slots"
    codes = ("arg.swapped",)

    def check(self, view: DialogView) -> list[Verdict]:
        """Compare each opposite-role pair of arguments with the direction words of the request."""
        out: list[Verdict] = []
        for site in view.calls:
            for source, target in _pairs(site.call.arguments):
                found = _swapped(view, site, source, target)
                if found is not None:
                    out.append(found)
        return out


class ParallelCoverageCheck:
    """Every entity the request lists beside a value a tool was called with gets a call too."""

    name = "coverage"
    codes = ("calls.missing_parallel",)

    def check(self, view: DialogView) -> list[Verdict]:
        """Look for "<value> and <Name>" in each user turn whose named entity no later call uses."""
        out: list[Verdict] = []
        messages = view.messages
        for index, message in enumerate(messages):
            if message.role != "user" or not message.content:
                continue
            end = next((i for i in range(index + 1, len(messages)) if messages[i].role == "user"), len(messages))
            turn = [s for s in view.calls if index < s.message_index < end]
            if not turn:
                continue
            used = {fold(v) for s in turn for v in _strings(s.call.arguments)}
            numbers = {n for s in turn for n in _numbers(s.call.arguments)}
            spans = _spans(message.content)
            reported: set[str] = set()
            for site in turn:
                values = [*_strings(site.call.arguments), *(_shown(n) for n in _numbers(site.call.arguments))]
                for value in values:
                    for sibling in _siblings(message.content, value, spans, numbers):
                        key = fold(sibling)
                        if key in used or key in reported or _covered(key, used):
                            continue
                        reported.add(key)
                        out.append(
                            Verdict.failed(
                                "calls.missing_parallel",
                                f"{call_label(site)}: the request (message {index}) names {sibling!r} beside "
                                f"{value!r}, but no call covers {sibling!r}; call {site.call.name} once for each",
                                call=site.call.name,
                                message_index=site.message_index,
                                missing=sibling,
                                value=value,
                            )
                        )
        return out


def _pairs(arguments: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) parameter names of this call that form a pair and both hold a value."""
    roles = {name: role_of(name) for name, value in arguments.items() if isinstance(value, str | int | float)}
    found = []
    for source, role in roles.items():
        if role is None or role[0] != "source":
            continue
        for target, other in roles.items():
            if other is not None and other[0] == "target" and other[1] == role[1] and _paired(source, target):
                found.append((source, target))
    return found


def _paired(source: str, target: str) -> bool:
    """Whether the two names are ends of one known pair (`from`/`to`, not `start`/`destination`)."""
    a, b = set(name_parts(source)), set(name_parts(target))
    return any(s in a and t in b for s, t in _PAIRS) or ({"start", "from"} & a and {"end", "to"} & b) != set()


def _swapped(view: DialogView, site: CallSite, source: str, target: str) -> Verdict | None:
    arguments = site.call.arguments
    first, second = arguments[source], arguments[target]
    if isinstance(first, str) and isinstance(second, str) and _ISO.match(first) and _ISO.match(second):
        if first[:10] > second[:10]:
            return _fail(site, source, target, f"{source}={first!r} is after {target}={second!r}")
        return None
    if not isinstance(first, str) or not isinstance(second, str) or fold(first) == fold(second):
        return None
    # The turn's own request speaks first: "now convert 500 euros to pounds" after "dollars to euros"
    # is about this turn's pair. Earlier turns decide only when this one has no direction words.
    latest = _request(view, site.message_index, latest=True)
    decided = _direction(site, source, target, first, second, latest)
    if not isinstance(decided, str) or _mentions(latest, first) or _mentions(latest, second):
        return decided if not isinstance(decided, str) else None
    earlier = _direction(site, source, target, first, second, _request(view, site.message_index))
    return earlier if not isinstance(earlier, str) else None


def _mentions(tokens: list[str], value: str) -> bool:
    """Whether the words name `value`, as written or through an alias ("euros" for EUR)."""
    wanted = words(value)
    return bool(wanted) and any(
        tokens[i : i + len(wanted)] == wanted or _alias_of(tokens[i], wanted) for i in range(len(tokens))
    )


def _direction(site: CallSite, source: str, target: str, first: str, second: str, text: list[str]) -> Verdict | str | None:
    """A failing verdict, None when the words agree with the call, or "undecided" when they say nothing."""
    order = _leg(text, first, second)
    if order == "kept":
        return None
    if order == "swapped":
        return _fail(site, source, target, f"the request says 'from {second} ... to {first}', but the call has "
                     f"{source}={first!r} and {target}={second!r}")  # fmt: skip
    if sum(1 for i, t in enumerate(text) if t in _SOURCE_CUES and (i == 0 or text[i - 1] not in _SOURCE_CUES)) > 1:
        return None  # several legs ("from A to B, then from B to C"): one call's pair is not decidable word by word
    cue_first, cue_second = _cue(text, first), _cue(text, second)
    if cue_first is None and cue_second is None:
        return "undecided"
    side_first = cue_first[0] if cue_first else None
    side_second = cue_second[0] if cue_second else None
    if cue_first is not None and side_first == "target" and side_second != "target":
        said = f"the request says {cue_first[1]!r} before {first!r}"
    elif cue_second is not None and side_second == "source" and side_first != "source":
        said = f"the request says {cue_second[1]!r} before {second!r}"
    else:
        return None
    return _fail(site, source, target, f"{said}, but the call has {source}={first!r} and {target}={second!r}")


def _leg(tokens: list[str], first: str, second: str) -> str | None:
    """`kept` when the request says "from <first> ... to <second>", `swapped` for "from <second> ... to <first>"."""
    a, b = words(first), words(second)
    if _says_leg(tokens, a, b):
        return "kept"
    if _says_leg(tokens, b, a):
        return "swapped"
    return None


def _says_leg(tokens: list[str], start: list[str], end: list[str]) -> bool:
    """Whether "from <start>" is followed within a few words by "to <end>" (or "to the <end>")."""
    for i in range(len(tokens) - len(start)):
        if tokens[i] not in _SOURCE_CUES or tokens[i + 1 : i + 1 + len(start)] != start:
            continue
        after = i + 1 + len(start)
        for j in range(after, min(len(tokens), after + 8)):
            if tokens[j] in _TARGET_CUES:
                k = j + 2 if j + 1 < len(tokens) and tokens[j + 1] in ("the", "a", "my") else j + 1
                if tokens[k : k + len(end)] == end:
                    return True
    return False


def _request(view: DialogView, index: int, *, latest: bool = False) -> list[str]:
    """The folded words of the user turns before message `index`, the latest last (or only the latest)."""
    turns = [words(m.content) for m in view.messages[:index] if m.role == "user" and m.content]
    if latest:
        return turns[-1] if turns else []
    return [token for turn in turns for token in turn]


def _cue(tokens: list[str], value: str) -> tuple[str, str] | None:
    """(`source` or `target`, the word) when a direction word stands right before the value's mentions.

    A value mentioned with both kinds of words ("from Rome to Oslo, then from Oslo back to Rome": a
    trip with legs) says nothing about one call's pair, so it gives None.
    """
    wanted = words(value)
    if not wanted:
        return None
    spans = [i for i in range(len(tokens) - len(wanted) + 1) if tokens[i : i + len(wanted)] == wanted]
    if not spans:
        spans = [i for i, t in enumerate(tokens) if _alias_of(t, wanted)]
    found: dict[str, str] = {}
    for start in spans:
        before = tokens[max(0, start - 2) : start]
        if len(before) == 2 and before[1].isalpha() and before[1] not in _TARGET_CUES | _SOURCE_CUES:
            before = before[:1]  # "to the Louvre", "to British pounds": one word may stand between
        elif len(before) == 2:
            before = before[1:]
        if before and before[-1] in _TARGET_CUES:
            found.setdefault("target", before[-1])
        elif before and before[-1] in _SOURCE_CUES:
            found.setdefault("source", before[-1])
    if len(found) != 1:
        return None
    side, word = next(iter(found.items()))
    return side, word


def _alias_of(token: str, wanted: list[str]) -> bool:
    alias = ALIASES.get(token)
    if alias is None or not wanted:
        return False
    parts = alias.split()
    return parts[: len(wanted)] == wanted or (len(wanted) == 1 and wanted[0] in parts)  # NYC: "new york (city)"


def _strings(arguments: dict[str, Any]) -> list[str]:
    """The string values of a call's arguments, list items included (`shows=["Friends"]`)."""
    found: list[str] = []
    for value in arguments.values():
        items = value if isinstance(value, list) else [value]
        found.extend(v for v in items if isinstance(v, str) and v.strip())
    return found


def _spans(text: str) -> dict[str, list[tuple[int, int]]]:
    """Where each capitalised name and each number stands in the text, by folded text: found once per turn."""
    found: dict[str, list[tuple[int, int]]] = {}
    for match in _CAPITALISED.finditer(text):
        found.setdefault(fold(match.group(0)), []).append(match.span())
    for match in _NUMBER.finditer(text):
        found.setdefault(match.group(0), []).append(match.span())
    return found


def _siblings(text: str, value: str, spans: dict[str, list[tuple[int, int]]], numbers: set[float]) -> list[str]:
    """Names (or numbers) the text joins to `value` with "and" or commas ("Paris, Rome and Oslo").

    "or" offers alternatives ("4 or 5 stars"), so it makes no list; a listed number must have the
    value's shape (a whole number beside a whole number), so "2000 and 1.341 billion" is no list.

    A listed number counts only when no call of the turn uses it ("radius 5, 10 and 15" with calls
    for 5 and 10 misses 15).
    """
    found: list[str] = []
    if value[:1].isdigit() or value[:1] == "-":
        for start, end in spans.get(value, ()):
            listed = _numbers_after(text, end) + _numbers_before(text, start)
            found.extend(n for n in listed if float(n) not in numbers and ("." in n) == ("." in value))
        return found
    for name in (fold(value).strip(), *_names_of(value)):
        kind = _region_kind(name)  # "Kenya and Peru": beside a country, a country is a sibling, not its region
        for start, end in spans.get(name, ()):
            found.extend(_listed_after(text, start, end, kind=kind))
            found.extend(_listed_before(text, start, kind=kind))
    return found


def _names_of(value: str) -> list[str]:
    """The folded names a code value stands for in the text: `KE` for "Kenya", `AAPL` for "Apple"."""
    stripped = value.strip()
    if not 2 <= len(stripped) <= 5 or not stripped.isalpha() or not stripped.isupper():
        return []
    names = {fold(n) for n in knowledge.code_names(stripped)}
    names.update(name for name, tickers in TICKERS.items() if fold(stripped) in tickers.split())
    return sorted(names)


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]\d)")
_NUMBER_AFTER = re.compile(r"^(\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+)(-?\d+(?:\.\d+)?)(?![\w.]\d)")
_NUMBER_BEFORE = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)(\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+)$")


def _numbers_after(text: str, end: int) -> list[str]:
    """Numbers joined after a number, when a conjunction joins the list ("5, 10 and 15")."""
    listed: list[str] = []
    joined = False
    rest = text[end:]
    while (match := _NUMBER_AFTER.match(rest)) is not None:
        joined = joined or bool(re.search(r"\band\b|&", match.group(1)))
        listed.append(match.group(2))
        rest = rest[match.end() :]
    return listed if joined else []


def _numbers_before(text: str, start: int) -> list[str]:
    match = _NUMBER_BEFORE.search(text[:start])
    if match is None or not re.search(r"\band\b|&", match.group(2)):
        return []
    return [match.group(1)]


def _numbers(arguments: dict[str, Any]) -> list[float]:
    """The numeric values of a call's arguments (list items included), booleans left out."""
    found: list[float] = []
    for value in arguments.values():
        items = value if isinstance(value, list) else [value]
        found.extend(float(v) for v in items if isinstance(v, int | float) and not isinstance(v, bool))
    return found


def _shown(number: float) -> str:
    return str(int(number)) if number == int(number) else repr(number)


_AGAIN = r"(?:(?P<again>in|for|at|of|from)\s+)?"  # "in Rome and in Athens": the list repeats its preposition
_JOIN_AFTER = re.compile(
    rf"^\s*(?:,\s*(?:and\s+)?|\s+(?:and|&)\s+){_AGAIN}(?P<name>[A-Z][\w'\-]*(?:\s+[A-Z][\w'\-]*)*)"
)
_JOIN_BEFORE = re.compile(
    rf"(?P<name>[A-Z][\w'\-]*(?:\s+[A-Z][\w'\-]*)*)(?:\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+){_AGAIN}$"
)
_NOT_ENTITIES = frozenset(
    {"i", "please", "thanks", "thank", "also", "then", "what", "how", "can", "could", "and", "find", "get", "show",
     "tell", "give", "book", "check", "search", "let", "make", "my", "me", "we", "you", "he", "she", "they", "it"}
)  # fmt: skip


def _listed_after(text: str, start: int, end: int, *, kind: str | None = None) -> list[str]:
    """Names joined after position `end`: a list only if a conjunction joins it ("X, Y and Z", "X and Y").

    "Seattle, Washington" and "Bangna District, Bangkok" are one place written with its region,
    not two entities; a comma alone never makes a list here, and a region is a sibling only of a
    region of its kind ("Kenya and Peru"). A preposition after the conjunction must repeat the one
    before the value: "in Rome and in Athens" is a list, "with Lufthansa and in Economy" is not.
    """
    names: list[str] = []
    joined = False
    rest = text[end:]
    while True:
        match = _JOIN_AFTER.match(rest)
        if not match or not _entity(match.group("name")) or not _same_preposition(text[:start], match.group("again")):
            break
        joined = joined or bool(re.search(r"\band\b|&", rest[: match.start("name")]))
        name = match.group("name")
        if not _region(name) or (kind is not None and _region_kind(name) == kind):
            names.append(name)  # "Paris, France and New York": France qualifies Paris
        rest = rest[match.end() :]
    return names if joined else []


def _listed_before(text: str, start: int, *, kind: str | None = None) -> list[str]:
    match = _JOIN_BEFORE.search(text[:start])
    if not match or not _entity(match.group("name")) or _sentence_start(text, match.start()):
        return []
    if not _same_preposition(text[: match.start("name")], match.group("again")):
        return []
    joint = text[match.end("name") : start]
    name = match.group("name")
    if not re.search(r"\band\b|&", joint) or (_region(name) and (kind is None or _region_kind(name) != kind)):
        return []  # "Paris, France": a place and its region
    return [name]


def _same_preposition(before: str, again: str | None) -> bool:
    """Whether the text before the list's first name ends with the preposition the list repeats (or none is repeated)."""
    return again is None or before.rstrip().casefold().endswith(f" {again.casefold()}")


def _entity(name: str) -> bool:
    """A capitalised run that can be a listed entity: not a pronoun, a sentence word or a region."""
    folded = fold(name)
    first = folded.split()[0] if folded.split() else ""
    return folded not in _NOT_ENTITIES and first not in _NOT_ENTITIES and not first.startswith("i'")


def _region(name: str) -> bool:
    return " ".join(words(name)) in REGIONS


def _region_kind(name: str) -> str | None:
    """`country`, `state` or `province` for a region's name (not its code), else None: "Texas and Ohio" is a list."""
    folded = " ".join(words(name))
    for kind, table in (("country", COUNTRIES), ("state", US_STATES), ("province", CANADA)):
        if folded in table.values():
            return kind
    return None


def _sentence_start(text: str, index: int) -> bool:
    """A capitalised word that opens a sentence is not a name ("What is the weather in Paris, ...")."""
    before = text[:index].rstrip()
    return not before or before[-1] in ".!?"


def _covered(key: str, used: set[str]) -> bool:
    """A listed name is covered when a call uses it, inside a longer value or by its alias ("Microsoft" -> MSFT).

    "Paris" is in "Paris, France"; "Washington D" (the text cut at "D.C.") is in "Washington, D.C.".
    """
    mine = set(words(key))
    aliases = {a for w in mine for a in (ALIASES.get(w) or "").split()}
    for value in used:
        theirs = set(words(value))
        if theirs and (mine <= theirs or theirs <= mine or theirs <= aliases):
            return True
    return False


def _fail(site: CallSite, source: str, target: str, why: str) -> Verdict:
    return Verdict.failed(
        "arg.swapped",
        f"{call_label(site)}: {source} and {target} look swapped: {why}",
        call=site.call.name,
        message_index=site.message_index,
        position=site.position,
        path=f"{source},{target}",
    )
