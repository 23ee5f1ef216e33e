"""Synthesize function-calling data: sample related tools, plan a scenario, play it out, verify it.

`generate(tools, n, out)` is the whole job: samplers choose tools, scenario kinds fix a plan of
calls and values (proven on the engine), the user and assistant roles play it out, the cascade
keeps what is correct, and a Run folder holds records, manifest and caches (see docs/generate.md).
Samplers draw only from the seeded `random.Random` they are given, so a seed reproduces a run.
"""

from callforge.generate.accounting import Tally
from callforge.generate.api import GenerateProgress, GenerateReport, generate, generate_async
from callforge.generate.config import DEFAULT_MODEL, GenerateConfig
from callforge.generate.kinds import DEFAULT_MIX, KINDS, Kind, PlanContext, breakages, parse_mix
from callforge.generate.personas import PERSONAS, STYLES, Voice, draw_voice
from callforge.generate.plan import Plan, PlannedCall, Turn, resolve
from callforge.generate.planner import GenerationFailure, Planner, Slot
from callforge.generate.play import Director
from callforge.generate.roles import AssistantRole, UserRole
from callforge.generate.sample import (
    SAMPLER_NAMES,
    ChainSampler,
    DagSampler,
    DomainSampler,
    FanInSampler,
    FanOutSampler,
    MixedSampler,
    RandomSampler,
    Sampler,
    SamplingError,
    Span,
    ToolSample,
    domain_of,
    make_sampler,
)

__all__ = [
    "DEFAULT_MIX",
    "DEFAULT_MODEL",
    "KINDS",
    "PERSONAS",
    "SAMPLER_NAMES",
    "STYLES",
    "AssistantRole",
    "ChainSampler",
    "DagSampler",
    "Director",
    "DomainSampler",
    "FanInSampler",
    "FanOutSampler",
    "GenerateConfig",
    "GenerateProgress",
    "GenerateReport",
    "GenerationFailure",
    "Kind",
    "MixedSampler",
    "Plan",
    "PlanContext",
    "PlannedCall",
    "Planner",
    "RandomSampler",
    "Sampler",
    "SamplingError",
    "Slot",
    "Span",
    "Tally",
    "ToolSample",
    "Turn",
    "UserRole",
    "Voice",
    "breakages",
    "domain_of",
    "draw_voice",
    "generate",
    "generate_async",
    "make_sampler",
    "parse_mix",
    "resolve",
]
