"""The domain taxonomy a pool grows from: a seed list, expanded by a model, then functionalities per domain.

ToolACE speciates its API space from pretraining documents (390 domains). Without a corpus, a
seed list of common API domains gives the spine, and the model adds domains the list lacks and
fills each domain with concrete functionalities, the leaves that APIs are drafted from.
"""

from __future__ import annotations

from dataclasses import dataclass

SEED_DOMAINS: dict[str, str] = {
    "finance": "banking, payments, currency exchange, budgeting and investments",
    "travel": "flights, hotels, car rental, itineraries and visas",
    "weather": "forecasts, historical observations, alerts and air quality",
    "ecommerce": "product catalogues, carts, orders, returns and reviews",
    "healthcare": "appointments, prescriptions, symptoms and medical records",
    "fitness": "workouts, activity tracking, nutrition and sleep",
    "education": "courses, enrolment, grades, quizzes and tutoring",
    "entertainment": "movies, music, events, tickets and streaming",
    "sports": "fixtures, scores, standings, players and betting odds",
    "real_estate": "listings, valuations, mortgages and viewings",
    "transportation": "public transit, ride hailing, parking and traffic",
    "food": "recipes, restaurants, reservations and food delivery",
    "social_media": "posts, followers, messages and trending topics",
    "productivity": "calendars, tasks, notes, documents and email",
    "devops": "deployments, monitoring, logs, incidents and cloud resources",
    "security": "authentication, access control, threat intelligence and audits",
    "logistics": "shipments, tracking, warehouses and fleet management",
    "human_resources": "recruiting, payroll, leave requests and employee records",
    "legal": "contracts, case law, compliance checks and filings",
    "energy": "electricity usage, tariffs, solar production and charging stations",
    "agriculture": "crop planning, soil data, irrigation and livestock",
    "automotive": "vehicle diagnostics, maintenance, recalls and charging",
    "news": "headlines, articles, sources and topic alerts",
    "maps": "geocoding, routing, places and distance calculation",
    "telecom": "mobile plans, usage, roaming and network status",
    "insurance": "quotes, policies, claims and coverage checks",
    "government": "public records, permits, taxes and benefits",
    "science": "datasets, chemistry lookups, astronomy and unit conversion",
    "gaming": "player profiles, leaderboards, matchmaking and in-game items",
    "smart_home": "devices, thermostats, lighting, cameras and automation rules",
}
"""Common API domains with what each covers; the default taxonomy when no domains are given."""


@dataclass(frozen=True)
class Domain:
    """A domain of the pool: a snake_case name and what it covers (the model reads the description)."""

    name: str
    description: str


def seed_domains(names: list[str] | None = None) -> list[Domain]:
    """The seed list, or the named domains (unknown names are kept, described by their own name)."""
    if not names:
        return [Domain(n, d) for n, d in SEED_DOMAINS.items()]
    out: list[Domain] = []
    for raw in names:
        name = raw.strip().lower().replace(" ", "_").replace("-", "_")
        if name and all(d.name != name for d in out):
            out.append(Domain(name, SEED_DOMAINS.get(name, raw.strip().replace("_", " "))))
    return out


EXPAND_SYSTEM = (
    "You organise a catalogue of web APIs by domain. Answer with JSON only: "
    '{"domains": [{"name": "snake_case_name", "description": "what APIs of this domain do"}]}.'
)


def expand_prompt(known: list[Domain], count: int) -> str:
    """Ask for `count` domains the catalogue lacks, naming the ones it has so none is repeated."""
    names = ", ".join(d.name for d in known)
    return f"The catalogue has these domains: {names}.\nPropose {count} other domains of real-world APIs, different from all of them."


EXPAND_SCHEMA = {
    "type": "object",
    "properties": {
        "domains": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "description": {"type": "string"}},
                "required": ["name", "description"],
                "additionalProperties": False,
            },
            "minItems": 1,
            "maxItems": 40,
        }
    },
    "required": ["domains"],
    "additionalProperties": False,
}

FUNCTIONALITY_SYSTEM = (
    "You list what the APIs of a domain can do. Each functionality is one short phrase starting with a verb, "
    "specific enough to become one API endpoint. Answer with JSON only: "
    '{"functionalities": ["...", "..."]}.'
)


def functionality_prompt(domain: Domain, count: int, avoid: list[str]) -> str:
    """Ask for `count` functionalities of a domain, different from those already drafted."""
    text = f"Domain: {domain.name} ({domain.description}).\nList {count} different functionalities."
    if avoid:
        text += "\nAlready covered, do not repeat: " + "; ".join(avoid[-20:]) + "."
    return text


FUNCTIONALITY_SCHEMA = {
    "type": "object",
    "properties": {
        "functionalities": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 40},
    },
    "required": ["functionalities"],
    "additionalProperties": False,
}
