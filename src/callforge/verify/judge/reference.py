"""The reference judge: the model answers the request itself, and its calls are compared with the dialog's.

Asked whether a dialog is right, the embedded 1.5B model says yes to nearly everything (see
docs/judge.md: it passed a `get_weather` call for an air-quality request and explained why). Asked
to do the task, it is much better: it makes the right call on 10 of 10 easy requests. So this judge
does not ask for an opinion. For each step where the assistant first acts after a user message, it
sends the conversation up to that step, with the tools, and compares the calls the model makes with
the dialog's: other tools, another number of calls, or another value for an argument both set is a
disagreement (`judge.disagrees`). A model that calls nothing where the dialog calls (or calls where
the dialog answers in words) disagrees too. Two things are not held against the dialog: arguments
only one side sets (optional arguments are a matter of taste), and more calls of the same tools
than the model made (a small model stops early in a parallel request; fewer calls than the model
made is a missed call). Values are compared after the normalisation the rules use (case,
spacing, int vs float); free text (more than three words) is not compared, and one wording inside
the other agrees. The model's own calls go through the rules first: a call they reject as a whole,
or with a failing required argument, has no say; an optional argument they reject or any argument
they doubt (`VAN` for "Vancouver") is dropped before comparing, so the tool choice and the other
values still count. A dialog that asks the user back ("What's the bill total?") is not outvoted by a
model that calls instead: it may be guessing the values. "SFO" against "San Francisco" still
disagrees: that is the price of asking no opinion, and `callforge calibrate` measures it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from callforge.core import ConfigError, Dialog, Message, ToolCall, Verdict
from callforge.llm import Backend, RequestRejected, Usage
from callforge.verify.record import StageResult
from callforge.verify.rules import RuleStage, same_value
from callforge.verify.rules.normalize import words

DISAGREES = "judge.disagrees"


class ReferenceJudge:
    """A judge stage that compares the dialog's calls with the calls a model makes for the same request.

    Args:
        backend: the model that answers (with the tools, at temperature 0).
        max_tokens: reply budget per step.
        name: the stage name on the record.
    """

    def __init__(self, backend: Backend, *, max_tokens: int = 512, name: str = "judge") -> None:
        if max_tokens < 1:
            raise ConfigError(f"max_tokens must be at least 1, got {max_tokens}")
        self.backend = backend
        self.max_tokens = max_tokens
        self.name = name

    async def check(self, dialog: Dialog) -> StageResult:
        """Answer each turn's first step with the model and fail the dialog where the calls differ."""
        verdicts: list[Verdict] = []
        references: list[dict[str, Any]] = []
        usage = Usage()
        for index in _first_steps(dialog.messages):
            try:
                completion = await self.backend.complete(
                    list(dialog.messages[:index]), list(dialog.tools), temperature=0.0, max_tokens=self.max_tokens, seed=0
                )
            except RequestRejected as exc:  # this dialog only: longer than the model's context
                verdicts.append(Verdict.failed("judge.no_answer", f"message {index}: the judge's server refused: {exc}"))
                continue
            usage = usage + completion.usage
            made = dialog.messages[index].tool_calls
            own, kept = _checked_reference(dialog, index, completion.tool_calls)
            references.append(
                {
                    "message_index": index,
                    "calls": [c.model_dump(mode="json") for c in completion.tool_calls],
                    "rejected_by_rules": own,
                }
            )
            difference = compare_calls(made, kept)
            if made == () and kept and "?" in (dialog.messages[index].content or ""):
                difference = None  # the dialog asks back; a model that calls instead may be guessing values
            if difference is not None and not own:
                verdicts.append(
                    Verdict.failed(
                        DISAGREES,
                        f"message {index}: asked the same request, the judge model {difference}",
                        message_index=index,
                        reference=[c.model_dump(mode="json") for c in completion.tool_calls],
                        reply=completion.text[:300],
                    )
                )
        meta = {
            "method": "reference",
            "references": references,
            "usage": {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
                "requests": len(references),
            },
        }
        return StageResult(stage=self.name, verdicts=tuple(verdicts), meta=meta)

    async def settle(self, dialog: Dialog, doubts: tuple[Verdict, ...]) -> StageResult:
        """The same check; a model that makes the doubted value itself settles the doubt."""
        result = await self.check(dialog)
        return result.model_copy(update={"settles": True})


def _checked_reference(
    dialog: Dialog, index: int, calls: Sequence[ToolCall]
) -> tuple[list[str], tuple[ToolCall, ...]]:
    """The rule codes that void the model's calls, and the calls stripped of the arguments the rules doubt.

    A small model asked to act where the dialog rightly asks for a missing value guesses one, and
    one that misreads "3pm" as 14:00 is simply wrong: a failing required argument (or a call the
    rules reject as a whole) voids the reference, which cannot outvote the dialog. A failing
    optional argument (an invented `depart_after`) or an unsure one (`VAN` for "Vancouver") only
    loses its say: the reference's choice of tool and its other values still count.
    """
    if not calls:
        return [], ()
    named = tuple(c if c.id else c.model_copy(update={"id": f"ref_{n}"}) for n, c in enumerate(calls))
    candidate = Dialog(tools=dialog.tools, messages=(*dialog.messages[:index], Message(role="assistant", tool_calls=named)))
    fatal: set[str] = set()
    doubted: dict[int, set[str]] = {}
    for verdict in _RULES.judge(candidate):
        if not verdict.code.startswith(("arg.", "call.")) or verdict.evidence.get("message_index") != index:
            continue
        position, path = verdict.evidence.get("position"), verdict.evidence.get("path")
        key = str(path).split(".")[0].split("[")[0] if path is not None else None
        if isinstance(position, int) and key is not None and (verdict.unsure or not _required(dialog, calls[position], key)):
            doubted.setdefault(position, set()).add(key)
        elif not verdict.ok:
            fatal.add(verdict.code)
    kept = tuple(
        c.model_copy(update={"arguments": {k: v for k, v in c.arguments.items() if k not in doubted.get(n, set())}})
        for n, c in enumerate(calls)
    )
    return sorted(fatal), kept


def _required(dialog: Dialog, call: ToolCall, key: str) -> bool:
    tool = next((t for t in dialog.tools if t.name == call.name), None)
    required = tool.parameters.get("required") if tool is not None else None
    return isinstance(required, list) and key in required


_RULES = RuleStage()


def _first_steps(messages: Sequence[Message]) -> list[int]:
    """The index of the assistant message that follows each user message: where a model first acts."""
    return [
        i for i in range(1, len(messages)) if messages[i].role == "assistant" and messages[i - 1].role == "user"
    ]


def compare_calls(made: Sequence[ToolCall], reference: Sequence[ToolCall]) -> str | None:
    """How the reference calls differ from the dialog's, in words, or None when they agree."""
    if not made and not reference:
        return None
    if not reference:
        return f"answers in words where the dialog calls {_names(made)}"
    if not made:
        return f"calls {_names(reference)} where the dialog answers in words"
    ours, theirs_count = Counter(c.name for c in made), Counter(c.name for c in reference)
    if set(ours) != set(theirs_count) or any(theirs_count[name] > ours[name] for name in theirs_count):
        # fewer calls of the same tools is not held against the dialog: small models stop early in
        # a parallel request, and a repeated call is the duplicate rule's to catch
        return f"calls {_names(reference)} where the dialog calls {_names(made)}"
    unused = list(made)
    for theirs in reference:
        candidates = [c for c in unused if c.name == theirs.name]
        best = max(candidates, key=lambda c: sum(_agrees(c, theirs, key) for key in theirs.arguments))
        unused.remove(best)
        wrong = [key for key in theirs.arguments if key in best.arguments and not _agrees(best, theirs, key)]
        if wrong:
            key = wrong[0]
            return (
                f"sets {theirs.name}'s {key}={theirs.arguments[key]!r} where the dialog has {best.arguments[key]!r}"
            )
    return None


def _agrees(made: ToolCall, theirs: ToolCall, key: str) -> bool:
    if key not in made.arguments:
        return False
    ours, other = made.arguments[key], theirs.arguments[key]
    if same_value(ours, other):
        return True
    if isinstance(ours, str) and isinstance(other, str):
        a, b = set(words(ours)), set(words(other))
        # free text (a message body, a title, a query) is worded freely; one wording inside the
        # other ("Dentist" and "Dentist Appointment") is the same choice
        return len(a) > 3 or len(b) > 3 or (bool(a) and bool(b) and (a <= b or b <= a))
    return False


def _names(calls: Sequence[ToolCall]) -> str:
    counts = Counter(c.name for c in calls)
    return ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in counts.items())
