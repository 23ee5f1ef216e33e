"""Country facts a careful reader knows: demonyms ("Swiss" for Switzerland) and capitals ("the capital of Japan").

A request about "Swiss trains" names Switzerland; an answer that says "the Swiss franc" for a
request about Switzerland cites nothing new; a search in `Tokyo` for "the capital of Japan" copies
nothing but is exactly right. The data comes from the `countryinfo` package (MIT, 380 KB, no
dependencies): its 250 countries are read once, on first use, in about 40 ms.

Capitals are stated only when the text says "capital": "sushi in Japan" does not name Tokyo.
"""

from __future__ import annotations

from functools import cache

from callforge.verify.rules.normalize import words as _words

_Pair = tuple[str, str]


@cache
def _tables() -> tuple[dict[str, str], dict[_Pair, str], dict[str, str], dict[_Pair, str]]:
    """(word → what it also states, word pair → the same, capital by one-word name, by two-word name)."""
    from countryinfo import all_countries

    words: dict[str, str] = {}
    pairs: dict[_Pair, str] = {}
    capital_words: dict[str, str] = {}
    capital_pairs: dict[_Pair, str] = {}
    for country in all_countries():
        try:
            name, demonym, capital = country.name(), country.demonym(), country.capital()
        except (KeyError, AttributeError, TypeError):
            continue  # an entry without one of the three fields states nothing here
        names = [fold_words(n) for n in (name, demonym) if isinstance(n, str) and n]
        if len(names) == 2 and names[0] != names[1]:
            _link(names[0], names[1], words, pairs)
            _link(names[1], names[0], words, pairs)
        if isinstance(capital, str) and capital:
            for n in names:
                _link(n, fold_words(capital), capital_words, capital_pairs)
    return words, pairs, capital_words, capital_pairs


def fold_words(text: str) -> str:
    """`Washington D.C.` → "washington d c": the form the text's tokens take."""
    return " ".join(_words(text))


def _link(key: str, extra: str, words: dict[str, str], pairs: dict[_Pair, str]) -> None:
    parts = key.split()
    if len(parts) == 1:
        words[parts[0]] = f"{words.get(parts[0], '')} {extra}".strip()
    elif len(parts) == 2:
        pair = (parts[0], parts[1])
        pairs[pair] = f"{pairs.get(pair, '')} {extra}".strip()


def country_words(tokens: list[str]) -> list[str]:
    """Words a text states through the countries it names: "swiss" for Switzerland, "tokyo" for the capital of Japan.

    `tokens` are the text's folded words in order; a capital is added only when "capital" is among them.
    """
    words, pairs, capital_words, capital_pairs = _tables()
    capitals = "capital" in tokens or "capitals" in tokens
    extra: list[str] = []
    previous = ""
    for token in tokens:
        found = [words.get(token), pairs.get((previous, token))]
        if capitals:
            found += [capital_words.get(token), capital_pairs.get((previous, token))]
        for stated in found:
            if stated:
                extra.extend(stated.split())
        previous = token
    return extra
