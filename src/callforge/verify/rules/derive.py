"""Values a careful reader works out from the text instead of copying it.

Two strengths. *Exact forms* are standard rewritings whose result is certain, so a value equal to one
is grounded: scientific notation ("5 x 10^-12" -> `5e-12`), feet and inches ("6 feet 2 inches",
5'11" -> `74`, `71` inches), two-digit years ('19 -> `2019`), and a date moved by a stated number of
days, nights or weeks ("3 nights starting 1st June 2022" -> `2022-06-04`). *Derivations* are one
arithmetic step on two numbers the text states (a sum, a difference, a product, a quotient, a
percentage of) or the time between two stated clock times: a value equal to one is plausible, not
proven (a small number can match by chance), so it is *unsure* and left to the judge.

All of it is regex and arithmetic over the text before a call; it runs only for a value the text does
not state as written.
"""

from __future__ import annotations

import datetime
import itertools
import re
from functools import lru_cache

from callforge.verify.rules.normalize import numbers_in, words

_SCIENTIFIC = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:x|×|\*|·)\s*10\s*(?:\^|\*\*)\s*\(?\s*([-−+]?\d+)")
_FEET_INCHES = re.compile(
    r"(\d+)\s*(?:'|’|ft\.?|feet|foot)\s*(?:and\s*)?(\d{1,2})\s*(?:\"|”|''|in\b|inch|inches)?", re.IGNORECASE
)
_SHORT_YEAR = re.compile(r"(?:^|[\s(])['’](\d{2})\b")
_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)|\b(\d{1,2}):(\d{2})\b", re.IGNORECASE)
_CLOCK_WORDS = {"noon": 12 * 60, "midday": 12 * 60, "midnight": 0}
_SPAN = re.compile(
    r"\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|fourteen)\s+(day|night|week)s?\b"
)
_SPAN_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "fourteen": 14}  # fmt: skip
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DATES = (
    (re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b"), (3, 2, 1)),  # 1st June 2022
    (re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+(?:of\s+)?(\d{{4}})\b"), (3, 1, 2)),  # June 1, 2022
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), (1, 2, 3)),  # 2022-06-01
)
_MAX_NUMBERS = 12  # pairs of at most this many stated numbers are combined: 66 pairs, a few hundred values


def exact_numbers(raw: str) -> set[float]:
    """Numbers the text states in a form a plain number search misses: 10^-12, feet and inches, '19."""
    found: set[float] = set()
    for mantissa, exponent in _SCIENTIFIC.findall(raw):
        found.add(_rounded(float(mantissa) * 10.0 ** int(exponent.replace("−", "-"))))
    for feet, inches in _FEET_INCHES.findall(raw):
        if int(inches) < 12:
            found.add(float(int(feet) * 12 + int(inches)))
    for short in _SHORT_YEAR.findall(raw):
        found.update((2000.0 + int(short), 1900.0 + int(short)))
    return found


def is_exact_number(value: float, raw: str) -> bool:
    """Whether `value` is one of the text's `exact_numbers`."""
    return _rounded(value) in _exact(raw)


def is_derived_number(value: float, raw: str) -> bool:
    """Whether `value` is one arithmetic step from two stated numbers, or a span between two stated times."""
    return _rounded(value) in _derived(raw)


def shifted_dates(raw: str) -> set[str]:
    """ISO dates the text reaches by moving a date it states by a span it states ("3 nights from June 1")."""
    dates = _text_dates(raw)
    spans = stated_spans(raw)
    found: set[str] = set()
    for date, days in itertools.product(dates, spans):
        for moved in (date + datetime.timedelta(days=days), date - datetime.timedelta(days=days)):
            found.add(moved.isoformat())
    return found


@lru_cache(maxsize=256)
def _exact(raw: str) -> frozenset[float]:
    return frozenset(exact_numbers(raw))


@lru_cache(maxsize=256)
def _derived(raw: str) -> frozenset[float]:
    stated = sorted({abs(n) for n in numbers_in(raw, words(raw)) | exact_numbers(raw) if n})[:_MAX_NUMBERS]
    found: set[float] = set()
    for a, b in itertools.combinations(stated, 2):
        found.update((a + b, abs(a - b), a * b, a / b, b / a, a * b / 100))
    for a, b in itertools.combinations(_clock_minutes(raw), 2):
        minutes = abs(a - b)
        found.update((minutes, minutes * 60, minutes / 60))
    return frozenset(_rounded(n) for n in found if n)


def _clock_minutes(raw: str) -> list[int]:
    """Minutes after midnight of each clock time the text states (12- and 24-hour, noon, midnight)."""
    found: list[int] = []
    for hour, minute, half, hour24, minute24 in _CLOCK.findall(raw):
        if half:
            found.append(
                (int(hour) % 12 + (12 if half.lower().startswith("p") else 0)) * 60 + int(minute or 0)
            )
        elif int(hour24) < 24 and int(minute24) < 60:
            found.append(int(hour24) * 60 + int(minute24))
    found.extend(minutes for word, minutes in _CLOCK_WORDS.items() if word in raw.casefold())
    return sorted(set(found))


def stated_spans(raw: str) -> set[int]:
    """Days of every span the text states: "three nights" -> 3, "2 weeks" -> 14."""
    spans: set[int] = set()
    for amount, unit in _SPAN.findall(raw.casefold()):
        count = _SPAN_WORDS.get(amount) or int(amount)
        spans.add(count * 7 if unit == "week" else count)
    return spans


def _text_dates(raw: str) -> list[datetime.date]:
    found: list[datetime.date] = []
    lowered = raw.casefold()
    for pattern, (y, m, d) in _DATES:
        for match in pattern.finditer(lowered):
            month = match.group(m)
            number = _MONTH_NAMES.index(month) + 1 if month in _MONTH_NAMES else int(month)
            try:
                found.append(datetime.date(int(match.group(y)), number, int(match.group(d))))
            except ValueError:
                continue
    return found


def _rounded(value: float) -> float:
    """Round to 9 significant digits, so 5 * 10**-12 and 5e-12 (and 2800 * 5 and 14000.0) compare equal."""
    return float(f"{value:.9g}")
