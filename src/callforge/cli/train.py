"""`callforge train`: a LoRA adapter from an export, by SFT, DPO or GRPO (needs the [train] extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.cli.options import out_dir


def train_command(
    data: Annotated[Path, typer.Argument(help="An export: data.jsonl (openai, tasks, steps, chat, dpo or grpo format), data.parquet (hf), or the folder holding one.")],
    model: Annotated[str, typer.Option("--model", help="Base model: a Hugging Face id or a local folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", callback=out_dir, help="Folder for the adapter, tokenizer and train_report.json.")],
    method: Annotated[str, typer.Option("--method", "-m", help="sft (learn the assistant turns), dpo (prefer chosen over rejected) or grpo (RL on a verifiable reward).")] = "sft",
    lora_r: Annotated[int, typer.Option("--lora-r", help="LoRA rank.")] = 16,
    lora_alpha: Annotated[int, typer.Option("--lora-alpha", help="LoRA alpha (scale = alpha / r).")] = 32,
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the data (ignored when --max-steps is set).")] = 1.0,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Stop after this many optimizer steps.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default 2e-4 for sft, 5e-5 for dpo, 2e-5 for grpo).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Examples (pairs for dpo, prompts for grpo) per device step.")] = 4,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Steps accumulated per optimizer step.")] = 1,
    max_length: Annotated[int, typer.Option("--max-length", help="Longer examples are left out (counted in the report), never cut.")] = 2048,
    beta: Annotated[float, typer.Option("--beta", help="dpo: how far the policy may move from the base model.")] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the adapter's init and the data order.")] = 0,
    dtype: Annotated[str, typer.Option("--dtype", help="auto (bfloat16 on a GPU that has it, else float32), bfloat16, float16 or float32.")] = "auto",
    gradient_checkpointing: Annotated[
        bool, typer.Option("--gradient-checkpointing", help="Trade ~20% speed for much less activation memory.")
    ] = False,
    mask_reasoning: Annotated[
        bool,
        typer.Option("--mask-reasoning", help="sft: no loss on the assistant's thoughts (<think>...</think>), only on its calls and answers."),
    ] = False,
    chat_template: Annotated[
        Path | None,
        typer.Option("--chat-template", help="A .jinja file to use instead of the model's chat template (also saved with the adapter)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into a non-empty --out.")] = False,
    num_generations: Annotated[int, typer.Option("--num-generations", help="grpo: completions sampled per prompt.")] = 4,
    max_completion_length: Annotated[
        int, typer.Option("--max-completion-length", help="grpo: tokens a sampled completion may take.")
    ] = 256,
    temperature: Annotated[float, typer.Option("--temperature", help="grpo: sampling temperature.")] = 1.0,
    reward_mix: Annotated[
        str, typer.Option("--reward-mix", help="grpo: reward components and weights: default, exact, or e.g. format=0.2,exact=1,execution=1.")
    ] = "default",
    reward_mode: Annotated[str, typer.Option("--reward-mode", help="grpo: how `exact` matches calls: semantic or bfcl.")] = "semantic",
    tools: Annotated[
        list[str] | None,
        typer.Option("--tools", "-t", help="grpo: tool source(s) the execution reward runs calls on, sandboxed. Repeat for more."),
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", help="grpo: the end_state reward's environment for rows naming none (bank.py:Bank, shop.yaml).")
    ] = None,
    eval_data: Annotated[
        Path | None,
        typer.Option("--eval-data", help="End with an evaluation on this BFCL-format folder (export --format bfcl of held-out tools, or BFCL's data): the adapter and the base model, in both modes."),
    ] = None,
    eval_categories: Annotated[
        str | None, typer.Option("--eval-categories", help="Categories of --eval-data to run (names or groups, comma-separated; default: every one there).")
    ] = None,
    eval_limit: Annotated[int | None, typer.Option("--eval-limit", help="Only the first N cases of each category.")] = None,
    eval_style: Annotated[str, typer.Option("--eval-style", help="fc (native tool calls) or prompting.")] = "fc",
    eval_base: Annotated[bool, typer.Option("--eval-base/--no-eval-base", help="Also evaluate the base model, for the before/after.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary, not each logged step.")] = False,
) -> None:
    """Train a LoRA adapter on an export; the loss falls on assistant turns only (never on `"weight": 0` ones).

    grpo samples completions for the prompts of `export --format grpo` and learns from a
    verifiable reward (docs/reward.md). Prints each logged step's loss (and grpo's mean reward)
    and a summary (first → last); the adapter, the tokenizer and train_report.json go into --out.
    """
    from callforge.train import LogPoint, require_train_extra, train

    require_train_extra()
    _quiet_libraries()

    def echo(point: LogPoint) -> None:
        line = f"step {point.step:>5}  loss {point.loss:.4f}"
        if point.reward_accuracy is not None:
            line += f"  reward accuracy {point.reward_accuracy:.2f}"
        if point.reward is not None:
            line += f"  reward {point.reward:.3f}"
        typer.echo(line)

    report = train(
        data,
        model=model,
        out=out,
        method=method,
        lora_r=lora_r,
        lora_alpha=lora_alpha,
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
        chat_template=chat_template,
        overwrite=overwrite,
        num_generations=num_generations,
        max_completion_length=max_completion_length,
        temperature=temperature,
        reward_mix=reward_mix,
        reward_mode=reward_mode,
        reward_tools=tools or (),
        reward_env=env,
        on_log=None if quiet else echo,
        eval_data=eval_data,
        eval_categories=[c.strip() for c in eval_categories.split(",") if c.strip()] if eval_categories else None,
        eval_limit=eval_limit,
        eval_style=eval_style,
        eval_base=eval_base,
    )
    line = f"trained {report.method} LoRA on {report.examples} examples for {report.steps} steps"
    if report.first_loss is not None and report.last_loss is not None:
        line += f": loss {report.first_loss:.4f} → {report.last_loss:.4f}"
    first, last = report.losses[0] if report.losses else None, report.losses[-1] if report.losses else None
    if first and last and first.reward_accuracy is not None and last.reward_accuracy is not None:
        line += f", reward accuracy {first.reward_accuracy:.2f} → {last.reward_accuracy:.2f}"
    if report.first_reward is not None and report.last_reward is not None:
        line += f", mean reward {report.first_reward:.3f} → {report.last_reward:.3f}"
    if report.dropped:
        line += "; left out " + ", ".join(f"{n} {reason}" for reason, n in report.dropped.items())
    typer.echo(line)
    if report.evaluation is not None:
        for score in (report.evaluation.base, report.evaluation.adapter):
            if score is not None:
                shown = ", ".join(f"{mode} {100 * value:.1f}%" for mode, value in sorted(score.accuracy.items()))
                typer.echo(f"held-out accuracy of {score.model} on {score.cases} cases: {shown} ({score.out})")
    typer.echo(f"adapter, tokenizer and train_report.json in {report.out}")


def _quiet_libraries() -> None:
    """Keep the terminal to our lines: transformers' and datasets' info logs and bars are noise here."""
    import warnings

    import datasets
    import transformers

    # TRL still reads transformers' deprecated `is_gradient_checkpointing`; nothing a user can change
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)

    hf_logging: Any = transformers.logging  # untyped module functions
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()


def register(app: typer.Typer) -> None:
    """Add the `train` verb to the app."""
    app.command("train")(train_command)
