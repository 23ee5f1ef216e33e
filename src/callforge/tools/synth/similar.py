"""Duplicate APIs: the same name, or a name and description that say the same thing.

A pool with `get_weather`, `fetch_weather` and `get_current_weather` all "returning the current
weather for a city" teaches one API three times. Similarity is the Jaccard overlap of content
words (name tokens plus description, stop words dropped, plurals folded); an inverted index keeps
the comparison to APIs that share a word, so the cost stays near linear in the pool size.
"""

from __future__ import annotations

import re
from collections import defaultdict

from callforge.core import ToolSpec, Verdict

DEFAULT_SIMILARITY = 0.6
"""Word overlap at which two APIs count as one. Measured on drafts of the 1.5B model, pairs above
0.6 differed by a synonym or two; pairs below described visibly different operations."""

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "are",
        "be",
        "this",
        "that",
        "it",
        "its",
        "as",
        "into",
        "via",
        "given",
        "specific",
        "api",
        "returns",
        "return",
        "retrieve",
        "retrieves",
        "get",
        "gets",
        "fetch",
        "fetches",
        "provide",
        "provides",
        "list",
        "lists",
        "information",
        "details",
        "data",
        "based",
        "using",
        "user",
        "users",
    ]
)


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(tool: ToolSpec) -> frozenset[str]:
    """The words that carry a tool's meaning: name tokens and description words, minus filler."""
    text = f"{tool.name.replace('_', ' ')} {tool.description}".lower()
    return frozenset(_fold(w) for w in re.findall(r"[a-z0-9]+", text) if w not in _STOP and len(w) > 1)


class ApiIndex:
    """The APIs kept so far; says whether a new one duplicates one of them."""

    def __init__(self, threshold: float = DEFAULT_SIMILARITY) -> None:
        """`threshold`: the content-word Jaccard at which two APIs are duplicates (1.0: names only)."""
        self.threshold = threshold
        self._names: set[str] = set()
        self._words: dict[str, frozenset[str]] = {}
        self._postings: dict[str, list[str]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._names)

    def check(self, tool: ToolSpec) -> Verdict | None:
        """A `dedup.name` or `dedup.description` verdict when `tool` repeats a kept API, else None."""
        if tool.name in self._names:
            return Verdict.failed(
                "dedup.name", f"an API named {tool.name!r} is already in the pool", duplicate_of=tool.name
            )
        words = content_words(tool)
        seen: set[str] = set()
        best: tuple[float, str] | None = None
        for word in words:
            for other in self._postings.get(word, ()):
                if other in seen:
                    continue
                seen.add(other)
                theirs = self._words[other]
                score = len(words & theirs) / len(words | theirs)
                if best is None or score > best[0]:
                    best = (score, other)
        if best is not None and best[0] >= self.threshold:
            return Verdict.failed(
                "dedup.description",
                f"says the same as {best[1]!r} ({best[0]:.0%} of content words shared)",
                duplicate_of=best[1],
                similarity=round(best[0], 3),
            )
        return None

    def add(self, tool: ToolSpec) -> None:
        """Keep `tool`; later checks compare against it."""
        words = content_words(tool)
        self._names.add(tool.name)
        self._words[tool.name] = words
        for word in words:
            self._postings[word].append(tool.name)
