"""Preference pairs for DPO: the same conversation so far, a verified step (chosen) and a failing one (rejected).

Three sources, told apart by `origin`:

- `refined`: a refinement trajectory (`callforge refine`) holds a model's real rejected step and
  the step it wrote after the verifier's feedback, which passed verification. The pair is
  (conversation before the step, corrected step, rejected step), labelled with the first code.
- `mutated`: every call step of a verified dialog, against a variant the rule layer rejects
  (`callforge.learn.mutate`), labelled with the code the rules gave it.
- `diverged`: a rejected episode (`generate --env`) at its first diverging turn: what the
  assistant did in that turn against the blueprint's proven calls for it (`diverged_pair`),
  labelled with the code of the verdict that rejected the episode.

Records are TRL's conversational preference shape (`prompt`, `chosen`, `rejected`) plus `tools`,
so `DPOTrainer` (and `callforge train --method dpo`) reads them as they are: `chosen` and
`rejected` each hold one assistant message, as `callforge train` requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callforge.core import Dialog, MaskReason, Message, ToolSpec, Verdict
from callforge.export import openai_message
from callforge.learn.feedback import trajectory_messages
from callforge.learn.mutate import failing_variant


def preference_pairs(dialog: Dialog) -> list[dict[str, Any]]:
    """Every pair a dialog gives: its refined step if it is a trajectory, else one mutated pair per call step."""
    if dialog.masked_calls(MaskReason.CORRECTED):
        pair = _refined(dialog)
        return [pair] if pair is not None else []
    planted = dialog.masked_calls()
    out = []
    for index, message in enumerate(dialog.messages):
        if message.role != "assistant" or not message.tool_calls or any(c.id in planted for c in message.tool_calls):
            continue
        variant = failing_variant(dialog, index)
        if variant is None:
            continue
        out.append(
            _record(dialog, index, message_index=index, chosen=openai_message(message), rejected=openai_message(variant.message))
            | {"code": variant.code, "codes": list(dict.fromkeys(v.code for v in variant.verdicts)), "origin": "mutated", "mutation": variant.mutation}
        )
    return out


def rejected_pairs(dialog: Dialog, failures: Sequence[Verdict]) -> list[dict[str, Any]]:
    """Every pair a rejected dialog gives (`failures`: the verdicts it was rejected with).

    A failed episode that names its diverging turn gives its `diverged` pair; any other rejected
    dialog gives none (its steps are not verified, so none of them can be a chosen side).
    """
    pair = diverged_pair(dialog, failures)
    return [pair] if pair is not None else []


def diverged_pair(dialog: Dialog, failures: Sequence[Verdict] = ()) -> dict[str, Any] | None:
    """A rejected episode's first diverging turn as a pair: "the first diverging turn is the rejected branch".

    `dialog.meta.episode.diverged_turn` is d, the first user turn after which the episode's state
    differs from the blueprint's. So after turn d - 1 the states were still equal: turn d starts
    from exactly the state the blueprint's turn d starts from, and the blueprint's calls for it
    (`truth[d]`) were proven from that state when the blueprint was run from the initial one. They
    are the right answer to the same prompt, and what the assistant did instead is the first
    thing that went wrong. A later turn has no such pair: its state already differs, so the
    blueprint's calls are not proven there.

    - `prompt`: the conversation up to and including turn d's user message (system message
      included; a planted call in it keeps `"weight": 0`); `tools` those offered in turn d (a
      tool the episode withholds until a later turn, `late_tools`, is not).
    - `chosen`: `truth[d]` as one assistant tool-call message (its calls take the ids of the
      assistant's calls in the turn, in order).
    - `rejected`: what the assistant did in turn d, in the same form: every call it made in the
      turn, in order, as one assistant tool-call message (a planted failing call, which the truth
      leaves out too, is left out); a turn it answered only in words gives its last reply. The
      tool results and the closing reply are not part of either side, as in `refined` and
      `mutated` pairs, where each side is one assistant message (`callforge train` refuses a
      side holding any other role), so the two sides differ only where the calls differ.

    The chosen message must also pass the rule layer where it stands (after the prompt): a
    blueprint turn whose calls use a value the prompt does not hold (an id a call earlier in the
    same turn returns) is not a step a model could make, and gives no pair. Nor does a turn the
    blueprint answers without a call (no chosen message to build), or one whose calls equal the
    blueprint's. The label (`code`) is the verdict that named the turn (`episode.state_mismatch`),
    else the first failure; `codes` every failure code; `turn` is d.
    """
    trace = dialog.meta.episode
    if trace is None or trace.diverged_turn is None:
        return None
    turn = trace.diverged_turn
    users = [i for i, m in enumerate(dialog.messages) if m.role == "user"]
    if not 0 <= turn < min(len(users), len(trace.truth)) or not trace.truth[turn]:
        return None
    start = users[turn] + 1
    end = users[turn + 1] if turn + 1 < len(users) else len(dialog.messages)
    replies = [m for m in dialog.messages[start:end] if m.role == "assistant"]
    planted = dialog.masked_calls()
    made = [c for m in replies for c in m.tool_calls if c.id not in planted]
    words = [m.content for m in replies if m.content and not m.tool_calls]
    if made:
        rejected = Message(role="assistant", tool_calls=tuple(made))
    elif words:
        rejected = Message(role="assistant", content=words[-1])
    else:
        return None
    truth = trace.truth[turn]
    if [(c.name, c.arguments) for c in made] == [(c.name, c.arguments) for c in truth]:
        return None
    ids = [c.id for c in made if c.id]  # the model's own ids, so an id-rendering template adds no difference
    chosen = Message(
        role="assistant",
        tool_calls=tuple(
            c.model_copy(update={"id": ids[i] if i < len(ids) else f"call_truth_{turn}_{i}"}) for i, c in enumerate(truth)
        ),
    )
    later = {name for at, names in trace.late_tools.items() if int(at) > turn for name in names}
    offered = tuple(t for t in dialog.tools if t.name not in later)
    if _rule_failures(dialog, start, chosen, offered):
        return None
    codes = list(dict.fromkeys(v.code for v in failures if not v.ok)) or ["unknown"]
    code = next((v.code for v in failures if not v.ok and "diverged_turn" in v.evidence), codes[0])
    pair = _record(dialog, start, message_index=start, chosen=openai_message(chosen), rejected=openai_message(rejected))
    return pair | {
        "tools": [t.to_openai() for t in offered],
        "code": code,
        "codes": codes,
        "origin": "diverged",
        "turn": turn,
    }


def _rule_failures(dialog: Dialog, index: int, step: Message, tools: tuple[ToolSpec, ...]) -> list[Verdict]:
    """What the rule layer finds wrong with the calls of `step` placed at `index` (after the conversation before it), with `tools` offered.

    The scenario checks are left out: they compare with the plan the episode was played from,
    and the blueprint's calls are the truth that plan was proven to.
    """
    from callforge.verify import RuleStage

    placed = dialog.model_copy(update={"messages": (*dialog.messages[:index], step), "tools": tools})
    return [
        v for v in RuleStage().run(placed) if v.evidence.get("message_index") == index and not v.code.startswith("scenario.")
    ]


def _refined(dialog: Dialog) -> dict[str, Any] | None:
    before, wrong, rest = trajectory_messages(dialog)
    if not wrong or not rest or rest[0].role != "assistant":
        return None
    codes = list(dialog.meta.feedback) or ["unknown"]
    at = len(before)
    return _record(dialog, at, message_index=at, chosen=openai_message(rest[0]), rejected=openai_message(wrong[0])) | {
        "code": codes[0],
        "codes": codes,
        "origin": "refined",
    }


def _record(dialog: Dialog, prefix: int, *, message_index: int, chosen: dict[str, Any], rejected: dict[str, Any]) -> dict[str, Any]:
    planted = dialog.masked_calls()
    record: dict[str, Any] = {
        "id": f"{dialog.meta.id or 'dialog'}:{message_index}",
        "prompt": [openai_message(m, planted) for m in dialog.messages[:prefix]],
        "chosen": [chosen],
        "rejected": [rejected],
        "tools": [t.to_openai() for t in dialog.tools],
    }
    return record
