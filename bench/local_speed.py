"""How fast the `local` backend generates, next to raw xllamacpp on the same GGUF, in one process.

    .venv-dev/bin/python bench/local_speed.py [--model qwen2.5-coder-0.5b] [--runs 3] [--max-tokens 128]

1. Weights: resolve (assemble on the first run, then reuse the verified cache).
2. Latency: a fresh LocalBackend's first tool call (model load + the ~430-token tools prompt)
   against a warm repeat of the same call.
3. Throughput: the same chat prompts through `LocalBackend.complete` and through raw
   `xllamacpp.Server.handle_chat_completions` (same file, n_ctx, threads, greedy, `ignore_eos` so
   both generate exactly --max-tokens tokens), interleaved request by request so both servers see
   the same history and prompt cache, best of --runs per prompt. Generated tokens / wall seconds
   of the whole call, and the ratio callforge/raw (the target is >= 0.95).
4. With --parallel-check: raw xllamacpp with 1, 2 and 4 slots, 4 requests at once, to see whether
   concurrent slots help on this machine (the backend serves one request at a time).
5. With --generate N: a `callforge generate` run on the example tools with this model (N accepted
   dialogs, at most --max-attempts attempts, into --out, resumable) and its figures: requests,
   prompt tokens (reused from llama.cpp's cache vs processed), completion tokens, seconds of model
   time, yield per kind, accepted dialogs per minute and the tokens each costs, next to the raw
   call's decode rate measured above (the ceiling: completion tokens / decode tok/s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from callforge.core import Message, ToolSpec
from callforge.llm.local import LocalBackend
from callforge.llm.weights import resolve_model

PROMPTS = [
    "Write a short poem about the sea.",
    "Explain what a hash table is.",
    "List some tips for writing clean Python code.",
]

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
)


def _raw_server(path: str, n_ctx: int, threads: int, slots: int = 1) -> tuple[Any, float]:
    import xllamacpp as xlc  # type: ignore[import-untyped]

    params = xlc.CommonParams()
    params.model.path = path
    params.n_ctx = n_ctx
    params.n_parallel = slots
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.verbosity = 0
    started = time.perf_counter()
    server = xlc.Server(params)
    return server, time.perf_counter() - started


def _request(prompt: str, max_tokens: int) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "seed": 0,
        "ignore_eos": True,
    }


async def _ours(backend: LocalBackend, prompt: str, max_tokens: int) -> tuple[int, float, float]:
    started = time.perf_counter()
    done = await backend.complete(
        [Message(role="user", content=prompt)],
        max_tokens=max_tokens,
        temperature=0.0,
        seed=0,
        ignore_eos=True,
    )
    wall = time.perf_counter() - started
    timings = (done.raw or {}).get("timings", {})
    return done.usage.completion_tokens, wall, float(timings.get("predicted_per_second", 0.0))


def _raw(server: Any, prompt: str, max_tokens: int) -> tuple[int, float, float]:
    started = time.perf_counter()
    reply = server.handle_chat_completions(_request(prompt, max_tokens))
    wall = time.perf_counter() - started
    return int(reply["usage"]["completion_tokens"]), wall, float(reply["timings"]["predicted_per_second"])


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    path = resolve_model(args.model)
    print(
        f"weights: {path} ready in {time.perf_counter() - started:.2f} s ({os.path.getsize(path) / 1e6:.0f} MB)"
    )

    backend = LocalBackend(args.model, n_ctx=args.n_ctx, threads=args.threads)
    threads = backend.threads
    tools = [WEATHER]
    question = [Message(role="user", content="What's the weather in Paris?")]
    t0 = time.perf_counter()
    first = await backend.complete(question, tools, max_tokens=64)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = await backend.complete(question, tools, max_tokens=64)
    warm_s = time.perf_counter() - t0
    calls = [f"{c.name}({c.arguments})" for c in warm.tool_calls]
    print(f"callforge load: {backend.load_s:.2f} s   threads: {threads}   n_ctx: {args.n_ctx}")
    print(
        f"tool call, first (load + tools prompt {first.usage.prompt_tokens} tok): {first_s:.2f} s   "
        f"warm: {warm_s:.2f} s   -> {calls}"
    )

    server, raw_load = _raw_server(str(path), args.n_ctx, threads)
    print(f"raw xllamacpp load: {raw_load:.2f} s")

    best_ours: dict[str, tuple[int, float, float]] = {}
    best_raw: dict[str, tuple[int, float, float]] = {}
    for run in range(args.runs):
        for prompt in PROMPTS:  # interleaved request by request; who goes first alternates per run
            if run % 2 == 0:
                raw = await asyncio.to_thread(_raw, server, prompt, args.max_tokens)
                ours = await _ours(backend, prompt, args.max_tokens)
            else:
                ours = await _ours(backend, prompt, args.max_tokens)
                raw = await asyncio.to_thread(_raw, server, prompt, args.max_tokens)
            if prompt not in best_raw or raw[1] < best_raw[prompt][1]:
                best_raw[prompt] = raw
            if prompt not in best_ours or ours[1] < best_ours[prompt][1]:
                best_ours[prompt] = ours
    tok_raw = sum(v[0] for v in best_raw.values())
    tok_ours = sum(v[0] for v in best_ours.values())
    rate_raw = tok_raw / sum(v[1] for v in best_raw.values())
    rate_ours = tok_ours / sum(v[1] for v in best_ours.values())
    decode_raw = max(v[2] for v in best_raw.values())
    decode_ours = max(v[2] for v in best_ours.values())
    print(
        f"generation ({len(PROMPTS)} prompts x {args.max_tokens} tokens, best of {args.runs}, end-to-end wall):"
    )
    print(f"  raw xllamacpp: {rate_raw:6.1f} tok/s  ({tok_raw} tokens; decode-only {decode_raw:.1f} tok/s)")
    print(
        f"  callforge    : {rate_ours:6.1f} tok/s  ({tok_ours} tokens; decode-only {decode_ours:.1f} tok/s)"
    )
    print(f"  ratio callforge/raw: {rate_ours / rate_raw:.3f}")
    print(
        f"peak RSS (both models loaded): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    await backend.aclose()
    del server

    if args.generate:
        await asyncio.to_thread(_generate_figures, args, decode_raw)  # generate() runs its own event loop

    if args.parallel_check:
        for slots in (1, 2, 4):
            srv, _ = _raw_server(str(path), args.n_ctx, threads, slots)
            jobs = [PROMPTS[i % len(PROMPTS)] for i in range(4)]
            with ThreadPoolExecutor(4) as pool:
                t0 = time.perf_counter()
                done = list(pool.map(lambda p, s=srv: _raw(s, p, args.max_tokens), jobs))
                wall = time.perf_counter() - t0
            print(
                f"raw xllamacpp, {slots} slot(s), 4 requests at once: {sum(d[0] for d in done) / wall:.1f} tok/s"
            )
            del srv


EXAMPLE_TOOLS = ("travel.py", "finance.py", "shop.py", "calendar_tools.py")


def _generate_figures(args: argparse.Namespace, decode_raw: float) -> None:
    """The main job's cost on this machine: what `make demo` does, with the accounting that explains its speed."""
    from pathlib import Path

    from callforge.generate import GenerateConfig, generate

    examples = Path(__file__).resolve().parents[1] / "examples" / "tools"
    config = GenerateConfig(
        tools=[str(examples / name) for name in EXAMPLE_TOOLS],
        model=args.generate_model or f"local:{args.model}",
        n=args.generate,
        max_attempts=args.max_attempts,
        today="2025-12-31",
        out=args.out,
        resume=Path(args.out, "manifest.json").exists(),
    )
    report = generate(config)
    tally = report.tally
    attempts = tally.accepted + tally.rejected
    prompt = sum(r.prompt_tokens for r in tally.roles.values())
    reused = sum(r.cached_prompt_tokens for r in tally.roles.values())
    completion = sum(r.completion_tokens for r in tally.roles.values())
    requests = sum(r.requests - r.cached for r in tally.roles.values() if r.prompt_tokens or r.completion_tokens)
    model_s = sum(r.seconds for role, r in tally.roles.items() if role != "tool")
    print(f"generate: {tally.accepted} accepted of {attempts} attempts in {report.wall_s:.0f} s "
          f"({tally.accepted / (report.wall_s / 60):.2f} accepted/min)")  # fmt: skip
    print(f"  model requests {requests}, {model_s:.0f} s of model time; prompt tokens {prompt:,} "
          f"(reused {reused:,} = {reused / max(prompt, 1):.0%}, processed {prompt - reused:,}), completion {completion:,}")  # fmt: skip
    per = max(tally.accepted, 1)
    print(f"  per accepted dialog: {(prompt - reused) / per:,.0f} prompt tokens processed, {completion / per:,.0f} "
          f"generated, {report.wall_s / per:.0f} s")  # fmt: skip
    if decode_raw > 0:
        print(f"  generation alone at the raw decode rate ({decode_raw:.1f} tok/s): {completion / decode_raw:.0f} s of "
              f"{model_s:.0f} s model time")  # fmt: skip
    for name, count in sorted(tally.kinds.items()):
        print(f"  {name:16s} {count.accepted}/{count.attempts}")
    print("  top reasons: " + ", ".join(f"{code} {n}" for code, n in tally.top_reasons(6)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="qwen2.5-coder-0.5b", help="registry name or path to a .gguf file")
    parser.add_argument("--runs", type=int, default=3, help="runs per prompt; the best counts")
    parser.add_argument(
        "--max-tokens", type=int, default=128, help="tokens generated per request (EOS ignored)"
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--n-ctx", type=int, default=16384, help="context window of both servers")
    parser.add_argument(
        "--parallel-check", action="store_true", help="also compare 1, 2 and 4 slots in raw xllamacpp"
    )
    parser.add_argument("--generate", type=int, default=0, help="also run generate for N accepted dialogs")
    parser.add_argument("--max-attempts", type=int, default=None, help="attempt cap for --generate")
    parser.add_argument("--generate-model", default=None, help="model spec for --generate (default: local:MODEL)")
    parser.add_argument("--out", default="out/bench-local-generate", help="run folder for --generate")
    asyncio.run(main(parser.parse_args()))
