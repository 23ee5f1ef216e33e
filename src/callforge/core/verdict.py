"""Verdict: what every rule, executor, judge and the evaluator returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

OK = "ok"


class Verdict(BaseModel):
    """A pass, a failure, or an unsure pass, with a stable, namespaced code (`call.missing_required`, `arg.type` ...).

    Codes are stable so that funnels and dashboards can count them across versions; `message` is
    for people (and for a model that gets it as feedback); `evidence` holds the data behind it.
    An *unsure* verdict (`unsure=True`, `ok=True`) is a finding a cheap check could neither prove
    nor refute, such as a value that may be world knowledge ("Lyon" -> `LYS`): it rejects nothing
    by itself, is counted apart, and is what a later stage (the judge) should look at.
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    code: str = OK
    message: str = ""
    evidence: dict[str, Any] = Field(default_factory=dict)
    unsure: bool = False

    @classmethod
    def passed(cls, message: str = "", **evidence: Any) -> Verdict:
        """A passing verdict."""
        return cls(ok=True, code=OK, message=message, evidence=evidence)

    @classmethod
    def unproven(cls, code: str, message: str, **evidence: Any) -> Verdict:
        """An unsure verdict: not a failure, but a question for a stronger check (see the class docs)."""
        return cls(ok=True, code=code, message=message, evidence=evidence, unsure=True)

    @classmethod
    def failed(cls, code: str, message: str, **evidence: Any) -> Verdict:
        """A failing verdict with its code and a message that says what went wrong."""
        return cls(ok=False, code=code, message=message, evidence=evidence)
