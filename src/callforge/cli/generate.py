"""`callforge generate`: synthesize verified function-calling dialogs from tool files into a Run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from callforge.cli.exits import left_undone
from callforge.cli.options import (
    ApiKey,
    BaseUrl,
    MaxAliasNodes,
    MaxDepth,
    MaxInputMb,
    MaxRefHops,
    Quiet,
    Ray,
    config_from,
    http_url,
    iso_date,
    json_object,
    out_dir,
)
from callforge.cli.report import report_hint


def generate_command(
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools",
            "-t",
            help="Tool source: .py (run sandboxed), OpenAPI spec, MCP config, 'mcp:COMMAND' or URL, JSON spec or pool file. Repeat for more.",
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            help="Instead of --tools: a stateful environment (bank.py, bank.py:Bank, or a service spec .yaml); "
            "the run makes multi-turn episodes over it, each proven and judged by its end state.",
        ),
    ] = None,
    twists: Annotated[
        str | None,
        typer.Option(
            "--twists",
            help="With --env: how often each episode twist is drawn, e.g. plain=2,missing=1,change_mind=1,error=1 (the default).",
        ),
    ] = None,
    env_init: Annotated[
        str | None,
        typer.Option("--env-init", help='With --env: the class\'s constructor arguments as JSON, e.g. \'{"accounts": {"Ada": 120}}\'.'),
    ] = None,
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Accepted dialogs to produce.")] = 20,
    out: Annotated[Path, typer.Option("--out", "-o", callback=out_dir, help="Run folder (records, manifest, caches).")] = Path("runs/generate"),
    model: Annotated[
        str,
        typer.Option("--model", "-m", help="Model for the planner, user and assistant roles (1.5B: callforge[local-large])."),
    ] = "local:qwen2.5-coder-1.5b",
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="Add an LLM judge stage with this model (off by default).")
    ] = None,
    simulator_model: Annotated[
        str | None, typer.Option("--simulator-model", help="Model that plays JSON-spec tools (default: --model).")
    ] = None,
    mix: Annotated[
        str | None,
        typer.Option("--mix", help="Scenario kinds and weights, e.g. single=2,nested=1 (default: the documented mix)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Run seed: same seed, same tools, same model -> same run.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out (after a kill, or with a larger --n).")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Dialogs in progress at once.")] = 4,
    max_attempts: Annotated[
        int | None, typer.Option("--max-attempts", min=1, help="Stop after this many attempts (default 20 x N).")
    ] = None,
    today: Annotated[
        str | None, typer.Option("--today", callback=iso_date, help="The date the roles are told it is (default: today, kept on resume).")
    ] = None,
    dedup_threshold: Annotated[
        float, typer.Option("--dedup-threshold", help="User-text similarity that counts as a near copy.")
    ] = 0.8,
    max_same_calls: Annotated[
        int, typer.Option("--max-same-calls", min=1, help="At most this many accepted dialogs may make exactly the same calls.")
    ] = 2,
    replays: Annotated[
        int, typer.Option("--replays", min=0, help="Replay a plan whose dialog the rules reject, with new seeds, up to N times.")
    ] = 1,
    reasoning: Annotated[
        bool,
        typer.Option(
            "--reasoning",
            help="The assistant writes a short thought before its calls (which tool, why, where each value "
            "comes from), kept in the dialog and checked against the calls.",
        ),
    ] = False,
    difficulty: Annotated[
        str | None,
        typer.Option(
            "--difficulty",
            help="easy, medium, hard or auto: steer kinds, sizes, distractors and optional values toward a level; auto (with --focus) aims where "
            "the selection's target model is nearest 50% accurate. The summary shows the accepted dialogs' measured levels.",
        ),
    ] = None,
    focus: Annotated[
        str | None,
        typer.Option(
            "--focus",
            help="A `callforge select` output: draw the tools and kinds its target model failed, one level harder.",
        ),
    ] = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    rest_base_url: Annotated[
        str | None, typer.Option("--rest-base-url", callback=http_url, help="Server for OpenAPI tools (default: the spec's first server).")
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="Send only GET/HEAD/OPTIONS (OpenAPI) and MCP tools their server declares read-only; "
            "simulate other calls' responses, never send them.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest's counts and accounting as JSON.")] = False,
    ray: Ray = None,
    quiet: Quiet = False,
    max_input_mb: MaxInputMb = None,
    max_depth: MaxDepth = None,
    max_alias_nodes: MaxAliasNodes = None,
    max_ref_hops: MaxRefHops = None,
) -> None:
    """Generate verified tool-calling dialogs: plan, play out with the model, verify, keep the accepted ones.

    Accepted dialogs go to OUT/accepted/, rejected ones (with every verdict) to OUT/rejected/, and
    OUT/manifest.json holds the config, counts and token accounting. A killed run continues with
    the same command plus --resume, losing and repeating nothing. --ray plays and judges the
    attempts in shards on a Ray cluster; this process dedups and writes them (docs/scale-out.md).
    """
    options = dict(locals())
    from callforge.cli.progress import log_lines, progress_bar, resumable
    from callforge.generate import GenerateConfig, GenerateProgress, generate
    from callforge.llm import check_model_spec, world_notice
    from callforge.run import executor_of

    for spec in (model, judge_model, simulator_model):
        if isinstance(spec, str) and spec:
            check_model_spec(spec)  # before the first progress line: a typo is refused, not logged as a start
    if not tools and env is None:
        raise typer.BadParameter("give --tools (tool sources) or --env (a stateful environment)", param_hint="--tools")
    if ray is not None and env is not None:
        raise typer.BadParameter(
            "--env episodes run in one process (each is proven on the environment's state as it plays); "
            "drop --ray, or generate from --tools on Ray",
            param_hint="--ray",
        )
    config = config_from(GenerateConfig, options, tools=tuple(tools or ()), env_init=json_object(env_init, "--env-init"))
    notice = world_notice(model, judge_model, simulator_model)
    if notice is not None:
        typer.echo(notice, err=True)
    logged = log_lines("generate", disable=quiet or as_json)
    logged(f"0/{n} accepted, writing to {out}")
    hint = f"what was accepted is in {out}; run the same command with --resume to continue"
    with resumable("generate", hint), progress_bar("generate", disable=quiet or as_json, info=True) as bar:
        task = bar.add_task("generate", total=n, info="")

        def show(state: GenerateProgress) -> None:
            bar.update(task, completed=min(state.accepted, n), info=progress_line(state))
            logged(f"{state.accepted}/{n} accepted · {progress_line(state)}")

        report = generate(config, progress=show, executor=executor_of(ray))
    if as_json:
        import orjson

        typer.echo(orjson.dumps(report.tally.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(report)
    typer.echo(report_hint(report.out), err=True)
    if not report.complete:
        left_undone(
            report.target - report.accepted,
            report.target,
            f"{report.accepted} of {report.target} dialogs accepted: {report.stop_reason}; run the same command "
            "with --resume and a larger --max-attempts to go on",
        )


def progress_line(state: Any) -> str:
    """The live line: rejected with top reasons, tokens, ETA."""
    reasons = ", ".join(f"{code} {count}" for code, count in state.top_reasons(2))
    line = f"{state.rejected} rejected" + (f" ({reasons})" if reasons else "")
    line += f" · {state.tokens:,} tokens"
    eta = state.eta_s
    if eta is not None:
        line += f" · ETA {_duration(eta)}"
    if state.errors:
        line += f" · [red]{state.errors} endpoint errors[/red]"
    return line


def print_summary(report: Any) -> None:
    """Yield per kind, top reasons and token accounting, then where the records are."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    tally = report.tally
    attempts = tally.accepted + tally.rejected
    kinds = Table(title=f"generate: {tally.accepted} accepted of {attempts} attempts (target {report.target})")
    for column in ("kind", "attempts", "accepted", "yield"):
        kinds.add_column(column, justify="left" if column == "kind" else "right")
    for name, count in sorted(tally.kinds.items()):
        kinds.add_row(name, str(count.attempts), str(count.accepted), f"{100 * count.yield_:.0f}%")
    console.print(kinds)
    if tally.reasons:
        reasons = Table(title="top rejection reasons")
        reasons.add_column("code")
        reasons.add_column("dialogs", justify="right")
        for code, count in tally.top_reasons(8):
            reasons.add_row(code, str(count))
        console.print(reasons)
    usage = Table(title="model usage by role")
    for column in ("role", "requests", "cached", "prompt tokens", "of them reused", "completion tokens", "seconds"):
        usage.add_column(column, justify="left" if column == "role" else "right")
    for role, spent in sorted(tally.roles.items()):
        usage.add_row(
            role, str(spent.requests), str(spent.cached), f"{spent.prompt_tokens:,}", f"{spent.cached_prompt_tokens:,}",
            f"{spent.completion_tokens:,}", f"{spent.seconds:.1f}",
        )  # fmt: skip
    console.print(usage)
    processed = sum(spent.prompt_tokens - spent.cached_prompt_tokens for spent in tally.roles.values())
    rate = tally.accepted / (report.wall_s / 60) if report.wall_s > 0 else 0.0  # both over every session
    console.print(
        f"{tally.tokens:,} tokens, {tally.tokens_per_accepted:,.0f} per accepted dialog "
        f"({processed:,} prompt tokens processed, the rest reused from the server's cache) · wall time "
        f"{_duration(report.wall_s)} (this session {_duration(report.session_wall_s)}) · {rate:.2f} accepted/min"
    )
    levels = tally.difficulty()
    if sum(levels[k] for k in ("easy", "medium", "hard")):
        console.print(
            f"difficulty of the accepted dialogs: easy {levels['easy']} · medium {levels['medium']} · "
            f"hard {levels['hard']} (mean score {levels['mean_score']:.2f})"
        )
    if not report.complete:
        console.print(f"[yellow]stopped before the target: {report.stop_reason}[/yellow]")
    console.print(f"accepted: {report.out / 'accepted'}/   rejected: {report.out / 'rejected'}/   manifest: {report.manifest_path}")


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def register(app: typer.Typer) -> None:
    """Add the verb to the app."""
    app.command("generate")(generate_command)
