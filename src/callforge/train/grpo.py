"""LoRA GRPO with TRL's GRPOTrainer: prompts we rendered ourselves, a reward from `callforge.reward`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from callforge.train.tokens import GRPOPrompt


def grpo_trainer(
    *,
    model: Any,
    tokenizer: Any,
    prompts: Sequence[GRPOPrompt],
    args: dict[str, Any],
    peft_config: Any,
    reward: Callable[..., list[float | None]],
    num_generations: int,
    max_completion_length: int,
    temperature: float,
) -> Any:
    """A GRPOTrainer over text prompts whose rows carry the reward's columns (JSON text).

    The prompts are plain text (rendered with each row's tools), so TRL samples after them as they
    are and hands the reward text completions; `tools`, `reference_calls` and, where any row has
    them, `environment` and `prior_calls` reach the reward as JSON strings, which it decodes. JSON
    text also keeps Arrow from padding ragged argument objects with nulls.
    """
    from datasets import Dataset
    from trl.trainer.grpo_config import GRPOConfig
    from trl.trainer.grpo_trainer import GRPOTrainer

    columns: dict[str, list[Any]] = {
        "prompt": [p.text for p in prompts],
        "tools": [p.tools for p in prompts],
        "reference_calls": [p.reference_calls for p in prompts],
    }
    for name in ("environment", "prior_calls"):
        values = [getattr(p, name) for p in prompts]
        if any(v is not None for v in values):
            columns[name] = values
    config = GRPOConfig(
        **args,
        num_generations=num_generations,
        max_completion_length=max_completion_length,
        temperature=temperature,
        log_completions=False,
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=reward,
        args=config,
        train_dataset=Dataset.from_dict(columns),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
