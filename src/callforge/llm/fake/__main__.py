"""CLI: `python -m callforge.llm.fake` (or `python -m callforge.llm.fake_server`).

Benchmarks run the server in its own process so the client's CPU is measured alone; the first
stdout line is the base URL, and SIGTERM or SIGINT stops it (counters go to stderr as JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import orjson

from callforge.llm.fake.faults import FAULT_HELP, Fault
from callforge.llm.fake.policy import DefaultRule, Echo, FakeServerError, Policy, Reply, Scripted
from callforge.llm.fake.server import FakeOpenAIServer


def _fault(spec: str) -> Fault:
    try:
        return Fault.parse(spec)
    except FakeServerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The CLI's options, one per `FakeOpenAIServer` argument."""
    kinds = "; ".join(f"{kind}: {text}" for kind, text in FAULT_HELP.items())
    parser = argparse.ArgumentParser(
        prog="python -m callforge.llm.fake_server",
        description="Fake OpenAI-compatible chat-completions server on 127.0.0.1 (prints the base URL first).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0 = a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each request takes (default 0)")
    parser.add_argument(
        "--capacity", type=int, default=None, help="requests processed at once (default unlimited)"
    )
    parser.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND@WHEN",
        help=f"inject a fault, repeatable: 429@0,1 | 500@first=2 | drop@p=0.1,seed=7 | hang@3,hang=5. Kinds: {kinds}",
    )
    parser.add_argument(
        "--policy",
        choices=("default", "echo", "world"),
        default="default",
        help="reply policy; world: the fake:world model, which plays every role of `callforge generate`",
    )
    parser.add_argument(
        "--script", type=Path, help="JSON list of replies to give in order (overrides --policy)"
    )
    parser.add_argument("--model", default="fake-model", help="model name of /v1/models")
    parser.add_argument(
        "--record", action="store_true", help="keep request records (memory grows per request)"
    )
    parser.add_argument(
        "--overflow", choices=("queue", "429"), default="queue",
        help="past capacity: queue requests (as vLLM does) or turn them away with 429 (as a provider does)",
    )  # fmt: skip
    return parser


async def serve(args: argparse.Namespace) -> dict[str, object]:
    """Serve until SIGTERM/SIGINT; return the final counters."""
    policy: Policy = Echo() if args.policy == "echo" else DefaultRule()
    if args.policy == "world":
        from callforge.llm.fake.world import WorldPolicy

        policy = WorldPolicy()
    if args.script is not None:
        policy = Scripted(Reply.from_json(item) for item in orjson.loads(args.script.read_bytes()))
    server = FakeOpenAIServer(
        policy,
        latency_s=args.latency,
        capacity=args.capacity,
        faults=args.fault,
        model=args.model,
        port=args.port,
        record=args.record,
        overflow=args.overflow,
    )
    halt = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, halt.set)
    async with server:
        print(server.base_url, flush=True)
        await halt.wait()
    return server.stats.as_json()


def main(argv: list[str] | None = None) -> int:
    """Parse options, serve, print the counters to stderr on exit."""
    args = build_parser().parse_args(argv)
    try:
        stats = asyncio.run(serve(args))
    except (FakeServerError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(orjson.dumps(stats).decode(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
