"""gen_tools.py's weather and hotel tools served over MCP (stdio), logging every call it runs.

tests/test_execute_more.py generates and verifies dialogs against it. `--log PATH` appends one
JSON line per call the server ran ({"tool", "arguments"}), written and flushed before the answer
goes out, so a test can prove from the server's side which calls really reached it.
get_weather and search_hotels are declared read-only (`readOnlyHint`), book_hotel is not.
`--http-fd FD` serves streamable HTTP at /mcp on a listening socket the test bound and passed
down: clients can connect at once (the kernel queues them), so no test waits for a port to open.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_tools  # the same tools the sandboxed generation tests use
from gen_tools import Booking, Hotels, Weather

app = MCPServer("travel", log_level="WARNING")
LOG: Path | None = None


def _log(tool: str, arguments: dict[str, Any]) -> None:
    if LOG is not None:
        with LOG.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True) + "\n")


def _run(function: Any, /, **arguments: Any) -> Any:
    """Log the call, run the gen_tools function; its ValueError becomes a ToolError so the client sees why."""
    _log(function.__name__, arguments)
    try:
        return function(**arguments)
    except ValueError as exc:
        raise ToolError(str(exc)) from exc


READ_ONLY = ToolAnnotations(read_only_hint=True)  # looking things up changes nothing; booking does


@app.tool(annotations=READ_ONLY)
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> Weather:
    """Current temperature in a city, e.g. Paris."""
    result: Weather = _run(gen_tools.get_weather, city=city, unit=unit)
    return result


@app.tool(annotations=READ_ONLY)
def search_hotels(city: str, max_price: int) -> Hotels:
    """Hotels in a city under a nightly price in euros."""
    result: Hotels = _run(gen_tools.search_hotels, city=city, max_price=max_price)
    return result


@app.tool()
def book_hotel(hotel_id: str, nights: int) -> Booking:
    """Book a hotel found by search_hotels, for a number of nights."""
    result: Booking = _run(gen_tools.book_hotel, hotel_id=hotel_id, nights=nights)
    return result


def _serve_http(fd: int) -> None:
    import socket

    import anyio
    import uvicorn

    sock = socket.socket(fileno=fd)
    config = uvicorn.Config(app.streamable_http_app(), log_level="warning")
    anyio.run(lambda: uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    options = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
    if "--log" in options:
        LOG = Path(options["--log"])
    if "--http-fd" in options:
        _serve_http(int(options["--http-fd"]))
    else:
        app.run()
