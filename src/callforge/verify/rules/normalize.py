"""Text normalisation for value grounding: words, numbers, number words and dates.

It is what makes `5000` is found in "5,000", "5k" or "five thousand" and `Zürich` in "zurich".

Everything here is plain string work with precompiled regexes: the rule layer budget is a few
microseconds per value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from callforge.verify.rules.places import ALIASES, BIGRAM_ALIASES, CONTINENTS, REGIONS

_WORD = re.compile(r"[^\W\d_]+|\d+")  # letter runs and digit runs: "engine_size", "June01", "5cm" split
_NUMBER = re.compile(
    r"(-)?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)"
    r"\s*(%|[kmb]n?\b|thousand|million|billion|trillion|dozen)?"
)
_PREFIXED_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s?([mµμun])(?=[a-zω])")
_PM = re.compile(r"\b(\d{1,2})(?::\d{2})?\s*pm\b")
_PREFIX = {"m": 1e3, "µ": 1e6, "μ": 1e6, "u": 1e6, "n": 1e9}  # casefold turns µ (micro) into μ
_TEXT_DATE = re.compile(r"\b(\d{4})[-./](\d{1,2})[-./](\d{1,2})\b|\b(\d{1,2})[-./](\d{1,2})[-./](\d{2,4})\b")
_SLASH_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2,4})$")
_ESCAPES = re.compile(r"\\[nrt]")  # a literal "\n" in data is a line break, not the letter n
_TIMEZONE = re.compile(r"^([A-Za-z]+)/([A-Za-z_]+)$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2}))?")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?\s*(am|pm)?$", re.IGNORECASE)

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "hundredth": 100,
}  # fmt: skip
_OTHER_NUMBERS = {
    "half": 0.5, "quarter": 0.25, "dozen": 12, "twice": 2, "double": 2, "triple": 3, "pair": 2,
    "couple": 2, "single": 1, "once": 1, "none": 0, "no": 0, "a": 1, "an": 1,
}  # fmt: skip
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_RELATIVE_DATES = frozenset(
    ["today", "tomorrow", "yesterday", "tonight", "now", "weekend", "week", "month", "year", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "next", "last", "ago", "upcoming", "current", "morning", "afternoon", "evening", "noon", "midnight"]
)
_SUFFIX = {"%": 0.01, "k": 1e3, "m": 1e6, "mn": 1e6, "b": 1e9, "bn": 1e9, "thousand": 1e3, "million": 1e6,
           "billion": 1e9, "trillion": 1e12, "dozen": 12}  # fmt: skip
STOPWORDS = frozenset(
    ["a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "with", "by", "from", "is", "are", "be", "as", "that", "this", "it", "its", "into", "about", "per"]
)


def fold(text: str) -> str:
    """Casefold and strip accents, so `Zürich`, `ZURICH` and `zurich` compare equal."""
    text = text.casefold()
    if "\\" in text:
        text = _ESCAPES.sub(" ", text)
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text


def words(text: str) -> list[str]:
    """The folded word tokens of `text`."""
    return _WORD.findall(fold(text))


_NAME_PARTS = re.compile(r"[_\W]+|(?<=[a-z])(?=[A-Z])")


def name_parts(name: str) -> list[str]:
    """The lowercased words of an identifier: `origin_city`, `toCurrency`, `avoid-tolls` -> their parts."""
    return [p.lower() for p in _NAME_PARTS.split(name) if p]


def stem(word: str) -> str:
    """A light plural stemmer: enough to match `restaurants` with `restaurant`, nothing clever."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def numbers_in(text: str, tokens: list[str]) -> set[float]:
    """Every number the text states: digits with suffixes and percent, number words, ordinals, months."""
    found: set[float] = set()
    if "/" in text or "." in text or "-" in text:
        for match in _TEXT_DATE.finditer(text):
            found.update(float(g) for g in match.groups() if g)
    for _sign, digits, suffix in _NUMBER.findall(text.casefold()):
        value = float(digits.replace(",", ""))
        found.add(value)
        found.add(-value)  # "112.07 W", "3 below zero", "minus 5": the sign is often in words
        if "," in digits:  # "1,200" is a number, but "[200,300,400]" is a list: keep both readings
            found.update(float(part) for part in digits.split(",") if part)
        if suffix:
            scaled = value * _SUFFIX[suffix.strip()]
            found.add(scaled)
            if suffix == "%":
                found.add(round(scaled, 12))
    lowered = text.casefold()
    for digits, prefix in _PREFIXED_UNIT.findall(lowered):  # 50mH, 100µF: the tool may want SI base units
        found.add(float(digits) / _PREFIX[prefix])  # divide: 100 / 1e6 is exactly 0.0001
    for hour in _PM.findall(lowered):  # 11 PM is also 23
        found.add(float(hour) + 12)
    total = current = 0.0
    in_number = False
    for token in tokens:
        if token in _UNITS or token in _TENS:
            current += _UNITS.get(token, 0) + _TENS.get(token, 0)
            found.add(float(_UNITS.get(token, 0) + _TENS.get(token, 0)))
            in_number = True
        elif token in _SCALES and in_number:
            scale = _SCALES[token]
            if scale == 100:
                current *= 100
            else:
                total += current * scale
                current = 0.0
        elif token == "and" and in_number:
            continue
        else:
            if in_number:
                found.add(total + current)
            total = current = 0.0
            in_number = False
            named = _ORDINALS.get(token) or _OTHER_NUMBERS.get(token) or _MONTHS.get(token)
            if named is not None:
                found.add(float(named))
    if in_number:
        found.add(total + current)
    return found


@dataclass
class Haystack:
    """The text a value may be traced to: system and user messages and earlier tool outputs."""

    joined: str = " "
    raw: str = ""
    squashed: str = ""
    word_set: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)
    relative_date: bool = False

    def add(self, text: str) -> None:
        """Make `text` part of what values can be traced to."""
        folded = fold(text)
        tokens = _WORD.findall(folded)
        if not tokens:
            return
        if not folded.isascii():
            self.raw += folded + "\n"
        extra = _aliases(tokens)
        self.joined += " ".join(tokens) + " "
        self.squashed += "".join(tokens) + " "
        if extra:
            self.joined += " ".join(extra) + " "
            tokens = tokens + extra
        self.word_set.update(tokens)
        self.stems.update(stem(t) for t in tokens)
        self.numbers |= numbers_in(text, tokens)
        if not self.relative_date and not _RELATIVE_DATES.isdisjoint(tokens):
            self.relative_date = True

    def copy(self) -> Haystack:
        """An independent copy, so the text before one message can be extended for the next."""
        return Haystack(self.joined, self.raw, self.squashed, set(self.word_set), set(self.stems), set(self.numbers), self.relative_date)

    def has_number(self, value: float) -> bool:
        """Whether the text states `value`, directly or as a percentage of it."""
        numbers = self.numbers
        if value in numbers or value * 100 in numbers or round(value * 100, 9) in numbers:
            return True
        return value / 100 in numbers

    def has_phrase(self, value: str) -> bool:
        """Whether the text contains `value`'s words in a row, as written: no typo, stem or date tolerance."""
        tokens = _WORD.findall(fold(value))
        return bool(tokens) and " " + " ".join(tokens) + " " in self.joined

    def has_string(self, value: str) -> bool:
        """Whether the text contains `value`: as a phrase, word by word, or as a date/time it states."""
        folded = fold(value)
        tokens = _WORD.findall(folded)
        if not tokens:
            return True
        if " " + " ".join(tokens) + " " in self.joined:
            return True
        if not folded.isascii() and folded.strip() in self.raw:
            return True  # scripts without spaces between words (Chinese, Japanese): compare as text
        missing = [t for t in tokens if not self._has_token(t)]
        if not missing:
            return True
        squashed = "".join(tokens)
        if len(squashed) >= 6 and squashed in self.squashed:
            return True  # "McDonald's" in "mc donalds", "e-mail" in "email"
        if all(len(t) >= 5 and self._near_token(t) for t in missing):
            return True  # a typo on either side: "Chcicago", "airtificial"
        zone = _TIMEZONE.match(value.strip())
        if zone and fold(zone.group(1)) in CONTINENTS:
            return self.has_string(zone.group(2).replace("_", " "))  # America/New_York
        if "," in value:
            head, *rest = value.split(",")
            if rest and self.has_string(head) and all(is_region(part) or self.has_string(part) for part in rest):
                return True
        stripped = value.strip()
        date = _ISO_DATE.match(stripped)
        if date:
            return self._has_date(float(date.group(2)), float(date.group(3)))
        slash = _SLASH_DATE.match(stripped)
        if slash:  # 04/22/2023 or 22/04/2023: either order may be meant
            a, b = float(slash.group(1)), float(slash.group(2))
            return self._has_date(a, b) or self._has_date(b, a)
        time = _TIME.match(value.strip())
        if time:
            hour = int(time.group(1))
            return self.relative_date or float(hour) in self.numbers or float(hour % 12 or 12) in self.numbers
        content = [t for t in tokens if t not in STOPWORDS]
        if len(content) >= 4:
            present = sum(1 for t in content if self._has_token(t))
            return present >= 0.6 * len(content)
        return False

    def _has_token(self, token: str) -> bool:
        if token in self.word_set or stem(token) in self.stems:
            return True
        if token.isdigit() or _is_float(token):
            return float(token) in self.numbers
        return False

    def _near_token(self, token: str) -> bool:
        """Whether some word of the text is one typo away (two for long words) from `token`."""
        limit = 1 if len(token) < 8 else 2
        return any(
            abs(len(word) - len(token)) <= limit and word[0] == token[0] and _within(word, token, limit)
            for word in self.word_set
        )

    def _has_date(self, month: float, day: float) -> bool:
        if self.relative_date:
            return True
        return month in self.numbers and day in self.numbers


def _within(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of `a` and `b` is at most `limit` (a banded row-by-row computation)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def _aliases(tokens: list[str]) -> list[str]:
    """Extra words a text states through the aliases it uses (`LA` → los angeles, `euros` → eur).

    Also what its country names state (`swiss` for "Switzerland", a capital for "the capital of Japan").
    """
    from callforge.verify.rules.countries import country_words  # it reads words with this module's tokenizer

    extra: list[str] = country_words(tokens)
    previous = ""
    for token in tokens:
        alias = ALIASES.get(token)
        if alias:
            extra.extend(alias.split())
        pair = BIGRAM_ALIASES.get((previous, token))
        if pair:
            extra.extend(pair.split())
        previous = token
    return extra


def is_region(part: str) -> bool:
    """Whether `part` names a US state, a Canadian province or a country (by name or code)."""
    return " ".join(_WORD.findall(fold(part))) in REGIONS


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


_LETTER = re.compile(r"[^\W\d_]")
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def unspaced(text: str) -> bool:
    """Whether most letters of the text are of a script written without word spaces (Chinese, Japanese, Korean, Thai).

    Word-by-word comparison means nothing there: such text is compared by characters, or left to a judge.
    """
    return _mostly(text, lambda c: _UNSPACED.match(c) is not None)


def foreign(text: str) -> bool:
    """Whether most letters of the text are outside the Latin alphabet (Chinese, Cyrillic, Arabic ...)."""
    return _mostly(text, lambda c: not c.isascii() and not unicodedata.name(c, "").startswith("LATIN"))


def _mostly(text: str, test: Callable[[str], bool]) -> bool:
    letters = _LETTER.findall(text)
    return bool(letters) and 2 * sum(1 for c in letters if test(c)) > len(letters)
