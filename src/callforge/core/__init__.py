"""The shared vocabulary: records with no I/O and no model calls, imported by every stage."""

from callforge.core.case import OMITTED, Case, ExpectedCall
from callforge.core.dialog import Dialog
from callforge.core.errors import CallforgeError, ConfigError, DataError, DecodeError, SpecError
from callforge.core.message import Message, Role, ToolCall
from callforge.core.tool import ToolSpec
from callforge.core.verdict import OK, Verdict

__all__ = [
    "OK",
    "OMITTED",
    "CallforgeError",
    "Case",
    "ConfigError",
    "DataError",
    "DecodeError",
    "Dialog",
    "ExpectedCall",
    "Message",
    "Role",
    "SpecError",
    "ToolCall",
    "ToolSpec",
    "Verdict",
]
