"""Bindings: how a tool that lives elsewhere (a REST operation, an MCP server's tool) is reached.

A ToolSpec says what a model sees; its `binding` says what an execution engine needs to run the
call for real. Bindings hold no secrets: credentials and server environment values come from the
process environment when a call runs, so pool files and dialog records can be shared safely.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

HttpLocation = Literal["path", "query", "header", "cookie"]


class HttpParam(BaseModel):
    """One tool argument that travels in the URL, the query string, a header or a cookie."""

    model_config = ConfigDict(frozen=True)

    name: str
    """The argument's name in the ToolSpec's `parameters`."""
    wire: str
    """The name on the wire (OpenAPI's `name`), which may not be a valid identifier."""
    location: HttpLocation


class HttpAuth(BaseModel):
    """One security scheme an operation accepts; the secret itself is read from `env` at call time."""

    model_config = ConfigDict(frozen=True)

    scheme: str
    """The scheme's name in the spec (`components.securitySchemes` key)."""
    type: Literal["bearer", "basic", "api_key"]
    location: HttpLocation = "header"
    wire: str = "Authorization"
    """Header, query or cookie name that carries the credential."""
    env: str
    """Environment variable holding the credential (`user:password` for basic)."""


class HttpBinding(BaseModel):
    """An OpenAPI operation: method, path template and where each argument goes."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["http"] = "http"
    method: str
    path: str
    """Path template relative to the server URL, e.g. `/pets/{petId}`."""
    servers: tuple[str, ...] = ()
    """Base URLs the spec declares; an engine's own base URL takes precedence."""
    params: tuple[HttpParam, ...] = ()
    body_arg: str | None = None
    """Argument holding the whole request body, when the body is not an object of named fields."""
    body_fields: tuple[str, ...] = ()
    """Arguments that are the request body object's properties (flattened into the tool's parameters)."""
    content_type: str | None = None
    auth: tuple[HttpAuth, ...] = ()


class McpServer(BaseModel):
    """How to reach an MCP server: a stdio command or a streamable-HTTP URL."""

    model_config = ConfigDict(frozen=True)

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    cwd: str | None = None
    env: tuple[str, ...] = ()
    """Names of environment variables passed to a stdio server (values are never stored)."""
    url: str | None = None


class McpBinding(BaseModel):
    """A tool of an MCP server; `tool` is its name on the server (the ToolSpec name may be prefixed)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["mcp"] = "mcp"
    server: McpServer
    tool: str
    read_only: bool = False
    """The server declares the tool read-only (MCP's `readOnlyHint`): a read-only run may send its calls."""


Binding = Annotated[HttpBinding | McpBinding, Field(discriminator="kind")]
