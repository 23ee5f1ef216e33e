"""Rules on the shape of a dialog: role order, call ids and their answers, and what the reader could not read."""

from __future__ import annotations

import re

from callforge.core import ToolSpec, Verdict
from callforge.verify.rules.base import DialogView


class StructureCheck:
    """Roles in a trainable order, and every tool call answered by exactly one tool message with its id.

    A call may stay unanswered only in the dialog's last message (a call-only sample, as in xLAM);
    once the dialog goes on, an unanswered call teaches a model to ignore its own calls.
    """

    name = "structure"
    codes = (
        "dialog.empty",
        "dialog.role_order",
        "dialog.empty_message",
        "dialog.call_as_text",
        "dialog.no_reply",
        "dialog.missing_call_id",
        "dialog.duplicate_call_id",
        "dialog.unanswered_call",
        "dialog.orphan_response",
        "dialog.duplicate_response",
    )

    def check(self, view: DialogView) -> list[Verdict]:
        """Walk the messages once, tracking which calls still wait for an answer."""
        messages = view.messages
        if not any(m.role == "user" for m in messages):
            return [Verdict.failed("dialog.empty", "the dialog has no user message, so there is nothing to answer")]
        out: list[Verdict] = []
        pending: dict[str, str] = {}  # call id -> call name, for the latest assistant message's calls
        answered: set[str] = set()
        seen_ids: set[str] = set()
        pending_at = -1
        for i, message in enumerate(messages):
            role = message.role
            if role == "system" and any(m.role != "system" for m in messages[:i]):
                out.append(_order(i, "a system message may only open the dialog"))
            elif role == "user" and not any(m.role == "user" for m in messages[:i]):
                if any(m.role in ("assistant", "tool") for m in messages[:i]):
                    out.append(_order(i, "the first user message must come before any assistant or tool message"))
            elif role == "assistant" and not (message.content and message.content.strip()) and not message.tool_calls:
                out.append(Verdict.failed("dialog.empty_message", f"message {i}: the assistant says nothing and calls nothing"))
            elif role == "assistant" and message.content and not message.tool_calls:
                written = _call_in_text(message.content, view.tools)
                if written:
                    out.append(
                        Verdict.failed(
                            "dialog.call_as_text",
                            f"message {i}: the assistant writes a call of {written} as text instead of making it; "
                            "a model trained on this prints calls instead of calling",
                            message_index=i,
                        )
                    )
            if role == "tool":
                out.extend(self._tool_message(i, message.tool_call_id, pending, answered, pending_at))
                continue
            if pending and role in ("user", "assistant"):
                out.extend(_unanswered(pending, answered, pending_at))
                pending, answered = {}, set()
            if role == "assistant" and message.tool_calls:
                pending, answered, pending_at = {}, set(), i
                for j, call in enumerate(message.tool_calls):
                    if not call.id:
                        out.append(
                            Verdict.failed(
                                "dialog.missing_call_id",
                                f"message {i}: call {j + 1} ({call.name}) has no id, so no tool message can answer it",
                                message_index=i,
                            )
                        )
                        continue
                    if call.id in seen_ids:
                        out.append(
                            Verdict.failed(
                                "dialog.duplicate_call_id",
                                f"message {i}: call id {call.id!r} is used twice; every call needs its own id",
                                message_index=i,
                                call_id=call.id,
                            )
                        )
                    seen_ids.add(call.id)
                    pending[call.id] = call.name
        if pending and messages and messages[-1].role == "tool":
            out.extend(_unanswered(pending, answered, pending_at))
        if messages[-1].role in ("user", "system"):
            out.append(
                Verdict.failed("dialog.no_reply", "the dialog ends before the assistant answers: nothing to learn from")
            )
        return out

    @staticmethod
    def _tool_message(
        i: int, call_id: str | None, pending: dict[str, str], answered: set[str], pending_at: int
    ) -> list[Verdict]:
        if not pending:
            return [
                Verdict.failed(
                    "dialog.orphan_response",
                    f"message {i}: a tool message with no assistant call before it to answer",
                    message_index=i,
                    tool_call_id=call_id,
                )
            ]
        if call_id not in pending:
            return [
                Verdict.failed(
                    "dialog.orphan_response",
                    f"message {i}: tool_call_id {call_id!r} matches none of the calls in message {pending_at} "
                    f"({', '.join(repr(k) for k in pending)})",
                    message_index=i,
                    tool_call_id=call_id,
                )
            ]
        if call_id in answered:
            return [
                Verdict.failed(
                    "dialog.duplicate_response",
                    f"message {i}: call {call_id!r} ({pending[call_id]}) is answered twice",
                    message_index=i,
                    tool_call_id=call_id,
                )
            ]
        answered.add(call_id)
        return []


_WRITTEN_CALL = re.compile(r'"name"\s*:\s*"([^"]+)"\s*,\s*"(?:arguments|parameters)"\s*:')
# Chat-template markup a model leaks when it half-writes a call: it never belongs in a reply to a user.
_MARKUP = re.compile(r"</?tools?>|</?tool_call>|<\|(?:im_start|im_end|python_tag|eom_id|eot_id)\|>|<function=")
_ARGUMENT_KEY = re.compile(r'[{,]\s*"([A-Za-z_][\w-]*)"\s*:')
_CALL_SYNTAX = re.compile(r"`?\s*\(\s*(?:[A-Za-z_]\w*\s*=|[\"'{\[\d-])")  # right after a tool's name: name(x=..., name("...
_NAMED_AS_TOOL = re.compile(r"\s+(?:function|tool)\b", re.IGNORECASE)


def _call_in_text(text: str, tools: dict[str, ToolSpec]) -> str | None:
    """The offered tool a text message writes a call of, if any.

    Three forms: a JSON call object (`{"name": ..., "arguments": ...}`), chat-template markup
    (`<tool_call>`, `<tools>`, `<|im_end|>` ...), and a tool's name followed by call syntax
    (`find_airports(lat=...)`), or named as a tool ("the `find_airports` function") and followed by a JSON
    object keyed by its parameters ("with {"latitude": ...}"). A tool's name inside quoted data is not a call.
    """
    for match in _WRITTEN_CALL.finditer(text):
        if match.group(1) in tools:
            return match.group(1)
    if _MARKUP.search(text):
        return "a tool (chat-template markup)"
    for name, tool in tools.items():
        for match in re.finditer(rf"(`?)(?<![\w.]){re.escape(name)}(?!\w)(`?)", text):
            after = text[match.end() : match.end() + 300]
            if _CALL_SYNTAX.match(after):
                return name
            as_tool = bool(match.group(1) and match.group(2)) or _NAMED_AS_TOOL.match(after) is not None
            if as_tool and set(_ARGUMENT_KEY.findall(after)) & set(tool.properties):
                return name
    return None


def _order(i: int, rule: str) -> Verdict:
    return Verdict.failed("dialog.role_order", f"message {i}: {rule}", message_index=i)


def _unanswered(pending: dict[str, str], answered: set[str], at: int) -> list[Verdict]:
    return [
        Verdict.failed(
            "dialog.unanswered_call",
            f"message {at}: call {call_id!r} ({name}) gets no tool message before the dialog goes on",
            message_index=at,
            call_id=call_id,
        )
        for call_id, name in pending.items()
        if call_id not in answered
    ]


class ReadErrorsCheck:
    """What the dataset reader could not read (a broken call string, a malformed record or tool) becomes a verdict.

    Readers never drop a bad record; they keep it with `meta.read_errors`, and this check turns each
    entry into a rejection, so a funnel counts broken source rows instead of silently losing them.
    """

    name = "read"
    codes = ("call.format", "record.malformed", "tool.malformed", "result.format", "result.unlinked")

    def check(self, view: DialogView) -> list[Verdict]:
        """One failing verdict per recorded read error."""
        return [
            Verdict.failed(error.code, error.message, **error.model_dump(exclude={"code", "message"}, exclude_none=True))
            for error in view.dialog.meta.read_errors
        ]
