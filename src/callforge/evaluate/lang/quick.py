"""A fast path for BFCL's Java and JavaScript decoders: one plain call, read with one regex.

Most `simple_java` and `simple_javascript` outputs are one call with keyword-style arguments
whose values are plain literals: `[Foo.bar(name="x", limit=50, strict=true)]`. The full
decoders reproduce tree-sitter's parse and its error recovery, token by token; for this subset
both give every value as its source text without quotes, so a regex reads it with the same
result. Anything else (several statements, a value that is not a simple literal, escapes,
non-ASCII text whose byte offsets BFCL mixes with character offsets, a line break, a repeated
argument) returns None and the full decoder decides.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = r"[A-Za-z_$][A-Za-z0-9_$]*"
# A plain literal: a string without escapes or quotes inside, a decimal number, a boolean.
_LITERAL = r'"[^"\\\n\r]*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?|true|false'
_ARRAY = rf"\[[ ]*(?:(?:{_LITERAL})(?:[ ]*,[ ]*(?:{_LITERAL}))*)?[ ]*\]"  # JavaScript only


def _pattern(value: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The whole call, and one argument after the start or a comma, for values matching `value`."""
    argument = rf"[ ]*({_NAME})[ ]*=[ ]*({value})[ ]*"
    call = re.compile(rf"({_NAME}(?:\.{_NAME})*)\(((?:{argument}(?:,{argument})*)?)\)")
    return call, re.compile(rf"(?:^|,){argument}")


_JAVA = _pattern(rf"{_LITERAL}|{_NAME}")
_JAVASCRIPT = _pattern(rf"{_LITERAL}|{_NAME}|{_ARRAY}")
_KEYWORDS = frozenset(
    {"new", "null", "this", "super", "class", "return", "var", "let", "const", "function", "typeof",
     "instanceof", "void", "delete", "in", "of", "if", "else", "for", "while", "do", "switch", "case",
     "default", "break", "continue", "throw", "try", "catch", "finally", "await", "yield", "async", "import",
     "export", "extends", "static", "package", "interface", "enum", "int", "long", "short", "byte", "char",
     "float", "double", "boolean", "undefined", "NaN", "Infinity"}
)  # fmt: skip
"""Words that are not plain names in Java or JavaScript (`true` and `false` are literals here)."""


def quick_call(inner: str, *, java: bool) -> list[dict[str, dict[str, Any]]] | None:
    """BFCL's decoded form of `inner` (the text between BFCL's brackets), or None outside the subset.

    Java texts of 10 characters or fewer take the full decoder: tree-sitter-java wraps a short
    first statement without `;` in an ERROR node instead of supplying the `;`.
    """
    if (java and len(inner) <= 10) or not inner.isascii():
        return None
    call, argument = _JAVA if java else _JAVASCRIPT
    match = call.fullmatch(inner)
    if match is None:
        return None
    name = match.group(1)
    if not _KEYWORDS.isdisjoint(name.split(".")):
        return None
    arguments: dict[str, Any] = {}
    for key, value in argument.findall(match.group(2)):
        if key in arguments or key in _KEYWORDS or value in _KEYWORDS or key in ("true", "false"):
            return None  # a repeated argument fails the full decode; a keyword is no name or value
        arguments[key] = value[1:-1] if value[0] == '"' else value
    return [{name: arguments}]
