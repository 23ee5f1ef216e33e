"""Bring tools in as ToolSpecs: OpenAI and BFCL JSON, Python functions, OpenAPI specs, MCP servers, pool files.

Every loader checks what it reads and raises `callforge.core.SpecError` naming the file, the tool
and the JSON path at fault, so a bad spec fails at load time instead of deep inside a run.
`tools.synth` grows a pool from a domain list;
`ToolGraph` says which tool's output can feed which tool's input (see docs/tools.md, docs/generate.md).
"""

from callforge.tools.bfcl import BfclLanguage, tool_from_bfcl
from callforge.tools.graph import DomainEdge, Edge, ToolGraph, domain_of
from callforge.tools.graph_embed import EmbeddingSimilarity, sentence_transformer_similarity
from callforge.tools.graph_report import GraphStats, graph_stats, to_dot
from callforge.tools.load import ToolFormat, load_tools
from callforge.tools.mcp import McpConfig, load_mcp, load_mcp_async, read_mcp_config
from callforge.tools.openai import tool_from_openai
from callforge.tools.openapi import load_openapi
from callforge.tools.pool import POOL_FORMAT, save_pool
from callforge.tools.python import tool_from_function, tools_from_functions
from callforge.tools.schema import SchemaIssue, validator_for

__all__ = [
    "POOL_FORMAT",
    "BfclLanguage",
    "DomainEdge",
    "Edge",
    "EmbeddingSimilarity",
    "GraphStats",
    "McpConfig",
    "SchemaIssue",
    "ToolFormat",
    "ToolGraph",
    "domain_of",
    "graph_stats",
    "load_mcp",
    "load_mcp_async",
    "load_openapi",
    "load_tools",
    "read_mcp_config",
    "save_pool",
    "sentence_transformer_similarity",
    "to_dot",
    "tool_from_bfcl",
    "tool_from_function",
    "tool_from_openai",
    "tools_from_functions",
    "validator_for",
]
