"""`train`: LoRA SFT, DPO or GRPO on a callforge export, from data file to saved adapter and report."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callforge.core import ConfigError, DataError
from callforge.train.config import TrainConfig, require_train_extra

if TYPE_CHECKING:
    from callforge.reward import Reward
from callforge.train.data import TrainData, read_train_data
from callforge.train.model import load_model, load_tokenizer, resolve_dtype
from callforge.train.report import LogPoint, TrainReport, log_points
from callforge.train.tokens import Tokenised, check_tokenizer, tokenise


def train(
    data: str | os.PathLike[str],
    *,
    model: str,
    out: str | os.PathLike[str],
    method: str = "sft",
    lora_r: int = 16,
    lora_alpha: int = 32,
    lora_dropout: float = 0.05,
    epochs: float = 1.0,
    max_steps: int | None = None,
    lr: float | None = None,
    batch_size: int = 4,
    grad_accum: int = 1,
    max_length: int = 2048,
    beta: float = 0.1,
    seed: int = 0,
    dtype: str = "auto",
    gradient_checkpointing: bool = False,
    mask_reasoning: bool = False,
    logging_steps: int | None = None,
    chat_template: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    num_generations: int = 4,
    max_completion_length: int = 256,
    temperature: float = 1.0,
    reward_mix: str = "default",
    reward_mode: str = "semantic",
    reward_tools: Sequence[str | os.PathLike[str]] = (),
    reward_env: str | os.PathLike[str] | None = None,
    reward: Callable[..., list[float | None]] | None = None,
    on_log: Callable[[LogPoint], None] | None = None,
    eval_data: str | os.PathLike[str] | None = None,
    eval_categories: Sequence[str] | None = None,
    eval_limit: int | None = None,
    eval_style: str = "fc",
    eval_base: bool = True,
) -> TrainReport:
    """Train a LoRA adapter on `data` and save it (with the tokenizer and `train_report.json`) in `out`.

    `method="sft"` learns the assistant turns of `messages` records (never those marked
    `"weight": 0`), the completion of `prompt`/`completion` records, or whole `text` records; `method="dpo"` learns to prefer `chosen` over
    `rejected`, the base model (adapter off) serving as the reference; `method="grpo"` samples
    `num_generations` completions per prompt of a `callforge export --format grpo` file and moves
    the policy towards those a verifiable reward scores above their group: the reward is
    `callforge.reward.make_reward(reward_mix, mode=reward_mode, executor=reward_tools,
    environment=reward_env)`, or `reward` (any TRL-shaped reward function) when given. Everything that can be
    checked without the model (options, data shape, the output folder) is checked before it loads.
    `chat_template` (a Jinja file) replaces the tokenizer's template, in training and in the saved
    tokenizer. `mask_reasoning` keeps the loss off each assistant thought (`<think>...</think>`, from a
    `reasoning_content` field or inline), so SFT learns the calls and answers only. `on_log` receives
    each logged step, for progress output. With `eval_data` (a
    BFCL-format folder: an `export --format bfcl` of held-out tools, or BFCL's data with
    `eval_categories`), the run ends by evaluating the adapter, and with `eval_base` the base model,
    on it (`evaluate_adapter`); the report's `evaluation` holds both.
    """
    require_train_extra()
    cfg = TrainConfig(
        method=method,
        model=model,
        out=Path(out),
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        epochs=epochs,
        max_steps=max_steps,
        lr=lr,
        batch_size=batch_size,
        grad_accum=grad_accum,
        max_length=max_length,
        beta=beta,
        seed=seed,
        dtype=dtype,
        gradient_checkpointing=gradient_checkpointing,
        mask_reasoning=mask_reasoning,
        logging_steps=logging_steps,
        chat_template=Path(chat_template) if chat_template is not None else None,
        overwrite=overwrite,
        num_generations=num_generations,
        max_completion_length=max_completion_length,
        temperature=temperature,
        reward_mix=reward_mix,
        reward_mode=reward_mode,
        reward_tools=tuple(str(t) for t in reward_tools),
        reward_env=str(reward_env) if reward_env is not None else None,
    )
    _check_out(cfg)
    train_data = read_train_data(data)
    _check_method(cfg, train_data)
    made = None  # a reward built here is closed here (its tools' clients); one passed in is the caller's
    if cfg.method == "grpo" and reward is None:
        reward = made = _make_reward(cfg, train_data.path)

    tokenizer = load_tokenizer(cfg.model)
    if cfg.chat_template is not None:
        tokenizer.chat_template = cfg.chat_template.read_text(encoding="utf-8")
    check_tokenizer(tokenizer, conversational=train_data.shape != "text", model=cfg.model)
    room = cfg.max_completion_length if cfg.method == "grpo" else 0
    tokens = tokenise(
        tokenizer, train_data.examples, max_length=cfg.max_length, completion_length=room, mask_reasoning=cfg.mask_reasoning
    )
    kept = _kept(cfg, tokens, train_data)

    from transformers import set_seed

    set_seed(cfg.seed)
    torch_dtype = resolve_dtype(cfg.dtype)
    base = load_model(cfg.model, torch_dtype)
    trainer = _trainer(cfg, base, tokenizer, tokens, kept, torch_dtype, reward)
    _quiet_printing(trainer)
    if on_log is not None:
        trainer.add_callback(_echo(on_log))

    started = time.perf_counter()
    try:
        result = trainer.train()
    finally:
        if made is not None:
            made.close()
    runtime = time.perf_counter() - started
    cfg.out.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(cfg.out))
    report = TrainReport(
        method=cfg.method,
        model=cfg.model,
        data=train_data.path,
        out=cfg.out,
        steps=int(trainer.state.global_step),
        examples=kept,
        dropped=tokens.dropped,
        losses=log_points(trainer.state.log_history),
        train_loss=float(result.training_loss) if result.training_loss is not None else None,
        runtime_s=round(runtime, 3),
        config={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        dropped_ids=tokens.dropped_ids,
    )
    if eval_data is not None:
        from callforge.train.evaluation import evaluate_adapter

        del trainer, base  # the evaluation loads the model again, with the saved adapter merged
        evaluation = evaluate_adapter(
            cfg.model, cfg.out, data=Path(eval_data), categories=eval_categories, limit=eval_limit, style=eval_style, base=eval_base
        )
        report = replace(report, evaluation=evaluation)
    report.write(cfg.out)
    return report


def _kept(cfg: TrainConfig, tokens: Tokenised, data: TrainData) -> int:
    """How many examples survived tokenising; none is an error that names every reason."""
    kept = {"dpo": len(tokens.dpo), "grpo": len(tokens.grpo)}.get(cfg.method, len(tokens.sft))
    if kept:
        return kept
    reasons = ", ".join(f"{n} {reason}" for reason, n in tokens.dropped.items())
    hint = ""
    if any(reason.startswith("chat template") for reason in tokens.dropped):
        hint = (
            "; the model's chat template cannot be used for training as it is: pass `chat_template` "
            "with a training template that renders every turn the same wherever it stands (see docs/train.md)"
        )
    raise DataError(f"{data.path}: no example left to train on ({reasons}){hint}")


def _check_out(cfg: TrainConfig) -> None:
    if cfg.out.exists() and not cfg.out.is_dir():
        raise ConfigError(f"{cfg.out}: exists and is not a folder; give `out` a folder for the adapter")
    if cfg.out.is_dir() and any(cfg.out.iterdir()) and not cfg.overwrite:
        raise ConfigError(f"{cfg.out}: folder is not empty; choose another `out` or pass `overwrite=True`")


_FORMAT_OF = {"sft": "openai", "dpo": "dpo", "grpo": "grpo"}
_WHAT = {
    "preference": "DPO pairs (prompt/chosen/rejected)",
    "prompts": "GRPO prompts (prompt/reference_calls)",
}


def _check_method(cfg: TrainConfig, data: TrainData) -> None:
    """A file of one method's records given to another is an error naming the method it needs."""
    needed = {"preference": "dpo", "prompts": "grpo"}.get(data.shape, "sft")
    if needed == cfg.method:
        return
    what = _WHAT.get(data.shape, f"SFT records ({data.shape})")
    raise ConfigError(
        f"{data.path} holds {what}; train them with `--method {needed}` (method={needed!r}), "
        f"or export data for {cfg.method} with `callforge export --format {_FORMAT_OF[cfg.method]}`"
    )


def _make_reward(cfg: TrainConfig, data: Path) -> Reward:
    """The reward the options name, built before the model loads so a bad mix or tool file fails fast."""
    from callforge.reward import make_reward

    return make_reward(
        cfg.reward_mix,
        mode=cfg.reward_mode,
        executor=list(cfg.reward_tools) or None,
        environment=cfg.reward_env,
        base=data.parent,
    )


def _lora(cfg: TrainConfig) -> Any:
    from peft import LoraConfig

    modules = cfg.target_modules if isinstance(cfg.target_modules, str) else list(cfg.target_modules)
    return LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=modules,
        task_type="CAUSAL_LM",
    )


def _trainer(
    cfg: TrainConfig,
    base: Any,
    tokenizer: Any,
    tokens: Tokenised,
    kept: int,
    torch_dtype: Any,
    reward: Callable[..., list[float | None]] | None,
) -> Any:
    import torch

    args: dict[str, Any] = {
        "output_dir": str(cfg.out),
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps if cfg.max_steps is not None else -1,
        "learning_rate": cfg.learning_rate,
        "per_device_train_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "logging_steps": cfg.log_every(kept),
        "logging_first_step": True,
        "save_strategy": "no",
        "report_to": "none",
        "seed": cfg.seed,
        "bf16": torch_dtype == torch.bfloat16,
        "fp16": torch_dtype == torch.float16,
        _checkpointing_field(): cfg.gradient_checkpointing,
        "disable_tqdm": True,
        "dataloader_pin_memory": torch.cuda.is_available(),
    }
    if cfg.method == "grpo":
        from callforge.train.grpo import grpo_trainer

        assert reward is not None
        # one step takes `batch_size` prompts, each with its group of completions
        args["per_device_train_batch_size"] = cfg.batch_size * cfg.num_generations
        return grpo_trainer(
            model=base,
            tokenizer=tokenizer,
            prompts=tokens.grpo,
            args=args,
            peft_config=_lora(cfg),
            reward=reward,
            num_generations=cfg.num_generations,
            max_completion_length=cfg.max_completion_length,
            temperature=cfg.temperature,
        )
    if cfg.method == "dpo":
        from callforge.train.dpo import dpo_trainer

        return dpo_trainer(
            model=base, tokenizer=tokenizer, tokens=tokens.dpo, args=args, peft_config=_lora(cfg), beta=cfg.beta
        )
    from callforge.train.sft import sft_trainer

    return sft_trainer(model=base, tokenizer=tokenizer, tokens=tokens.sft, args=args, peft_config=_lora(cfg))


def _checkpointing_field() -> str:
    """The name of the checkpointing flag: transformers 5 renamed it (and warns on the old one), older ones know only the old."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def _quiet_printing(trainer: Any) -> None:
    """Drop the Trainer's raw dict printer; progress goes through `on_log` instead."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def _echo(on_log: Callable[[LogPoint], None]) -> Any:
    from transformers import TrainerCallback

    class _Echo(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            for point in log_points([{**(logs or {}), "step": state.global_step}]):
                on_log(point)

    return _Echo()
