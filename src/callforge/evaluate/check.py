"""Score one model output for one Case: decode, then match, in BFCL-exact or semantic mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Protocol

from callforge.core import OK, Case, Category, CategoryKind, DecodeError, Language, ToolSpec, Verdict
from callforge.evaluate.decode import DecodedCall, decode_fc_bfcl, decode_python, decode_python_bfcl
from callforge.evaluate.match.bfcl import BfclMatcher
from callforge.evaluate.match.codes import Failure, bfcl_error_type


class Style(StrEnum):
    """How the model produced its output: text with Python calls, or native function calling."""

    PROMPTING = "prompting"
    FC = "fc"


class Mode(StrEnum):
    """Which rules decide: BFCL's checker exactly, or callforge's fairer semantic rules."""

    BFCL = "bfcl"
    SEMANTIC = "semantic"


class Scorer(Protocol):
    """Scores raw outputs against Cases; one instance per (mode, style), reused across cases."""

    def score(self, case: Case, output: Any) -> Verdict:
        """Decode `output` and judge it against `case`."""
        ...


def make_scorer(mode: Mode | str = Mode.BFCL, style: Style | str = Style.PROMPTING) -> Scorer:
    """The scorer for a mode and style; scorers cache per-case preparation, so reuse one."""
    mode, style = Mode(mode), Style(style)
    if mode is Mode.BFCL:
        return BfclScorer(style)
    return SemanticScorer(style)


def score_output(
    case: Case, output: Any, *, mode: Mode | str = Mode.BFCL, style: Style | str = Style.PROMPTING
) -> Verdict:
    """Score one output; convenient for a single case, use `make_scorer` for many."""
    return make_scorer(mode, style).score(case, output)


# Validated construction straight from a dict: in pydantic 2.14 this takes about 60% of the time of
# `Verdict(...)` (whose __init__ adds a Python layer) and a third of `model_construct`'s.
_new_verdict = Verdict.__pydantic_validator__.validate_python

_IRRELEVANCE = CategoryKind.IRRELEVANCE
_WRONG_FORMAT = Failure("decode.wrong_format", "the output decodes, but not to a list of {name: {arguments}} calls")
_UNEXPECTED_CALL = Failure("relevance.unexpected_call", "a tool was called, but none fits")


def _passed(decoded: Any) -> Verdict:
    verdict: Verdict = _new_verdict({"ok": True, "code": OK, "message": "", "evidence": {"decoded": decoded}})
    return verdict


def _failed(failure: Failure, decoded: Any) -> Verdict:
    evidence = {"bfcl_error_type": bfcl_error_type(failure.code), "decoded": decoded}
    verdict: Verdict = _new_verdict(
        {"ok": False, "code": failure.code, "message": failure.message, "evidence": evidence}
    )
    return verdict


def _verdict(failure: Failure | None, decoded: Any) -> Verdict:
    return _passed(decoded) if failure is None else _failed(failure, decoded)


def _is_call_format(decoded: Any) -> bool:
    """BFCL's format check: a list of single-key `{name: {arguments}}` objects."""
    if type(decoded) is not list:
        return False
    for item in decoded:
        if type(item) is not dict or len(item) != 1:
            return False
        for arguments in item.values():
            if type(arguments) is not dict:
                return False
    return True


def _relevance(kind: CategoryKind, has_call: bool, decoded: Any, error: DecodeError | None) -> Verdict:
    """The verdict of an (ir)relevance category; `error` is why the output did not decode, if so."""
    if kind is _IRRELEVANCE:
        return _failed(_UNEXPECTED_CALL, decoded) if has_call else _passed(decoded)
    if has_call:
        return _passed(decoded)
    detail = "" if error is None else f" (output does not decode: {error})"
    return _failed(Failure("relevance.no_call", f"no tool call was made{detail}"), decoded)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What BFCL mode needs of one case, derived once per scorer."""

    case: Case
    kind: CategoryKind
    relevance: bool  # an (ir)relevance category: only whether the output calls anything counts
    decode: Callable[[Any], Any]
    calls_only: bool  # whether `decode` only ever returns BFCL's call format
    check: Callable[[list[dict[str, Any]]], Failure | None]  # the matcher, bound to the case


class BfclScorer:
    """BFCL's evaluation path: its decoder for the style, its format check, its AST checker."""

    def __init__(self, style: Style) -> None:
        self.style = style
        self._matchers: dict[Language, BfclMatcher] = {}
        self._prepared: dict[str, _Prepared] = {}

    def _prepare(self, case: Case) -> _Prepared:
        category = Category.parse(case.category)
        kind = category.kind
        relevance = kind in (CategoryKind.IRRELEVANCE, CategoryKind.RELEVANCE)
        # BFCL decodes (ir)relevance outputs as Python whatever the category. Where abstaining is
        # right, an undecodable output passes whatever the reason, so BFCL's message is not needed.
        language = Language.PYTHON if relevance else category.language
        decode, calls_only = self._decoder(language)
        matcher = self._matcher(category.language)
        functions = [_bfcl_function(t) for t in case.tools]
        answers = [{e.name: e.arguments} for e in case.expected]
        check = partial(matcher.check_expected, kind, matcher.expect(functions, answers))
        prepared = _Prepared(case, kind, relevance, decode, calls_only, check)
        self._prepared[case.id] = prepared
        return prepared

    def _matcher(self, language: Language) -> BfclMatcher:
        matcher = self._matchers.get(language)
        if matcher is None:
            matcher = BfclMatcher(language, underscore_to_dot=self.style is Style.FC)
            self._matchers[language] = matcher
        return matcher

    def _decoder(self, language: Language) -> tuple[Callable[[Any], Any], bool]:
        """The decoder for the style and a language, and whether it only returns calls."""
        if self.style is Style.FC:
            return decode_fc_bfcl, False
        if language is Language.JAVA:
            from callforge.evaluate.lang.java import decode_java

            return decode_java, False
        if language is Language.JAVASCRIPT:
            from callforge.evaluate.lang.javascript import decode_javascript

            return decode_javascript, False
        # Both of its paths return `[{name: {arguments}}]`.
        return decode_python_bfcl, True

    def score(self, case: Case, output: Any) -> Verdict:
        """Judge `output` exactly as BFCL would; the verdict names BFCL's error type."""
        prepared = self._prepared.get(case.id)
        if prepared is None or prepared.case is not case:
            prepared = self._prepare(case)
        try:
            decoded = prepared.decode(output)
        except DecodeError as exc:
            if prepared.relevance:  # BFCL counts any decoding failure as "no call"
                return _relevance(prepared.kind, False, None, exc)
            return _failed(Failure("decode.failed", f"cannot decode the output: {exc}"), None)
        calls = prepared.calls_only or _is_call_format(decoded)
        if prepared.relevance:
            return _relevance(prepared.kind, calls and len(decoded) > 0, decoded, None)
        if not calls:
            return _failed(_WRONG_FORMAT, decoded)
        failure = prepared.check(decoded)
        if failure is not None:
            return _failed(failure, decoded)
        verdict: Verdict = _new_verdict({"ok": True, "code": OK, "message": "", "evidence": {"decoded": decoded}})
        return verdict  # `_passed`, inline on the hot path


def _bfcl_function(tool: ToolSpec) -> dict[str, Any]:
    """The BFCL-dialect description of a tool: the original when it came from BFCL."""
    if tool.original is not None and tool.dialect.startswith("bfcl"):
        return tool.original
    from callforge.tools import to_bfcl_function

    return to_bfcl_function(tool)


class SemanticScorer:
    """callforge's fairer rules: positional binding, defaults, bipartite parallel matching.

    Decoding never `eval`s and a decode failure is always a failure, also where the right answer
    is to call nothing: junk output is not a correct abstention.
    """

    def __init__(self, style: Style) -> None:
        from callforge.evaluate.match.semantic import SemanticMatcher

        self.style = style
        self._matcher = SemanticMatcher()

    def _decode(self, output: Any) -> list[DecodedCall]:
        if self.style is Style.FC:
            if isinstance(output, str):
                return []  # a text reply: the model chose not to call
            decoded = decode_fc_bfcl(output)
            if not _is_call_format(decoded):
                raise DecodeError("the output decodes, but not to a list of {name: {arguments}} calls")
            return [DecodedCall(name, args) for item in decoded for name, args in item.items()]
        if _is_prose(output):
            return []
        return decode_python(output)

    def score(self, case: Case, output: Any) -> Verdict:
        """Judge `output` under the semantic rules (see the README's semantic-mode section)."""
        kind = Category.parse(case.category).kind
        try:
            calls = self._decode(output)
        except DecodeError as exc:
            return _verdict(Failure("decode.failed", f"cannot decode the output: {exc}"), None)
        shown = [{"name": c.name, "arguments": c.arguments, "positional": list(c.positional)} for c in calls]
        if kind in (CategoryKind.IRRELEVANCE, CategoryKind.RELEVANCE):
            return _relevance(kind, bool(calls), shown, None)
        failure = self._matcher.check(kind, case.tools, calls, case.expected)
        return _verdict(failure, shown)


def _is_prose(output: Any) -> bool:
    """Text that does not attempt a call (an answer or a refusal), as opposed to a broken call.

    Only such text counts as choosing not to call; a malformed call stays a decode failure.
    """
    if not isinstance(output, str):
        return False
    text = output.strip(" \n`")
    return text == "" or ("(" not in text and not text.startswith(("[", "{", "<")))
