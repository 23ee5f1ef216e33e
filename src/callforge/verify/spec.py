"""The cascade as data: `CascadeSpec` says which stages run and how, `build_cascade` makes the stages.

`callforge verify`, generation and refinement all describe their cascade this way, so a run's
manifest records exactly what judged its dialogs and one function builds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from callforge.core import ConfigError
from callforge.execute import Engine, EngineOptions, make_engine
from callforge.llm import Backend, make_backend
from callforge.run import EXEC_CACHE, LLM_CACHE
from callforge.verify.cascade import Cascade
from callforge.verify.dedup import DedupStage
from callforge.verify.execution import ExecutionStage
from callforge.verify.judge import QUESTIONS, LLMJudge, ReferenceJudge
from callforge.verify.record import Stage
from callforge.verify.rules import RuleStage

StageName = Literal["rules", "exec", "judge", "dedup"]
STAGE_ORDER: tuple[StageName, ...] = ("rules", "exec", "judge", "dedup")
DEFAULT_JUDGE = "local:qwen2.5-coder-0.5b"
JudgeMode = Literal["reference", "per_call", "per_aspect"]
DEFAULT_JUDGE_MODE: JudgeMode = "reference"


class CascadeSpec(BaseModel):
    """Which stages judge a dialog, in cascade order, and the settings of each."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: tuple[StageName, ...] = ("rules",)
    skip_rules: tuple[str, ...] = ()
    """Rule checks to leave out (`grounding`, `answer` ...)."""
    exec: str | None = None
    """The engine of the exec stage when none is given: `python:FILE.py`, `simulated[:MODEL]`,
    `rest:SPEC[@URL]` (the same-named operations of an OpenAPI spec) or `mcp:COMMAND|URL|CONFIG`
    (the same-named tools of an MCP server); see docs/verify.md."""
    read_only: bool = Field(default=False, exclude_if=lambda on: not on)
    """Let the exec engine send nothing that could change a live service: `rest:` sends only GET,
    HEAD and OPTIONS and simulates the other calls' responses, `mcp:` refuses to run. Stored with
    the cascade when on, because it changes what the exec stage observes; left out when off, so a
    run stored before this field existed still resumes."""
    compare_outputs: bool = False
    """Fail calls whose recorded tool output differs from a re-run."""
    judge: str = DEFAULT_JUDGE
    """The judge's model spec (when the judge stage runs and no judge backend is given)."""
    votes: int = Field(default=1, ge=1)
    judge_mode: JudgeMode = Field(default=DEFAULT_JUDGE_MODE, exclude_if=lambda v: v == DEFAULT_JUDGE_MODE)
    """How the judge decides: `reference` (default: the model answers the request itself and its calls
    are compared with the dialog's, `ReferenceJudge`), `per_call` (asked whether each call's tool is
    right, whether each argument is what the user meant, whether anything is left uncalled, whether the
    answer is faithful and useful) or `per_aspect` (one question per aspect of the whole dialog,
    `callforge.verify.judge.QUESTIONS`). The default is the mode measured best for the embedded judge
    models (docs/judge.md, Calibration). Stored when not the default."""
    dedup_threshold: float = Field(default=0.8, gt=0, le=1)
    max_same_calls: int | None = Field(default=None, ge=1)
    unsure: Literal["accept", "reject"] = "accept"
    """What an unsure verdict (a value that may be world knowledge) means when no judge settles it."""

    @field_validator("stages", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        names = value.split(",") if isinstance(value, str) else value
        unknown = [str(s) for s in names if s not in STAGE_ORDER] if isinstance(names, list | tuple) else []
        if unknown:
            raise ValueError(f"unknown stage(s) {', '.join(unknown)}; choose from rules,exec,judge,dedup")
        return names

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if not self.stages:
            raise ValueError("a cascade needs at least one stage (rules, exec, judge, dedup)")
        if len(set(self.stages)) != len(self.stages) or list(self.stages) != [s for s in STAGE_ORDER if s in self.stages]:
            raise ValueError(f"stages must keep cascade order (rules,exec,judge,dedup), got {','.join(self.stages)}")
        if self.skip_rules and "rules" not in self.stages:
            raise ValueError("skip_rules needs the rules stage in stages")
        if self.exec and "exec" not in self.stages:
            raise ValueError("exec needs the exec stage: add it to stages, e.g. stages=('rules', 'exec')")
        return self


def build_cascade(
    spec: CascadeSpec,
    *,
    engine: Engine | None = None,
    judge: Backend | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    cache_dir: Path | None = None,
) -> Cascade:
    """The stages `spec` names: `engine` runs the exec stage (else `spec.exec` says which), `judge` answers the judge.

    With `cache_dir`, models built here cache their replies in `llm-cache.sqlite` and a built
    engine its outputs in `exec-cache.sqlite` there (a given engine is used as it is, so
    `spec.read_only` cannot apply to it and is refused: build that engine read-only instead).
    """
    if engine is not None and spec.read_only and "exec" in spec.stages:
        raise ConfigError(
            "`read_only=True` applies to the engine built from `exec`, but an engine object was given and is "
            "used as it is; build it read-only (e.g. RestEngine(read_only=True)) and leave `read_only` off"
        )
    llm_cache = cache_dir / LLM_CACHE if cache_dir else None
    stages: list[Stage] = []
    for name in spec.stages:
        if name == "rules":
            stages.append(RuleStage(skip=list(spec.skip_rules)))
        elif name == "exec":
            options = EngineOptions(base_url, api_key, llm_cache, read_only=spec.read_only)
            runner = engine or _engine(spec.exec, options, cache_dir)
            stages.append(ExecutionStage(runner, compare_outputs=spec.compare_outputs))
        elif name == "judge":
            model = judge or make_backend(spec.judge, base_url=base_url, api_key=api_key, cache=llm_cache)
            if spec.judge_mode == "reference":
                stages.append(ReferenceJudge(model))
            else:
                asked = QUESTIONS if spec.judge_mode == "per_aspect" else None
                stages.append(LLMJudge(model, votes=spec.votes, questions=asked))
        else:
            stages.append(DedupStage(spec.dedup_threshold, max_same_calls=spec.max_same_calls))
    return Cascade(stages, unsure=spec.unsure)


def _engine(spec: str | None, options: EngineOptions, cache_dir: Path | None) -> Engine:
    if not spec:
        raise ConfigError(
            "the exec stage needs an engine: `exec='python:tools.py'` (your tool functions, run sandboxed), "
            "`exec='simulated'` (a model plays the tools; `exec='simulated:openai:<model>'` to pick it), "
            "`exec='rest:api.yaml@http://127.0.0.1:8000'` (an OpenAPI API's operations, by tool name) "
            "or `exec='mcp:python server.py'` (an MCP server's tools, by name)"
        )
    return make_engine(spec, options, cache=cache_dir / EXEC_CACHE if cache_dir else None)
