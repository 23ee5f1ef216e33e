"""A fake OpenAI-compatible chat-completions server for end-to-end tests and benchmarks.

Stdlib asyncio plus orjson, bound to 127.0.0.1 only: scripted or rule-based replies, latency and
capacity like an inference server, injected faults (429, 5xx, hang, drop, malformed JSON, broken
tool-call arguments) and a recorder of every request. See docs/fake-server.md.
"""

from callforge.llm.fake.faults import FAULT_HELP, FAULT_KINDS, Fault, FaultKind
from callforge.llm.fake.policy import (
    DefaultRule,
    Echo,
    FakeServerError,
    Policy,
    Reply,
    Rule,
    Scripted,
    minimal_value,
)
from callforge.llm.fake.record import RecordedRequest, Stats
from callforge.llm.fake.server import FakeOpenAIServer

__all__ = [
    "FAULT_HELP",
    "FAULT_KINDS",
    "DefaultRule",
    "Echo",
    "FakeOpenAIServer",
    "FakeServerError",
    "Fault",
    "FaultKind",
    "Policy",
    "RecordedRequest",
    "Reply",
    "Rule",
    "Scripted",
    "Stats",
    "minimal_value",
]
