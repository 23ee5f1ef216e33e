"""A fast path for BFCL's prompting decoder: plain call lists without building an `ast`.

Most prompting outputs are plain call lists, `[f(a=1, b='x'), g.h(c=[1.5, -2], d={'k': True})]`.
`ast.parse` spends most of its time building node objects for such text. This module reads
that subset straight from regex tokens and returns exactly what `decode_python_bfcl` returns
for it. Anything outside the subset (escapes in strings, operators, nested calls, tuples,
comments, non-ASCII names, odd whitespace, syntax errors of any kind) returns None, and the
caller takes the `ast` path, which alone decides failures and their messages.

The subset, where every accepted text is valid Python with one meaning:

* the text is `[` call (`,` call)* [`,`] `]`, or `[]`;
* a call is a dotted name (ASCII, no keyword in any part) and `(` arguments `)`; positional
  arguments must come before keyword ones and are dropped, as BFCL drops them;
* a value is a string without backslashes or line breaks, a decimal int without leading zeros,
  a float such as `1.5`, `2.` or `1e-3`, `-` and a number (negated, as BFCL negates), `True`,
  `False`, `None`, a bare name (its text, as BFCL reads it), a list, or a dict with scalar keys.
"""

from __future__ import annotations

import keyword
import re
from typing import Any

# One token per match, with the whitespace before it; `findall` covers the whole text because
# the last alternative takes any single character (and marks the text as outside the subset).
# Punctuation comes first (the commonest token) and every repeat is possessive: no token needs a
# repeat given back, and the engine tries less (a sixth faster). A cleaned text ends with `]`,
# so no whitespace is left without a token after it.
_TOKEN = re.compile(
    r"""[ \t\n]*+([(),=\[\]{}:]|[A-Za-z_][A-Za-z0-9_]*+(?:\.[A-Za-z_][A-Za-z0-9_]*+)*+"""
    r"""|'[^'\\\n\r\x00\ud800-\udfff]*+'"""
    r'''|"[^"\\\n\r\x00\ud800-\udfff]*+"'''
    r"|[0-9]++\.?[0-9]*+(?:[eE][+-]?[0-9]++)?"
    r"|[\s\S])"
)
# The opening every accepted text has: `[]`, or `[` and a name and `(`. (Its end is `)` or `[`,
# then `]`, with blanks and a comma between.)
_OPENING = re.compile(r"\[[ \t\n]*(?:\]|[A-Za-z_][A-Za-z0-9_.]*[ \t\n]*\()")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGITS = frozenset("0123456789")
_QUOTES = frozenset("'\"")
_KEYWORDS = frozenset(keyword.kwlist)
_CONSTANTS: dict[str, Any] = {"True": True, "False": False, "None": None}
_MAX_DEPTH = 32  # nesting of lists and dicts; deeper text takes the `ast` path
_MAX_INT_DIGITS = 100  # far below the interpreter's limit on int literals


class _Outside(Exception):
    """The text is outside the subset (or not Python at all): the `ast` path decides."""


def quick_decode_bfcl(cleaned: str) -> list[dict[str, dict[str, Any]]] | None:
    """BFCL's decoded form of `cleaned` (already bracketed), or None outside the subset."""
    # Cheap tests of both ends first: texts outside the subset (prose, fences, unclosed calls)
    # mostly fail one of them.
    if _OPENING.match(cleaned) is None or cleaned[:-1].rstrip(" \t\n,")[-1:] not in (")", "["):
        return None
    tokens: list[str] = _TOKEN.findall(cleaned)
    end = len(tokens) - 1
    if tokens[end] != "]":
        return None
    calls: list[dict[str, dict[str, Any]]] = []
    i = 1
    try:
        while i < end:
            name = tokens[i]
            if tokens[i + 1] != "(" or not _is_name(name):
                return None
            arguments, i = _arguments(tokens, i + 2)
            calls.append({name: arguments})
            if tokens[i] == ",":
                i += 1
            elif i != end:
                return None
    except (_Outside, IndexError):
        return None
    return calls


def _is_name(token: str) -> bool:
    """A dotted name none of whose parts is a keyword (`a.class` is a syntax error)."""
    if token[0] not in _NAME_START:
        return False
    if "." in token:
        return _KEYWORDS.isdisjoint(token.split("."))
    return token not in _KEYWORDS


def _arguments(tokens: list[str], i: int) -> tuple[dict[str, Any], int]:
    """The keyword arguments from `tokens[i]` (just after `(`); also the index after `)`."""
    arguments: dict[str, Any] = {}
    while tokens[i] != ")":
        token = tokens[i]
        if tokens[i + 1] == "=":
            if token[0] not in _NAME_START or token in _KEYWORDS or "." in token:
                raise _Outside
            value = tokens[i + 2]
            if value[0] in _QUOTES and len(value) > 1:  # a string, the most common value
                arguments[token] = value[1:-1]
                i += 3
            else:
                arguments[token], i = _value(tokens, i + 2, 0)
        elif arguments:
            raise _Outside  # a positional argument after a keyword one: a syntax error
        else:
            i = _value(tokens, i, 0)[1]  # positional: checked for syntax, then dropped
        token = tokens[i]
        if token == ",":
            i += 1
        elif token != ")":
            raise _Outside
    return arguments, i + 1


def _value(tokens: list[str], i: int, depth: int) -> tuple[Any, int]:
    """The value that starts at `tokens[i]`, and the index after it."""
    token = tokens[i]
    first = token[0]
    if first in _QUOTES:
        if len(token) < 2:  # a lone quote: a string this subset does not read
            raise _Outside
        return token[1:-1], i + 1
    if first in _DIGITS:
        return _number(token), i + 1
    if first == "-":
        token = tokens[i + 1]
        if token[0] not in _DIGITS:
            raise _Outside
        return -_number(token), i + 2
    if first == "[":
        if depth >= _MAX_DEPTH:
            raise _Outside
        items: list[Any] = []
        i += 1
        while tokens[i] != "]":
            item, i = _value(tokens, i, depth + 1)
            items.append(item)
            token = tokens[i]
            if token == ",":
                i += 1
            elif token != "]":
                raise _Outside
        return items, i + 1
    if first == "{":
        if depth >= _MAX_DEPTH:
            raise _Outside
        mapping: dict[Any, Any] = {}
        i += 1
        while tokens[i] != "}":
            key, i = _value(tokens, i, depth + 1)
            if tokens[i] != ":" or type(key) is list or type(key) is dict:
                raise _Outside  # a set, or an unhashable key
            mapping[key], i = _value(tokens, i + 1, depth + 1)
            token = tokens[i]
            if token == ",":
                i += 1
            elif token != "}":
                raise _Outside
        return mapping, i + 1
    if first in _NAME_START:
        if token in _CONSTANTS:
            return _CONSTANTS[token], i + 1
        if "." in token or token in _KEYWORDS or tokens[i + 1] == "(":
            raise _Outside  # an attribute, a keyword expression or a nested call
        return token, i + 1  # a bare name reads as its text
    raise _Outside


def _number(token: str) -> int | float:
    if "." in token or "e" in token or "E" in token:
        return float(token)
    if (token[0] == "0" and token.strip("0")) or len(token) > _MAX_INT_DIGITS:
        raise _Outside  # `007` is a syntax error; long literals are left to the parser's limits
    return int(token)


# Brackets, and the strings that may hide some; the last alternative is where this tokenizer no
# longer follows Python's: a quote that opens no string it can read, a comment, a line continuation.
_BRACKET = re.compile(r"""[\[\](){}]|'[^'\\\n\r\x00\ud800-\udfff]*'|"[^"\\\n\r\x00\ud800-\udfff]*"|['"#\\]""")
_OPENERS = {")": "(", "]": "[", "}": "{"}
_OPEN_BRACKETS = frozenset(_OPENERS.values())
_CLOSERS = frozenset(_OPENERS)
# The list's first two words: a name, then a name or a quote (`None of`, `I'm`, `To calculate`).
_FIRST_WORDS = re.compile(r"""\[[ \t\n]*([A-Za-z_][A-Za-z0-9_]*+)([ \t\n]*)([A-Za-z_][A-Za-z0-9_]*|['"])""")
_STRING_PREFIXES = frozenset({"r", "u", "b", "f", "br", "rb", "fr", "rf"})


def undecodable_reason(cleaned: str) -> str | None:
    """Why `ast.parse` surely fails on `cleaned`, or None where that is not known.

    A cheap, sound and incomplete test, so that most undecodable outputs fail without building
    an `ast`, with a message that points at the place: prose, whose first two words are two
    operands side by side (`None of`, `I'm`), which no Python expression has; or a bracket closed
    by the wrong closer or never closed (prose after the list; a code fence's language tag leaves
    BFCL's added `[` open), found only as far as this module's tokenizer surely reads Python's
    tokens (simple strings; not a triple quote, an f-string, a comment or a line continuation).
    """
    if "'''" in cleaned or '"""' in cleaned:
        return None
    return _prose_reason(cleaned) or _brackets_reason(cleaned)


def _prose_reason(cleaned: str) -> str | None:
    """Two operands side by side at the start: a name (or True/False/None), then a name or a string."""
    match = _FIRST_WORDS.match(cleaned)
    if match is None:
        return None
    first, space, second = match.groups()
    if first in _KEYWORDS and first not in _CONSTANTS:
        return None  # an operator or a statement word (`not x`, `lambda x`)
    if second[0] in _QUOTES:
        if not space and first.lower() in _STRING_PREFIXES:
            return None  # a prefixed string, `r'x'`
    elif second in _KEYWORDS:
        return None  # `x if y else z`, `x in y`
    at = match.start(3)
    return f"{second!r} right after {first!r} at character {at}: prose, not a call list"


def _brackets_reason(cleaned: str) -> str | None:
    """A bracket that Python's tokenizer rejects: a wrong closer, a closer of nothing, one left open."""
    stack: list[tuple[str, int]] = []  # open brackets and where they stand
    closed_at = -1  # where the outermost bracket was last closed
    for match in _BRACKET.finditer(cleaned):
        token = match.group()
        if token in _OPEN_BRACKETS:
            stack.append((token, match.start()))
        elif token in _CLOSERS:
            at = match.start()
            if not stack:
                tail = cleaned[closed_at + 1 : at].strip()
                if closed_at >= 0 and tail:
                    return f"the list ends at character {closed_at}, and {_shown(tail, 40)} follows it"
                return f"{token!r} at character {at} closes no bracket"
            opened, opened_at = stack.pop()
            if opened != _OPENERS[token]:
                return f"{token!r} at character {at} closes the {opened!r} at character {opened_at}"
            if not stack:
                closed_at = at
        elif len(token) == 1 or _f_string(cleaned, match.start()):
            return None  # a quote that opens no simple string, `#`, `\\`, an f-string: untrusted
    if stack:
        return "the {!r} at character {} is never closed".format(*stack[-1])
    return None


def _f_string(text: str, quote: int) -> bool:
    """Whether the string whose quote stands at `quote` is an f-string (its grammar changed in 3.12)."""
    before = text[max(quote - 2, 0) : quote].lower()
    return before[-1:] == "f" or before == "fr"


def _shown(text: str, limit: int) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
