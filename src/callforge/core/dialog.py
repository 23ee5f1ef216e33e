"""Dialog: the unit that is generated, verified and exported."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from callforge.core.message import Message
from callforge.core.tool import ToolSpec


class Dialog(BaseModel):
    """Tools offered plus the messages exchanged, with `meta` for scenario, seed and provenance."""

    model_config = ConfigDict(frozen=True)

    tools: tuple[ToolSpec, ...] = ()
    messages: tuple[Message, ...] = ()
    meta: dict[str, Any] = Field(default_factory=dict)
