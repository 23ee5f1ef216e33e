"""BFCL-exact matching: the Berkeley Function Calling Leaderboard's AST checker, rule for rule.

Every rule of its checker is reproduced, quirks included, because users compare our numbers with
the leaderboard's: greedy parallel matching, the one-level nested type check, string
standardisation, `.`→`_` names for FC models, GT types overriding schema types ("variables"),
and the order in which checks run (which decides the reported error type). The semantic mode in
`semantic.py` is where we are fairer; this module must stay faithful.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from callforge.core import CategoryKind, Language
from callforge.evaluate.match.codes import Failure

_STANDARDIZE = str.maketrans({**dict.fromkeys(" ,./-_*^"), "'": '"'})
"""BFCL's normalisation as one table: drop ` ,./-_*^`, turn `'` into `"` (no lowercase form is `'`)."""
_ASCII_QUOTE = bytes.maketrans(b"'", b'"')
_ASCII_DROPPED = b" ,./-_*^"

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
    if text.isascii():  # bytes translate in one C pass, five times faster than str's table lookups
        return text.encode().translate(_ASCII_QUOTE, _ASCII_DROPPED).lower().decode()
    return text.translate(_STANDARDIZE).lower()


def _rules(language: Language) -> _TypeRules:
    if language is Language.JAVA:
        from callforge.evaluate.lang.java import JAVA_TYPES, convert_java

        return _TypeRules(JAVA_TYPES, _JVM_NESTED, convert_java, "arg.type_java")
    if language is Language.JAVASCRIPT:
        from callforge.evaluate.lang.javascript import JS_TYPES, convert_javascript

        return _TypeRules(JS_TYPES, _JVM_NESTED, convert_javascript, "arg.type_js")
    return _TypeRules(_PY_TYPES, _PY_NESTED, None, "arg.type")


_UNSET: Any = object()
_ABSENT: Any = object()
_PARALLEL, _PARALLEL_MULTIPLE, _MULTIPLE = (
    CategoryKind.PARALLEL,
    CategoryKind.PARALLEL_MULTIPLE,
    CategoryKind.MULTIPLE,
)


class _Param:
    """One parameter of one expected call: its schema type, its accepted values, what they imply.

    Made when a check first reaches the parameter, with the lookups BFCL's checker makes there,
    in its order; what is derived from the accepted values is derived on first use.
    """

    __slots__ = (
        "_answer_type",
        "_lists",
        "_strings",
        "details",
        "expected",
        "nested",
        "plain",
        "plain_check",
        "type_name",
        "values",
    )

    def __init__(self, details: dict[str, Any], values: list[Any], rules: _TypeRules) -> None:
        self.details = details
        self.values = values
        self.type_name: str = details["type"]
        self.expected = rules.types[self.type_name]
        self.nested: type | None = None
        self._answer_type: type | None = _UNSET
        self._strings: frozenset[str] | None = None
        self._lists: list[list[Any]] | None = None
        # `plain`: the type whose values pass the type check outright and need only the value
        # check (`plain_check`). Python only, where there is no item type and no "variable"
        # (accepted values of another type than the schema's).
        self.plain: type | None = None
        self.plain_check: Callable[[str, Any, _Param], Failure | None] = _exact_check
        if rules.convert is None:
            # Python's item type is looked up here; Java's and JavaScript's only once the value
            # has turned out to be source text (in `_check_argument`).
            if self.type_name in rules.nested:
                self.nested = rules.types[details["items"]["type"]]
            answer_type = self.answer_type
            if answer_type is None or answer_type is self.expected:
                if self.nested is None:
                    self.plain = self.expected
                    self.plain_check = _PLAIN_CHECKS.get(self.expected, _exact_check)
                elif self.expected is list and self.nested in _SCALARS:
                    self.plain = list  # a list of scalars: plain when every item has the item type
                    self.plain_check = _scalar_list_check

    @property
    def answer_type(self) -> type | None:
        """The type of the first accepted value that is not the omission marker `""`."""
        if self._answer_type is _UNSET:
            self._answer_type = _answer_type(self.values)
        return self._answer_type

    @property
    def strings(self) -> frozenset[str]:
        """The accepted strings, standardised."""
        if self._strings is None:
            self._strings = frozenset(standardize_string(o) for o in self.values if type(o) is str)
        return self._strings

    @property
    def lists(self) -> list[list[Any]]:
        """The accepted sequences with their strings standardised, in order."""
        if self._lists is None:
            self._lists = [_standardize_items(o) for o in self.values if isinstance(o, str | list | tuple)]
        return self._lists


class _Expected:
    """One expected call: its function, its accepted arguments and what is derived from them.

    Everything is derived when a check first needs it, so a malformed entry fails where it
    always did; a case's checks reuse it.
    """

    __slots__ = ("_mandatory", "_schema", "accepted", "function", "name", "params", "rules")

    def __init__(
        self, function: dict[str, Any], answer: dict[str, Any], underscore_to_dot: bool, rules: _TypeRules
    ) -> None:
        self.accepted: dict[str, list[Any]] = next(iter(answer.values()))
        name: str = function["name"]
        if underscore_to_dot and "." in name:
            name = name.replace(".", "_")
        self.function = function
        self.name = name
        self.rules = rules
        self._schema: tuple[dict[str, Any], Sequence[str]] | None = None
        self._mandatory: list[tuple[str, list[Any]]] | None = None
        # The parameters a call may give, both in the schema and in `accepted`, each with its
        # `_Param` once made (by `param`): filled by `schema`.
        self.params: dict[str, _Param | None] = {}

    def schema(self) -> tuple[dict[str, Any], Sequence[str]]:
        """The schema's properties and its required parameter names."""
        if self._schema is None:
            schema = self.function["parameters"]
            properties = schema["properties"]
            self._schema = (properties, schema.get("required", ()))
            self.params = dict.fromkeys(p for p in self.accepted if p in properties)
        return self._schema

    def param(self, name: str, properties: dict[str, Any]) -> _Param:
        """The `_Param` of a parameter in `params` (after `schema`)."""
        param = self.params[name]
        if param is None:
            param = self.params[name] = _Param(properties[name], self.accepted[name], self.rules)
        return param

    def mandatory(self) -> list[tuple[str, list[Any]]]:
        """The parameters that may not be omitted (no `""` among their values), in order."""
        if self._mandatory is None:
            self._mandatory = [(p, o) for p, o in self.accepted.items() if "" not in o]
        return self._mandatory


class ExpectedCalls:
    """A case's functions and possible answers, prepared for repeated checks by one matcher.

    Made by `BfclMatcher.expect`; keep it with the case and pass it to that matcher's
    `check_expected` for every output scored against the case, so that what the checks derive
    is derived once.
    """

    __slots__ = ("_by_index", "_first", "answers", "functions", "rules", "underscore_to_dot")

    def __init__(
        self,
        functions: Sequence[dict[str, Any]],
        answers: Sequence[dict[str, Any]],
        underscore_to_dot: bool,
        rules: _TypeRules,
    ) -> None:
        self.functions = functions
        self.answers = answers
        self.underscore_to_dot = underscore_to_dot
        self.rules = rules
        self._first: _Expected | None = None
        self._by_index: dict[int, _Expected] = {}

    def first(self) -> _Expected:
        """The first answer against the first function (BFCL's simple categories)."""
        if self._first is None:
            self._first = _Expected(self.functions[0], self.answers[0], self.underscore_to_dot, self.rules)
        return self._first

    def named(self, i: int) -> _Expected:
        """Answer `i` against the function it names (BFCL's multiple and parallel categories)."""
        expected = self._by_index.get(i)
        if expected is None:
            answer = self.answers[i]
            function = _find(self.functions, answer)
            expected = _Expected(function, answer, self.underscore_to_dot, self.rules)
            self._by_index[i] = expected
        return expected


class BfclMatcher:
    """Scores decoded calls (`[{name: {param: value}}]`) against BFCL possible answers.

    `functions` are BFCL function descriptions (the `function` field of a question entry) and
    `answers` BFCL ground truth (`[{name: {param: [accepted values]}}]`). `underscore_to_dot`
    is BFCL's aliasing for FC models: dots in expected names become underscores. To score many
    outputs against one case, prepare it once with `expect` and use `check_expected`.
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
        return self.check_expected(kind, self.expect(functions, answers), output)

    def expect(self, functions: Sequence[dict[str, Any]], answers: Sequence[dict[str, Any]]) -> ExpectedCalls:
        """A case's functions and answers, prepared for `check_expected` (cheap: work is deferred)."""
        return ExpectedCalls(functions, answers, self.underscore_to_dot, self._rules)

    def check_expected(
        self, kind: CategoryKind, expected: ExpectedCalls, output: list[dict[str, Any]]
    ) -> Failure | None:
        """`check` against a case prepared by `expect` (by this matcher)."""
        if kind is _PARALLEL or kind is _PARALLEL_MULTIPLE:
            return self._parallel(expected, output)
        answers = expected.answers
        if kind is _MULTIPLE:
            if len(output) != len(answers):
                return Failure("calls.wrong_count_multiple", _count_message(output, answers))
            return self._check(expected.named(0), output[0])
        if len(output) != 1:
            return Failure("calls.wrong_count", f"expected exactly one call, got {len(output)}")
        return self._check(expected.first(), output[0])

    def _parallel(self, expected: ExpectedCalls, output: list[dict[str, Any]]) -> Failure | None:
        answers = expected.answers
        if len(output) != len(answers):
            return Failure("calls.wrong_count_parallel", _count_message(output, answers))
        used: set[int] = set()
        for i in range(len(answers)):
            want = expected.named(i)
            failures = []
            for j, call in enumerate(output):
                if j in used:
                    continue
                failure = self._check(want, call)
                if failure is None:
                    used.add(j)
                    break
                failures.append((j, failure))
            else:
                free = [j for j in range(len(output)) if j not in used]
                detail = "; ".join(f"call {j}: {reason.message}" for j, reason in failures)
                return Failure(
                    "calls.no_match",
                    f"no remaining call (of {free}) matches expected call {i}: {detail}",
                )
        return None

    def check_call(
        self, function: dict[str, Any], call: dict[str, Any], answer: dict[str, Any]
    ) -> Failure | None:
        """BFCL's single-call check; stops at the first failure, in BFCL's order."""
        return self._check(_Expected(function, answer, self.underscore_to_dot, self._rules), call)

    def _check(self, expected: _Expected, call: dict[str, Any]) -> Failure | None:
        name = expected.name
        if name not in call:
            return Failure("call.wrong_name", f"function {name!r} not found in the output")
        arguments: dict[str, Any] = call[name]
        properties, required = expected.schema()
        for param in required:
            if param not in arguments:
                return Failure("call.missing_required", f"missing required parameter {param!r}")
        params = expected.params
        for param, value in arguments.items():
            spec: _Param | None = params.get(param, _ABSENT)
            if spec is None:
                spec = expected.param(param, properties)
            elif spec is _ABSENT:  # not both in the schema and in the expected answer
                return Failure("call.unexpected_param", f"unexpected parameter {param!r}")
            if type(value) is spec.plain:
                failure = spec.plain_check(param, value, spec)  # the common case, in short
                if failure is _NOT_PLAIN:
                    failure = self._check_argument(param, value, spec)
            else:
                failure = self._check_argument(param, value, spec)
            if failure is not None:
                return failure
        for param, values in expected.mandatory():
            if param not in arguments:
                return Failure(
                    "call.missing_optional",
                    f"parameter {param!r} was omitted, but the expected answer requires one of {values!r}",
                )
        return None

    def _check_argument(self, param: str, value: Any, spec: _Param) -> Failure | None:
        rules = self._rules
        type_name = spec.type_name
        expected = spec.expected
        nested = spec.nested
        if rules.convert is not None:
            if type(value) is not str:
                return Failure(
                    rules.type_code,
                    f"parameter {param!r} must be given as {self.language.value} source text (a string), "
                    f"got {type(value).__name__}: {value!r}",
                )
            if type_name in rules.nested:
                item_type = spec.details["items"]["type"]
                nested = rules.types[item_type]
                value = rules.convert(value, type_name, item_type)
            else:
                value = rules.convert(value, type_name)
        if type_name == "tuple" and type(value) is tuple:
            value = list(value)
        if rules.convert is None and type_name == "float" and type(value) is int:
            value = float(value)

        ok, is_variable, type_code = _type_check(value, spec.answer_type, spec.values, expected, nested)
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
        if is_variable:
            return _exact_check(param, value, spec)
        return _value_check(param, value, spec, nested)


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
    value: Any, answer_type: type | None, options: Sequence[Any], expected: type, nested: type | None
) -> tuple[bool, bool, str]:
    """BFCL's type check: (ok, is_variable, failure kind "simple" | "nested").

    A ground-truth value whose type differs from the schema type marks the parameter a
    "variable": a model value of the ground truth's type then passes and is compared exactly.
    `answer_type` is `_answer_type(options)`.
    """
    is_variable = answer_type is not None and answer_type is not expected
    nested_failed = False
    if type(value) is expected:
        if nested is None:
            return True, is_variable, ""
        for option in options:
            items = cast("Sequence[Any]", value)
            if type(option) is list and not all(
                _type_check(v, _answer_type(option), option, nested, None)[0] for v in items
            ):
                continue
            return True, is_variable, ""
        nested_failed = True
    if answer_type is not None and type(value) is answer_type:
        return (not nested_failed), True, "nested" if nested_failed else ""
    return False, is_variable, "simple"


def _value_check(param: str, value: Any, spec: _Param, nested: type | None) -> Failure | None:
    """BFCL's value check for a value that passed the type check and is not a "variable"."""
    expected = spec.expected
    if expected is dict:
        return _dict_check(param, value, spec.values)
    if expected is list and nested is dict:
        return _list_dict_check(param, value, spec.values)
    if expected is str:
        return _string_check(param, value, spec)
    if expected is list:
        return _list_check(param, value, spec)
    return _exact_check(param, value, spec)


def _exact_check(param: str, value: Any, spec: _Param) -> Failure | None:
    if value not in spec.values:
        return Failure("arg.value", f"parameter {param!r}: {value!r} is not one of {spec.values!r}")
    return None


def _string_check(param: str, value: str, options: _Param) -> Failure | None:
    if standardize_string(value) not in options.strings:
        return Failure(
            "arg.value_string",
            f"parameter {param!r}: {value!r} is not one of {options.values!r} (case-insensitive)",
        )
    return None


def _standardize_items(items: Any) -> list[Any]:
    return [standardize_string(x) if type(x) is str else x for x in items]


def _list_check(param: str, value: Sequence[Any], options: _Param) -> Failure | None:
    got = _standardize_items(value)
    for accepted in options.lists:
        if got == accepted:
            return None
    return Failure("arg.value_list", f"parameter {param!r}: {value!r} is not one of {options.values!r}")


def _dict_values_check(param: str, value: dict[Any, Any], spec: _Param) -> Failure | None:
    return _dict_check(param, value, spec.values)


_SCALARS = frozenset({str, int, float, bool})
_NOT_PLAIN = Failure("", "")
"""What a plain check returns for a value it cannot judge in short: the full check decides."""


def _scalar_list_check(param: str, value: list[Any], spec: _Param) -> Failure | None:
    """`_list_check` for a list whose items all have the item type: BFCL's type check passes it."""
    nested = spec.nested
    for item in value:
        if type(item) is not nested:
            return _NOT_PLAIN
    return _list_check(param, value, spec)


_PLAIN_CHECKS: dict[type, Callable[[str, Any, _Param], Failure | None]] = {
    str: _string_check,
    dict: _dict_values_check,
}
"""`_value_check` for a value of a parameter's exact type with no item type, by that type."""


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
