"""The final answer claims only actions a call performed: "I've emailed Sam" needs a call to `send_email`.

A dialog that looks a parcel up and then says "I've emailed the date to Sam" without calling the
email tool teaches a model to pretend. The rule reads the answer's clauses that report a finished
action ("I've added ...", "Sent to ...", "... has been booked"), takes the action's verb (`add`,
`send`, `book`) and fails when a tool of the dialog is named for that verb but no call to a tool so
named was made. It says nothing when no tool is named for the verb (the rules cannot tell what
"I've checked" needed), for offers and questions ("Shall I book it?"), for negations ("I haven't
sent it") and for promises ("I'll send it").
"""

from __future__ import annotations

import re

from callforge.core import Verdict
from callforge.verify.rules.answer import final_answer
from callforge.verify.rules.base import DialogView
from callforge.verify.rules.normalize import name_parts

_ACTIONS = frozenset(
    ["send", "email", "mail", "message", "text", "add", "create", "book", "schedule", "save", "order", "cancel",
     "delete", "remove", "update", "reserve", "pay", "transfer", "post", "share", "invite", "notify", "buy",
     "purchase", "subscribe", "upload", "forward", "reply", "submit", "register", "archive", "publish", "tweet",
     "remind", "translate", "log", "record", "file", "enable", "disable", "lock", "unlock", "block"]
)  # fmt: skip
"""Verbs whose past form in an answer reports a change a tool must have made."""
_IRREGULAR = {"sent": "send", "paid": "pay", "bought": "buy", "texted": "text", "emailed": "email",
              "mailed": "mail", "logged": "log", "filed": "file"}  # fmt: skip
_CLAUSE_END = re.compile(r"(?<=[.!?;:])\s+")  # not inside "lucia.ferrer@example.es"
_FIRST_PERSON = frozenset(["i", "i've", "ive", "we", "we've", "weve"])
_PASSIVE = frozenset(["is", "are", "was", "were", "been", "now"])
_NOT_DONE = frozenset(
    ["not", "never", "no", "havent", "hasnt", "didnt", "cant", "cannot", "couldnt", "wont", "will", "ill", "shall",
     "should", "would", "could", "can", "want", "like", "if", "once", "before", "when", "whether"]
)  # fmt: skip


class ClaimedActionCheck:
    """An action the final answer reports as done was done by a call."""

    name = "claims"
    codes = ("answer.unperformed",)

    def check(self, view: DialogView) -> list[Verdict]:
        """Fail each action the answer reports for which a tool exists but no such tool was called."""
        index = final_answer(view)
        if index is None:
            return []
        called = {part for site in view.calls if site.message_index < index for part in name_parts(site.call.name)}
        out: list[Verdict] = []
        for verb, clause in _claims(view.messages[index].content or ""):
            if verb in called:
                continue
            tools = [t.name for t in view.dialog.tools if verb in name_parts(t.name)]
            if tools:
                out.append(
                    Verdict.failed(
                        "answer.unperformed",
                        f"message {index}: the final answer says {clause.strip()!r}, but no call to "
                        f"{' or '.join(tools)} was made; make the call, or do not claim the action",
                        message_index=index,
                        verb=verb,
                        tools=tools,
                    )
                )
        return out


def _claims(text: str) -> list[tuple[str, str]]:
    """(verb, clause) for every clause that reports a finished action."""
    found: list[tuple[str, str]] = []
    for clause in _CLAUSE_END.split(text):
        if clause.rstrip().endswith("?"):
            continue
        tokens = [t.replace("'", "") for t in re.findall(r"[a-z']+", clause.casefold())]
        for i, token in enumerate(tokens):
            verb = _past_action(token)
            if verb is None:
                continue
            before = tokens[:i]
            if any(t in _NOT_DONE for t in before):
                break  # "I haven't sent it", "I'll book it", "once I have it I'll send"
            # "Sent to ...", "Email sent to ...", "I've added ...", "... has been booked"
            if i <= 1 or any(t in _FIRST_PERSON for t in before) or before[-1] in _PASSIVE:
                found.append((verb, clause))
                break
    return found


def _past_action(token: str) -> str | None:
    """The action verb a past form names ("added" -> add, "sent" -> send), or None."""
    if token in _IRREGULAR:
        return _IRREGULAR[token]
    if not token.endswith("ed") or len(token) < 5:
        return None
    for base in (token[:-2], token[:-1], token[:-3]):  # booked, scheduled, cancelled
        if base in _ACTIONS:
            return base
    return None

