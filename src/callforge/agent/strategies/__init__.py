"""The built-in strategies, by the name `--strategy` and `callforge eval --agent` take."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from callforge.agent.strategies.compiler import Compiler
from callforge.agent.strategies.direct import Direct
from callforge.agent.strategies.pcs import PlannerCallerSummarizer
from callforge.agent.strategies.self_refine import SelfRefine
from callforge.agent.strategies.when_to_call import WhenToCall
from callforge.agent.strategy import Strategy
from callforge.core import ConfigError

STRATEGIES: dict[str, Callable[..., Strategy]] = {
    Direct.name: Direct,
    SelfRefine.name: SelfRefine,
    PlannerCallerSummarizer.name: PlannerCallerSummarizer,
    WhenToCall.name: WhenToCall,
    Compiler.name: Compiler,
}
"""Every strategy by name; a strategy's keyword options are its constructor's."""


def make_strategy(name: str, **options: Any) -> Strategy:
    """The strategy `name`, built with `options` (`make_strategy("self_refine", max_rounds=3)`).

    `name` may carry the options itself, as the CLI's `--strategy` and `--agent` take them:
    `when_to_call:probe=confidence,threshold=0.4` (numbers and true/false are read as such).
    """
    base, _, spec = name.partition(":")
    factory = STRATEGIES.get(base.strip())
    if factory is None:
        raise ConfigError(f"unknown strategy {base.strip()!r}; the strategies are: {', '.join(STRATEGIES)}")
    try:
        return factory(**{**parse_options(spec, name), **options})
    except TypeError as exc:
        accepted = [p for p in inspect.signature(factory).parameters if p != "self"]
        raise ConfigError(
            f"strategy {name!r}: {exc}; {base.strip()} takes {', '.join(accepted) or 'no options'}"
        ) from None


def parse_options(spec: str, name: str = "") -> dict[str, Any]:
    """`key=value,key=value` as keyword options: integers, floats and true/false typed, the rest text."""
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, text = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"strategy {name!r}: {part!r} is not key=value; write e.g. when_to_call:probe=confidence")
        out[key.strip()] = _typed(text.strip())
    return out


def _typed(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


__all__ = ["STRATEGIES", "Compiler", "Direct", "PlannerCallerSummarizer", "SelfRefine", "WhenToCall", "make_strategy"]
