"""Bring tools in as ToolSpecs: OpenAI and BFCL JSON, Python functions, OpenAPI specs, MCP servers, pool files.

Every loader checks what it reads and raises `callforge.core.SpecError` naming the file, the tool
and the JSON path at fault, so a bad spec fails at load time instead of deep inside a run.
`tools.synth` grows a pool from a domain list;
`ToolGraph` says which tool's output can feed which tool's input (see docs/tools.md, docs/generate.md).
"""

from callforge.tools.bfcl import BfclLanguage, to_bfcl_function, tool_from_bfcl
from callforge.tools.graph import (
    DEFAULT_THRESHOLD,
    DomainEdge,
    DomainKey,
    Edge,
    ToolGraph,
    domain_of,
    name_keys,
    name_similarity,
)
from callforge.tools.graph_embed import EmbeddingSimilarity, sentence_transformer_similarity
from callforge.tools.graph_report import GraphStats, graph_stats, to_dot
from callforge.tools.graph_shapes import DAG_SIZES, Needs, grow_dag
from callforge.tools.load import ToolFormat, load_tools
from callforge.tools.mcp import (
    McpConfig,
    connection_closed,
    is_mcp_config,
    load_mcp,
    load_mcp_async,
    open_mcp_client,
    read_mcp_config,
    require_mcp,
    server_from_source,
    server_label,
    stderr_tail,
)
from callforge.tools.openai import tool_from_openai
from callforge.tools.openapi import load_openapi
from callforge.tools.pool import POOL_FORMAT, is_pool, save_pool
from callforge.tools.python import tool_from_function, tools_from_functions
from callforge.tools.schema import SchemaIssue, validator_for
from callforge.tools.synth.api import SynthConfig, synthesize_pool, synthesize_pool_async
from callforge.tools.synth.pipeline import Pool, SynthReport

__all__ = [
    "DAG_SIZES",
    "DEFAULT_THRESHOLD",
    "POOL_FORMAT",
    "BfclLanguage",
    "DomainEdge",
    "DomainKey",
    "Edge",
    "EmbeddingSimilarity",
    "GraphStats",
    "McpConfig",
    "Needs",
    "Pool",
    "SchemaIssue",
    "SynthConfig",
    "SynthReport",
    "ToolFormat",
    "ToolGraph",
    "connection_closed",
    "domain_of",
    "graph_stats",
    "grow_dag",
    "is_mcp_config",
    "is_pool",
    "load_mcp",
    "load_mcp_async",
    "load_openapi",
    "load_tools",
    "name_keys",
    "name_similarity",
    "open_mcp_client",
    "read_mcp_config",
    "require_mcp",
    "save_pool",
    "sentence_transformer_similarity",
    "server_from_source",
    "server_label",
    "stderr_tail",
    "synthesize_pool",
    "synthesize_pool_async",
    "to_bfcl_function",
    "to_dot",
    "tool_from_bfcl",
    "tool_from_function",
    "tool_from_openai",
    "tools_from_functions",
    "validator_for",
]
