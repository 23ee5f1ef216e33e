"""What the model is asked when it drafts an API and when it evolves one.

Diversity comes from our side, not from the model's whims: each draft request carries a sampled
*feature plan* (an enum here, an array of objects there, a number of parameters), and each
evolution names one operation (ToolACE's evolution: add constraints, extend, restyle, nest).
The fixed instructions sit in the system message so a local server reuses their cached prefix.
"""

from __future__ import annotations

import random

import orjson

from callforge.tools.synth.draft import ApiDraft
from callforge.tools.synth.taxonomy import Domain

DRAFT_SYSTEM = (
    "You design realistic web APIs for a developer catalogue. Answer with one JSON object:\n"
    '- "name": snake_case, starting with a verb (get_, search_, create_, update_, cancel_, calculate_ ...)\n'
    '- "description": one or two sentences saying what the API does and what it returns\n'
    '- "parameters": a list of fields\n'
    '- "returns": a list of output fields\n'
    'A field has "name" (snake_case), "type", "description", "required" (true/false), and only where useful '
    '"enum", "format" (date, date-time, time, email, uri, uuid), "default", "minimum", "maximum", '
    '"min_length", "max_length", "pattern", and "fields" (the members of an object or array<object>).\n'
    "Types: string, integer, number, boolean, object, array<string>, array<integer>, array<number>, array<object>."
)

FEATURES: dict[str, str] = {
    "enum": "a parameter restricted to an enum of values",
    "default": "an optional parameter with a default value",
    "nested_object": "an object parameter with 2 or 3 fields",
    "array_of_objects": "an array<object> parameter whose items have fields",
    "format": "a string parameter with a date, date-time or email format",
    "bounds": "a number or integer parameter with a minimum and a maximum",
    "array": "an array<string> or array<integer> parameter",
    "boolean": "a boolean flag parameter",
}
"""The feature palette a draft request samples from; the pool report counts how many APIs use each."""


def feature_plan(rng: random.Random) -> tuple[int, tuple[str, ...]]:
    """How many parameters to ask for and which features to include: 1 to 2 of the palette."""
    count = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
    picked = rng.sample(sorted(FEATURES), rng.choice((1, 1, 2)))
    return max(count, len(picked)), tuple(picked)


def draft_prompt(
    domain: Domain, functionality: str, count: int, wanted: tuple[str, ...], avoid: list[str]
) -> str:
    """The user message of one draft request."""
    lines = [
        f"Domain: {domain.name} ({domain.description}).",
        f"Functionality: {functionality}.",
        f"Give it {count} parameter{'s' if count != 1 else ''} and 1 to 4 output fields.",
        "Include " + "; and ".join(FEATURES[w] for w in wanted) + ".",
    ]
    if avoid:
        lines.append(
            "Existing API names in this domain (choose a different one): " + ", ".join(avoid[-12:]) + "."
        )
    return "\n".join(lines)


EVOLUTIONS: dict[str, str] = {
    "constrain": (
        "Add realistic constraints where they fit: minimum/maximum on numbers, min_length/max_length or a "
        "pattern on strings, a format on dates, an enum on fields with few valid values."
    ),
    "extend": "Add one or two optional parameters with sensible default values that make the API more useful.",
    "restyle": "Rewrite every description in a {style} style; keep the meaning.",
    "nest": "Group two or more related parameters into one object parameter with those fields.",
}
"""Evolution operations: each rewrites one API along one axis; `restyle` picks a style."""

STYLES = (
    "terse, keyword-like",
    "detailed, with an example value in each parameter description",
    "formal, third-person",
)

EVOLVE_SYSTEM = (
    DRAFT_SYSTEM
    + "\nYou are given an API in this JSON form and an instruction. Answer with the whole revised API "
    "in the same JSON form. Keep its name."
)


def evolve_prompt(draft: ApiDraft, operation: str, rng: random.Random) -> str:
    """The user message of one evolution request."""
    instruction = EVOLUTIONS[operation].format(style=rng.choice(STYLES))
    body = orjson.dumps(draft.model_dump(mode="json", exclude_defaults=True)).decode()
    return f"API: {body}\nInstruction: {instruction}"
