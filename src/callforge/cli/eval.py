"""`callforge eval score` (saved outputs) and `callforge eval run` (a live model), each a thin map onto the API.

`callforge eval --results ...` and `callforge eval --model ...` still work: without a subcommand,
the group picks `run` when `--model` is given and `score` otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from callforge.cli.exits import nothing, partial
from callforge.cli.options import (
    ApiKey,
    BaseUrl,
    Concurrency,
    MaxDepth,
    MaxRecordMb,
    Quiet,
    Ray,
    config_from,
    out_dir,
    positive,
)
from callforge.cli.render import print_live_report, print_pass_hat, print_report
from callforge.cli.report import report_hint

_DATA = typer.Option(
    "--data", "-d", help="BFCL data folder (BFCL_v4_*.json + possible_answer/); default $CALLFORGE_BFCL_DATA or bfcl-eval's."
)
_STYLE = typer.Option(help="prompting: outputs are Python call lists; fc: native tool calls.")
_CATEGORIES = typer.Option(
    "--categories", "-c", help="Categories or groups (multi_turn, live, non_live, hallucination, single_turn, all), comma-separated "
    "or repeated; default: all present (score) or all single-turn (run)."
)


class _EvalGroup(TyperGroup):
    """`eval` without a subcommand is the old single verb: `run` when `--model` is given, else `score`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            live = any(a in ("--model", "-m") or a.startswith("--model=") for a in args)
            args = ["run" if live else "score", *args]
        result: list[str] = super().parse_args(ctx, args)
        return result


eval_app = typer.Typer(
    cls=_EvalGroup,
    help="Score function-calling outputs BFCL-exactly or semantically: saved ones (score) or a live model's (run).",
    no_args_is_help=True,
)


def _split(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@eval_app.command("score")
def score_command(
    results: Annotated[
        Path,
        typer.Option(
            "--results", "-r", help='Saved outputs: a BFCL result file, a folder of them, or a live run\'s folder.'
        ),
    ],
    data: Annotated[Path | None, _DATA] = None,
    style: Annotated[str, _STYLE] = "prompting",
    mode: Annotated[str, typer.Option(help="bfcl (BFCL's checker exactly) or semantic.")] = "bfcl",
    categories: Annotated[list[str] | None, _CATEGORIES] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", callback=out_dir, help="Folder for scores.json and failures/<category>.jsonl.")
    ] = Path("scores"),
    allow_duplicate_ids: Annotated[
        bool, typer.Option(help="Score every line even when an id repeats (several samples per entry).")
    ] = False,
    quiet: Quiet = False,
    max_record_mb: MaxRecordMb = None,
    max_depth: MaxDepth = None,
) -> None:
    """Score saved BFCL-format outputs against a BFCL data folder."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    options = dict(locals())
    from callforge.evaluate import ScoreConfig, score

    config = config_from(ScoreConfig, options, categories=_split(categories))
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=quiet, transient=True) as bar:
        task = bar.add_task("score", total=None)
        report = score(config, progress=lambda done, total: bar.update(task, completed=done, total=total))
    print_report(report)
    typer.echo(report_hint(out), err=True)
    end_of_score(report, results)


@eval_app.command("run")
def run_command(
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m",
            help="local:<name|path.gguf>, openai:<model>, hf:<hub id|folder|path.gguf|name> or fuzz[:seed]; "
            "hf:/local: take a LoRA adapter as MODEL@DIR too.",
        ),
    ],
    adapter: Annotated[
        Path | None,
        typer.Option(
            "--adapter",
            help="A LoRA adapter folder (what `callforge train` saved) to apply to an hf: or local: model "
            "(local: converts it to a GGUF LoRA once; docs/backends.md).",
        ),
    ] = None,
    data: Annotated[Path | None, _DATA] = None,
    style: Annotated[
        str | None,
        typer.Option(help="prompting: outputs are Python call lists; fc: native tool calls. Default: prompting; fc with --agent."),
    ] = None,
    categories: Annotated[list[str] | None, _CATEGORIES] = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            help="Answer each request with one step of this agent strategy (direct, self_refine, when_to_call, "
            "planner_caller_summarizer, compiler), options after a colon (when_to_call:probe=confidence): tokens "
            "count every request it makes. Needs --style fc.",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N cases of each category.")] = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    tool_mode: Annotated[
        str | None,
        typer.Option(help="native: tools= and tool_calls; prompt: tools in the system prompt, calls parsed from text."),
    ] = None,
    concurrency: Concurrency = None,
    ray: Ray = None,
    rpm: Annotated[float | None, typer.Option(callback=positive, help="At most this many requests per minute.")] = None,
    timeout: Annotated[float | None, typer.Option(callback=positive, help="Seconds before a request is retried.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Generation limit per reply.")] = 512,
    step_limit: Annotated[
        int, typer.Option(min=1, help="Multi-turn: model replies with calls per turn before the entry is force-terminated.")
    ] = 20,
    trials: Annotated[
        int,
        typer.Option(min=1, help="Run every case N times (OUT/trial-<n>, use --temperature > 0) and report pass^k."),
    ] = 1,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.0,
    cache: Annotated[
        bool, typer.Option(help="Answer repeated requests from OUT/llm-cache.sqlite (a re-run sends nothing).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", callback=out_dir,
            help="Run folder: results/, bfcl-results/, scores/bfcl, scores/semantic, errors.jsonl (default "
            "./evals/<model>-<style>); rerun to resume.",
        ),
    ] = None,
    quiet: Quiet = False,
    max_record_mb: MaxRecordMb = None,
    max_depth: MaxDepth = None,
) -> None:
    """Run a model live on BFCL's categories (multi-turn ones on BFCL's simulators) and score it in both modes."""
    options = dict(locals())
    from callforge.cli.progress import job_bar
    from callforge.evaluate import EvalConfig, Style, eval_folder_name, evaluate_model
    from callforge.run import executor_of

    if agent is not None and style == "prompting":
        raise typer.BadParameter(
            "--agent needs --style fc: a strategy reads and checks native tool calls, and in prompting style the "
            "calls are Python text it cannot see (docs/agent.md, Evaluating a strategy)",
            param_hint="--agent",
        )
    if agent is not None:
        from callforge.agent import make_strategy
        from callforge.core import ConfigError

        try:
            make_strategy(agent)  # an unknown name or option is refused before a model loads
        except ConfigError as exc:
            raise typer.BadParameter(str(exc), param_hint="--agent") from None
    style = style or ("fc" if agent is not None else "prompting")
    options["style"] = style
    from callforge.llm import split_spec

    split_spec(model, adapter)  # MODEL@DIR and --adapter together, or an adapter on openai:, fail before any output
    label = f"{model}@{adapter.name}" if adapter is not None else model
    folder = out or eval_folder_name(label if agent is None else f"{label}+{agent}", Style(style))
    if agent is not None:
        options["model"] = _agent_backend(agent, options, folder)
    if trials > 1 and temperature == 0 and not quiet:
        typer.echo(
            f"note: {trials} trials at temperature 0 repeat the same answers on a deterministic model; "
            "pass --temperature 0.7 (say) to measure consistency",
            err=True,
        )
    config = config_from(EvalConfig, options, categories=_split(categories), out=folder)
    with job_bar(model, disable=quiet) as show:
        report = evaluate_model(config, progress=show, executor=executor_of(ray))
    if not report.scores:
        first_id, first_error = report.failed[0] if report.failed else ("", "no case was run")
        nothing(
            f"every request to {report.model} failed ({len(report.failed)} of {report.cases} cases; {first_id}: "
            f"{first_error}); nothing to score. Errors are in {report.out / 'errors.jsonl'}; fix the endpoint and "
            "run the same command again"
        )
    print_live_report(report)
    typer.echo(report_hint(report.out), err=True)
    if report.pass_hat:
        print_pass_hat(report)
    if report.failed:
        partial(
            f"{len(report.failed)} of {report.cases} cases have no result and are not scored (see "
            f"{report.out / 'errors.jsonl'}); run the same command again to retry them"
        )


def _agent_backend(agent: str, options: dict[str, Any], folder: Path) -> Any:
    """The model's backend wrapped so that each request is one step of the strategy `agent`; closed with the run."""
    from callforge.agent import StrategyBackend
    from callforge.llm import make_backend
    from callforge.run import LLM_CACHE

    backend = make_backend(
        options["model"],
        base_url=options["base_url"],
        api_key=options["api_key"],
        tool_mode=options["tool_mode"],
        concurrency=options["concurrency"],
        rpm=options["rpm"],
        timeout=options["timeout"],
        cache=folder / LLM_CACHE if options["cache"] else None,
        adapter=options["adapter"],
    )
    options["adapter"] = None  # applied here, inside the strategy's backend
    if options["cache"]:
        folder.mkdir(parents=True, exist_ok=True)
    return StrategyBackend(backend, agent, close=True)  # named as given, options included


def end_of_score(report: Any, results: Path) -> None:
    """Status 4 when no result was scored, 3 when suite entries have no result or results are not in the suite."""
    scored = sum(s.total for s in report.categories.values())
    entries = sum(s.size for s in report.categories.values())
    chosen = {c.value for c in report.categories}
    strays = [i for i in report.unknown_ids if i.rsplit("_", 1)[0] in chosen]
    if scored == 0:
        example = f" (e.g. {report.unknown_ids[0]})" if report.unknown_ids else ""
        nothing(f"nothing scored: no result in {results} is an entry of the chosen categories of the suite{example}")
    missing = entries - scored
    if missing > 0 or strays:
        parts = []
        if missing > 0:
            parts.append(f"{missing} of {entries} entries have no result and are not scored")
        if strays:
            parts.append(f"{len(strays)} results are not entries of the suite (e.g. {strays[0]})")
        partial("; ".join(parts))


def register(app: typer.Typer) -> None:
    """Add the verb group to the app."""
    app.add_typer(eval_app, name="eval")
