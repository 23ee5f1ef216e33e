"""`GenerateConfig`: what a generation run is asked to make, validated once, stored in its manifest."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, field_validator, model_validator

from callforge.generate.kinds import parse_mix, parse_weights
from callforge.llm import ModelRef
from callforge.run import JobConfig

DEFAULT_TWISTS: dict[str, float] = {"plain": 2 / 6, "missing": 1 / 6, "change_mind": 1 / 6, "error": 1 / 6, "late_tool": 1 / 6}
"""How often an episode gets each twist: none, a value the user gives only when asked, a value the user
changes their mind about, a wrong call whose error the assistant recovers from, a tool that comes late."""

TWISTS = (*DEFAULT_TWISTS, "long_context")
"""Every twist `twists` may name; `long_context` (a world with bulky filler state, else a long pasted user
message) is drawn only when asked for."""

EPISODE_MIX = ("multi_turn",)
"""The kinds an environment's episodes are planned with: several user turns, each acting on the state."""

DEFAULT_MODEL = "local:qwen2.5-coder-1.5b"
"""Generation's default: the 1.5B embedded model (`callforge[local-large]`). The 0.5B default of the
other verbs writes unusable user turns (docs/generate.md, "Measured"), so it is no default here."""


class GenerateConfig(JobConfig):
    """A generation run: tools in, `n` verified dialogs out in `out` (see `callforge.generate.generate`).

    `model` plays planner, user and assistant; `judge_model` adds the judge stage; tools without
    code run on `simulator_model` (default: `model`). The run stops when `n` dialogs are accepted
    or `max_attempts` (default 20·n) attempts are spent. A plan whose dialog the rules or execution
    reject is played out again up to `replays` times with new seeds. At most `max_same_calls`
    accepted dialogs may make exactly the same calls (`dedup.same_calls`).
    """

    job: ClassVar[str] = "generate"
    may_change: ClassVar[frozenset[str]] = frozenset({"n", "max_attempts"})
    runtime: ClassVar[frozenset[str]] = frozenset(
        {"out", "resume", "concurrency", "base_url", "api_key", "rest_base_url", "read_only"}
    )

    tools: tuple[str, ...] = ()
    """Tool sources (see `callforge.execute.read_sources`): `.py` files, OpenAPI specs, MCP servers, JSON specs, pools."""
    env: str | None = None
    """A stateful environment (`bank.py`, `bank.py:Bank`, a service spec `.yaml`): the run makes multi-turn
    episodes over it, each a blueprint proven on the environment and judged by its end state (docs/generate.md)."""
    env_init: dict[str, Any] = Field(default_factory=dict)
    """The environment class's constructor arguments (JSON values), e.g. `{"accounts": {"Ada": 120}}`."""
    twists: dict[str, float] | None = None
    """Episodes: how often each twist is drawn (`plain`, `missing`, `change_mind`, `error`, `late_tool`,
    `long_context`; docs/generate.md); None: `DEFAULT_TWISTS`."""
    n: int = Field(ge=1)
    model: ModelRef = DEFAULT_MODEL
    judge_model: ModelRef | None = None
    simulator_model: ModelRef | None = None
    mix: dict[str, float] = Field(default_factory=lambda: parse_mix(None))
    """Scenario kinds and their weights (`"single=2,nested=1"` is accepted and normalised)."""
    seed: int = 0
    max_attempts: int | None = Field(default=None, ge=1)
    today: str | None = None
    """The date the roles are told it is (default: today; a resumed run keeps its first date)."""
    dedup_threshold: float = Field(default=0.8, gt=0, le=1)
    max_same_calls: int = Field(default=2, ge=1)
    replays: int = Field(default=1, ge=0)
    difficulty: Literal["easy", "medium", "hard", "auto"] | None = None
    """Steer the samplers, kinds and planner toward a level (`generate.steer.KNOBS`); `auto` aims where the
    target model of `focus` is nearest 50% accurate. None: no steering (docs/generate.md, "Difficulty")."""
    focus: str | None = None
    """A `callforge select` output folder: draw the tools and kinds the target failed (weights proportional to
    its wrong steps), one level harder than the failures unless `difficulty` says (docs/generate.md, "Focus")."""
    reasoning: bool = False
    """The assistant writes a short thought before its calls (which tool, why, where each value comes from),
    kept in `Message.reasoning` and checked against the calls by the `reasoning` rule (docs/generate.md)."""
    concurrency: int = Field(default=4, ge=1)
    base_url: str | None = None
    api_key: str | None = None
    rest_base_url: str | None = None
    read_only: bool = False
    """Send no REST call that could change the API (only GET, HEAD, OPTIONS); simulate the others'
    responses from their schemas (see `callforge.execute.RestEngine`); MCP calls are sent only for tools
    their server declares read-only (`readOnlyHint`) and simulated otherwise. A runtime switch like `rest_base_url`: which server is
    written to is not part of what the run makes, so a resumed run may turn it on or off."""

    @field_validator("tools", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        if isinstance(value, str | os.PathLike):
            return (os.fspath(value),)
        if isinstance(value, list | tuple):
            return tuple(os.fspath(v) if isinstance(v, os.PathLike) else v for v in value)
        return value

    @field_validator("mix", mode="before")
    @classmethod
    def _mix(cls, value: Any) -> Any:
        return parse_mix(value)

    @field_validator("twists", mode="before")
    @classmethod
    def _twists(cls, value: Any) -> Any:
        if value is None:
            return None
        return parse_weights(value, TWISTS, "twists", DEFAULT_TWISTS, example="plain=2,missing=1", noun="twist")

    @model_validator(mode="before")
    @classmethod
    def _episode_mix(cls, data: Any) -> Any:
        # An environment's episodes are multi-turn by nature: that is their default mix.
        if isinstance(data, dict) and data.get("env") is not None and data.get("mix") is None:
            return {**data, "mix": dict.fromkeys(EPISODE_MIX, 1.0)}
        return data

    @model_validator(mode="after")
    def _budget(self) -> Self:
        if self.env is not None:
            if self.tools:
                raise ValueError("give tools or an environment (env=...), not both: an environment's methods are its tools")
            odd = sorted(set(self.mix) - set(EPISODE_MIX))
            if odd:
                raise ValueError(f"an environment's episodes are made with {', '.join(EPISODE_MIX)}, not {', '.join(odd)}")
        elif not self.tools:
            raise ValueError("no tool sources given; pass tools, e.g. tools=['examples/tools/travel.py'], or env=...")
        elif self.env_init:
            raise ValueError("env_init goes with env (an environment class's constructor arguments)")
        elif self.twists is not None:
            raise ValueError("twists go with env: they vary the episodes made over an environment")
        if self.env is not None and (self.difficulty is not None or self.focus is not None):
            raise ValueError("difficulty and focus go with tools, not env: they steer the samplers of tool dialogs")
        if self.difficulty == "auto" and self.focus is None:
            raise ValueError(
                "difficulty='auto' aims where a target model is at 50%: give focus=SELECTION, a `callforge select` output"
            )
        return self

    @property
    def attempts(self) -> int:
        """The attempt budget of the run, earlier sessions included."""
        return self.max_attempts or 20 * self.n
