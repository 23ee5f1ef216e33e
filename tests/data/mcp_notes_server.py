"""A stateful MCP test server: notes kept in a JSON file, so hooks can reset and read them from outside.

`python mcp_notes_server.py FILE` serves over stdio; tests/test_service_environment.py starts it.
The file holds `{"notes": [...]}`; the environment's reset hook rewrites it and its state hook prints it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer

STORE = Path(sys.argv[1])
app = MCPServer("notes", log_level="WARNING")


def _load() -> dict[str, list[str]]:
    return json.loads(STORE.read_text(encoding="utf-8")) if STORE.exists() else {"notes": []}


@app.tool(structured_output=False)
def add_note(text: str) -> str:
    """Add a note."""
    data = _load()
    data["notes"].append(text)
    STORE.write_text(json.dumps(data), encoding="utf-8")
    return f"{len(data['notes'])} notes"


@app.tool(structured_output=False)
def list_notes() -> list[str]:
    """Every note, oldest first."""
    return _load()["notes"]


if __name__ == "__main__":
    app.run()
