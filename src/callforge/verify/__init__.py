"""Verification: the cascade that keeps only correct dialogs and records why each rejected one failed.

Rules first (microseconds), sandboxed execution next (milliseconds), an LLM judge last (seconds and
tokens). `verify(data, stages)` reads any supported dataset format and writes accepted and rejected
records plus a funnel; `Cascade` and the stages can be used one dialog at a time.
"""

from callforge.verify.api import VerifyProgress, VerifyReport, verify, verify_async
from callforge.verify.cascade import Cascade
from callforge.verify.execution import ExecutionStage
from callforge.verify.funnel import Funnel, StageCount
from callforge.verify.record import Checked, Stage, StageResult
from callforge.verify.rules import RuleStage, default_checks, rule_codes

__all__ = [
    "Cascade",
    "Checked",
    "ExecutionStage",
    "Funnel",
    "RuleStage",
    "Stage",
    "StageCount",
    "StageResult",
    "VerifyProgress",
    "VerifyReport",
    "default_checks",
    "rule_codes",
    "verify",
    "verify_async",
]
