"""The one sync wrapper: every job has one async core, and its blocking form is this wrapper around it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from callforge.core import ConfigError

P = ParamSpec("P")
R = TypeVar("R")


def blocking(core: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """The blocking form of an async core: the same parameters, run in a fresh event loop.

    Scripts and notebooks without a running loop call the blocking form; code already inside an
    event loop awaits the core. Calling the blocking form from inside a loop is refused with the
    name of the core to await instead (asyncio's own message names neither).
    """

    @functools.wraps(core)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(core(*args, **kwargs))
        raise ConfigError(
            f"{core.__name__.removesuffix('_async')}() blocks; inside an event loop, `await {core.__name__}(...)` instead"
        )

    run.__name__ = core.__name__.removesuffix("_async")
    run.__qualname__ = run.__name__
    run.__doc__ = f"The blocking form of `{core.__name__}` (same parameters). " + (core.__doc__ or "")
    return run
