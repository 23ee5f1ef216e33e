"""Decode Python call-list text (`[f(a=1), g.h(b='x')]`) with `ast` and a whitelist, never `eval`.

Two flavours share one resolver. `bfcl` reproduces BFCL's prompting decoder, quirks included
(positional arguments dropped, a unary operator always negates, lambdas fail, a nested call
without keywords becomes its source text). `semantic` keeps positional arguments for binding
against the schema and applies real operator semantics.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from callforge.core import DecodeError
from callforge.evaluate.decode.arith import evaluate_arithmetic
from callforge.evaluate.decode.quick import quick_decode_bfcl, undecodable_reason

_BFCL_STRIP = "`\n "

KWARGS_KEY = "**"
"""Key under which a `**mapping` argument is recorded; it is never a schema parameter name."""


@dataclass(frozen=True, slots=True)
class DecodedCall:
    """A call as decoded from text: keyword arguments plus any positional ones, in order."""

    name: str
    arguments: dict[str, Any]
    positional: tuple[Any, ...] = field(default=())


def decode_python_bfcl(text: Any) -> list[dict[str, dict[str, Any]]]:
    """Decode a prompting output exactly as BFCL's default decoder does.

    Returns BFCL's decoded form, `[{name: {param: value}}]`; raises DecodeError where BFCL's
    decoder raises any exception (its `ast_decoder:decoder_failed`). Plain call lists take a
    fast path (`quick.py`) that gives the same result without building an `ast`, and so do most
    outputs that surely fail (prose, a call left open, a fence's language tag), with a message
    that points at the place.
    """
    cleaned = _cleaned(text)
    quick = quick_decode_bfcl(cleaned)
    if quick is not None:
        return quick
    reason = undecodable_reason(cleaned)
    if reason is not None:
        raise DecodeError(f"not a Python call list: {reason}")
    return [{c.name: c.arguments} for c in _parse(cleaned, bfcl=True)]


def decode_python(text: Any) -> list[DecodedCall]:
    """Decode a prompting output for semantic scoring: positional arguments are kept."""
    return _parse(_cleaned(text), bfcl=False)


def bracketed(text: str) -> str:
    """BFCL's first step for every prompting language: strip `` ` ``, newlines and spaces, wrap in `[...]`."""
    text = text.strip(_BFCL_STRIP)
    if not text.startswith("["):
        text = "[" + text
    if not text.endswith("]"):
        text = text + "]"
    return text


def _cleaned(text: Any) -> str:
    """The text BFCL hands to `ast.parse`: bracketed, then stripped of whitespace and `'`."""
    if not isinstance(text, str):
        raise DecodeError(f"expected the model output as text, got {type(text).__name__}")
    return bracketed(text).strip().strip("'")


def _parse(cleaned: str, *, bfcl: bool) -> list[DecodedCall]:
    try:
        body = ast.parse(cleaned, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise DecodeError(f"not a Python call list: {exc}") from None
    if isinstance(body, ast.Call):
        nodes: list[ast.expr] = [body]
    elif isinstance(body, ast.Tuple | ast.List | ast.Set):
        nodes = list(body.elts)
    else:
        raise DecodeError(f"expected a list of calls, found a {type(body).__name__} expression")
    resolver = _Resolver(bfcl)
    calls = []
    for node in nodes:
        if not isinstance(node, ast.Call):
            raise DecodeError(f"{ast.unparse(node)!r} is not a function call")
        calls.append(resolver.call(node))
    return calls


def _dotted_name(func: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


class _Resolver:
    """Turns argument expressions into Python values under one flavour's rules."""

    __slots__ = ("bfcl",)

    def __init__(self, bfcl: bool) -> None:
        self.bfcl = bfcl

    def call(self, node: ast.Call) -> DecodedCall:
        arguments: dict[str, Any] = {}
        for kw in node.keywords:
            key = kw.arg if kw.arg is not None else KWARGS_KEY
            if key in arguments and not self.bfcl:
                raise DecodeError(
                    f"keyword argument {key!r} repeated in a call of {_dotted_name(node.func)!r}"
                )
            arguments[key] = self.value(kw.value)
        positional: tuple[Any, ...] = ()
        if not self.bfcl:
            positional = tuple(self.value(a) for a in node.args)
        return DecodedCall(_dotted_name(node.func), arguments, positional)

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return "..." if node.value is Ellipsis else node.value
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.List):
            return [self.value(v) for v in node.elts]
        if isinstance(node, ast.Dict):
            return self._dict(node)
        if isinstance(node, ast.BinOp):
            return evaluate_arithmetic(node)
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Call):
            if not node.keywords and (self.bfcl or not node.args):
                return ast.unparse(node)
            nested = self.call(node)
            return {nested.name: nested.arguments}
        if isinstance(node, ast.Tuple):
            return tuple(self.value(v) for v in node.elts)
        if isinstance(node, ast.Subscript):
            return ast.unparse(node.value) + "[" + ast.unparse(node.slice) + "]"
        raise DecodeError(f"unsupported expression {ast.unparse(node)!r} ({type(node).__name__})")

    def _unary(self, node: ast.UnaryOp) -> Any:
        if not self.bfcl:
            return evaluate_arithmetic(node)
        # BFCL negates the operand's literal value whatever the operator is (`+5` gives -5).
        operand = node.operand
        if isinstance(operand, ast.Constant) and isinstance(operand.value, int | float | complex):
            return -operand.value
        raise DecodeError(f"unsupported unary expression {ast.unparse(node)!r}")

    def _dict(self, node: ast.Dict) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, val in zip(node.keys, node.values, strict=True):
            if key is None:
                raise DecodeError("`**` unpacking inside a dict literal is not supported")
            k = self.value(key)
            try:
                out[k] = self.value(val)
            except TypeError:
                raise DecodeError(f"unhashable dict key {k!r}") from None
        return out
