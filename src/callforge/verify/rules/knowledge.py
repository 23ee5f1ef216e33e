"""World knowledge a careful reader applies: standard codes and conversions that are not copies of the text.

"French" -> `fr`, "France" -> `FR`, "euros" or "€" -> `EUR`, "San Francisco" -> `SFO`, "an hour and a half"
-> `5400` seconds, "3pm" -> `15:00`, "tomorrow" -> the stated date plus one day. A value that is one of
these normalisations of what the text says is grounded, and rejecting it would teach a model to copy
strings and never to normalise. The code data comes from well-kept packages: `pycountry` (ISO 639
languages, ISO 3166 countries, ISO 4217 currencies) and `airportsdata` (IATA airports with their
cities); both are read once, on first use (about 0.1 s each), and only when a value is not a copy.
"""

from __future__ import annotations

import datetime
import re
from functools import cache
from typing import Any

from callforge.verify.rules.normalize import Haystack, fold, words
from callforge.verify.rules.places import ALIASES, US_STATES

_SYMBOLS = {"$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB",
            "₺": "TRY", "₪": "ILS", "₫": "VND", "฿": "THB", "₱": "PHP", "r$": "BRL", "c$": "CAD", "a$": "AUD",
            "chf": "CHF", "fr.": "CHF"}  # fmt: skip
_CURRENCY_WORDS = {"dollar": "USD", "buck": "USD", "euro": "EUR", "pound": "GBP", "sterling": "GBP", "quid": "GBP",
                   "yen": "JPY", "yuan": "CNY", "renminbi": "CNY", "rupee": "INR", "won": "KRW", "ruble": "RUB",
                   "rouble": "RUB", "franc": "CHF", "peso": "MXN", "real": "BRL", "reais": "BRL", "lira": "TRY",
                   "krona": "SEK", "krone": "NOK", "zloty": "PLN", "baht": "THB", "rand": "ZAR",
                   "shekel": "ILS", "dirham": "AED", "riyal": "SAR"}  # fmt: skip
_UNIT_SECONDS = {"ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001, "s": 1, "sec": 1, "secs": 1, "second": 1,
                 "seconds": 1, "min": 60, "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600,
                 "hrs": 3600, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400, "week": 604800,
                 "weeks": 604800}  # fmt: skip
_COUNT_WORDS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0, "six": 6.0,
                "seven": 7.0, "eight": 8.0, "nine": 9.0, "ten": 10.0, "twelve": 12.0, "fifteen": 15.0,
                "twenty": 20.0, "thirty": 30.0, "forty": 40.0, "forty-five": 45.0, "sixty": 60.0, "ninety": 90.0}  # fmt: skip
_STATED_TODAY = re.compile(
    r"\b(?:today(?:'s date)?(?: is|:)|current date(?: is|:)|the date is|date:)\s*(\d{4})-(\d{2})-(\d{2})",
    re.IGNORECASE,
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME_12H = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)", re.IGNORECASE)
_TIME_VALUE = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


def grounds_string(value: str, haystack: Haystack, raw: str = "") -> bool:
    """Whether `value` is a standard code (or name) of something the text names (see the module docs).

    Also: an abbreviation whose expansion the text states ("SD" for "San Diego"), the state or
    country of a city the text names ("California" for "San Francisco", `GB` for "London"), a
    duration written with other units ("5 minutes" for "5 mins"), a month the text abbreviates
    (`February` for "Feb"), and the first of a month the text names with its year (`2022-07-01` for
    "July 2022").
    """
    stripped = value.strip()
    if not stripped:
        return False
    for name in code_names(stripped):
        # the name as written: `DUB` stands for Dublin, which is one typo from "Dubai"; "€" is a symbol
        if haystack.has_phrase(name) if words(name) else name in raw:
            return True
    if any(haystack.has_string(code) for code in name_codes(stripped)):
        return True
    expansion = ALIASES.get(fold(stripped))
    if expansion and haystack.has_string(expansion):
        return True
    if _month_name(stripped, haystack) or _cjk_date(stripped, haystack):
        return True
    return bool(raw) and (
        _region_of_city(stripped, raw) or _same_duration(stripped, raw) or _month_start(stripped, raw)
    )


_CJK_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日")


def _cjk_date(value: str, haystack: Haystack) -> bool:
    """A date written the Chinese/Japanese way (`2022年5月15日`) that the text states as numbers."""
    match = _CJK_DATE.match(value)
    return match is not None and all(float(part) in haystack.numbers for part in match.groups())


def _month_name(value: str, haystack: Haystack) -> bool:
    """A month written out that the text abbreviates: `February` for "Feb"."""
    folded = fold(value).strip()
    return folded in _MONTHS and (folded[:3] in haystack.word_set or folded[:4] in haystack.word_set)


def is_named_thing(value: str) -> bool:
    """Whether `value` names a language or a country: a choice world knowledge makes (the language of a review)."""
    return bool(name_codes(value.strip()))


def _region_of_city(value: str, raw: str) -> bool:
    folded = fold(value)
    wanted = {folded, US_STATES.get(folded, folded)}
    tokens = words(raw)
    cities = _cities()
    for size in (3, 2, 1):
        for i in range(len(tokens) - size + 1):
            regions = cities.get(" ".join(tokens[i : i + size]))
            if regions and wanted & regions:
                return True
    return False


def _same_duration(value: str, raw: str) -> bool:
    stated = quantities(value)
    return bool(stated) and bool(stated & quantities(raw))


_MONTH_YEAR = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\s+(\d{4})\b"
)
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")  # fmt: skip


def _month_start(value: str, raw: str) -> bool:
    match = re.match(r"^(\d{4})-(\d{2})-01\b", value)
    if match is None:
        return False
    year, month = match.group(1), int(match.group(2))
    return any(_MONTHS.index(m) + 1 == month and y == year for m, y in _MONTH_YEAR.findall(raw.casefold()))


@cache
def _cities() -> dict[str, set[str]]:
    """Folded city name -> the folded names and codes of its state or province and its country."""
    import airportsdata
    import pycountry

    found: dict[str, set[str]] = {}
    for airport in airportsdata.load("IATA").values():
        city = fold(str(airport.get("city") or "")).strip()
        if not city:
            continue
        regions = found.setdefault(city, set())
        subd = fold(str(airport.get("subd") or "")).strip()
        if subd:
            regions.add(subd)
        country = str(airport.get("country") or "")
        if country:
            regions.add(country.casefold())
            known = pycountry.countries.get(alpha_2=country)
            if known is not None:
                regions.add(fold(known.name))
                regions.add(known.alpha_3.casefold())
    return found


def code_names(code: str) -> list[str]:
    """The names a code stands for: `fr` -> French, France; `SFO` -> San Francisco; `EUR` -> Euro, euros, €.

    BCP 47 tags read as their parts (`en-US` -> English, United States).
    """
    if "-" in code or "_" in code:
        parts = re.split(r"[-_]", code)
        if 1 < len(parts) <= 3 and all(1 < len(p) <= 3 for p in parts):
            return [n for p in parts for n in code_names(p)]
    if not code.isalpha() or not 2 <= len(code) <= 3:
        return []
    names: list[str] = []
    lowered, upper = code.lower(), code.upper()
    languages, countries, currencies, airports = _tables()
    names += languages.get(lowered, [])
    names += countries.get(upper, [])
    names += currencies.get(upper, [])
    if len(code) == 3:
        names += airports.get(upper, [])
    return names


def name_codes(name: str) -> list[str]:
    """The codes a name stands for, the other way round: "Japanese" -> ja, jpn; "Germany" -> DE, DEU."""
    key = fold(name)
    return _reverse().get(key, [])


def quantities(text: str) -> set[float]:
    """Every duration the text states, in seconds, minutes, hours, days and milliseconds.

    "an hour and a half" -> 5400 s, 90 min, 1.5 h; "15 minutes" -> 900 s; "half an hour" -> 30 min.
    """
    tokens = words(text)
    found: set[float] = set()
    for seconds in _durations(tokens):
        for unit in (1, 60, 3600, 86400, 0.001):
            found.add(round(seconds / unit, 6))
    return found


def durations(text: str) -> list[float]:
    """Each duration the text states, in seconds: "an hour and a half" -> 5400."""
    return _durations(words(text))


def _durations(tokens: list[str]) -> list[float]:
    found: list[float] = []
    for i, token in enumerate(tokens):
        unit = _UNIT_SECONDS.get(token)
        if unit is None or i == 0:
            continue
        amount = _amount(tokens[i - 1])
        if tokens[i - 1] == "half" and i >= 2 and tokens[i - 2] in ("a", "an"):
            amount = 0.5
        if amount is None:
            continue
        seconds = amount * unit
        if tokens[i + 1 : i + 4] in (["and", "a", "half"],):
            seconds += 0.5 * unit
        found.append(seconds)
        if i >= 2 and tokens[i - 2] == "half" and tokens[i - 1] in ("a", "an"):
            found.append(0.5 * unit)
    return found


def _amount(token: str) -> float | None:
    if token in _COUNT_WORDS:
        return _COUNT_WORDS[token]
    try:
        return float(token)
    except ValueError:
        return None


def stated_today(text: str) -> datetime.date | None:
    """The date the dialog says it is ("Today is 2025-12-31"), which relative dates count from."""
    match = _STATED_TODAY.search(text)
    if match is None:
        return None
    try:
        return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def relative_dates(text: str, today: datetime.date) -> dict[str, datetime.date]:
    """The dates the relative words of `text` name, counted from `today`.

    today, tomorrow, yesterday, the day after tomorrow, (next / this coming / last) Friday, and a
    span from today ("a week from today", "in 3 days", "10 days from now").
    """
    tokens = words(text)
    found: dict[str, datetime.date] = {}
    day = datetime.timedelta(days=1)
    for i, token in enumerate(tokens):
        before = tokens[max(0, i - 2) : i]
        if token in ("today", "tonight", "now") and i >= 2 and tokens[i - 1] == "from":
            span = _span_before(tokens, i - 1)
            if span is not None:
                found[" ".join(tokens[i - 3 : i + 1])] = today + span * day
        elif token in ("today", "tonight"):
            found[token] = today
        elif token == "tomorrow" and before[-1:] == ["after"]:
            found["the day after tomorrow"] = today + 2 * day
        elif token == "tomorrow":
            found["tomorrow"] = today + day
        elif token == "yesterday":
            found["yesterday"] = today - day
        elif token in _WEEKDAYS:
            found[token] = _weekday(today, _WEEKDAYS.index(token), tokens[i - 1] if i else "")
            if i and tokens[i - 1] == "next" and found[token] - today < 7 * day:
                found[f"next {token}, the week after"] = found[token] + 7 * day  # people mean either
        elif token == "in" and i + 2 < len(tokens):
            span = _span_before(tokens, i + 3)
            if span is not None:
                found[" ".join(tokens[i : i + 3])] = today + span * day
    return found


def _weekday(today: datetime.date, wanted: int, before: str) -> datetime.date:
    """The weekday `wanted` that "last", "next", "this" or nothing before it names, seen from `today`."""
    ahead = (wanted - today.weekday()) % 7
    if before in ("last", "past", "since", "previous"):
        return today - datetime.timedelta(days=(7 - ahead) if ahead else 7)
    if before == "next" and ahead == 0:
        ahead = 7
    return today + datetime.timedelta(days=ahead or 7)


def _span_before(tokens: list[str], end: int) -> int | None:
    """Days in the "<amount> day(s)/week(s)" that ends right before `end`, or None."""
    if end < 2 or tokens[end - 1] not in ("day", "days", "week", "weeks"):
        return None
    amount = _amount(tokens[end - 2])
    if amount is None:
        return None
    return int(amount * (7 if tokens[end - 1].startswith("week") else 1))


def clock_times(text: str) -> list[tuple[int, int]]:
    """The 24-hour (hour, minute) of every 12-hour time the text states: "3pm" -> (15, 0), "9:30 am" -> (9, 30)."""
    found = []
    for hour, minute, half in _TIME_12H.findall(text):
        h = int(hour) % 12 + (12 if half.lower().startswith("p") else 0)
        found.append((h, int(minute or 0)))
    return found


def time_value(value: Any) -> tuple[int, int] | None:
    """(hour, minute) of a value written as a 24-hour clock time (`15:00`, `09:30:00`)."""
    if not isinstance(value, str):
        return None
    match = _TIME_VALUE.match(value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


@cache
def _tables() -> tuple[
    dict[str, list[str]], dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]
]:
    import airportsdata
    import pycountry

    languages: dict[str, list[str]] = {}
    for language in pycountry.languages:
        for attr in ("alpha_2", "alpha_3"):
            code = getattr(language, attr, None)
            if code:
                languages.setdefault(code.lower(), []).append(language.name)
    countries: dict[str, list[str]] = {}
    for country in pycountry.countries:
        names = [
            country.name,
            *(
                n
                for n in (getattr(country, "common_name", None), getattr(country, "official_name", None))
                if n
            ),
        ]
        for attr in ("alpha_2", "alpha_3"):
            countries.setdefault(getattr(country, attr), []).extend(names)
    currencies: dict[str, list[str]] = {}
    for currency in pycountry.currencies:
        currencies.setdefault(currency.alpha_3, []).append(currency.name)
    for word, code in _CURRENCY_WORDS.items():
        currencies.setdefault(code, []).extend([word, word + "s"])
    for symbol, code in _SYMBOLS.items():
        currencies.setdefault(code, []).append(symbol)
    airports: dict[str, list[str]] = {}
    for code, airport in airportsdata.load("IATA").items():
        city = str(airport.get("city") or "").strip()
        if city:
            airports.setdefault(code, []).append(city)
        named = str(airport.get("name") or "").split()
        if named and len(named[0]) >= 4 and named[0] != city and named[0][0].isupper():
            # YYZ lies in Mississauga but is "Toronto Pearson International Airport"
            airports.setdefault(code, []).append(named[0].strip(",-"))
    return languages, countries, currencies, airports


@cache
def _reverse() -> dict[str, list[str]]:
    reverse: dict[str, list[str]] = {}
    languages, countries, currencies, _ = _tables()
    for table in (languages, countries, currencies):
        for code, names in table.items():
            for name in names:
                reverse.setdefault(fold(name), []).append(code)
    return reverse


def symbol_currency(text: str) -> set[str]:
    """Currency codes that symbols in the text stand for: "$1,200" -> USD."""
    folded = text.casefold()
    return {code for symbol, code in _SYMBOLS.items() if symbol in folded and not symbol.isalpha()}
