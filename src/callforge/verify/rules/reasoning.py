"""A thought agrees with the calls after it: the tools it names, the values it claims, the count it announces.

`generate --reasoning` (and datasets such as ToolACE) give an assistant message a short thought
(`Message.reasoning`): which tool, why, where each value comes from. A thought that says "city =
Paris" before a call with `city="Rome"`, or "two calls" before one, teaches a model that its
reasoning and its actions need not match, which is worse than no reasoning. The rule reads only
what a thought states in a checkable form:

* tool names: an offered tool's name as a word; a name that looks like a function (`get_wether(`,
  "call `lookup_user`") but is neither an offered tool nor a parameter is an unknown tool;
* values: `name = value` or `name: value` where `name` is a parameter of a tool this message
  calls; the value is JSON (`"Paris"`, `3`, `[1, 2]`) or bare text up to a comma, a bracket or
  "from"/"as"/"because";
* counts: "2 calls", "three parallel calls", "a single call".

A tool it names must be called somewhere in the dialog, unless the thought rejects it in the same
clause ("not get_forecast", "instead of ...", "no need for ..."): a thought may plan the next step
("then book_flight with its id") or cite an earlier one. An announced count may be this message's
calls or the calls left in the turn (a plan of sequential steps). Messages without a thought, and
calls planted wrong on purpose, are not checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

from callforge.core import MaskReason, Message, ToolCall, Verdict
from callforge.verify.rules.base import DialogView, shown_value
from callforge.verify.rules.normalize import words
from callforge.verify.rules.scenario import same_value

_NUMBERS = {
    "no": 0, "zero": 0, "one": 1, "a single": 1, "single": 1, "a": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_COUNT = re.compile(
    r"\b(\d+|no|zero|one|a single|single|a|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?:(?:parallel|separate|independent|different|tool|function|api)\s+)*calls?\b",
    re.IGNORECASE,
)
_IDENT = r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*"
_CALL_LIKE = re.compile(
    rf"`({_IDENT})`|\b({_IDENT})\s*\(|\b(?:call|calls|calling|use|using|invoke|invoking|function|tool)\s+"
    rf"(?:the\s+)?({_IDENT})",
    re.IGNORECASE,
)
_CLAIM = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*(?:=|:)\s*")
_BARE_END = re.compile(
    r"\s*(?:[,;)\]]|\s\(|\s+(?:from|as|because|since|which|and|so|to|for|in|at|on|with|then|of|is|was)\b|\.(?:\s|$)|$)"
)
_CLAUSE = re.compile(r"[.;,!?\n]|\bbut\b|\binstead\b", re.IGNORECASE)
_REJECTS = re.compile(
    r"\b(?:not|no|never|without|rather than|instead of|don't|do not|won't|will not|isn't|doesn't|cannot|can't|"
    r"unnecessary|irrelevant|skip|avoid|neither|nor)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'[^'\n]*'")


class ReasoningCheck:
    """An assistant's thought names only offered tools, calls what it names, and claims the values and count it makes."""

    name = "reasoning"
    codes = ("reasoning.unknown_tool", "reasoning.uncalled_tool", "reasoning.value_mismatch", "reasoning.count_mismatch")

    def check(self, view: DialogView) -> list[Verdict]:
        """The disagreements of every thought with its message's calls (nothing for messages without one)."""
        injected = view.dialog.masked_calls(MaskReason.INJECTED)
        offered = {t.name for t in view.dialog.tools}
        params = {p for t in view.dialog.tools for p in t.properties}
        called_anywhere = {c.name for m in view.messages if m.role == "assistant" for c in m.tool_calls}
        out: list[Verdict] = []
        for index, message in enumerate(view.messages):
            thought = (message.reasoning or "").strip()
            if message.role != "assistant" or not thought:
                continue
            if message.tool_calls and all(c.id is not None and c.id in injected for c in message.tool_calls):
                continue  # a wrong call planted on purpose: its thought is not the model's
            calls = tuple(c for c in message.tool_calls if c.id is None or c.id not in injected)
            out += _unknown(index, thought, offered, params)
            out += _uncalled(index, thought, offered, called_anywhere)
            out += _values(index, thought, calls, view)
            out += _count(index, thought, calls, _turn_calls(view.messages, index))
        return out


def _unknown(index: int, thought: str, offered: set[str], params: set[str]) -> list[Verdict]:
    """Names written like functions that are no offered tool (nor a parameter of one)."""
    text = _QUOTED.sub('""', thought)
    seen: list[str] = []
    for match in _CALL_LIKE.finditer(text):
        name = next(g for g in match.groups() if g)
        if name in offered or name in params or name in seen or not _function_like(name):
            continue
        seen.append(name)
    return [
        Verdict.failed(
            "reasoning.unknown_tool",
            f"message {index}: the thought names {name!r}, which is not an offered tool; the tools are "
            f"{', '.join(sorted(offered)) or 'none'}. Name only offered tools in a thought.",
            message_index=index,
            tool=name,
        )
        for name in seen
    ]


def _function_like(name: str) -> bool:
    """Whether a word reads as a function's name: snake_case, dotted or camelCase, not a plain word."""
    return "_" in name.strip("_") or "." in name or re.search(r"[a-z][A-Z]", name) is not None


def _named(thought: str, name: str) -> list[re.Match[str]]:
    return list(re.finditer(rf"(?<![\w.]){re.escape(name)}(?![\w])", thought))


def _rejected(thought: str, match: re.Match[str]) -> bool:
    """Whether the clause around a mention of a tool rejects it ("not X", "instead of X", "no need for X")."""
    bounds = [m.start() for m in _CLAUSE.finditer(thought)]
    start = max((b for b in bounds if b <= match.start()), default=0)
    end = min((b for b in bounds if b >= match.end()), default=len(thought))
    return _REJECTS.search(thought[start:end]) is not None


def _uncalled(index: int, thought: str, offered: set[str], called: set[str]) -> list[Verdict]:
    """Offered tools the thought names (without rejecting them) that no message of the dialog calls."""
    out = []
    for name in sorted(offered - called):
        mentions = _named(thought, name)
        if mentions and not all(_rejected(thought, m) for m in mentions):
            out.append(
                Verdict.failed(
                    "reasoning.uncalled_tool",
                    f"message {index}: the thought names {name!r} but it is never called; call it, or say in "
                    "the thought why it is not needed.",
                    message_index=index,
                    tool=name,
                )
            )
    return out


def _values(index: int, thought: str, calls: tuple[ToolCall, ...], view: DialogView) -> list[Verdict]:
    """`name = value` claims about this message's calls that no call with that parameter makes."""
    if not calls:
        return []
    schemas = {c.name: view.tools[c.name].properties if c.name in view.tools else {} for c in calls}
    out = []
    position = 0
    while (match := _CLAIM.search(thought, position)) is not None:
        name = match.group(1)
        relevant = [c for c in calls if name in c.arguments or name in schemas.get(c.name, {})]
        if not relevant:
            position = match.end()  # `get_weather: unit = F`: the next claim may start right here
            continue
        value, bare, position = _value(thought, match.end())
        if value is None:
            continue
        passed = [c.arguments[name] for c in relevant if name in c.arguments]
        if any(_same(value, v, bare=bare) for v in passed):
            continue
        actual = ", ".join(f"{c.name}: {shown_value(c.arguments[name])}" for c in relevant if name in c.arguments)
        told = f"the call passes {actual}" if actual else f"no call passes {name!r}"
        out.append(
            Verdict.failed(
                "reasoning.value_mismatch",
                f"message {index}: the thought says {name} = {shown_value(value)}, but {told}; make the "
                "thought and the call agree.",
                message_index=index,
                path=name,
                value=value,
            )
        )
    return out


def _value(text: str, at: int) -> tuple[Any, bool, int]:
    """The value claimed at `at`: JSON when it reads as JSON up to a boundary, else bare text; whether bare; its end."""
    try:
        value, end = json.JSONDecoder().raw_decode(text, at)
        if _BARE_END.match(text, end):  # `2027-01-20` unquoted is no number followed by junk
            return value, False, end
    except json.JSONDecodeError:
        pass
    end_match = _BARE_END.search(text, at)
    end = end_match.start() if end_match is not None else len(text)
    bare = text[at:end].strip().strip("'`")
    return (bare or None), True, max(end, at + 1)


def _same(claimed: Any, actual: Any, *, bare: bool = False) -> bool:
    """Equal as `same_value` says; bare text may be a number's digits or the start of a longer text (cut at a comma)."""
    if same_value(claimed, actual):
        return True
    if isinstance(actual, str) and isinstance(claimed, int | float) and not isinstance(claimed, bool):
        return same_value(str(claimed), actual)
    if not (bare and isinstance(claimed, str)):
        return False
    if isinstance(actual, str):
        said, real = " ".join(words(claimed)), " ".join(words(actual))
        return bool(said) and real.startswith(said)
    try:
        return same_value(json.loads(claimed), actual)
    except json.JSONDecodeError:
        return False


def _turn_calls(messages: tuple[Message, ...], index: int) -> int:
    """Calls from message `index` to the end of its turn (the next user message): a plan's sequential steps."""
    total = 0
    for message in messages[index:]:
        if message.role == "user":
            break
        if message.role == "assistant":
            total += len(message.tool_calls)
    return total


def _count(index: int, thought: str, calls: tuple[ToolCall, ...], in_turn: int) -> list[Verdict]:
    """An announced number of calls that is neither this message's nor the rest of the turn's."""
    match = _COUNT.search(thought)
    if match is None:
        return []
    word = match.group(1).lower()
    said = int(word) if word.isdigit() else _NUMBERS[word]
    if said in (len(calls), in_turn):
        return []
    return [
        Verdict.failed(
            "reasoning.count_mismatch",
            f"message {index}: the thought announces {match.group(0)!r}, but the message makes {len(calls)} "
            f"call{'s' if len(calls) != 1 else ''}; make the count and the calls agree.",
            message_index=index,
            announced=said,
            made=len(calls),
        )
    ]
