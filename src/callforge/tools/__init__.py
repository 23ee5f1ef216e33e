"""Bring tools in: OpenAI `tools` JSON, BFCL/Gorilla JSON and Python functions, all as ToolSpecs.

Every loader checks what it reads and raises `callforge.core.SpecError` naming the file, the tool
and the JSON path at fault, so a bad spec fails at load time instead of deep inside a run.
`ToolGraph` says which tool's output can feed which tool's input (see docs/generate.md).
"""

from callforge.tools.bfcl import BfclLanguage, tool_from_bfcl
from callforge.tools.graph import Edge, ToolGraph
from callforge.tools.load import ToolFormat, load_tools
from callforge.tools.openai import tool_from_openai
from callforge.tools.python import tool_from_function, tools_from_functions

__all__ = [
    "BfclLanguage",
    "Edge",
    "ToolFormat",
    "ToolGraph",
    "load_tools",
    "tool_from_bfcl",
    "tool_from_function",
    "tool_from_openai",
    "tools_from_functions",
]
