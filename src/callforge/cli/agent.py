"""`callforge agent`: a model answers a request with tools, step by step, under a strategy; or a chat."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer

from callforge.cli.options import ApiKey, BaseUrl, MaxDepth, MaxInputMb, json_object


def agent_command(
    request: Annotated[
        str | None, typer.Argument(help="What to ask. Leave it out to chat: one user message per line on stdin.")
    ] = None,
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools", "-t", help="Tool source: .py (run sandboxed), OpenAPI spec, MCP config or URL, JSON spec. Repeat for more."
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option("--env", help="Instead of --tools: a stateful environment (bank.py, bank.py:Bank, a service spec .yaml)."),
    ] = None,
    env_init: Annotated[
        str | None,
        typer.Option("--env-init", help='With --env: the class\'s constructor arguments as JSON, e.g. \'{"accounts": {"Ada": 120}}\'.'),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="local:<name|path.gguf>, openai:<model>, fake:world or fuzz[:seed].")
    ] = "local:qwen2.5-coder-0.5b",
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy", "-s",
            help="direct, self_refine, planner_caller_summarizer, when_to_call, compiler; options after a colon, "
            "e.g. when_to_call:probe=confidence (docs/agent.md).",
        ),
    ] = "direct",
    planner_model: Annotated[
        str | None, typer.Option("--planner-model", help="planner_caller_summarizer: the planner's model (default: --model).")
    ] = None,
    caller_model: Annotated[
        str | None, typer.Option("--caller-model", help="planner_caller_summarizer: the caller's model (default: --model).")
    ] = None,
    summarizer_model: Annotated[
        str | None,
        typer.Option("--summarizer-model", help="planner_caller_summarizer: the summarizer's model (default: --model)."),
    ] = None,
    probe_model: Annotated[
        str | None, typer.Option("--probe-model", help="when_to_call: the model that plays the probe (default: --model).")
    ] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, help="Steps before the run gives up.")] = 10,
    budget: Annotated[
        int | None, typer.Option("--budget", min=1, help="Most model tokens (prompt + completion, every request) the run may spend.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="A system message to put first.")] = None,
    temperature: Annotated[float, typer.Option("--temperature", help="Sampling temperature.")] = 0.0,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Generation limit per reply.")] = 512,
    simulator_model: Annotated[
        str | None, typer.Option("--simulator-model", help="Model that plays JSON-spec tools (default: --model).")
    ] = None,
    tool_mode: Annotated[
        str | None, typer.Option("--tool-mode", help="native: tools= and tool_calls; prompt: tools in the system prompt.")
    ] = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    trace: Annotated[bool, typer.Option("--trace", help="Print every request, call and observation as JSON lines on stderr.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result (conversation, trace, usage) as JSON.")] = False,
    max_input_mb: MaxInputMb = None,
    max_depth: MaxDepth = None,
) -> None:
    """Answer a request with tools: the model calls, the calls run, until it answers (docs/agent.md).

    The answer goes to stdout; a run that stops without one (the step limit, the token budget, a
    refused request) says why on stderr and exits with status 3.
    """
    from callforge.agent import AgentConfig, make_strategy
    from callforge.llm import check_model_spec, world_notice

    roles = {
        role: spec
        for role, spec in (
            ("planner", planner_model),
            ("caller", caller_model),
            ("summarizer", summarizer_model),
            ("probe", probe_model),
        )
        if spec
    }
    for spec in (model, simulator_model, *roles.values()):
        if spec:
            check_model_spec(spec)
    if not tools and env is None:
        raise typer.BadParameter("give --tools (tool sources) or --env (a stateful environment)", param_hint="--tools")
    make_strategy(strategy)  # an unknown name is refused before a model loads
    config = AgentConfig(
        max_steps=max_steps, budget=budget, system=system, options={"temperature": temperature, "max_tokens": max_tokens}
    )
    notice = world_notice(model, simulator_model, *roles.values())
    if notice is not None:
        typer.echo(notice, err=True)
    setup: dict[str, Any] = {
        "tools": tuple(tools or ()),
        "env": env,
        "env_init": json_object(env_init, "--env-init"),
        "strategy": strategy,
        "config": config,
        "simulator": simulator_model,
        "tool_mode": tool_mode,
        "base_url": base_url,
        "api_key": api_key,
        "roles": roles,
    }
    stopped = asyncio.run(_play(model, setup, request, trace=trace, as_json=as_json))
    if stopped:
        from callforge.cli.exits import partial

        partial(stopped)


async def _play(model: str, setup: dict[str, Any], request: str | None, *, trace: bool, as_json: bool) -> str:
    """Run the request, or each line of stdin as the next user turn; why the last turn stopped unanswered, or ''."""
    from callforge.agent import open_agent
    from callforge.core import Message

    async with open_agent(model, **setup) as agent:
        history: list[Message] = []
        while True:
            line = request if request is not None else await asyncio.to_thread(_next_line)
            if line is None:  # the chat is over; each unanswered turn already said why
                return ""
            if not line.strip():
                continue
            result = await agent.run([*history, Message(role="user", content=line)])
            history = list(result.messages)
            if trace:
                sys.stderr.write(result.trace.jsonl())
            typer.echo(result.model_dump_json(indent=2) if as_json else result.text)
            stopped = "" if result.answered else f"no answer ({result.stop}): {result.detail}"
            if request is not None:
                return stopped
            if stopped:
                typer.echo(stopped, err=True)


def _next_line() -> str | None:
    if sys.stdin.isatty():
        sys.stderr.write("you> ")
        sys.stderr.flush()
    line = sys.stdin.readline()
    return line.rstrip("\n") if line else None


def register(app: typer.Typer) -> None:
    """Add the `agent` verb to the app."""
    app.command("agent")(agent_command)
