"""A safe evaluator for the arithmetic BFCL computes inside call arguments (`radius=2*3`).

BFCL runs `eval()` on such expressions, which executes whatever a model wrote. Here only literals
and operators are computed, with size guards, and anything else is refused as undecodable.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from callforge.core import DecodeError

_MAX_EXPONENT = 10_000
_MAX_SHIFT = 10_000
_MAX_SEQUENCE = 100_000

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.BitAnd: operator.and_,
}

_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Invert: operator.invert,
    ast.Not: operator.not_,
}

_LITERAL_TYPES = (int, float, complex, str, bytes, bool, type(None))


def evaluate_arithmetic(node: ast.expr) -> Any:
    """Compute an expression made only of literals, tuples/lists of them and operators.

    Raises DecodeError for names, calls, attribute access or results too large to be an argument,
    so a hostile output can neither run code nor exhaust memory.
    """
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, _LITERAL_TYPES):
            raise DecodeError(f"unsupported literal {node.value!r} in an expression")
        return node.value
    if isinstance(node, ast.BinOp):
        left = evaluate_arithmetic(node.left)
        right = evaluate_arithmetic(node.right)
        _guard(node.op, left, right)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise DecodeError(f"operator {type(node.op).__name__} is not allowed in an argument")
        try:
            return op(left, right)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise DecodeError(f"cannot compute {ast.unparse(node)!r}: {exc}") from None
    if isinstance(node, ast.UnaryOp):
        operand = evaluate_arithmetic(node.operand)
        try:
            return _UNARY[type(node.op)](operand)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise DecodeError(f"cannot compute {ast.unparse(node)!r}: {exc}") from None
    if isinstance(node, ast.Tuple):
        return tuple(evaluate_arithmetic(e) for e in node.elts)
    if isinstance(node, ast.List):
        return [evaluate_arithmetic(e) for e in node.elts]
    raise DecodeError(
        f"{ast.unparse(node)!r} is not a literal; only numbers, strings and operators can be computed"
    )


def _guard(op: ast.operator, left: Any, right: Any) -> None:
    """Refuse operations whose result would be huge (10**10**9, 'a'*10**12, 1<<10**9)."""
    if isinstance(op, ast.Pow) and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
        raise DecodeError(f"exponent {right!r} is too large to compute safely")
    if isinstance(op, ast.LShift) and isinstance(right, int) and right > _MAX_SHIFT:
        raise DecodeError(f"shift {right!r} is too large to compute safely")
    if isinstance(op, ast.Mult):
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, str | bytes | list | tuple) and isinstance(count, int)
            if sized and len(seq) * max(count, 0) > _MAX_SEQUENCE:
                raise DecodeError("sequence repetition is too large to compute safely")
