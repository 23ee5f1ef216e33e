"""Library errors speak in parameters (`resume=True`, `out`); the CLI says the same in flags (--resume, --out).

The library names a parameter in backticks, as a Python caller writes it. This module is the one
place that turns such a name into a flag: the map comes from the commands' own options (a
parameter `judge_model` is the option `--judge-model`), the union over every verb, so a new flag
needs no entry here; verbs use one flag per parameter name, which keeps the union unambiguous.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from typing import Any

import typer

_PARAM = re.compile(r"`([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)(?:=([^`]*))?`")


def to_flags(message: str, app: typer.Typer) -> str:
    """`message` with every backticked parameter the CLI has an option for written as that option."""
    flags = _flags(app)

    def flag(match: re.Match[str]) -> str:
        name = match.group(1).rsplit(".", 1)[-1]
        option = flags.get(name)
        if option is None:
            return match.group(0)
        raw = match.group(2)
        if raw is None:
            return option
        value = _value(raw)
        if value is True:
            return option
        if value is False:
            return "--no-" + option.removeprefix("--")
        if isinstance(value, list | tuple):
            return f"{option} {','.join(map(str, value))}"
        return f"{option} {value}"

    return _PARAM.sub(flag, message)


def _value(raw: str) -> Any:
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


@cache
def _flags(app: typer.Typer) -> dict[str, str]:
    found: dict[str, str] = {}
    _collect(typer.main.get_command(app), found)
    return found


def _collect(command: Any, found: dict[str, str]) -> None:
    """Options of `command` and its subcommands (typer ships its own click, so read them by shape)."""
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") == "option" and param.name:
            long = [o for o in param.opts if o.startswith("--")]
            if long:
                found.setdefault(param.name, long[0])
    for sub in (getattr(command, "commands", None) or {}).values():
        _collect(sub, found)
