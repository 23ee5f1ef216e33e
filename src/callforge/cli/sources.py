"""Reading one tool source for the `tools` verbs, with the dialect forced when the user says which it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_source(src: str | Path, format: str = "auto", language: str | None = None, *, prefix: bool = False) -> list[Any]:
    """Any source loads here (see `callforge.execute.sources`); `format`/`language` force a JSON tools file's dialect.

    A Python module is imported only inside the sandbox, never in-process.
    """
    if format != "auto" or language is not None:
        from callforge.tools import load_tools

        return load_tools(src, format=format, language=language)  # type: ignore[arg-type]
    from callforge.execute import read_sources

    return list(read_sources([str(src)], prefix=prefix).tools)
