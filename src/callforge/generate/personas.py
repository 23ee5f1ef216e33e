"""Who writes the user turns, and how: personas, writing styles and themes, drawn per attempt.

Varying the speaker is the cheapest diversity there is: the same planned call asked tersely by a
busy nurse and at length by a retired teacher teaches a model more than two identical asks. Each
list is small and plain on purpose; pass your own to `generate(personas=..., styles=...)`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PERSONAS: tuple[str, ...] = (
    "a freelance photographer who travels for work",
    "a retired school teacher planning her spare time",
    "a university student on a tight budget",
    "a small-business owner who runs a bakery",
    "a software engineer juggling meetings",
    "a nurse working night shifts",
    "a parent organising a family holiday",
    "a sales manager who is always on the road",
    "a personal assistant booking things for an executive",
    "a first-time investor learning about the markets",
    "a logistics coordinator at a shipping company",
    "a musician touring with a small band",
    "a graduate student writing a thesis",
    "an online shop customer with a problem order",
    "a researcher preparing a conference trip",
    "a newcomer who just moved to a new country",
)

STYLES: dict[str, str] = {
    "terse": "Very short and to the point, like a quick chat message; no greeting.",
    "verbose": "Chatty and detailed: give some background on why you need it before asking.",
    "polite": "Polite and complete sentences, as in an email to a helpful colleague.",
    "indirect": "Describe the situation and what you want to achieve; do not give an order outright.",
    "typos": "Casual, lowercase, with one or two small typos in ordinary words (never in the names, numbers or codes).",
}

THEMES: tuple[str, ...] = (
    "getting ready for a trip next week",
    "sorting out something before a deadline",
    "helping a friend or relative",
    "a question that came up at work today",
    "planning ahead for next month",
    "comparing options before deciding",
    "checking on something already under way",
    "an errand that has to happen today",
    "preparing for an important meeting",
    "keeping a budget under control",
)


@dataclass(frozen=True)
class Voice:
    """One attempt's speaker: a persona, a style (name and instruction) and a theme for the planner."""

    persona: str
    style: str
    instruction: str
    theme: str


def draw_voice(
    rng: random.Random,
    personas: tuple[str, ...] = PERSONAS,
    styles: dict[str, str] | None = None,
    themes: tuple[str, ...] = THEMES,
) -> Voice:
    """Draw a speaker from the seeded `rng` (sorted keys, so a seed gives the same voice everywhere)."""
    table = styles if styles is not None else STYLES
    style = rng.choice(sorted(table))
    return Voice(rng.choice(personas), style, table[style], rng.choice(themes))
