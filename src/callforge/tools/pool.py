"""Pool files: every ToolSpec field kept (domain, returns, binding, dialect), so nothing is lost in a round trip.

An OpenAI `tools` list has no room for where a tool runs (an HTTP operation, an MCP server) or
for its domain, so `callforge tools import` and `callforge tools synth` write this format instead:
`{"format": "callforge.pool/1", "tools": [ToolSpec, ...], "report": {...}}`. `load_tools`
recognises it, so a pool file goes wherever a tools file goes (`generate --tools pool.json`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from callforge.core import ToolSpec
from callforge.tools.openai import Where

POOL_FORMAT = "callforge.pool/1"


def is_pool(document: Any) -> bool:
    """True for a parsed pool file (its `format` marker)."""
    return isinstance(document, dict) and document.get("format") == POOL_FORMAT


def pool_tools(document: dict[str, Any], where: Where) -> list[ToolSpec]:
    """The ToolSpecs of a parsed pool file; a SpecError names the tool and field at fault."""
    items = document.get("tools")
    if not isinstance(items, list):
        where.at("tools").fail(
            '"tools" must be a list of tools', "a pool file written by callforge tools import/synth"
        )
    tools: list[ToolSpec] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        at = where.at("tools").at(i)
        try:
            tool = ToolSpec.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            for step in first["loc"]:
                at = at.at(step)
            at.fail(f"invalid tool: {first['msg']}", "the fields of callforge.core.ToolSpec")
        if tool.name in names:
            at.named(tool.name).fail(f"duplicate tool name {tool.name!r}", "each tool name once")
        names.add(tool.name)
        tools.append(tool)
    return tools


def save_pool(
    path: str | os.PathLike[str], tools: Iterable[ToolSpec], *, report: dict[str, Any] | None = None
) -> Path:
    """Write a pool file atomically (a temp file renamed into place), so a kill never leaves half a pool."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "format": POOL_FORMAT,
        "tools": [t.model_dump(mode="json", exclude_none=True) for t in tools],
    }
    if report is not None:
        document["report"] = report
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
