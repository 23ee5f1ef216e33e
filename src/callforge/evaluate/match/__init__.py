"""Matching decoded calls against expected ones: BFCL-exact mode and the fairer semantic mode."""

from callforge.evaluate.match.bfcl import BfclMatcher, standardize_string
from callforge.evaluate.match.codes import (
    BFCL_ERROR_TYPES,
    CODES_BY_BFCL_ERROR_TYPE,
    Failure,
    bfcl_error_type,
)

__all__ = [
    "BFCL_ERROR_TYPES",
    "CODES_BY_BFCL_ERROR_TYPE",
    "BfclMatcher",
    "Failure",
    "SemanticMatcher",
    "bfcl_error_type",
    "standardize_string",
]
