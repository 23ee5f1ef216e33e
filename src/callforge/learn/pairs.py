"""Preference pairs for DPO: the same conversation so far, a verified step (chosen) and a failing one (rejected).

Two sources, told apart by `origin`:

- `refined`: a refinement trajectory (`callforge refine`) holds a model's real rejected step and
  the step it wrote after the verifier's feedback, which passed verification. The pair is
  (conversation before the step, corrected step, rejected step), labelled with the first code.
- `mutated`: every call step of a verified dialog, against a variant the rule layer rejects
  (`callforge.learn.mutate`), labelled with the code the rules gave it.

Records are TRL's conversational preference shape (`prompt`, `chosen`, `rejected`) plus `tools`,
so `DPOTrainer` (and `callforge train --method dpo`) reads them as they are.
"""

from __future__ import annotations

from typing import Any

from callforge.core import Dialog, MaskReason
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
            _record(dialog, index, message_index=index, chosen=index, rejected=openai_message(variant.message))
            | {"code": variant.code, "codes": list(dict.fromkeys(v.code for v in variant.verdicts)), "origin": "mutated", "mutation": variant.mutation}
        )
    return out


def _refined(dialog: Dialog) -> dict[str, Any] | None:
    before, wrong, rest = trajectory_messages(dialog)
    if not wrong or not rest or rest[0].role != "assistant":
        return None
    codes = list(dialog.meta.feedback) or ["unknown"]
    at = len(before)
    return _record(dialog, at, message_index=at, chosen=at + len(wrong), rejected=openai_message(wrong[0])) | {
        "code": codes[0],
        "codes": codes,
        "origin": "refined",
    }


def _record(dialog: Dialog, prefix: int, *, message_index: int, chosen: int, rejected: dict[str, Any]) -> dict[str, Any]:
    planted = dialog.masked_calls()
    record: dict[str, Any] = {
        "id": f"{dialog.meta.id or 'dialog'}:{message_index}",
        "prompt": [openai_message(m, planted) for m in dialog.messages[:prefix]],
        "chosen": [openai_message(dialog.messages[chosen])],
        "rejected": [rejected],
        "tools": [t.to_openai() for t in dialog.tools],
    }
    return record
