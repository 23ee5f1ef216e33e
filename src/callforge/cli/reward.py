"""`callforge reward`: score completions with the RL rewards, and run the hack suite."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from callforge.cli.exits import left_undone, partial
from callforge.cli.options import AsJson, out_file

if TYPE_CHECKING:
    from callforge.reward import ScoreReport

reward_app = typer.Typer(help="Verifiable rewards for RL on tool calls (docs/reward.md).", no_args_is_help=True)


@reward_app.command("score")
def score_command(
    data: Annotated[Path, typer.Argument(help="Dataset JSONL with the reward columns (tools, reference_calls; a steps export works as is).")],
    completions: Annotated[Path, typer.Argument(help='JSONL of {"id", "completion"} or {"id", "completions": [...]}; without ids, line n is row n.')],
    mix: Annotated[str, typer.Option("--mix", help="default, one component, or weights: format=0.2,exact=1,execution=1,end_state=1.")] = "default",
    mode: Annotated[str, typer.Option("--mode", help="The exact component's rules: semantic or bfcl.")] = "semantic",
    tools: Annotated[list[str] | None, typer.Option("--tools", "-t", help="Tool sources to execute calls on (a .py file runs in the sandbox, OpenAPI, MCP).")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Environment for the end-state component (bank.py:Bank, shop.yaml); a row's own wins.")] = None,
    max_extra_calls: Annotated[int, typer.Option("--max-extra-calls", min=0, help="Calls beyond the reference's that end state tolerates.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", "-o", callback=out_file, help="Write each completion's result, with its reasons, as JSONL.")] = None,
    as_json: AsJson = False,
) -> None:
    """Score each completion against its dataset row and print a table per component."""
    from callforge.evaluate import Mode
    from callforge.reward import make_reward, score_files

    try:
        chosen = Mode(mode)
    except ValueError:
        raise typer.BadParameter(f"{mode!r} is not a mode; use semantic or bfcl", param_hint="--mode") from None
    reward = make_reward(
        mix,
        mode=chosen,
        executor=tuple(tools) if tools else None,
        environment=env,
        max_extra_calls=max_extra_calls,
        base=data.parent,
    )
    try:
        report = score_files(data, completions, reward, out=out)
    finally:
        reward.close()
    if as_json:
        typer.echo(
            json.dumps(
                {"components": [asdict(c) for c in report.components], "scored": len(report.results),
                 "unmatched": list(report.unmatched)},
                indent=2,
            )
        )
    else:
        _print_table(report, mix)
    total = len(report.unmatched) + len(set(report.ids))
    left_undone(
        len(report.unmatched),
        total,
        f"{len(report.unmatched)} completion line(s) name no dataset row (e.g. {report.unmatched[:3]})",
    )


def _print_table(report: ScoreReport, mix: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"callforge reward · mix={mix} · {len(report.results)} completions")
    table.add_column("component")
    table.add_column("scored", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("full", justify="right")
    table.add_column("codes", overflow="fold")
    for c in report.components:
        codes = ", ".join(f"{code} ×{n}" for code, n in list(c.codes.items())[:4])
        mean = "–" if c.mean is None else f"{c.mean:.3f}"
        table.add_row(c.component, str(c.scored), mean, str(c.full), codes)
    Console().print(table)


@reward_app.command("suite")
def suite_command(as_json: AsJson = False) -> None:
    """Run the hack suite: adversarial completions must earn no more than a wrong answer (prints the docs table)."""
    from callforge.reward import run_suite

    report = run_suite()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {"row": o.case.row, "completion": o.case.name, "kind": o.case.kind, "scores": o.scores,
                     "codes": o.codes, "holds": o.holds}
                    for o in report.outcomes
                ],
                indent=2,
            )
        )
    else:
        typer.echo(report.markdown(), nl=False)
        typer.echo(f"\n{sum(o.holds for o in report.outcomes)} of {len(report.outcomes)} cases hold; weights {report.weights}")
    if not report.ok:
        partial(
            f"{len(report.failures)} suite case(s) do not hold: "
            + "; ".join(f"{o.case.row}/{o.case.name}: {o.why}" for o in report.failures[:5])
        )


def register(app: typer.Typer) -> None:
    """Add the `reward` group to the app."""
    app.add_typer(reward_app, name="reward")
