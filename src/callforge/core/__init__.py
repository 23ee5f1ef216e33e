"""The shared vocabulary: records with no I/O and no model calls, imported by every stage.

One exception, shared for the same reason: `bounded`, the way every stage reads a user's file
(regular files only, within size, depth and alias limits).
"""

from callforge.core.binding import Binding, HttpAuth, HttpBinding, HttpParam, McpBinding, McpServer
from callforge.core.bounded import (
    LIMIT_ENV,
    InputFileError,
    InputLimitError,
    InputLimits,
    check_depth,
    check_unfolded,
    current_limits,
    depth_error,
    is_too_deep,
    iter_lines,
    load_yaml,
    open_regular,
    read_bounded,
    recursion_error,
    too_deep_error,
    use_limits,
)
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
    "LIMIT_ENV",
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
    "InputFileError",
    "InputLimitError",
    "InputLimits",
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
    "check_depth",
    "check_unfolded",
    "configured",
    "copy_json",
    "credential_env_names",
    "current_limits",
    "depth_error",
    "find_secrets",
    "is_too_deep",
    "iter_lines",
    "kind_of",
    "known_secrets",
    "load_yaml",
    "open_regular",
    "read_bounded",
    "recursion_error",
    "redact",
    "redact_json",
    "redact_url",
    "register_secret",
    "secret_spellings",
    "too_deep_error",
    "use_limits",
    "validated",
]
