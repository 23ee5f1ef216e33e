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
_TOKEN = re.compile(
    r"""[ \t\n]*("[^"\\\n\r\x00\ud800-\udfff]*"|'[^'\\\n\r\x00\ud800-\udfff]*'"""
    r"|[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?"
    r"|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
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


# The same tokens with the whitespace before each, for `surely_undecodable`.
_SPACED_TOKEN = re.compile(r"([ \t\n]*)" + _TOKEN.pattern[len(r"[ \t\n]*") :])
_OPENERS = {")": "(", "]": "[", "}": "{"}
_CLOSERS = frozenset(_OPENERS)
_ATOM_KEYWORDS = frozenset(_CONSTANTS)
_STRING_PREFIXES = frozenset({"r", "u", "b", "f", "br", "rb", "fr", "rf"})
# Characters after which this tokenizer no longer follows Python's: a string it cannot read, a
# comment, a line continuation. (Letters right after a number are the other such place.)
_UNTRUSTED = frozenset({"'", '"', "#", "\\"})


def surely_undecodable(cleaned: str) -> bool:
    """True only where `ast.parse` surely raises on `cleaned`, so BFCL's decoder fails.

    A cheap, sound and incomplete test, for callers that need to know *that* decoding fails but
    not BFCL's message (which only `ast.parse` can give). It reads Python's tokens up to the
    first place this tokenizer might disagree with Python's (a string with escapes or line
    breaks, a triple quote, a comment, a line continuation) and finds a syntax error there: a
    bracket closed by the wrong closer or never closed, or two operands side by side (`I'm`,
    `None of the`, `] Let me`), which no Python expression has. False means "not known".
    """
    if "'''" in cleaned or '"""' in cleaned:
        return False
    stack: list[str] = []
    previous = "["
    for match in _SPACED_TOKEN.finditer(cleaned):  # lazily: most texts give up or fail early
        space, token = match.groups()
        first = token[0]
        if first in _QUOTES:
            if previous[0] not in _QUOTES and _ends_operand(previous, string_follows=not space):
                return True  # an operand and then a string (two strings are one, concatenated)
            if token in _UNTRUSTED:
                return False
        elif first in _NAME_START:
            if not space and previous[0] in _DIGITS:
                return False  # part of a number (`1_0`, `0x1f`, `1jin` is `1j in`)
            head = token.partition(".")[0]
            if (
                head not in _KEYWORDS
                and head.lower() not in _STRING_PREFIXES
                and _ends_operand(previous, string_follows=False)
            ):
                return True  # an operand and then a name
        elif token in _OPENERS.values():
            stack.append(token)
        elif first in _CLOSERS:
            if not stack or stack.pop() != _OPENERS[token]:
                return True  # Python's tokenizer rejects a mismatched closer
        elif token in _UNTRUSTED:
            return False
        previous = token
    return bool(stack)  # a bracket left open


def _ends_operand(token: str, *, string_follows: bool) -> bool:
    """Whether `token` surely ends an operand (a name, a constant, a string, a closing bracket).

    Numbers do not count: `0x1f` or `1j` are single Python tokens that this tokenizer splits.
    With `string_follows` (a quote right after it), a name could be a string prefix (`rb'x'`).
    """
    first = token[0]
    if first in _CLOSERS or (first in _QUOTES and len(token) > 1):
        return True
    if first not in _NAME_START:
        return False
    parts = token.split(".")
    if not _KEYWORDS.isdisjoint(parts) and token not in _ATOM_KEYWORDS:
        return False
    return not (string_follows and parts[-1].lower() in _STRING_PREFIXES)
