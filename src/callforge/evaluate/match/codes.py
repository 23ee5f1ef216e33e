"""Verdict codes of the evaluator and their one-to-one BFCL error types.

Both matching modes report these codes. BFCL mode promises that the BFCL error type derived from
the code is exactly the one BFCL's own checker reports for the same output.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an output was rejected: a verdict code and a message naming the parameter and values."""

    code: str
    message: str


BFCL_ERROR_TYPES: dict[str, str] = {
    "decode.failed": "ast_decoder:decoder_failed",
    "decode.wrong_format": "ast_decoder:decoder_wrong_output_format",
    "calls.wrong_count": "simple_function_checker:wrong_count",
    "calls.wrong_count_multiple": "multiple_function_checker:wrong_count",
    "calls.wrong_count_parallel": "parallel_function_checker_no_order:wrong_count",
    "calls.no_match": "parallel_function_checker_no_order:cannot_find_match",
    "call.wrong_name": "simple_function_checker:wrong_func_name",
    "call.missing_required": "simple_function_checker:missing_required",
    "call.unexpected_param": "simple_function_checker:unexpected_param",
    "call.missing_optional": "simple_function_checker:missing_optional",
    "arg.type": "type_error:simple",
    "arg.type_nested": "type_error:nested",
    "arg.type_java": "type_error:java",
    "arg.type_js": "type_error:js",
    "arg.value_string": "value_error:string",
    "arg.value_list": "value_error:list/tuple",
    "arg.value_dict_key": "value_error:dict_key",
    "arg.value_dict_value": "value_error:dict_value",
    "arg.value_list_dict_count": "value_error:list_dict_count",
    "arg.value": "value_error:others",
    "arg.dict_unclear": "dict_checker:unclear",
    "arg.list_dict_unclear": "list_dict_checker:unclear",
    "relevance.unexpected_call": "irrelevance_error:decoder_success",
    "relevance.no_call": "relevance_error:decoder_failed",
}
"""Our code → BFCL's error_type string. A bijection: no two codes share an error type."""

CODES_BY_BFCL_ERROR_TYPE: dict[str, str] = {v: k for k, v in BFCL_ERROR_TYPES.items()}


def bfcl_error_type(code: str) -> str | None:
    """BFCL's error type for one of our codes (None for `ok` or a code BFCL has no name for)."""
    return BFCL_ERROR_TYPES.get(code)
