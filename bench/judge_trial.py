"""A manual trial of LLMJudge on a real model, against hand-made dialogs whose defects we know.

    .venv-dev/bin/python bench/judge_trial.py [--model local:qwen2.5-coder-0.5b] [--votes 1] [--show-prompt]

Each dialog is built with one known defect (or none); the script prints, per question, what we
expect and what the judge said, with its reason, plus the prompt size in characters and in the
model's own tokens and the wall time. It is a sanity check of the prompt, not a benchmark: five
dialogs say nothing statistically about a judge.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.llm import make_backend
from callforge.llm.backend import Backend, Completion
from callforge.verify.judge import LLMJudge

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        "required": ["city"],
    },
    returns={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "temperature": {"type": "number"},
            "unit": {"type": "string"},
            "condition": {"type": "string"},
        },
    },
)
EMAIL = ToolSpec(
    name="send_email",
    description="Send an email.",
    parameters={
        "type": "object",
        "properties": {
            "to": {"type": "string", "description": "Recipient email address"},
            "subject": {"type": "string"},
            "body": {"type": "string"},
        },
        "required": ["to", "subject", "body"],
    },
    returns={
        "type": "object",
        "properties": {"status": {"type": "string"}, "message_id": {"type": "string"}},
    },
)
QUOTE = ToolSpec(
    name="get_stock_quote",
    description="Latest trade price of a stock by ticker symbol.",
    parameters={
        "type": "object",
        "properties": {"symbol": {"type": "string", "description": "Ticker, e.g. AAPL"}},
        "required": ["symbol"],
    },
    returns={
        "type": "object",
        "properties": {
            "symbol": {"type": "string"},
            "price": {"type": "number"},
            "currency": {"type": "string"},
            "change_pct": {"type": "number"},
        },
    },
)


class Recording:
    """Wraps a backend and keeps every Completion, so each request's own prompt size can be read."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.model = inner.model
        self.completions: list[Completion] = []

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        completion = await self.inner.complete(messages, tools, **options)
        self.completions.append(completion)
        return completion


def _call(name: str, args: dict[str, object], cid: str) -> Message:
    return Message(role="assistant", tool_calls=(ToolCall(name=name, arguments=args, id=cid),))


def _out(value: object, cid: str) -> Message:
    return Message(role="tool", tool_call_id=cid, content=json.dumps(value))


CASES: list[tuple[str, Dialog, dict[str, str]]] = [
    (
        "clean weather lookup",
        Dialog(
            tools=(WEATHER, EMAIL),
            messages=(
                Message(role="user", content="What's the weather in Paris right now, in celsius?"),
                _call("get_weather", {"city": "Paris", "unit": "celsius"}, "c1"),
                _out({"city": "Paris", "temperature": 18, "unit": "celsius", "condition": "sunny"}, "c1"),
                Message(role="assistant", content="It is 18 °C and sunny in Paris."),
            ),
        ),
        {
            "arguments_grounded": "pass",
            "intent_fulfilled": "pass",
            "outputs_consistent": "pass",
            "answer_faithful": "pass",
        },
    ),
    (
        "hallucinated email address",
        Dialog(
            tools=(WEATHER, EMAIL),
            messages=(
                Message(role="user", content="Email Bob that the meeting moved to 3pm."),
                _call(
                    "send_email",
                    {
                        "to": "bob.miller@acme-corp.com",
                        "subject": "Meeting moved",
                        "body": "The meeting is now at 3pm.",
                    },
                    "c1",
                ),
                _out({"status": "sent", "message_id": "m-5521"}, "c1"),
                Message(role="assistant", content="Done, I emailed Bob that the meeting is now at 3pm."),
            ),
        ),
        {
            "arguments_grounded": "fail",
            "intent_fulfilled": "pass",
            "outputs_consistent": "pass",
            "answer_faithful": "pass",
        },
    ),
    (
        "unfaithful final answer",
        Dialog(
            tools=(QUOTE,),
            messages=(
                Message(role="user", content="How much is Apple stock (AAPL) right now?"),
                _call("get_stock_quote", {"symbol": "AAPL"}, "c1"),
                _out({"symbol": "AAPL", "price": 189.3, "currency": "USD", "change_pct": -0.4}, "c1"),
                Message(role="assistant", content="Apple (AAPL) is trading at $205.10, up 3% today."),
            ),
        ),
        {
            "arguments_grounded": "pass",
            "intent_fulfilled": "pass",
            "outputs_consistent": "pass",
            "answer_faithful": "fail",
        },
    ),
    (
        "wrong refusal (should have called)",
        Dialog(
            tools=(WEATHER, QUOTE),
            messages=(
                Message(role="user", content="Is it raining in Tokyo?"),
                Message(role="assistant", content="Sorry, I have no way to check the weather."),
            ),
        ),
        {"no_call_justified": "fail"},
    ),
    (
        "right clarification (no call)",
        Dialog(
            tools=(WEATHER,),
            messages=(
                Message(role="user", content="What's the weather like?"),
                Message(role="assistant", content="Which city would you like the weather for?"),
            ),
        ),
        {"no_call_justified": "pass"},
    ),
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    parser.add_argument("--votes", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=1024)
    parser.add_argument("--max-reason-chars", type=int, default=400, help="0: no cap in the schema")
    parser.add_argument("--no-constrain", action="store_true", help="do not send json_schema")
    parser.add_argument("--show-prompt", action="store_true", help="print the first dialog's prompt")
    args = parser.parse_args()

    backend = Recording(make_backend(args.model))
    judge = LLMJudge(
        backend,
        votes=args.votes,
        max_tokens=args.max_tokens,
        max_reason_chars=args.max_reason_chars or None,
        constrain=not args.no_constrain,
    )
    agree = total = 0
    for title, dialog, expected in CASES:
        prompt = judge.prompt_for(dialog)
        if args.show_prompt and total == 0:
            for message in prompt:
                print(f"--- {message.role}\n{message.content}")
        backend.completions.clear()
        started = time.perf_counter()
        result = await judge.check(dialog)
        wall = time.perf_counter() - started
        chars = sum(len(m.content or "") for m in prompt)
        usage = result.meta["usage"]
        print(
            f"\n=== {title}: prompt {chars} chars / {backend.completions[0].usage.prompt_tokens} tokens, "
            f"{usage['completion_tokens']} completion tokens in {usage['requests']} request(s), {wall:.1f}s"
        )
        for key, row in result.meta["tally"].items():
            want = expected.get(key, "?")
            got = row["outcome"]
            total += 1
            agree += got == want
            mark = "ok" if got == want else "XX"
            print(f"  {mark} {key:20} expected {want:4}  judge {got:9}  votes {row['votes']}")
        for verdict in result.failures:
            print(f"     {verdict.code}: {verdict.message[:300]}")
        for retry in result.meta.get("retries", []):
            print(f"     vote {retry['vote']} retried: {retry['error']}")
        for n, completion in enumerate(backend.completions):
            print(f"     raw #{n} ({completion.finish_reason}): {' '.join(completion.text.split())[:600]}")
    print(f"\njudge agreed with the expected verdict on {agree} of {total} questions ({args.model})")


if __name__ == "__main__":
    asyncio.run(main())
