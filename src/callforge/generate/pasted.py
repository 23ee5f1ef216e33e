"""Long-context user turns for worlds without bulky state: the request inside a long pasted block.

BFCL's multi_turn_long_context makes tool outputs long by loading filler state. An environment
that offers no filler (no `_callforge_long_context` hook, a service) gets its long context from the
user instead: earlier notes, a log or an email thread the person pastes, with their real request
inside it. The block is templated from the speaker's persona and theme with a seeded `rng`, so a
seed gives the same text everywhere. It carries no amounts, ids or names a tool could take (only
dates, times and everyday words), so it never changes what the blueprint's calls must be; finding
the request in it is the whole difficulty.
"""

from __future__ import annotations

import random

from callforge.generate.personas import Voice

KINDS = ("notes", "log", "thread")
"""The shapes of a pasted block: the person's own notes, an activity log, an email thread."""

_TOPICS = (
    "the weekly planning call", "the shared calendar", "the printer on the second floor", "lunch with the team",
    "the parking arrangements", "the quarterly review", "the new laptop set-up", "a neighbour's parcel",
    "the gym schedule", "the dentist appointment", "the heating in the flat", "the library books",
    "the volunteer rota", "a birthday present", "the car's service", "the holiday photos",
    "the recycling collection", "a colleague's farewell", "the internet provider", "the garden",
)
_VERBS = (
    "remember to ask about", "still waiting to hear back on", "moved", "sorted out", "need to double-check",
    "talked briefly about", "postponed", "wrote a reminder about", "made a list for", "no news yet on",
)
_TAILS = (
    "nothing urgent.", "probably next week.", "ask again on Friday.", "it can wait.", "fine for now.",
    "someone else is handling it.", "not my job really.", "low priority.", "will come back to it.", "done, I think.",
)
_PEOPLE = ("Sam", "Priya", "Jonas", "Maria", "Tom", "Aiko", "Lena", "Omar", "Grace", "Diego")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINE_COUNT = (28, 40)
"""How many filler lines a block has (a few thousand characters, as a pasted page is)."""


def pasted_block(rng: random.Random, voice: Voice) -> tuple[str, str]:
    """The text (before, after) the user's own message is placed between, for one long-context turn."""
    kind = rng.choice(KINDS)
    lines = [_line(rng) for _ in range(rng.randint(*_LINE_COUNT))]
    cut = rng.randint(len(lines) // 2, len(lines) - 3)
    if kind == "notes":
        before = (
            f"Pasting my notes so you have the background ({voice.theme}; I am {voice.persona}). "
            "Most of it is not for you, the request is in the middle.\n\n"
            + "\n".join(f"- {_stamp(rng)}: {line}" for line in lines[:cut])
            + "\n- TODAY, what I need from you: "
        )
        after = "\n" + "\n".join(f"- {_stamp(rng)}: {line}" for line in lines[cut:])
    elif kind == "log":
        before = (
            "Here is my log from the last days, copied as is; the entry marked REQUEST is what I want done.\n\n"
            + "\n".join(f"[{_stamp(rng)} {_clock(rng)}] {line}" for line in lines[:cut])
            + f"\n[{_stamp(rng)} {_clock(rng)}] REQUEST: "
        )
        after = "\n" + "\n".join(f"[{_stamp(rng)} {_clock(rng)}] {line}" for line in lines[cut:])
    else:
        before = (
            "Forwarding the whole thread, sorry it is long. My own message in it (From: me) is the actual request.\n\n"
            + "\n\n".join(_mail(rng, lines[i : i + 4]) for i in range(0, cut, 4))
            + "\n\n-----\nFrom: me\nSubject: Re: catching up\n\n"
        )
        after = "\n\n" + "\n\n".join(_mail(rng, lines[i : i + 4]) for i in range(cut, len(lines), 4))
    return before, after


def _line(rng: random.Random) -> str:
    return f"{rng.choice(_PEOPLE)} {rng.choice(_VERBS)} {rng.choice(_TOPICS)}; {rng.choice(_TAILS)}"


def _stamp(rng: random.Random) -> str:
    return f"{rng.randint(1, 28)} {rng.choice(_MONTHS)}"


def _clock(rng: random.Random) -> str:
    return f"{rng.randint(7, 21):02d}:{rng.choice((0, 15, 30, 45)):02d}"


def _mail(rng: random.Random, lines: list[str]) -> str:
    sender = rng.choice(_PEOPLE)
    body = " ".join(line[0].upper() + line[1:] for line in lines)
    return f"-----\nFrom: {sender}\nDate: {_stamp(rng)}, {_clock(rng)}\nSubject: Re: catching up\n\nHi, {body}\n{sender}"
