"""Scenario consistency: a dialog does what its declared kind promises (`meta["scenario"]`, `meta["plan"]`).

Only declared kinds are checked: a reader sets the kind when its source states it (a BFCL category),
the generator always does. Guessing the kind from the calls would make the check vacuous.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from callforge.core import MaskReason, Scenario, ToolCall, Verdict
from callforge.verify.rules.base import DialogView, call_label
from callforge.verify.rules.normalize import STOPWORDS, stem, words


class ScenarioCheck:
    """Calls counted against the kind: parallel ≥ 2 at once, single exactly one, no-call and clarify none."""

    name = "scenario"
    codes = (
        "scenario.parallel",
        "scenario.call_count",
        "scenario.no_call",
        "scenario.clarify",
        "scenario.nested",
        "scenario.multi_turn",
        "scenario.plan_mismatch",
        "scenario.error_recovery",
    )

    def check(self, view: DialogView) -> list[Verdict]:
        """Compare the dialog's calls with its declared scenario and plan."""
        meta = view.dialog.meta
        kind = meta.scenario
        out: list[Verdict] = []
        total = len(view.calls)
        per_message = Counter(site.message_index for site in view.calls)
        if kind is None:
            pass
        elif kind.parallel and max(per_message.values(), default=0) < 2:
            out.append(
                Verdict.failed(
                    "scenario.parallel",
                    f"a {kind} sample must make at least 2 calls in one assistant message; the most in one is "
                    f"{max(per_message.values(), default=0)}",
                )
            )
        elif kind.one_call and total != 1:
            out.append(Verdict.failed("scenario.call_count", f"a {kind} sample makes exactly 1 call, this one makes {total}"))
        elif kind is Scenario.NO_CALL and total:
            names = ", ".join(site.call.name for site in view.calls)
            out.append(Verdict.failed("scenario.no_call", f"a no-call sample must not call a tool, but calls {names}"))
        elif kind is Scenario.CLARIFY:
            out.extend(_clarify(view, list(meta.missing)))
        elif kind is Scenario.NESTED and len(per_message) < 2:
            out.append(
                Verdict.failed(
                    "scenario.nested",
                    "a nested sample calls in at least 2 steps (a later call uses an earlier output); "
                    f"this one calls in {len(per_message)}",
                )
            )
        elif kind is Scenario.MULTI_TURN and sum(1 for m in view.messages if m.role == "user") < 2:
            out.append(Verdict.failed("scenario.multi_turn", "a multi-turn sample has at least 2 user messages"))
        elif kind is Scenario.ERROR_RECOVERY:
            out.extend(_recovery(view))
        if meta.plan is not None:
            out.extend(_plan(view, meta.plan))
        return out


def _recovery(view: DialogView) -> list[Verdict]:
    """An error-recovery sample plants a failing call and then makes a call of the same tool after it."""
    injected = view.dialog.masked_calls(MaskReason.INJECTED)
    planted = [
        (i, call.name)
        for i, message in enumerate(view.messages)
        if message.role == "assistant"
        for call in message.tool_calls
        if call.id in injected
    ]
    if not planted:
        return [Verdict.failed("scenario.error_recovery", "an error-recovery sample needs a planted failing call (masked as injected)")]
    index, name = planted[0]
    if not any(site.message_index > index and site.call.name == name for site in view.calls):
        return [
            Verdict.failed(
                "scenario.error_recovery", f"after the failed {name} call the assistant never called {name} again to correct it"
            )
        ]
    return []


def _clarify(view: DialogView, missing: list[str]) -> list[Verdict]:
    if view.calls:
        names = ", ".join(site.call.name for site in view.calls)
        return [Verdict.failed("scenario.clarify", f"a clarification sample must ask, not call ({names})")]
    last = next((m for m in reversed(view.messages) if m.role == "assistant"), None)
    text = (last.content or "") if last else ""
    if "?" not in text:
        return [Verdict.failed("scenario.clarify", "a clarification sample must end with the assistant asking a question")]
    if missing:
        said = {stem(w) for w in words(text)}
        unasked = [p for p in missing if not _mentions(str(p), said)]
        if unasked:
            return [
                Verdict.failed(
                    "scenario.clarify",
                    f"the question does not ask for the missing value(s) {', '.join(map(repr, unasked))}",
                    missing=unasked,
                )
            ]
    return []


def _mentions(parameter: str, said: set[str]) -> bool:
    tokens = [stem(t) for t in words(parameter.replace("_", " ")) if t not in STOPWORDS and len(t) > 2]
    return not tokens or any(t in said for t in tokens)


def _plan(view: DialogView, plan: tuple[ToolCall, ...]) -> list[Verdict]:
    """The calls made must be the planned ones: same names, and the planned argument values.

    This is the back-translation check of generation: the plan fixed the calls before any text was
    written, the user turn was written from the plan, and the assistant answered from the text
    alone; if its calls differ, the text did not carry the plan. Arguments the plan does not fix are
    left to the grounding rule.
    """
    planned = [(call.name, call.arguments) for call in plan]
    unused = list(view.calls)
    missing: Counter[str] = Counter()
    out: list[Verdict] = []
    # Calls with planned values are matched first: they say most about which made call is which.
    for name, arguments in sorted(planned, key=lambda p: not p[1]):
        candidates = [site for site in unused if site.call.name == name]
        if not candidates:
            missing[name] += 1
            continue
        best = max(candidates, key=lambda site: sum(same_value(v, site.call.arguments.get(k, _ABSENT)) for k, v in arguments.items()))
        unused.remove(best)
        made = best.call.arguments
        wrong = [
            f"{key}={value!r} planned, {made[key]!r} made" if key in made else f"{key}={value!r} missing"
            for key, value in arguments.items()
            if not same_value(value, made.get(key, _ABSENT))
        ]
        if wrong:
            out.append(
                Verdict.failed(
                    "scenario.plan_mismatch",
                    f"{name}: the arguments differ from the plan: {'; '.join(wrong)}",
                    call=name,
                    position=best.position,
                    message_index=best.message_index,
                    differences=wrong,
                )
            )
    if missing:
        lost = ", ".join(f"{n} ×{c}" for n, c in missing.items())
        out.insert(0, Verdict.failed("scenario.plan_mismatch", f"the calls differ from the plan: missing {lost}", missing=dict(missing)))
    for site in unused:  # each call no planned one accounts for is blamed alone, not its correct neighbours
        out.append(
            Verdict.failed(
                "scenario.plan_mismatch",
                f"{call_label(site)} was not planned: nothing in the request asks for this call",
                call=site.call.name,
                position=site.position,
                message_index=site.message_index,
            )
        )
    return out


_ABSENT = object()


def same_value(a: Any, b: Any) -> bool:
    """Equal after the normalisation a user turn is allowed: case, spacing, int vs float."""
    if a is _ABSENT or b is _ABSENT:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(words(a)) == " ".join(words(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(v, b[k]) for k, v in a.items())
    return bool(a == b)
