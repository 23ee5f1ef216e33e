"""Case: one evaluation item with its accepted answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from callforge.core.category import Category
from callforge.core.message import Message
from callforge.core.tool import ToolSpec

OMITTED: str = ""
"""The marker BFCL puts in a list of accepted values to say the argument may be left out."""


class ExpectedCall(BaseModel):
    """One expected call: for each argument, the list of values accepted for it.

    The list form (not a single value) is BFCL's "possible answers": any listed value passes, and
    the empty string `OMITTED` in the list means the argument may be omitted.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, list[Any]] = Field(default_factory=dict)


class Case(BaseModel):
    """An input conversation, the tools offered, and the calls that count as correct.

    `expected` is empty for cases whose right answer is to call nothing (irrelevance) or whose
    answer is not checked beyond "some call was made" (relevance); `category` says which.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    category: Category
    messages: tuple[Message, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    expected: tuple[ExpectedCall, ...] = ()
    meta: dict[str, Any] = Field(default_factory=dict)

    def tool(self, name: str) -> ToolSpec | None:
        """The offered tool called `name`, or None when the case offers no such tool."""
        for spec in self.tools:
            if spec.name == name:
                return spec
        return None
