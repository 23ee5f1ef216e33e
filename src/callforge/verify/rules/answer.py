"""The final answer is faithful: the numbers and names it cites appear in what the assistant was told.

After tool outputs, the last assistant text is what a user reads. A number in it that no tool output,
user text or call argument states (rounding allowed) is a contradiction or an invention; so is a
proper name mid-sentence that appears nowhere before it. A stock refusal ("I'm sorry, but I can't
assist with that.", "I'm sorry, but I don't have access to your calendar") after the tools answered
is no answer at all: trained on, it teaches a model to call a tool and then refuse.
"""

from __future__ import annotations

import re

import orjson

from callforge.core import Verdict
from callforge.verify.rules.base import DialogView
from callforge.verify.rules.normalize import STOPWORDS, Haystack, fold, stem

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
_COMMON = frozenset(["i", "ok", "am", "pm", "usd", "eur", "gbp", "api", "id", "url"])


class FinalAnswerCheck:
    """Numbers and proper names in the final answer are traceable to the dialog before it."""

    name = "answer"
    codes = ("answer.unsupported", "answer.refusal")

    def __init__(self, *, names: bool = True) -> None:
        """`names=False` checks numbers only, for data whose answers name things freely."""
        self.names = names

    def check(self, view: DialogView) -> list[Verdict]:
        """Check the last assistant text that follows a tool output."""
        messages = view.messages
        index = _final_answer(view)
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
        for site in view.calls:
            if site.message_index < index:
                haystack.add(orjson.dumps(site.call.arguments).decode())
                haystack.add(site.call.name)
        out = []
        for match in _NUMBER.finditer(text):
            literal = match.group(0)
            value = float(literal.replace(",", ""))
            decimals = len(match.group(1) or "")
            if value in (0, 1) or _stated(value, decimals, haystack):
                continue
            out.append(_fail(index, f"the number {literal}", literal, "number"))
        if self.names:
            for match in _NAME.finditer(text):
                name = match.group(1)
                folded = fold(name)
                if folded in _COMMON or folded in STOPWORDS:
                    continue
                if folded in haystack.word_set or stem(folded) in haystack.stems:
                    continue
                out.append(_fail(index, f"the name {name!r}", name, "name"))
        return out


def _final_answer(view: DialogView) -> int | None:
    messages = view.messages
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.role == "assistant" and message.content and not message.tool_calls:
            if any(m.role == "tool" for m in messages[:i]):
                return i
            return None
        if message.role in ("assistant", "user"):
            return None
    return None


def _stated(value: float, decimals: int, haystack: Haystack) -> bool:
    if haystack.has_number(value):
        return True
    return any(round(n, decimals) == value for n in haystack.numbers)


def _fail(index: int, what: str, literal: str, kind: str) -> Verdict:
    return Verdict.failed(
        "answer.unsupported",
        f"message {index}: the final answer cites {what}, which no tool output, user text or call argument states",
        message_index=index,
        value=literal,
        kind=kind,
    )
