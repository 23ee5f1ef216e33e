"""`callforge export`: a Run's accepted dialogs (or a dataset) in a trainer's format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from callforge.cli.options import out_dir

_FORMATS_HELP = (
    "openai (messages + tools, TRL/OpenAI), sharegpt (LLaMA-Factory), hf (Parquet for datasets), "
    "steps (one example per assistant turn), grpo (one RL prompt per turn, with its reference calls), chat (text rendered by a chat template), tasks (Granite's "
    "granular tasks), dpo (preference pairs) or bfcl (an eval set for callforge eval)."
)


def export_command(
    src: Annotated[Path, typer.Argument(help="A run folder (its accepted dialogs: generate, refine or select; dpo also reads its rejected episodes) or a dataset file callforge reads.")],
    out: Annotated[Path, typer.Option("--out", "-o", callback=out_dir, help="Folder to write into (data.jsonl, data.parquet or BFCL files).")],
    format: Annotated[str, typer.Option("--format", "-f", help=_FORMATS_HELP)] = "openai",
    template: Annotated[
        str, typer.Option("--template", help="chat: qwen2.5, qwen3 (a <think> slot), hermes, llama3.1, a .jinja file, hf:TOKENIZER_DIR, gguf:FILE or local:MODEL.")
    ] = "qwen2.5",
    push_to_hub: Annotated[
        str | None, typer.Option("--push-to-hub", help="hf: also push the dataset to this Hub repo (needs HF_TOKEN or `hf auth login`).")
    ] = None,
    keep_injected: Annotated[
        bool, typer.Option("--keep-injected", help="sharegpt, chat, hf: keep dialogs with a wrong call although it cannot be masked.")
    ] = False,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="bfcl: a stateful environment (bank.py, bank.py:Bank, or a service spec .yaml): each dialog becomes "
            "a multi-turn entry, its calls run and its end state recorded.",
        ),
    ] = None,
    reasoning: Annotated[
        str | None,
        typer.Option(
            "--reasoning",
            help="Where an assistant's thought goes: keep (the template's <think> slot; inline <think> text where "
            "the format has none), field (a reasoning_content field, OpenAI-shaped records) or drop. Default: keep "
            "where the format has a slot (a thinking template, sharegpt), field for openai/steps/grpo/hf, else drop.",
        ),
    ] = None,
    curriculum: Annotated[
        bool,
        typer.Option(
            "--curriculum",
            help="Write the dialogs easy -> hard by measured difficulty (stable within a level); "
            "`callforge difficulty SRC` prints the levels.",
        ),
    ] = False,
) -> None:
    """Export dialogs for training or evaluation; JSON Lines formats read back (`callforge verify OUT/data.jsonl`).

    A call made wrong on purpose (error recovery) or a corrected mistake (refinement) is masked in
    openai (`"weight": 0`) and never a target in steps, tasks or dpo; sharegpt, chat and hf cannot
    mask it, so those dialogs are skipped unless --keep-injected.
    """
    from callforge.export import export

    report = export(
        src, out, format=format, keep_injected=keep_injected, template=template, push_to_hub=push_to_hub, environment=env,
        reasoning=reasoning, curriculum=curriculum,
    )
    unit = "cases" if report.format == "bfcl" else "dialogs"
    line = f"wrote {report.written} {unit} ({report.format}"
    if report.records != report.written:
        line += f", {report.records} records"
    line += f") to {report.path if report.format == 'bfcl' else ', '.join(str(f) for f in report.files)}"
    if report.categories:
        line += " as " + ", ".join(f"{c} {n}" for c, n in report.categories.items())
    if report.skipped:
        line += "; left out " + ", ".join(f"{n} {reason}" for reason, n in report.skipped.items())
    if report.skipped_injected:
        line += f"; skipped {report.skipped_injected} with an unmaskable wrong call (--keep-injected keeps them)"
    typer.echo(line)
    if report.read:
        proof = f"read {report.read} {unit} from {src}"
        if report.torn:
            proof += f" ({report.torn} torn last line(s) ignored: redone on --resume)"
        if report.manifest is not None:
            proof += f"; where each one came from: {report.manifest}"
        typer.echo(proof)


def register(app: typer.Typer) -> None:
    """Add the `export` verb to the app."""
    app.command("export")(export_command)
