"""LoRA SFT with TRL's SFTTrainer on examples we tokenised and labelled ourselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callforge.train.tokens import SFTTokens


def sft_trainer(
    *, model: Any, tokenizer: Any, tokens: Sequence[SFTTokens], args: dict[str, Any], peft_config: Any
) -> Any:
    """An SFTTrainer over a pre-tokenised dataset (`input_ids` + `labels`).

    TRL uses a pre-tokenised dataset's `labels` as they are, so the loss covers exactly the
    tokens `callforge.train.tokens` labelled; `max_length=None` because over-long examples were
    already dropped (truncating a tool call would teach a call cut in half).
    """
    from datasets import Dataset
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    dataset = Dataset.from_dict(
        {"input_ids": [list(t.input_ids) for t in tokens], "labels": [list(t.labels) for t in tokens]}
    )
    config = SFTConfig(**args, max_length=None, packing=False, dataset_num_proc=None)
    return SFTTrainer(
        model=model, args=config, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config
    )
