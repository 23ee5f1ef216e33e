"""Synthesize function-calling data: sample related tools, plan a scenario, play it out, verify it.

`generate(tools=..., n=..., out=...)` (or a `GenerateConfig`) is the whole job: samplers choose
tools, scenario kinds fix a plan of calls and values (proven on the engine), the user and
assistant roles play it out, the cascade keeps what is correct, and a Run folder holds records,
manifest and caches (see docs/generate.md). `Kind` and `Sampler` are the extension protocols; the
roles and `Director` are here for refinement, which replays a dialog from a rejected step.
`difficulty` steers the kinds and samplers toward a level (`KNOBS`), `focus` toward what a target
model failed in a `select` output (`read_focus`).
Samplers draw only from the seeded `random.Random` they are given, so a seed reproduces a run.
"""

from callforge.generate.api import GenerateProgress, GenerateReport, generate, generate_async
from callforge.generate.backends import RunBackends
from callforge.generate.config import DEFAULT_MODEL, GenerateConfig
from callforge.generate.episodes import EpisodeStage, SerialEngine, episode_world
from callforge.generate.focus import Focus, read_focus
from callforge.generate.kinds import DEFAULT_MIX, KINDS, Kind, PlanContext
from callforge.generate.plan import Plan, PlannedCall, Turn
from callforge.generate.planner import GenerationFailure
from callforge.generate.play import CallIds, Director
from callforge.generate.roles import AssistantRole, UserRole
from callforge.generate.sample import Sampler, SamplingError, ToolSample
from callforge.generate.steer import KNOBS, FocusedSampler, Knob

__all__ = [
    "DEFAULT_MIX",
    "DEFAULT_MODEL",
    "KINDS",
    "KNOBS",
    "AssistantRole",
    "CallIds",
    "Director",
    "EpisodeStage",
    "Focus",
    "FocusedSampler",
    "GenerateConfig",
    "GenerateProgress",
    "GenerateReport",
    "GenerationFailure",
    "Kind",
    "Knob",
    "Plan",
    "PlanContext",
    "PlannedCall",
    "RunBackends",
    "Sampler",
    "SamplingError",
    "SerialEngine",
    "ToolSample",
    "Turn",
    "UserRole",
    "episode_world",
    "generate",
    "generate_async",
    "read_focus",
]
