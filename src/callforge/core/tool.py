"""ToolSpec: the one description of a tool that every stage consumes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from callforge.core.binding import Binding


class ToolSpec(BaseModel):
    """One tool: a name, a description and a JSON Schema object for its arguments.

    `parameters` is always standard JSON Schema so validators and chat templates can use it as is.
    Where the tool came from a dialect with its own type names (BFCL's `dict`, `float`, `tuple`,
    `any`, Java and JavaScript types), `dialect` names it and `original` keeps the spec as given,
    because BFCL-exact scoring depends on those original type names. `domain` is the topic the
    tool belongs to when its source knows one (a synthesized pool's domain, an OpenAPI tag, an MCP
    server); `binding` says how an engine reaches a tool that runs elsewhere (REST, MCP).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    returns: dict[str, Any] | None = None
    source: str = "unknown"
    dialect: str = "json_schema"
    original: dict[str, Any] | None = None
    domain: str | None = None
    binding: Binding | None = None

    @property
    def properties(self) -> dict[str, Any]:
        """The per-argument schemas (empty when the tool takes no arguments)."""
        props = self.parameters.get("properties")
        return props if isinstance(props, dict) else {}

    @property
    def required(self) -> list[str]:
        """Names of the arguments a call must supply."""
        req = self.parameters.get("required")
        return list(req) if isinstance(req, list) else []

    def to_openai(self) -> dict[str, Any]:
        """Render as an OpenAI chat-completions `tools` entry, the lingua franca of servers."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }
