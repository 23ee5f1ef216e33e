"""BFCL-exact matching: the Berkeley Function Calling Leaderboard's AST checker, rule for rule.

Every rule of its checker is reproduced, quirks included, because users compare our numbers with
the leaderboard's: greedy parallel matching, the one-level nested type check, string
standardisation, `.`→`_` names for FC models, GT types overriding schema types ("variables"),
and the order in which checks run (which decides the reported error type). The semantic mode in
`semantic.py` is where we are fairer; this module must stay faithful.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from callforge.core import CategoryKind, Language
from callforge.evaluate.match.codes import Failure

_STANDARDIZE = re.compile(r"[ ,./\-_*^]")

_PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_PY_NESTED = frozenset({"array", "tuple"})
_JVM_NESTED = frozenset({"Array", "ArrayList", "array"})


Converter = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class _TypeRules:
    """How one language maps schema type names to Python types and converts string values."""

    types: dict[str, type]
    nested: frozenset[str]
    convert: Converter | None
    type_code: str


def standardize_string(text: str) -> str:
    """BFCL's string normalisation: drop ` ,./-_*^`, lowercase, and turn `'` into `"`."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def _rules(language: Language) -> _TypeRules:
    if language is Language.JAVA:
        from callforge.evaluate.lang.java import JAVA_TYPES, convert_java

        return _TypeRules(JAVA_TYPES, _JVM_NESTED, convert_java, "arg.type_java")
    if language is Language.JAVASCRIPT:
        from callforge.evaluate.lang.javascript import JS_TYPES, convert_javascript

        return _TypeRules(JS_TYPES, _JVM_NESTED, convert_javascript, "arg.type_js")
    return _TypeRules(_PY_TYPES, _PY_NESTED, None, "arg.type")


class BfclMatcher:
    """Scores decoded calls (`[{name: {param: value}}]`) against BFCL possible answers.

    `functions` are BFCL function descriptions (the `function` field of a question entry) and
    `answers` BFCL ground truth (`[{name: {param: [accepted values]}}]`). `underscore_to_dot`
    is BFCL's aliasing for FC models: dots in expected names become underscores.
    """

    def __init__(self, language: Language = Language.PYTHON, *, underscore_to_dot: bool = False) -> None:
        self.language = language
        self.underscore_to_dot = underscore_to_dot
        self._rules = _rules(language)

    def check(
        self,
        kind: CategoryKind,
        functions: Sequence[dict[str, Any]],
        output: list[dict[str, Any]],
        answers: Sequence[dict[str, Any]],
    ) -> Failure | None:
        """Check one AST-category output; None means BFCL would count it correct."""
        if kind in (CategoryKind.PARALLEL, CategoryKind.PARALLEL_MULTIPLE):
            return self._parallel(functions, output, answers)
        if kind is CategoryKind.MULTIPLE:
            if len(output) != len(answers):
                return Failure("calls.wrong_count_multiple", _count_message(output, answers))
            return self.check_call(_find(functions, answers[0]), output[0], answers[0])
        if len(output) != 1:
            return Failure("calls.wrong_count", f"expected exactly one call, got {len(output)}")
        return self.check_call(functions[0], output[0], answers[0])

    def _parallel(
        self,
        functions: Sequence[dict[str, Any]],
        output: list[dict[str, Any]],
        answers: Sequence[dict[str, Any]],
    ) -> Failure | None:
        if len(output) != len(answers):
            return Failure("calls.wrong_count_parallel", _count_message(output, answers))
        used: set[int] = set()
        for i, answer in enumerate(answers):
            function = _find(functions, answer)
            reasons = []
            for j, call in enumerate(output):
                if j in used:
                    continue
                failure = self.check_call(function, call, answer)
                if failure is None:
                    used.add(j)
                    break
                reasons.append(f"call {j}: {failure.message}")
            else:
                free = [j for j in range(len(output)) if j not in used]
                detail = "; ".join(reasons)
                return Failure(
                    "calls.no_match",
                    f"no remaining call (of {free}) matches expected call {i}: {detail}",
                )
        return None

    def check_call(
        self, function: dict[str, Any], call: dict[str, Any], answer: dict[str, Any]
    ) -> Failure | None:
        """BFCL's single-call check; stops at the first failure, in BFCL's order."""
        accepted: dict[str, list[Any]] = next(iter(answer.values()))
        name = function["name"]
        if self.underscore_to_dot and "." in name:
            name = name.replace(".", "_")
        if name not in call:
            return Failure("call.wrong_name", f"function {name!r} not found in the output")
        arguments: dict[str, Any] = call[name]
        schema = function["parameters"]
        properties: dict[str, Any] = schema["properties"]
        for param in schema.get("required", ()):
            if param not in arguments:
                return Failure("call.missing_required", f"missing required parameter {param!r}")
        rules = self._rules
        for param, value in arguments.items():
            if param not in properties or param not in accepted:
                return Failure("call.unexpected_param", f"unexpected parameter {param!r}")
            failure = self._check_argument(param, value, properties[param], accepted[param], rules)
            if failure is not None:
                return failure
        for param, options in accepted.items():
            if param not in arguments and "" not in options:
                return Failure(
                    "call.missing_optional",
                    f"parameter {param!r} was omitted, but the expected answer requires one of {options!r}",
                )
        return None

    def _check_argument(
        self, param: str, value: Any, details: dict[str, Any], options: list[Any], rules: _TypeRules
    ) -> Failure | None:
        type_name = details["type"]
        expected = rules.types[type_name]
        nested: type | None = None
        if rules.convert is not None:
            if type(value) is not str:
                return Failure(
                    rules.type_code,
                    f"parameter {param!r} must be given as {self.language.value} source text (a string), "
                    f"got {type(value).__name__}: {value!r}",
                )
            if type_name in rules.nested:
                item_type = details["items"]["type"]
                nested = rules.types[item_type]
                value = rules.convert(value, type_name, item_type)
            else:
                value = rules.convert(value, type_name)
        elif type_name in rules.nested:
            nested = rules.types[details["items"]["type"]]
        if type_name == "tuple" and type(value) is tuple:
            value = list(value)
        if rules.convert is None and type_name == "float" and type(value) is int:
            value = float(value)

        ok, is_variable, type_code = _type_check(value, options, expected, nested)
        if not ok:
            code = "arg.type_nested" if type_code == "nested" else "arg.type"
            if code == "arg.type_nested":
                message = (
                    f"parameter {param!r}: expected {type_name} of {nested.__name__ if nested else '?'}, "
                    f"got {value!r}"
                )
            else:
                message = (
                    f"parameter {param!r}: expected type {type_name}, got {type(value).__name__} {value!r}"
                )
            return Failure(code, message)
        if not is_variable:
            if expected is dict:
                return _dict_check(param, value, options)
            if expected is list and nested is dict:
                return _list_dict_check(param, value, options)
            if expected is str:
                return _string_check(param, value, options)
            if expected is list:
                return _list_check(param, value, options)
        if value not in options:
            return Failure("arg.value", f"parameter {param!r}: {value!r} is not one of {options!r}")
        return None


def _find(functions: Sequence[dict[str, Any]], answer: dict[str, Any]) -> dict[str, Any]:
    name = next(iter(answer))
    for function in functions:
        if function["name"] == name:
            return function
    raise KeyError(f"the expected function {name!r} is not among the offered functions")


def _count_message(output: Sequence[Any], answers: Sequence[Any]) -> str:
    return f"expected {len(answers)} call(s), got {len(output)}"


def _answer_type(options: Sequence[Any]) -> type | None:
    for option in options:
        if option != "":
            return type(option)
    return None


def _type_check(
    value: Any, options: Sequence[Any], expected: type, nested: type | None
) -> tuple[bool, bool, str]:
    """BFCL's type check: (ok, is_variable, failure kind "simple" | "nested").

    A ground-truth value whose type differs from the schema type marks the parameter a
    "variable": a model value of the ground truth's type then passes and is compared exactly.
    """
    answer_type = _answer_type(options)
    is_variable = answer_type is not None and answer_type is not expected
    nested_failed = False
    if type(value) is expected:
        if nested is None:
            return True, is_variable, ""
        for option in options:
            items = cast("Sequence[Any]", value)
            if type(option) is list and not all(_type_check(v, option, nested, None)[0] for v in items):
                continue
            return True, is_variable, ""
        nested_failed = True
    if answer_type is not None and type(value) is answer_type:
        return (not nested_failed), True, "nested" if nested_failed else ""
    return False, is_variable, "simple"


def _string_check(param: str, value: str, options: Sequence[Any]) -> Failure | None:
    normalised = [standardize_string(o) for o in options if type(o) is str]
    if standardize_string(value) not in normalised:
        return Failure(
            "arg.value_string", f"parameter {param!r}: {value!r} is not one of {options!r} (case-insensitive)"
        )
    return None


def _standardize_items(items: Any) -> list[Any]:
    return [standardize_string(x) if type(x) is str else x for x in items]


def _list_check(param: str, value: Sequence[Any], options: Sequence[Any]) -> Failure | None:
    got = _standardize_items(value)
    for option in options:
        if isinstance(option, str | list | tuple) and got == _standardize_items(option):
            return None
    return Failure("arg.value_list", f"parameter {param!r}: {value!r} is not one of {options!r}")


def _dict_check(param: str, value: dict[Any, Any], options: Sequence[Any]) -> Failure | None:
    failure: Failure | None = Failure(
        "arg.dict_unclear", f"parameter {param!r}: no expected dict to compare with"
    )
    for option in options:
        if option == "":
            continue
        failure = _dict_against(value, option)
        if failure is None:
            return None
    return failure


def _dict_against(value: dict[Any, Any], option: Any) -> Failure | None:
    if not isinstance(option, dict):
        return Failure("arg.value_dict_key", f"expected {option!r}, got a dict")
    for key, item in value.items():
        if key not in option:
            return Failure("arg.value_dict_key", f"unexpected dict key {key!r}")
        got = standardize_string(item) if type(item) is str else item
        accepted = _standardize_items(option[key])
        if got not in accepted:
            return Failure(
                "arg.value_dict_value", f"dict key {key!r}: {item!r} is not one of {option[key]!r}"
            )
    for key, accepted_values in option.items():
        if key not in value and "" not in accepted_values:
            return Failure("arg.value_dict_key", f"missing dict key {key!r}")
    return None


def _list_dict_check(param: str, value: Sequence[Any], options: Sequence[Any]) -> Failure | None:
    failure = Failure(
        "arg.list_dict_unclear", f"parameter {param!r}: no expected list of dicts to compare with"
    )
    for option in options:
        if len(value) != len(option):
            failure = Failure(
                "arg.value_list_dict_count",
                f"parameter {param!r}: expected {len(option)} dicts, got {len(value)}",
            )
            continue
        for got, want in zip(value, option, strict=True):
            failure_or_none = _dict_check(param, got, [want])
            if failure_or_none is not None:
                failure = failure_or_none
                break
        else:
            return None
    return failure
