"""The built-in strategies, by the name `--strategy` and `callforge eval --agent` take."""

from __future__ import annotations

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
    """The strategy `name`, built with `options` (`make_strategy("self_refine", max_rounds=3)`)."""
    factory = STRATEGIES.get(name)
    if factory is None:
        raise ConfigError(f"unknown strategy {name!r}; the strategies are: {', '.join(STRATEGIES)}")
    return factory(**options)


__all__ = ["STRATEGIES", "Compiler", "Direct", "PlannerCallerSummarizer", "SelfRefine", "WhenToCall", "make_strategy"]
