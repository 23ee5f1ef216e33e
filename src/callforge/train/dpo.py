"""LoRA DPO with TRL's DPOTrainer; the reference model is the base model, i.e. the policy with its adapter off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callforge.train.tokens import DPOTokens


def dpo_trainer(
    *, model: Any, tokenizer: Any, tokens: Sequence[DPOTokens], args: dict[str, Any], peft_config: Any, beta: float
) -> Any:
    """A DPOTrainer over pre-tokenised pairs (`prompt_ids`, `chosen_ids`, `rejected_ids`).

    DPOTrainer always re-tokenises conversational data itself, which would put ragged tool-call
    arguments through Arrow (whose struct columns pad missing keys with nulls that templates then
    render); a subclass passes our already tokenised columns through untouched.
    """
    from datasets import Dataset
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    class _PretokenisedDPOTrainer(DPOTrainer):
        def _prepare_dataset(self, dataset: Any, *rest: Any, **kwargs: Any) -> Any:
            if "prompt_ids" in (dataset.column_names or ()):
                return dataset
            return super()._prepare_dataset(dataset, *rest, **kwargs)

    dataset = Dataset.from_dict(
        {
            "prompt_ids": [list(t.prompt_ids) for t in tokens],
            "chosen_ids": [list(t.chosen_ids) for t in tokens],
            "rejected_ids": [list(t.rejected_ids) for t in tokens],
        }
    )
    config = DPOConfig(**args, beta=beta, max_length=None, precompute_ref_log_probs=False)
    return _PretokenisedDPOTrainer(
        model=model, args=config, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config
    )
