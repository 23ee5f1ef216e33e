"""An MCP test server on the SDK's low-level Server that lists its tools two per page.

MCPServer lists every tool at once, so paging needs the low-level API: `on_list_tools` reads the
cursor and returns `next_cursor` until the last page. `--loop` makes it answer every page with
the same cursor, a broken server the importer must stop on rather than page forever.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server

PAGE = 2
LOOP = "--loop" in sys.argv
TOOLS = [
    types.Tool(
        name=f"tool_{i}",
        description=f"Tool number {i}.",
        input_schema={
            "type": "object",
            "properties": {"x": {"type": "integer", "title": "X"}},
            "required": ["x"],
        },
    )
    for i in range(5)
]


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    start = int(params.cursor) if params is not None and params.cursor else 0
    end = start + PAGE
    next_cursor = "0" if LOOP else (str(end) if end < len(TOOLS) else None)
    return types.ListToolsResult(tools=TOOLS[start:end], next_cursor=next_cursor)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    x = (params.arguments or {}).get("x", 0)
    return types.CallToolResult(content=[types.TextContent(text=str(x * 2))])


server = Server("paged", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
