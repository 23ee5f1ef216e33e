"""Reading one tool source for the `tools` verbs, with the dialect forced when the user says which it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callforge.core import ConfigError

_KIND_NAMES = {"mcp": "an MCP server or config", "openapi": "an OpenAPI spec", "python": "a Python module"}


def load_source(src: str | Path, format: str = "auto", language: str | None = None, *, prefix: bool = False) -> list[Any]:
    """Any source loads here (see `callforge.execute.sources`); `format`/`language` force a JSON tools file's dialect.

    A Python module is imported only inside the sandbox, never in-process. An MCP server is
    started (or reached) and listed; this is a blocking call for the CLI, which has no event loop.
    """
    from callforge.execute import read_sources, source_kind

    if format != "auto" or language is not None:
        kind = source_kind(str(src))
        if kind in _KIND_NAMES:
            raise ConfigError(
                f"{src} is {_KIND_NAMES[kind]}: `format` and `language` choose the dialect of a JSON tools "
                "file (OpenAI or BFCL) and do not apply to it; leave them out"
            )
        from callforge.tools import load_tools

        return load_tools(src, format=format, language=language)  # type: ignore[arg-type]
    return list(read_sources([str(src)], prefix=prefix).tools)
