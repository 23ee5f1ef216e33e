"""What a training run is asked to do, checked before anything heavy is imported or loaded."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from callforge.core import ConfigError

TrainMethod = Literal["sft", "dpo", "grpo"]
TRAIN_METHODS: tuple[str, ...] = get_args(TrainMethod)
DTYPES = ("auto", "bfloat16", "float16", "float32")
DEFAULT_LR: dict[str, float] = {"sft": 2e-4, "dpo": 5e-5, "grpo": 2e-5}
"""LoRA learning rates that suit 0.5B-7B instruct models; DPO and GRPO move a policy they must not break, so they get less."""
REWARD_MODES = ("semantic", "bfcl")

# import name -> distribution, for the message that says what to install
_EXTRA_MODULES = {
    "torch": "torch",
    "transformers": "transformers",
    "trl": "trl",
    "peft": "peft",
    "accelerate": "accelerate",
    "datasets": "datasets",
}


def require_train_extra() -> None:
    """Fail with the install line when the [train] extra is missing, before a long import half-succeeds."""
    missing = [dist for module, dist in _EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigError(
            f"callforge train needs the [train] extra (missing: {', '.join(missing)}): "
            "pip install 'callforge[train]' (on a machine without a GPU install torch's CPU wheel first; see docs/train.md)"
        )


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one run; validated on construction so a typo fails before the model loads."""

    method: str
    model: str
    out: Path
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"
    epochs: float = 1.0
    max_steps: int | None = None
    lr: float | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 2048
    beta: float = 0.1
    """DPO: how far the policy may move from the reference (the base model, adapter off)."""
    seed: int = 0
    dtype: str = "auto"
    gradient_checkpointing: bool = False
    mask_reasoning: bool = False
    """SFT: no loss on an assistant's thought (`<think>...</think>`), only on its calls and answer."""
    logging_steps: int | None = None
    """None: about 20 log points over the run."""
    chat_template: Path | None = None
    """A Jinja file replacing the tokenizer's template (for templates that render the last turn specially)."""
    overwrite: bool = False
    num_generations: int = 4
    """GRPO: completions sampled per prompt; the advantage is each one's reward against its group's."""
    max_completion_length: int = 256
    """GRPO: tokens a sampled completion may take (a prompt longer than `max_length` minus this is left out)."""
    temperature: float = 1.0
    """GRPO: sampling temperature; the group needs different completions to learn anything."""
    reward_mix: str = "default"
    """GRPO: `callforge.reward.make_reward`'s mix (`default`, `exact`, `format=0.2,exact=1`, ...)."""
    reward_mode: str = "semantic"
    """GRPO: how `exact` matches calls, `semantic` or `bfcl`."""
    reward_tools: tuple[str, ...] = ()
    """GRPO: tool sources the `execution` reward runs calls on (sandboxed)."""
    reward_env: str | None = None
    """GRPO: the `end_state` reward's environment for rows that name none (`bank.py:Bank`, a service spec)."""

    def __post_init__(self) -> None:
        if self.method not in TRAIN_METHODS:
            raise ConfigError(f"unknown training method {self.method!r}; expected one of {', '.join(TRAIN_METHODS)}")
        if not self.model:
            raise ConfigError("no model given; pass `model` with a Hugging Face id or a local model folder")
        if self.dtype not in DTYPES:
            raise ConfigError(f"unknown `dtype` {self.dtype!r}; expected one of {', '.join(DTYPES)}")
        positive_ints = {
            "--lora-r": self.lora_r,
            "--lora-alpha": self.lora_alpha,
            "--batch-size": self.batch_size,
            "--grad-accum": self.grad_accum,
            "--max-length": self.max_length,
        }
        for flag, value in positive_ints.items():
            if value < 1:
                raise ConfigError(f"{flag} must be at least 1, got {value}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"`max_steps` must be at least 1, got {self.max_steps}")
        if self.logging_steps is not None and self.logging_steps < 1:
            raise ConfigError(f"logging_steps must be at least 1, got {self.logging_steps}")
        if not (self.epochs > 0 and math.isfinite(self.epochs)):
            raise ConfigError(f"`epochs` must be a positive number, got {self.epochs}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"`lr` must be a positive number, got {self.lr}")
        if not 0 <= self.lora_dropout < 1:
            raise ConfigError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if self.chat_template is not None and not self.chat_template.is_file():
            raise ConfigError(f"{self.chat_template}: no such chat template file (`chat_template` takes a .jinja file)")
        if self.beta <= 0:
            raise ConfigError(f"`beta` must be positive, got {self.beta}")
        if self.num_generations < 2:
            raise ConfigError(f"--num-generations must be at least 2 (GRPO compares completions of one prompt), got {self.num_generations}")
        if self.max_completion_length < 1:
            raise ConfigError(f"--max-completion-length must be at least 1, got {self.max_completion_length}")
        if self.method == "grpo" and self.max_completion_length >= self.max_length:
            raise ConfigError(
                f"--max-completion-length ({self.max_completion_length}) leaves no room for a prompt in --max-length ({self.max_length})"
            )
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise ConfigError(f"--temperature must be a positive number, got {self.temperature}")
        if self.reward_mode not in REWARD_MODES:
            raise ConfigError(f"unknown --reward-mode {self.reward_mode!r}; expected one of {', '.join(REWARD_MODES)}")

    @property
    def learning_rate(self) -> float:
        """The given rate, or the method's default."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.method]

    def total_steps(self, examples: int) -> int:
        """Optimizer steps the run will take over `examples` (what the Trainer computes, for logging)."""
        if self.max_steps is not None:
            return self.max_steps
        per_epoch = max(1, math.ceil(examples / self.batch_size) // self.grad_accum)
        return max(1, math.ceil(per_epoch * self.epochs))

    def log_every(self, examples: int) -> int:
        """Steps between loss logs: as given, or about 20 points over the run so a report shows the curve."""
        if self.logging_steps is not None:
            return self.logging_steps
        return max(1, self.total_steps(examples) // 20)
