"""The rule-layer plumbing: a `Check` is one rule with stable codes; `DialogView` is what checks read.

A view is built once per dialog (tools by name, every call with its position, the text each call
may draw values from), so a dozen checks do not each walk the dialog again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from callforge.core import Dialog, MaskReason, Message, ToolCall, ToolSpec, Verdict
from callforge.verify.rules.normalize import Haystack


@dataclass(frozen=True, slots=True)
class CallSite:
    """One tool call and where it sits: the index of its assistant message and its place in it."""

    message_index: int
    position: int
    call: ToolCall


@dataclass
class DialogView:
    """A dialog plus what the checks need from it, computed once."""

    dialog: Dialog
    tools: dict[str, ToolSpec]
    calls: list[CallSite]
    _sources: dict[int, Haystack] = field(default_factory=dict)

    @classmethod
    def of(cls, dialog: Dialog) -> DialogView:
        """Index a dialog's tools and calls.

        Calls masked as injected (`Dialog.masked_calls(MaskReason.INJECTED)`) are left out: a generator made them wrong on purpose
        (error recovery), so rules would only report the planted defect; the execution stage checks
        that they do fail.
        """
        injected = dialog.masked_calls(MaskReason.INJECTED)
        calls = [
            CallSite(i, j, call)
            for i, message in enumerate(dialog.messages)
            if message.role == "assistant"
            for j, call in enumerate(message.tool_calls)
            if call.id is None or call.id not in injected
        ]
        return cls(dialog, {t.name: t for t in dialog.tools}, calls)

    @property
    def messages(self) -> tuple[Message, ...]:
        """The dialog's messages."""
        return self.dialog.messages

    def sources_before(self, index: int) -> Haystack:
        """What a value in message `index` may be traced to: system, user and tool text before it."""
        found = self._sources.get(index)
        if found is not None:
            return found
        start = max((i for i in self._sources if i < index), default=-1)
        haystack = self._sources[start].copy() if start >= 0 else Haystack()
        for message in self.dialog.messages[max(start, 0) : index]:
            if message.role != "assistant" and message.content:
                haystack.add(message.content)
        self._sources[index] = haystack
        return haystack


@runtime_checkable
class Check(Protocol):
    """One rule. `codes` lists every verdict code it can emit, so docs and funnels can name them."""

    name: str

    @property
    def codes(self) -> tuple[str, ...]:
        """Every verdict code this check can emit."""
        ...

    def check(self, view: DialogView) -> list[Verdict]:
        """The failing verdicts for this dialog (an empty list when the rule holds)."""
        ...


def call_label(site: CallSite) -> str:
    """How a message names a call: `get_weather (message 2, call 1)`."""
    return f"{site.call.name} (message {site.message_index}, call {site.position + 1})"


def site_evidence(site: CallSite, path: str, value: Any) -> dict[str, Any]:
    """The evidence every argument-level verdict carries: which call, where, which argument, what value."""
    return {"call": site.call.name, "message_index": site.message_index, "position": site.position, "path": path, "value": value}


def shown_value(value: Any) -> str:
    """A value as a message quotes it: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 82 else repr(str(value)[:77] + "...")
