"""Rules on each call: the function exists, its arguments fit the schema, none is invented, none repeats."""

from __future__ import annotations

from typing import Any

import orjson

from callforge.core import Verdict
from callforge.tools import SchemaIssue, validator_for
from callforge.verify.rules.base import CallSite, DialogView, call_label

_SCHEMA_CODES = {
    "required": "call.missing_required",
    "type": "arg.type",
    "enum": "arg.enum",
    "constant": "arg.enum",
    "const": "arg.enum",
}


class KnownFunctionCheck:
    """Every called name is one of the offered tools: the most common hallucination in synthetic data."""

    name = "function"
    codes = ("call.unknown_function", "call.format")

    def check(self, view: DialogView) -> list[Verdict]:
        """Fail each call whose name is empty or not offered."""
        out = []
        for site in view.calls:
            name = site.call.name
            if not name or not name.strip():
                out.append(_fail(site, "call.format", "the call has no function name"))
            elif name not in view.tools:
                offered = ", ".join(sorted(view.tools)) or "none"
                out.append(
                    _fail(site, "call.unknown_function", f"no tool is called {name!r} (offered: {offered})")
                )
        return out


class ArgumentsCheck:
    """Arguments validate against the tool's JSON Schema, and no argument name is made up.

    An argument the schema does not declare is reported as `call.unexpected_param` even when the
    schema allows additional properties: a name the tool never documented is the model's invention.
    """

    name = "arguments"
    codes = ("call.missing_required", "call.unexpected_param", "arg.type", "arg.enum", "arg.schema")

    def check(self, view: DialogView) -> list[Verdict]:
        """Validate every call of a known tool."""
        out: list[Verdict] = []
        for site in view.calls:
            tool = view.tools.get(site.call.name)
            if tool is None:
                continue
            arguments = site.call.arguments
            declared = tool.properties
            for key in arguments:
                if key not in declared:
                    known = ", ".join(sorted(declared)) or "none"
                    out.append(
                        _fail(
                            site,
                            "call.unexpected_param",
                            f"argument {key!r} is not a parameter of {tool.name} (parameters: {known})",
                            argument=key,
                        )
                    )
            for issue in validator_for(tool.parameters)(arguments):
                if issue.kind == "additional_properties":
                    continue  # reported above, once per name
                out.append(_schema_failure(site, issue))
        return out


def _schema_failure(site: CallSite, issue: SchemaIssue) -> Verdict:
    code = _SCHEMA_CODES.get(issue.kind, "arg.schema")
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in issue.path)
    where = f"argument {path.lstrip('.')}" if path else "arguments"
    return _fail(site, code, f"{where}: {issue.message}", path=list(issue.path), constraint=issue.kind)


class DuplicateCallCheck:
    """The same call (name and arguments) twice in one user turn is a loop, not data."""

    name = "duplicates"
    codes = ("call.duplicate",)

    def check(self, view: DialogView) -> list[Verdict]:
        """Compare calls by canonical JSON within each stretch between user messages."""
        out = []
        seen: dict[bytes, CallSite] = {}
        turn = 0
        last_user = -1
        for site in view.calls:
            user_before = _last_user_before(view, site.message_index, last_user)
            if user_before != turn:
                seen, turn = {}, user_before
            last_user = user_before
            key = _canonical(site.call.name, site.call.arguments)
            first = seen.get(key)
            if first is not None:
                out.append(
                    _fail(
                        site,
                        "call.duplicate",
                        f"repeats the call in message {first.message_index} with the same arguments",
                    )
                )
            else:
                seen[key] = site
        return out


def _last_user_before(view: DialogView, index: int, hint: int) -> int:
    messages = view.messages
    for i in range(index - 1, max(hint, 0) - 1, -1):
        if messages[i].role == "user":
            return i
    return hint


def _canonical(name: str, arguments: dict[str, Any]) -> bytes:
    try:
        return name.encode() + b"\0" + orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return name.encode() + b"\0" + repr(sorted(arguments.items(), key=lambda kv: kv[0])).encode()


def _fail(site: CallSite, code: str, text: str, **evidence: Any) -> Verdict:
    return Verdict.failed(
        code,
        f"{call_label(site)}: {text}",
        call=site.call.name,
        message_index=site.message_index,
        position=site.position,
        **evidence,
    )
