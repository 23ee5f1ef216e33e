"""An MCP test server built with the SDK's high-level MCPServer; tests/test_mcp.py starts it.

Runs over stdio by default; `--http PORT` serves streamable HTTP on 127.0.0.1:PORT/mcp instead.
Tools cover what the importer and the engine must handle: structured output (a pydantic model),
plain text, nested arguments, an error result, a slow call, an environment variable read in the
server, and a crash that ends the process mid-call.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

app = MCPServer("demo", log_level="WARNING")


class Weather(BaseModel):
    city: str
    temp_c: float
    conditions: str


class Stop(BaseModel):
    city: str
    nights: int = Field(ge=1)


class Traveller(BaseModel):
    name: str
    age: int | None = None


@app.tool()
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> Weather:
    """Current weather for a city."""
    temp = 21.5 if unit == "c" else 70.7
    return Weather(city=city, temp_c=temp, conditions="sunny")


@app.tool(structured_output=False)
def greet(name: str) -> str:
    """Say hello (plain text output, no structured content)."""
    return f"Hello, {name}!"


@app.tool(structured_output=False)
def stats(values: list[float]) -> dict[str, float]:
    """Sum and mean of numbers, returned as JSON text only."""
    return {"sum": sum(values), "mean": sum(values) / len(values)}


@app.tool(structured_output=False)
def tags(city: str) -> list[str]:
    """Tags for a city, one text item each (several content items, no structured content)."""
    return [city.lower(), "travel"]


@app.tool()
def plan_trip(
    traveller: Traveller, stops: list[Stop], budget: dict[str, float] | None = None
) -> dict[str, object]:
    """Plan a trip through several cities (nested arguments)."""
    return {
        "traveller": traveller.name,
        "cities": [s.city for s in stops],
        "nights": sum(s.nights for s in stops),
        "currencies": sorted(budget or {}),
    }


@app.tool()
def book_hotel(city: str, nights: int) -> str:
    """Book a hotel; fails for cities without hotels."""
    if city == "Atlantis":
        raise ToolError(f"no hotels in {city}")
    return f"booked {nights} nights in {city}"


@app.tool()
def read_env(name: str) -> str:
    """The value of an environment variable in the server process."""
    return os.environ.get(name, "<unset>")


@app.tool()
def server_pid() -> int:
    """The server's process id."""
    return os.getpid()


@app.tool()
def slow(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "done"


@app.tool()
def exit_soon() -> str:
    """Answer, then end the server a moment later (between calls), saying why on stderr."""

    def leave() -> None:
        print("bye: exit_soon was called", file=sys.stderr, flush=True)
        os._exit(4)

    threading.Timer(0.2, leave).start()
    return "leaving"


@app.tool()
def crash() -> str:
    """End the server process abruptly, mid-call."""
    os._exit(3)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
