"""Turn raw model outputs into calls, safely: `ast` with a whitelist and JSON, never `eval`."""

from callforge.evaluate.decode.arith import evaluate_arithmetic
from callforge.evaluate.decode.fc import decode_fc_bfcl
from callforge.evaluate.decode.python import KWARGS_KEY, DecodedCall, decode_python, decode_python_bfcl

__all__ = [
    "KWARGS_KEY",
    "DecodedCall",
    "decode_fc_bfcl",
    "decode_python",
    "decode_python_bfcl",
    "evaluate_arithmetic",
]
