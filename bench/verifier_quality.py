"""How well the verification rules catch defects, and what they cost, on BFCL's ground truth as dialogs.

    python bench/verifier_quality.py [--data ../shared/bfcl/data] [--judge local:qwen2.5-coder-0.5b --judge-sample 6]

1. Clean dialogs: every Python single-turn BFCL entry's ground truth rendered as a dialog (the
   `bfcl` reader), then made a full trajectory: a tool message per call with a deterministic output
   and a final answer citing those outputs. No-call (irrelevance) entries stay as they are.
2. False rejections: the share of clean dialogs the rules reject (target <= 1%), with the codes.
3. Defects: for each kind, take clean dialogs the rules accept, inject one defect (seeded), and count
   how many the rules now reject (target >= 99% for the rule-detectable kinds), and how many with
   the code meant for that defect.
4. Throughput: rule-layer dialogs/s on one core over the single-turn dialogs with up to 5 tools
   (target >= 5,000).
5. With --judge: rules + judge on samples of clean dialogs and of the judge-level defects.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.formats import read_dialogs
from callforge.verify import Cascade, RuleStage

REPO = Path(__file__).resolve().parents[1]
PYTHON_CATEGORIES = (
    "simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance", "live_simple",
    "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance",
)  # fmt: skip

Injector = Callable[[Dialog, random.Random], Dialog | None]


# --- clean dialogs -------------------------------------------------------------------------------


def category_of(dialog: Dialog) -> str:
    category = str(dialog.meta.category or "")
    return category if category in PYTHON_CATEGORIES else ""


def output_for(call: ToolCall, n: int) -> dict[str, Any]:
    """A deterministic, plausible output: a number derived from the call, so answers can cite it."""
    seed = sum(orjson.dumps([call.name, call.arguments], option=orjson.OPT_SORT_KEYS)) + 31 * n
    return {"status": "done", "result": round(10 + (seed % 9000) / 7, 2)}


def full_trajectory(dialog: Dialog) -> Dialog:
    """Add a tool message per call and a final answer that cites every output."""
    messages = list(dialog.messages)
    last = messages[-1]
    if last.role != "assistant" or not last.tool_calls:
        return dialog
    answer = []
    for n, call in enumerate(last.tool_calls):
        output = output_for(call, n)
        messages.append(Message(role="tool", tool_call_id=call.id, content=orjson.dumps(output).decode()))
        answer.append(f"{call.name} gave {output['result']}")
    messages.append(Message(role="assistant", content="Here is what I found: " + "; ".join(answer) + "."))
    return dialog.model_copy(update={"messages": tuple(messages)})


def load_clean(data: Path) -> list[Dialog]:
    dialogs = []
    for dialog in read_dialogs(data, "bfcl"):
        if category_of(dialog):
            dialogs.append(full_trajectory(dialog))
    return dialogs


# --- defect injectors ----------------------------------------------------------------------------


def _replace_call(dialog: Dialog, index: int, position: int, call: ToolCall | None) -> Dialog:
    messages = list(dialog.messages)
    calls = list(messages[index].tool_calls)
    if call is None:
        removed = calls.pop(position)
        messages = [m for m in messages if not (m.role == "tool" and m.tool_call_id == removed.id)]
        if messages[-1].role == "assistant" and messages[-1].content and not messages[-1].tool_calls:
            answer = messages[-1].content
            text = "; ".join(p for p in answer.split("; ") if not p.startswith(f"{removed.name} gave ") or
                             str(output_for(removed, position)["result"]) not in p)
            messages[-1] = messages[-1].model_copy(update={"content": text})
    else:
        calls[position] = call
    messages[index] = messages[index].model_copy(update={"tool_calls": tuple(calls)})
    return dialog.model_copy(update={"messages": tuple(messages)})


def _call_sites(dialog: Dialog) -> list[tuple[int, int, ToolCall]]:
    return [
        (i, j, c) for i, m in enumerate(dialog.messages) if m.role == "assistant" for j, c in enumerate(m.tool_calls)
    ]


def _tool(dialog: Dialog, name: str) -> ToolSpec | None:
    return next((t for t in dialog.tools if t.name == name), None)


def _pick_argument(
    dialog: Dialog, rng: random.Random, accept: Callable[[Any, dict[str, Any], ToolSpec], bool]
) -> tuple[int, int, ToolCall, str] | None:
    options = []
    for i, j, call in _call_sites(dialog):
        tool = _tool(dialog, call.name)
        if tool is None:
            continue
        for key, value in call.arguments.items():
            schema = tool.properties.get(key)
            if isinstance(schema, dict) and accept(value, schema, tool):
                options.append((i, j, call, key))
    return rng.choice(options) if options else None


def _with_argument(dialog: Dialog, site: tuple[int, int, ToolCall, str], value: Any, drop: bool = False) -> Dialog:
    i, j, call, key = site
    arguments = dict(call.arguments)
    if drop:
        del arguments[key]
    else:
        arguments[key] = value
    return _replace_call(dialog, i, j, call.model_copy(update={"arguments": arguments}))


def wrong_type(dialog: Dialog, rng: random.Random) -> Dialog | None:
    def ok(value: Any, schema: dict[str, Any], tool: ToolSpec) -> bool:
        return schema.get("type") in ("string", "integer", "number", "boolean", "array", "object")

    site = _pick_argument(dialog, rng, ok)
    if site is None:
        return None
    value = site[2].arguments[site[3]]
    kind = _tool(dialog, site[2].name).properties[site[3]]["type"]  # type: ignore[union-attr]
    bad = {"string": 12345, "integer": str(value), "number": str(value), "boolean": "yes", "array": "a, b",
           "object": "key=value"}[kind]  # fmt: skip
    return _with_argument(dialog, site, bad)


def hallucinated_function(dialog: Dialog, rng: random.Random) -> Dialog | None:
    sites = _call_sites(dialog)
    if not sites:
        return None
    i, j, call = rng.choice(sites)
    return _replace_call(dialog, i, j, call.model_copy(update={"name": call.name + "_advanced"}))


def hallucinated_parameter(dialog: Dialog, rng: random.Random) -> Dialog | None:
    sites = _call_sites(dialog)
    if not sites:
        return None
    i, j, call = rng.choice(sites)
    arguments = dict(call.arguments)
    arguments["include_metadata"] = True
    return _replace_call(dialog, i, j, call.model_copy(update={"arguments": arguments}))


def missing_required(dialog: Dialog, rng: random.Random) -> Dialog | None:
    def ok(value: Any, schema: dict[str, Any], tool: ToolSpec) -> bool:
        return True

    options = []
    for i, j, call in _call_sites(dialog):
        tool = _tool(dialog, call.name)
        if tool is not None:
            options += [(i, j, call, key) for key in tool.required if key in call.arguments]
    if not options:
        return None
    return _with_argument(dialog, rng.choice(options), None, drop=True)


STRANGE_STRINGS = ("Quillbrook Harbor", "zephyr-omega-77", "Marrowgate", "Tessellate Inc", "ultraviolet kiwi")


def _grounded_candidate(value: Any, schema: dict[str, Any], tool: ToolSpec) -> bool:
    if "enum" in schema or ("default" in schema and schema["default"] == value):
        return False
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, int | float) and value not in (0, 1)


VALUE_POOL: dict[str, list[Any]] = {}
"""Argument name -> values other BFCL dialogs give it, so an injected value is a plausible one."""


def fill_value_pool(dialogs: list[Dialog]) -> None:
    for dialog in dialogs:
        for _, _, call in _call_sites(dialog):
            for key, value in call.arguments.items():
                if isinstance(value, str) and value.strip():
                    VALUE_POOL.setdefault(key, []).append(value)


def ungrounded_value(dialog: Dialog, rng: random.Random) -> Dialog | None:
    """A value for the argument taken from another dialog (another city, another title) when one exists."""
    site = _pick_argument(dialog, rng, _grounded_candidate)
    if site is None:
        return None
    value = site[2].arguments[site[3]]
    if isinstance(value, str):
        from callforge.verify.rules.normalize import Haystack

        text = Haystack()
        for message in dialog.messages:
            if message.role in ("system", "user") and message.content:
                text.add(message.content)
        others = [v for v in VALUE_POOL.get(site[3], []) if not text.has_string(v)]
        bad: Any = rng.choice(others) if others else rng.choice(STRANGE_STRINGS)
    elif isinstance(value, int):
        bad = value + 7919
    else:
        bad = round(value + 7919.37, 2)
    return _with_argument(dialog, site, bad)


def swapped_values(dialog: Dialog, rng: random.Random) -> Dialog | None:
    options = []
    for i, j, call in _call_sites(dialog):
        keys = list(call.arguments)
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                va, vb = call.arguments[keys[a]], call.arguments[keys[b]]
                if type(va) is type(vb) and va != vb and not isinstance(va, bool | dict | list):
                    options.append((i, j, call, keys[a], keys[b]))
    if not options:
        return None
    i, j, call, a, b = rng.choice(options)
    arguments = dict(call.arguments)
    arguments[a], arguments[b] = arguments[b], arguments[a]
    return _replace_call(dialog, i, j, call.model_copy(update={"arguments": arguments}))


def dropped_parallel_call(dialog: Dialog, rng: random.Random) -> Dialog | None:
    if dialog.meta.scenario not in ("parallel", "parallel_multiple"):
        return None
    sites = [s for s in _call_sites(dialog) if len(dialog.messages[s[0]].tool_calls) >= 2]
    if not sites:
        return None
    i, j, _ = rng.choice(sites)
    return _replace_call(dialog, i, j, None)


def extra_call(dialog: Dialog, rng: random.Random) -> Dialog | None:
    sites = _call_sites(dialog)
    if not sites:
        return None
    i, _, call = rng.choice(sites)
    messages = list(dialog.messages)
    copy = call.model_copy(update={"id": (call.id or "call") + "_again"})
    messages[i] = messages[i].model_copy(update={"tool_calls": (*messages[i].tool_calls, copy)})
    tool_at = max(k for k, m in enumerate(messages) if m.role == "tool" or k == i)
    messages.insert(tool_at + 1, Message(role="tool", tool_call_id=copy.id, content=orjson.dumps(output_for(call, 0)).decode()))
    return dialog.model_copy(update={"messages": tuple(messages)})


def call_in_no_call(dialog: Dialog, rng: random.Random) -> Dialog | None:
    if dialog.meta.scenario != "no_call" or not dialog.tools:
        return None
    from callforge.llm.fuzz import SchemaFuzzBackend

    tool = rng.choice(dialog.tools)
    backend = SchemaFuzzBackend(seed=rng.randrange(1 << 30))
    completion = asyncio.run(backend.complete(list(dialog.messages[:-1]), [tool]))
    calls = tuple(c.model_copy(update={"id": f"call_{k}"}) for k, c in enumerate(completion.tool_calls[:1]))
    if not calls:
        return None
    messages = list(dialog.messages)
    messages[-1] = Message(role="assistant", tool_calls=calls)
    return dialog.model_copy(update={"messages": tuple(messages)})


def broken_link(dialog: Dialog, rng: random.Random) -> Dialog | None:
    tools = [k for k, m in enumerate(dialog.messages) if m.role == "tool"]
    if not tools:
        return None
    k = rng.choice(tools)
    messages = list(dialog.messages)
    messages[k] = messages[k].model_copy(update={"tool_call_id": "call_unknown_9"})
    return dialog.model_copy(update={"messages": tuple(messages)})


def answer_contradicts(dialog: Dialog, rng: random.Random) -> Dialog | None:
    last = dialog.messages[-1]
    if last.role != "assistant" or last.tool_calls or not any(m.role == "tool" for m in dialog.messages):
        return None
    outputs = [orjson.loads(m.content or "{}")["result"] for m in dialog.messages if m.role == "tool"]
    value = rng.choice(outputs)
    wrong = round(value * 1.37 + 3.11, 2)
    text = (last.content or "").replace(str(value), str(wrong), 1)
    messages = list(dialog.messages)
    messages[-1] = last.model_copy(update={"content": text})
    return dialog.model_copy(update={"messages": tuple(messages)})


def empty_answer(dialog: Dialog, rng: random.Random) -> Dialog | None:
    """The final answer after the tools returned becomes an empty courtesy ("Thank you for the quote.")."""
    last = dialog.messages[-1]
    if last.role != "assistant" or last.tool_calls or not any(m.role == "tool" for m in dialog.messages):
        return None
    text = rng.choice(["Thank you for the information.", "Thanks! Let me know if you need anything else.", "Here you go."])
    messages = list(dialog.messages)
    messages[-1] = last.model_copy(update={"content": text})
    return dialog.model_copy(update={"messages": tuple(messages)})


def raw_echo_answer(dialog: Dialog, rng: random.Random) -> Dialog | None:
    """The final answer pastes a tool's raw JSON output instead of answering."""
    last = dialog.messages[-1]
    outputs = [m.content or "" for m in dialog.messages if m.role == "tool" and (m.content or "").startswith("{")]
    if last.role != "assistant" or last.tool_calls or not outputs:
        return None
    messages = list(dialog.messages)
    messages[-1] = last.model_copy(update={"content": "Here is the result: " + rng.choice(outputs)})
    return dialog.model_copy(update={"messages": tuple(messages)})


def swapped_pair(dialog: Dialog, rng: random.Random) -> Dialog | None:
    """The values of a source/target pair of parameters (origin/destination, from/to, start/end) trade places."""
    from callforge.verify.rules.slots import _pairs

    options = [(i, j, call, a, b) for i, j, call in _call_sites(dialog) for a, b in _pairs(call.arguments)]
    options = [o for o in options if o[2].arguments[o[3]] != o[2].arguments[o[4]]]
    if not options:
        return None
    i, j, call, a, b = rng.choice(options)
    arguments = dict(call.arguments)
    arguments[a], arguments[b] = arguments[b], arguments[a]
    return _replace_call(dialog, i, j, call.model_copy(update={"arguments": arguments}))


def enum_violation(dialog: Dialog, rng: random.Random) -> Dialog | None:
    def ok(value: Any, schema: dict[str, Any], tool: ToolSpec) -> bool:
        return isinstance(schema.get("enum"), list) and schema.get("type") == "string"

    site = _pick_argument(dialog, rng, ok)
    if site is None:
        return None
    return _with_argument(dialog, site, "unlisted_option")


def role_order(dialog: Dialog, rng: random.Random) -> Dialog | None:
    tools = [k for k, m in enumerate(dialog.messages) if m.role == "tool"]
    if not tools:
        return None
    k = tools[0]
    messages = list(dialog.messages)
    messages[k - 1], messages[k] = messages[k], messages[k - 1]
    return dialog.model_copy(update={"messages": tuple(messages)})


# kind -> (injector, the code meant to catch it, rule-detectable?)
DEFECTS: dict[str, tuple[Injector, tuple[str, ...], bool]] = {
    "wrong_type": (wrong_type, ("arg.type",), True),
    "hallucinated_function": (hallucinated_function, ("call.unknown_function",), True),
    "hallucinated_parameter": (hallucinated_parameter, ("call.unexpected_param",), True),
    "missing_required": (missing_required, ("call.missing_required",), True),
    "value_not_in_request": (ungrounded_value, ("arg.ungrounded",), True),
    "enum_violation": (enum_violation, ("arg.enum",), True),
    "extra_call": (extra_call, ("call.duplicate", "scenario.call_count"), True),
    "call_in_no_call_sample": (call_in_no_call, ("scenario.no_call",), True),
    "broken_tool_call_id": (broken_link, ("dialog.orphan_response", "dialog.unanswered_call"), True),
    "answer_contradicts_output": (answer_contradicts, ("answer.unsupported",), True),
    "tool_message_before_call": (role_order, ("dialog.orphan_response", "dialog.role_order"), True),
    "empty_answer": (empty_answer, ("answer.useless",), True),
    "raw_echo_answer": (raw_echo_answer, ("answer.useless",), True),
    "swapped_direction_pair": (swapped_pair, ("arg.swapped",), False),
    "dropped_parallel_call": (dropped_parallel_call, ("scenario.parallel", "calls.missing_parallel"), False),
    "swapped_values": (swapped_values, ("arg.swapped",), False),
}


# --- runs ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("CALLFORGE_BFCL_DATA", REPO.parent / "shared/bfcl/data")))
    parser.add_argument("--per-kind", type=int, default=400, help="defective dialogs per kind (at most)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--judge", default=None, help="also run rules + judge with this model spec")
    parser.add_argument("--judge-sample", type=int, default=20, help="clean and judge-level dialogs for the judge")
    parser.add_argument("--show", type=int, default=3, help="false rejections to print")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"BFCL data not found at {args.data}; pass --data or set CALLFORGE_BFCL_DATA")

    start = time.perf_counter()
    clean = load_clean(args.data)
    print(f"clean dialogs: {len(clean)} from {len(PYTHON_CATEGORIES)} Python single-turn categories "
          f"(read in {time.perf_counter() - start:.1f} s)")
    rules = RuleStage()
    verdicts = [rules.run(d) for d in clean]
    rejected = [(d, v) for d, v in zip(clean, verdicts, strict=True) if v]
    codes = Counter(c for _, v in rejected for c in {x.code for x in v})
    rate = len(rejected) / len(clean)
    print(f"\nfalse rejections (rules, clean dialogs): {len(rejected)} / {len(clean)} = {100 * rate:.2f}% (target <= 1%)")
    unsure = [d for d, v in zip(clean, verdicts, strict=True) if not v and any(x.unsure for x in rules.judge(d))]
    print(f"unsure (kept, for a judge): {len(unsure)} / {len(clean)} = {100 * len(unsure) / len(clean):.2f}%")
    for code, n in codes.most_common(8):
        print(f"  {code:28s} {n}")
    schema = {"arg.enum", "arg.type", "arg.schema", "call.missing_required", "call.unexpected_param", "call.duplicate"}
    broken = [d for d, v in rejected if any(x.code in schema for x in v)]
    rest = len(rejected) - len(broken)
    print(f"  of which BFCL's ground truth breaks its own tool schema (or repeats a call): {len(broken)} dialogs "
          f"(true findings, e.g. {', '.join(str(d.meta.id) for d in broken[:3])})")
    print(f"  rejections of schema-valid dialogs: {rest} / {len(clean) - len(broken)} = "
          f"{100 * rest / (len(clean) - len(broken)):.2f}%")
    for dialog, found in rejected[: args.show]:
        print(f"  e.g. {dialog.meta.id}: {found[0].message}")

    accepted = [d for d, v in zip(clean, verdicts, strict=True) if not v]
    fill_value_pool(clean)
    rng = random.Random(args.seed)
    print(f"\ndefect detection (rules), up to {args.per_kind} injected dialogs per kind, seed {args.seed}:")
    print(f"{'defect':28s} {'n':>5s} {'detected':>9s} {'by its code':>12s} {'unsure':>7s}  rule-detectable")
    samples: dict[str, list[Dialog]] = {}
    for kind, (inject, expected, detectable) in DEFECTS.items():
        pool = accepted[:]
        rng.shuffle(pool)
        made: list[Dialog] = []
        for dialog in pool:
            if len(made) >= args.per_kind:
                break
            bad = inject(dialog, rng)
            if bad is not None:
                made.append(bad)
        samples[kind] = made
        judged = [rules.judge(d) for d in made]
        found = [[v for v in f if not v.ok] for f in judged]
        detected = sum(1 for f in found if f)
        doubted = sum(1 for f, j in zip(found, judged, strict=True) if not f and any(v.unsure for v in j))
        by_code = sum(1 for f in found if any(v.code in expected for v in f))
        n = len(made)
        print(f"{kind:28s} {n:5d} {100 * detected / max(n, 1):8.1f}% {100 * by_code / max(n, 1):11.1f}% "
              f"{100 * doubted / max(n, 1):7.1f}%  {'yes' if detectable else 'no (judge)'}")

    single = [d for d in clean if len(d.tools) <= 5 and sum(len(m.tool_calls) for m in d.messages) <= 5]
    cascade = Cascade([RuleStage()])
    best = 0.0
    for _ in range(3):
        t0 = time.process_time()
        for dialog in single:
            cascade.check_sync(dialog)
        best = max(best, len(single) / (time.process_time() - t0))
    print(f"\nrule-layer throughput: {best:,.0f} dialogs/s on one core (CPU time, best of 3, "
          f"{len(single)} single-turn dialogs with <= 5 tools; target >= 5,000)")

    if args.judge:
        run_judge(args, accepted, samples, rng)


def run_judge(args: argparse.Namespace, accepted: list[Dialog], samples: dict[str, list[Dialog]], rng: random.Random) -> None:
    from callforge.llm.registry import make_backend
    from callforge.verify.judge import LLMJudge

    backend = make_backend(args.judge)
    judge = LLMJudge(backend)
    cascade = Cascade([RuleStage(), judge])
    k = args.judge_sample

    async def judged(dialogs: list[Dialog]) -> list[bool]:
        out = []
        for dialog in dialogs:
            out.append((await cascade.check(dialog)).ok)
        return out

    print(f"\nrules + judge ({args.judge}), {k} dialogs each (rule-detectable kinds never reach the judge):")
    t0 = time.perf_counter()
    clean_sample = rng.sample(accepted, min(k, len(accepted)))
    ok = asyncio.run(judged(clean_sample))
    print(f"{'clean (false rejections)':28s} {len(ok):5d} {100 * ok.count(False) / max(len(ok), 1):8.1f}% rejected")
    for kind, made in samples.items():
        if DEFECTS[kind][2]:
            continue
        chosen = made[:k]
        ok = asyncio.run(judged(chosen))
        print(f"{kind:28s} {len(chosen):5d} {100 * ok.count(False) / max(len(chosen), 1):8.1f}% detected")
    print(f"(judge wall time {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
