"""Synthesize function-calling data: sample related tools, then (later) plan and play out scenarios.

Samplers decide which tools one scenario uses and which it offers as distractors; each draws only
from the seeded `random.Random` it is given, so a seed reproduces a run's samples.
"""

from callforge.generate.sample import (
    SAMPLER_NAMES,
    ChainSampler,
    DomainSampler,
    FanInSampler,
    FanOutSampler,
    RandomSampler,
    Sampler,
    SamplingError,
    Span,
    ToolSample,
    domain_of,
    make_sampler,
)

__all__ = [
    "SAMPLER_NAMES",
    "ChainSampler",
    "DomainSampler",
    "FanInSampler",
    "FanOutSampler",
    "RandomSampler",
    "Sampler",
    "SamplingError",
    "Span",
    "ToolSample",
    "domain_of",
    "make_sampler",
]
