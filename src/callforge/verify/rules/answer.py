"""The final answer is faithful: the numbers and names it cites appear in what the assistant was told.

After tool outputs, the last assistant text is what a user reads. A number in it that no tool output,
user text or call argument states (rounding allowed) is a contradiction or an invention; so is a
proper name mid-sentence that appears nowhere before it. A stock refusal ("I'm sorry, but I can't
assist with that.", "I'm sorry, but I don't have access to your calendar") after the tools answered
is no answer at all: trained on, it teaches a model to call a tool and then refuse.

An answer can also be faithful and useless (`answer.useless`): a bare "Thank you for the quote."
after the tool returned the price, an echo of the raw JSON the tool returned (whole, or cut short where
the model's token limit ended it), or leftover markup
(`<tool_response>`). After a tool returned something worth saying, the answer must carry at least
one of its values (a number, a name, a word of a text field) to the user.
"""

from __future__ import annotations

import datetime
import re

import orjson

from callforge.core import Verdict
from callforge.execute import error_payload
from callforge.verify.rules import derive, knowledge
from callforge.verify.rules.base import DialogView
from callforge.verify.rules.normalize import STOPWORDS, Haystack, fold, stem, unspaced, words

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_NAME = re.compile(r"(?<=[a-z0-9,;] )([A-Z][a-z]+(?:[A-Z][a-z]+)*|[A-Z]{2,})\b")
_REFUSAL = re.compile(
    r"^\W*(?:(?:i'?m|i am|i)\s+)?(?:sorry|apologi[sz]e)?[\s,]*(?:but\s+)?i\s*"
    r"(?:can'?t|cannot|can not|am unable to|'?m unable to|am not able to|'?m not able to)\s+(?:assist|help)"
    r"(?:\s+you)?(?:\s+with\s+(?:that|this|your|the)(?:\s+request)?)?\W*$"
    r"|^\W*(?:(?:i'?m|i am|i)\s+)?(?:sorry|apologi[sz]e),?\s+(?:but\s+)?i\s+(?:don'?t|do not)\s+have\s+"
    r"(?:access\s+to|the\s+ability\s+to)\b",
    re.IGNORECASE,
)
_COMMON = frozenset(["i", "ok", "am", "pm", "usd", "eur", "gbp", "api", "id", "url", "north", "south", "east", "west",
                     "northeast", "northwest", "southeast", "southwest", "utc", "gmt"])  # fmt: skip


class FinalAnswerCheck:
    """Numbers and proper names in the final answer are traceable to the dialog before it."""

    name = "answer"
    codes = ("answer.unsupported", "answer.refusal", "answer.useless")

    def __init__(self, *, names: bool = True) -> None:
        """`names=False` checks numbers only, for data whose answers name things freely."""
        self.names = names

    def check(self, view: DialogView) -> list[Verdict]:
        """Check the last assistant text that follows a tool output."""
        messages = view.messages
        index = final_answer(view)
        if index is None:
            return []
        text = messages[index].content or ""
        if _REFUSAL.match(text.strip().replace("\u2019", "'")):
            return [
                Verdict.failed(
                    "answer.refusal",
                    f"message {index}: the final answer refuses ({text.strip()!r}) although the tools answered; "
                    "answer the user from the tool results",
                    message_index=index,
                )
            ]
        haystack = view.sources_before(index).copy()
        described: set[str] = set()
        for site in view.calls:
            if site.message_index < index:
                haystack.add(orjson.dumps(site.call.arguments).decode())
                haystack.add(site.call.name)
                tool = view.tools.get(site.call.name)
                if tool is not None:  # "US cups" from a tool that converts "(US cups and gallons)": names, not numbers
                    described.update(words(tool.description))
        haystack.add(_date_names(view, index))
        # one arithmetic step on two tool outputs ("Tokyo is 12 hours ahead" of +09:00 and -03:00)
        outputs = "\n".join(m.content or "" for m in messages[:index] if m.role == "tool")
        expanded = _expansions(text, haystack)
        out = []
        for match in _NUMBER.finditer(text):
            literal = match.group(0)
            value = float(literal.replace(",", ""))
            decimals = len(match.group(1) or "")
            flipped = _flipped_direction(text, match, value, outputs)
            if flipped is not None:
                out.append(
                    Verdict.failed(
                        "answer.unsupported",
                        f"message {index}: the final answer says {flipped!r} {literal}, but the tools returned it "
                        f"with the other sign; tell the direction the output gives",
                        message_index=index,
                        value=literal,
                        kind="direction",
                    )
                )
                continue
            if value in (0, 1) or _stated(value, decimals, haystack) or _list_marker(text, match, value):
                continue
            if _retold(text, match, value, decimals, haystack) or derive.is_derived_number(value, outputs):
                continue
            out.append(_fail(index, f"the number {literal}", literal, "number"))
        if self.names and not unspaced(outputs + "\n".join(m.content or "" for m in messages[:index] if m.role == "user")):
            # names are checked where the dialog writes them in Latin letters; a translated dialog
            # ("蝙蝠侠：黑暗骑士" in the output, "The Dark Knight" in the answer) cannot be compared word by word
            for match in _NAME.finditer(text):
                name = match.group(1)
                folded = fold(name)
                if folded in _COMMON or folded in STOPWORDS:
                    continue
                if folded in haystack.word_set or stem(folded) in haystack.stems or folded in expanded | described:
                    continue
                if _currency_prefix(folded, haystack):
                    continue
                out.append(_fail(index, f"the name {name!r}", name, "name"))
        if out:
            return out  # a contradiction is the sharper finding; an answer that cites wrong values is not also "empty"
        useless = _useless(view, index, text)
        if useless is not None:
            out.append(
                Verdict.failed(
                    "answer.useless",
                    f"message {index}: the final answer {useless}; tell the user what the tool results say",
                    message_index=index,
                )
            )
        return out


_MARKUP = re.compile(r"</?(?:tool_call|tool_response|tools|functioncall|function_call)>|<\|[a-z_]+\|>", re.IGNORECASE)
_JSON_ECHO = re.compile(r"[{\[]\s*\"[^\"]+\"\s*:")
_ID_LIKE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-|^[A-Za-z]{0,4}[-_]?\d{4,}$|^[A-Za-z]{1,6}[-_](?=[0-9a-z]*\d)[0-9a-z]{2,}$")
_STATUS_WORDS = frozenset(
    ["ok", "success", "successful", "succeeded", "done", "sent", "confirmed", "created", "scheduled", "booked",
     "completed", "queued", "accepted", "added", "updated", "saved", "set", "started", "running", "active"]
)  # fmt: skip
"""An output that only says an action went through: any answer that reports the action may do."""
_EMPTY_WORDS = frozenset(
    ["thank", "thanks", "you", "for", "the", "your", "quote", "information", "info", "help", "let", "me",
     "know", "if", "anything", "else", "is", "there", "i", "can", "glad", "to", "have", "a", "great", "day",
     "welcome", "here", "it", "that", "this", "was", "hope", "helps", "sure", "ok", "okay", "done", "all",
     "set", "got", "result", "results", "request", "we", "are", "data", "response", "below", "above", "as",
     "requested", "what", "found", "i've", "ve", "of", "and", "in", "on", "with", "do", "need"]
)  # fmt: skip


def _useless(view: DialogView, index: int, text: str) -> str | None:
    """Why the answer tells the user nothing the tools returned, or None when it carries something."""
    if _MARKUP.search(text):
        return "contains tool markup"
    outputs = [m.content or "" for m in view.messages[:index] if m.role == "tool"]
    last_turn = _last_turn_outputs(view, index)
    if _echoes_output(text, outputs):
        return "repeats a tool's raw JSON output instead of answering"
    leaves = [leaf for output in last_turn for leaf in _informative(output)]
    if not leaves:
        return None  # nothing worth passing on (an empty list, a bare status, an error): any answer may do
    tokens = words(text)
    if not tokens or all(t in _EMPTY_WORDS for t in tokens):
        return f"says nothing ({text.strip()[:60]!r}) although the tools returned {_show(leaves)}"
    asked = _asked(view, index)
    fresh = [leaf for leaf in leaves if not _echo(leaf, asked)]
    if not fresh:
        return None  # the tools only confirmed what was asked ("Dubai" back for "Dubai"): any answer may do
    haystack = Haystack()
    haystack.add(text)
    haystack.numbers |= knowledge.quantities(text)  # "a 3-minute timer" reports 180 seconds
    for leaf in fresh:
        if isinstance(leaf, float):
            if haystack.has_number(leaf) or any(abs(n - leaf) <= max(0.01, abs(leaf) * 0.005) for n in haystack.numbers):
                return None
        elif any(w in haystack.word_set and w not in asked.word_set for w in words(leaf) if len(w) > 3):
            return None  # a new word of the output, not "Dubai" of the request echoed back
        elif haystack.has_string(leaf) and not {w for w in words(leaf) if len(w) > 3} & asked.word_set:
            return None
        elif any(clock in text for clock in _CLOCK.findall(leaf)):
            return None  # "17:15" of "2026-02-03T17:15"
        elif unspaced(leaf) and any(leaf[i : i + 2] in text for i in range(len(leaf) - 1) if unspaced(leaf[i : i + 2])):
            return None  # 邮件已成功发送 retold as 邮件已发送: scripts without spaces share characters, not words
    return f"carries none of the values the tools returned ({_show(fresh)})"


def _echoes_output(text: str, outputs: list[str]) -> bool:
    """The answer is a tool's raw JSON, whole or cut short.

    A small model given a long output may copy it until its token limit ends the reply mid-object:
    the answer then starts as the output does but holds less of it, so a whole-output match misses it.
    """
    if not _JSON_ECHO.search(text):
        return False
    answer = text.strip()
    head = answer[:80]
    for output in (o.strip() for o in outputs):
        if not output or output[0] not in "{[":
            continue
        if output in answer or (head[:1] in "{[" and len(head) >= 24 and head in output):
            return True
    return False


_UP = frozenset(["up", "rose", "gained", "grew", "higher", "increased", "climbed", "plus"])
_DOWN = frozenset(["down", "fell", "lost", "dropped", "lower", "decreased", "declined", "minus", "slipped"])
_OUTPUT_NUMBER = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)(?![\w.]?\d)")


def _flipped_direction(text: str, match: re.Match[str], value: float, outputs: str) -> str | None:
    """The direction word of "up 1.8%" when the outputs hold -1.8 and not 1.8 (or of "down 1.8%" for "+1.8")."""
    if value <= 0:
        return None
    before = words(text[max(0, match.start() - 24) : match.start()])[-2:]
    said = next((w for w in reversed(before) if w in _UP or w in _DOWN), None)
    if said is None:
        return None
    stated = {float(n) for n in _OUTPUT_NUMBER.findall(outputs)}
    if said in _UP and -value in stated and value not in stated:
        return said
    if said in _DOWN and f"+{match.group(0)}" in outputs and -value not in stated:
        return said
    return None


_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")


def _asked(view: DialogView, index: int) -> Haystack:
    """What the turn before the answer already says: the user's words and the arguments of its first calls.

    Later calls are left out: their values may come from the outputs (a date looked up, then emailed).
    """
    asked = Haystack()
    start = max((i for i in range(index) if view.messages[i].role == "user"), default=0)
    asked.add(view.messages[start].content or "")
    first = min((s.message_index for s in view.calls if start < s.message_index < index), default=None)
    for site in view.calls:
        if site.message_index == first:
            asked.add(orjson.dumps(site.call.arguments).decode())
    return asked


def _echo(leaf: float | str, asked: Haystack) -> bool:
    """An output value the request already states: telling it back tells the user nothing."""
    if isinstance(leaf, float):
        return leaf in asked.numbers
    return asked.has_phrase(leaf)  # as written: the haystack's looser match takes any date for "right now"


def _last_turn_outputs(view: DialogView, index: int) -> list[str]:
    """The tool outputs since the last user message before the answer."""
    found: list[str] = []
    for message in reversed(view.messages[:index]):
        if message.role == "user":
            break
        if message.role == "tool":
            found.append(message.content or "")
    return found


def _informative(output: str) -> list[float | str]:
    """The leaf values of a tool output worth telling a user: numbers other than 0/1, names, texts; no ids."""
    try:
        value = orjson.loads(output)
    except orjson.JSONDecodeError:
        value = output
    if error_payload(value) is not None:
        return []
    found: list[float | str] = []
    _leaves(value, found, 0)
    return found[:40]


def _leaves(value: object, found: list[float | str], depth: int) -> None:
    if depth > 6:
        return
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int | float):
        if value not in (0, 1):
            found.append(float(value))
    elif isinstance(value, str):
        stripped = value.strip()
        if (
            len(stripped) >= 3
            and not _ID_LIKE.match(stripped)
            and not stripped.startswith(("http://", "https://"))
            and stripped.casefold() not in _STATUS_WORDS
        ):
            found.append(stripped)
    elif isinstance(value, dict):
        for inner in value.values():
            _leaves(inner, found, depth + 1)
    elif isinstance(value, list):
        for inner in value[:10]:
            _leaves(inner, found, depth + 1)


def _show(leaves: list[float | str]) -> str:
    shown = [f"{v:g}" if isinstance(v, float) else repr(v[:30]) for v in leaves[:3]]
    return ", ".join(shown) + (" ..." if len(leaves) > 3 else "")


def final_answer(view: DialogView) -> int | None:
    """The last assistant text, when tool outputs came after the user's last message: the answer from them.

    A later chat turn with no call ("as an AI, I cannot order food") answers the user, not the tools.
    """
    messages = view.messages
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.role == "assistant" and message.content and not message.tool_calls:
            return i if _last_turn_outputs(view, i) else None
        if message.role in ("assistant", "user"):
            return None
    return None


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_SCALE = re.compile(r"\s*(million|billion|thousand|trillion|bn|mn|k)\b", re.IGNORECASE)
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_CLOCK_SPAN = re.compile(r"(\d+)\s*(?:h|hr|hrs|hours?)\s*(?:and\s*)?(\d+)\s*(?:m|min|mins|minutes?)\b", re.IGNORECASE)
_EXPANSION = re.compile(r"((?:[A-Z][a-z]+[ -]){1,5})\(([A-Z]{2,6})s?\)")


def _date_names(view: DialogView, index: int) -> str:
    """The month and weekday names of the dates the dialog states: "Friday, 23 October" retells 2026-10-23."""
    found: set[str] = set()
    for message in view.messages[:index]:
        for year, month, day in _ISO_DATE.findall(message.content or ""):
            try:
                date = datetime.date(int(year), int(month), int(day))
            except ValueError:
                continue
            found.update((date.strftime("%B"), date.strftime("%A")))
    return " ".join(sorted(found))


def _retold(text: str, match: re.Match[str], value: float, decimals: int, haystack: Haystack) -> bool:
    """A stated number said another way: "55.1 million" for 55100000, "2 h 34 min" or "3-minute" for 154 min / 180 s."""
    scale = _SCALE.match(text, match.end())
    if scale is not None:
        factor = _SCALES[scale.group(1).lower()]
        tolerance = 0.5 * 10.0**-decimals * factor
        if any(abs(n - value * factor) <= tolerance for n in haystack.numbers):
            return True
    for span in _CLOCK_SPAN.finditer(text):
        if span.start() <= match.start() < span.end():
            minutes = int(span.group(1)) * 60 + int(span.group(2))
            return any(n in haystack.numbers for n in (minutes, minutes * 60, round(minutes / 60, 2)))
    nearby = text[match.start() : match.end() + 12]
    return any(haystack.has_number(q) for q in knowledge.quantities(nearby))


def _expansions(text: str, haystack: Haystack) -> set[str]:
    """Words that spell out an acronym the dialog uses: "Equated Monthly Installment (EMI)" for `emi`."""
    allowed: set[str] = set()
    for spelled, acronym in _EXPANSION.findall(text):
        parts = spelled.replace("-", " ").split()[-len(acronym) :]
        if "".join(p[0] for p in parts).upper() == acronym and fold(acronym) in haystack.word_set:
            allowed.update(fold(p) for p in parts)
    return allowed


def _currency_prefix(name: str, haystack: Haystack) -> bool:
    """"US" of "US dollars" or "CA" of "CA$389" when the dialog names the currency code (`usd`, `cad`)."""
    return len(name) == 2 and any(len(w) == 3 and w.startswith(name) and knowledge.code_names(w.upper()) for w in haystack.word_set)


def _list_marker(text: str, match: re.Match[str], value: float) -> bool:
    """A small integer that numbers a list item ("1. ... 2. ..."), not a value."""
    after = text[match.end() : match.end() + 2]
    if value != int(value) or not 2 <= value <= 30 or after[:1] not in ".)" or after[1:2] not in (" ", "\n", ""):
        return False
    previous = int(value) - 1
    return f"{previous}{after[:1]} " in text or f"{previous}{after[:1]}\n" in text


def _stated(value: float, decimals: int, haystack: Haystack) -> bool:
    if haystack.has_number(value):
        return True
    return any(round(n, decimals) == value for n in haystack.numbers)


def _fail(index: int, what: str, literal: str, kind: str) -> Verdict:
    return Verdict.failed(
        "answer.unsupported",
        f"message {index}: the final answer cites {what}, which no tool output, user text"
        + (", call argument or called tool's description" if kind == "name" else " or call argument")
        + " states",
        message_index=index,
        value=literal,
        kind=kind,
    )
