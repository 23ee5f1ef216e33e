"""The shared vocabulary: records with no I/O and no model calls, imported by every stage."""

from callforge.core.binding import Binding, HttpAuth, HttpBinding, HttpParam, McpBinding, McpServer
from callforge.core.case import OMITTED, Case, ExpectedCall
from callforge.core.category import SINGLE_TURN, Categories, Category, CategoryGroup, CategoryKind, Language
from callforge.core.dialog import Dialog
from callforge.core.errors import (
    CallforgeError,
    ConfigError,
    DataError,
    DecodeError,
    SpecError,
    configured,
    validated,
)
from callforge.core.jsonvalue import copy_json, kind_of
from callforge.core.message import Message, Role, ToolCall
from callforge.core.provenance import (
    MaskedCall,
    MaskReason,
    Provenance,
    ReadError,
    RoleSpend,
    Scenario,
    Spend,
    Voice,
)
from callforge.core.secrets import (
    MASK,
    credential_env_names,
    find_secrets,
    known_secrets,
    redact,
    redact_json,
    redact_url,
    register_secret,
    secret_spellings,
)
from callforge.core.tool import ToolSpec
from callforge.core.verdict import OK, Verdict

__all__ = [
    "MASK",
    "OK",
    "OMITTED",
    "SINGLE_TURN",
    "Binding",
    "CallforgeError",
    "Case",
    "Categories",
    "Category",
    "CategoryGroup",
    "CategoryKind",
    "ConfigError",
    "DataError",
    "DecodeError",
    "Dialog",
    "ExpectedCall",
    "HttpAuth",
    "HttpBinding",
    "HttpParam",
    "Language",
    "MaskReason",
    "MaskedCall",
    "McpBinding",
    "McpServer",
    "Message",
    "Provenance",
    "ReadError",
    "Role",
    "RoleSpend",
    "Scenario",
    "SpecError",
    "Spend",
    "ToolCall",
    "ToolSpec",
    "Verdict",
    "Voice",
    "configured",
    "copy_json",
    "credential_env_names",
    "find_secrets",
    "kind_of",
    "known_secrets",
    "redact",
    "redact_json",
    "redact_url",
    "register_secret",
    "secret_spellings",
    "validated",
]
