"""Dialogs over a user's stateful environment as a BFCL-style multi-turn eval set, with the end state proven.

Each dialog becomes one multi-turn entry (`multi_turn_base`; an episode whose tool comes late is
`multi_turn_miss_func`, one whose value comes only when asked `multi_turn_miss_param`, one with a
long-context turn `multi_turn_long_context`, as in BFCL; a long-context episode whose world started
from filler state keeps that filler in its `environment`, so the set rebuilds the same world):
its user messages are the turns, the calls the assistant made in each turn are that turn's ground
truth. The ground truth is run on a fresh
environment here, so an entry is written only when every call succeeds, and the state it leaves
is recorded (`end_state`). The folder is a BFCL data folder (`BFCL_v4_multi_turn_base.json`,
`possible_answer/`), plus an `environment` field on each entry in place of BFCL's simulator names:
`callforge eval run --data OUT --categories multi_turn` plays any model through it and scores it
with BFCL's rules and the end-state check. A class file is copied into `OUT/environment/`, so the
set carries its world with it.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from callforge.core import ConfigError, Dialog, ToolCall
from callforge.execute import Environment, EnvironmentSpec

_VERSION = "BFCL_v4"
CATEGORY = "multi_turn_base"


def dialog_turns(dialog: Dialog) -> tuple[list[list[dict[str, str]]], list[list[ToolCall]]]:
    """The dialog's user turns (system text joins the first) and, per turn, the calls the assistant made in it.

    A masked call (a wrong call the generator planted, a corrected mistake) is no part of the
    ground truth: a model is not asked to repeat it.
    """
    masked = dialog.masked_calls()
    questions: list[list[dict[str, str]]] = []
    calls: list[list[ToolCall]] = []
    system: list[dict[str, str]] = []
    for message in dialog.messages:
        if message.role == "system":
            system.append({"role": "system", "content": message.content or ""})
        elif message.role == "user":
            questions.append([*system, {"role": "user", "content": message.content or ""}])
            system = []
            calls.append([])
        elif message.role == "assistant" and message.tool_calls and calls:
            calls[-1].extend(c for c in message.tool_calls if c.id is None or c.id not in masked)
    return questions, calls


def call_source(call: ToolCall) -> str:
    """A call as the Python text BFCL's ground truth holds, `name(a=1, b='x')`, read back with `ast`."""
    return f"{call.name}({', '.join(f'{k}={v!r}' for k, v in call.arguments.items())})"


def category_of(dialog: Dialog) -> str:
    """The BFCL multi-turn category an episode belongs to: miss_func when a tool comes late, miss_param when a value does."""
    trace = dialog.meta.episode
    if trace is not None and trace.late_tools:
        return "multi_turn_miss_func"
    if trace is not None and trace.twist == "long_context":
        return "multi_turn_long_context"
    if dialog.meta.missing or (trace is not None and trace.twist == "missing"):
        return "multi_turn_miss_param"
    return CATEGORY


def write_bfcl_multi_turn(
    dialogs: Iterable[Dialog], out: Path, environment: EnvironmentSpec
) -> tuple[dict[str, int], dict[str, int], tuple[str | None, ...]]:
    """Write the multi-turn eval set; returns cases by category, dialogs left out by reason, and each dialog's case id."""
    taken = sorted(out.glob(f"{_VERSION}_multi_turn_*.json"))
    if taken:
        raise ConfigError(f"{out} already holds {taken[0].name}; choose another `out`")
    out.mkdir(parents=True, exist_ok=True)
    carried = _carried(environment, out)
    worlds: dict[int | None, Environment] = {}
    questions: dict[str, list[dict[str, Any]]] = {}
    answers: dict[str, list[dict[str, Any]]] = {}
    skipped: Counter[str] = Counter()
    case_ids: list[str | None] = []
    try:
        tools = {t.name for t in _world(worlds, carried, None).tools}
        for dialog in dialogs:
            case_ids.append(None)
            turns, calls = dialog_turns(dialog)
            if not turns or not any(calls):
                skipped["no_call"] += 1
                continue
            if any(c.name not in tools for turn in calls for c in turn):
                skipped["tool_not_in_environment"] += 1
                continue
            spec = _filled(carried, dialog)
            world = _world(worlds, spec, spec.long_context)
            world.reset()
            if not _replays(world, calls):
                skipped["ground_truth_fails"] += 1
                continue
            end_state = _state_json(world)
            category = category_of(dialog)
            rows = questions.setdefault(category, [])
            case_id = case_ids[-1] = f"{category}_{len(rows)}"
            row: dict[str, Any] = {"id": case_id, "question": turns, "environment": spec.to_json(out),
                                   "involved_classes": list(spec.classes), "initial_config": dict(spec.init) if spec.classes else {}}  # fmt: skip
            late = dialog.meta.episode.late_tools if dialog.meta.episode is not None else {}
            if late:
                # BFCL's miss_func: the turn where the tools join has no user message of its own
                row["missed_function"] = {turn: list(names) for turn, names in late.items()}
                for turn in late:
                    turns[int(turn)] = []
            rows.append(row)
            answer: dict[str, Any] = {"id": case_id, "ground_truth": [[call_source(c) for c in t] for t in calls]}
            if end_state is not None:
                answer["end_state"] = end_state
            answers.setdefault(category, []).append(answer)
    finally:
        for world in worlds.values():
            world.close()
    (out / "possible_answer").mkdir(exist_ok=True)
    for category, rows in questions.items():
        name = f"{_VERSION}_{category}.json"
        _lines(out / "possible_answer" / name, answers[category])
        _lines(out / name, rows)
    return {c: len(r) for c, r in sorted(questions.items())}, dict(skipped), tuple(case_ids)


def _carried(environment: EnvironmentSpec, out: Path) -> EnvironmentSpec:
    """The spec the eval set records: a class file copied into `out/environment/`; a service spec stays where it is."""
    if environment.kind != "python":
        return environment
    target = out / "environment" / environment.path.name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(environment.path, target)
    return EnvironmentSpec("python", target.resolve(), environment.class_name, environment.init)


def _filled(spec: EnvironmentSpec, dialog: Dialog) -> EnvironmentSpec:
    """The world a dialog was played in: `spec`, with the long-context filler its episode trace names."""
    trace = dialog.meta.episode
    seed = trace.environment.get("long_context") if trace is not None else None
    return spec.with_long_context(seed) if type(seed) is int and spec.fillable else spec


def _world(worlds: dict[int | None, Environment], spec: EnvironmentSpec, key: int | None) -> Environment:
    """One built environment per filler seed, built when first needed."""
    if key not in worlds:
        worlds[key] = spec.build()
    return worlds[key]


def _replays(world: Environment, calls: list[list[ToolCall]]) -> bool:
    """Run the ground truth from the initial state; False when any call fails (the entry would teach a failure)."""
    for turn in calls:
        for call in turn:
            if not world.run(call).verdict.ok:
                return False
    return True


def _state_json(world: Environment) -> dict[str, Any] | None:
    """The environment's state as `{owner: {attribute: value}}`, or None when it is not JSON."""
    state: dict[str, dict[str, Any]] = {}
    for entry in world.snapshot(copy=False).entries:
        state.setdefault(entry.owner, {})[entry.name] = entry.value
    try:
        return json.loads(json.dumps(state))  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return None


def _lines(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)
