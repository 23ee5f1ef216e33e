"""`callforge eval`: score model outputs on a suite, BFCL-exact or semantic."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.cli.render import print_report
from callforge.core import ConfigError


class SuiteName(StrEnum):
    """Suites `eval` can read."""

    BFCL = "bfcl"


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def eval_command(
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            "-r",
            help='Score saved outputs: a BFCL result file or folder of JSON lines {"id", "result"}.',
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Run a model live instead: local:<name|path.gguf>, openai:<model> or fuzz[:seed].",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="BFCL data folder (BFCL_v4_*.json + possible_answer/); default $CALLFORGE_BFCL_DATA or bfcl-eval's.",
        ),
    ] = None,
    suite: Annotated[SuiteName, typer.Option(help="Suite format of --data.")] = SuiteName.BFCL,
    style: Annotated[
        str, typer.Option(help="prompting: outputs are Python call lists; fc: native tool calls.")
    ] = "prompting",
    mode: Annotated[
        str,
        typer.Option(help="Saved outputs: bfcl (BFCL's checker exactly) or semantic. Live runs score both."),
    ] = "bfcl",
    categories: Annotated[
        list[str] | None,
        typer.Option(
            "--categories",
            "-c",
            help="Categories (comma-separated or repeated); default: all in --results, or all single-turn.",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Live: only the first N cases of each category.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="openai: server URL, e.g. http://localhost:8000/v1 (or $OPENAI_BASE_URL)."),
    ] = None,
    api_key: Annotated[str | None, typer.Option(help="openai: API key (or $OPENAI_API_KEY).")] = None,
    tool_mode: Annotated[
        str | None,
        typer.Option(
            help="native: tools= and tool_calls; prompt: tools in the system prompt, calls parsed from text."
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Live: requests in flight (default 16 for openai:, 1 for local:).")
    ] = None,
    rpm: Annotated[float | None, typer.Option(help="Live: at most this many requests per minute.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Live: seconds before a request is retried.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Live: generation limit per reply.")] = 512,
    temperature: Annotated[float, typer.Option(help="Live: sampling temperature.")] = 0.0,
    cache: Annotated[
        bool,
        typer.Option(
            help="Live: answer repeated requests from OUT/llm-cache.sqlite (a re-run sends nothing)."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output folder. Saved outputs: scores.json + failures/ (default ./scores). Live: results/, "
            "scores/bfcl, scores/semantic, errors.jsonl (default ./evals/<model>-<style>); rerun to resume.",
        ),
    ] = None,
    allow_duplicate_ids: Annotated[
        bool, typer.Option(help="Score every line even when an id repeats (several samples per entry).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Score saved BFCL-format outputs (--results), or run a model live on BFCL (--model) and score it."""
    from callforge.evaluate.check import Mode, Style

    try:
        style_value, mode_value = Style(style), Mode(mode)
    except ValueError:
        raise ConfigError(
            f"--style must be one of {[s.value for s in Style]} and --mode one of {[m.value for m in Mode]}; "
            f"got --style {style!r} --mode {mode!r}"
        ) from None
    try:
        from callforge.core import Category

        selected = [Category.parse(c) for c in _split(categories) or []] or None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if (results is None) == (model is None):
        raise ConfigError(
            "give exactly one of --results FILE (score saved outputs) or --model SPEC (run a model)"
        )
    if model is not None:
        _live(model, data, style_value, selected, limit, base_url, api_key, tool_mode, concurrency, rpm, timeout,
              max_tokens, temperature, cache, out, quiet)  # fmt: skip
        return
    live_only = {"--limit": limit, "--base-url": base_url, "--api-key": api_key, "--tool-mode": tool_mode,
                 "--concurrency": concurrency, "--rpm": rpm, "--timeout": timeout}  # fmt: skip
    given = [flag for flag, value in live_only.items() if value is not None] + (["--cache"] if cache else [])
    if given:
        raise ConfigError(f"{', '.join(given)} apply to live runs (--model); with --results they do nothing")
    assert results is not None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from callforge.evaluate import evaluate
    from callforge.evaluate.live import bfcl_data_dir

    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("score", total=None)
        report = evaluate(
            data=bfcl_data_dir(data),
            results=results,
            style=style_value,
            mode=mode_value,
            categories=selected,
            out=out or Path("scores"),
            allow_duplicate_ids=allow_duplicate_ids,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    print_report(report)


def _live(
    model: str,
    data: Path | None,
    style: Any,
    selected: list[Any] | None,
    limit: int | None,
    base_url: str | None,
    api_key: str | None,
    tool_mode: str | None,
    concurrency: int | None,
    rpm: float | None,
    timeout: float | None,
    max_tokens: int,
    temperature: float,
    cache: bool,
    out: Path | None,
    quiet: bool,
) -> None:
    import re

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from callforge.cli.render import print_live_report
    from callforge.evaluate.live import LiveProgress, evaluate_model
    from callforge.llm.registry import make_backend

    folder = out or Path("evals") / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', model)}-{style.value}"
    backend = make_backend(
        model,
        base_url=base_url,
        api_key=api_key,
        tool_mode=tool_mode,
        concurrency=concurrency,
        rpm=rpm,
        timeout=timeout,
        cache=folder / "llm-cache.sqlite" if cache else None,
    )
    with Progress(
        TextColumn(f"[bold]{model}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=None, info="loading")

        def show(state: LiveProgress) -> None:
            info = f"{state.tokens_per_s:.1f} tok/s"
            if state.resumed:
                info += f" · {state.resumed} resumed"
            if state.failed:
                info += f" · [red]{state.failed} failed[/red]"
            bar.update(task, completed=state.done, total=state.total, info=info)

        report = evaluate_model(
            backend,
            data=data,
            out=folder,
            style=style,
            categories=selected,
            limit=limit,
            concurrency=concurrency,
            options={"temperature": temperature, "max_tokens": max_tokens},
            progress=show,
        )
    print_live_report(report)


def register(app: typer.Typer) -> None:
    """Add the verb to the app."""
    app.command("eval")(eval_command)
