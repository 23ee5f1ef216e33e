"""Refinement of failed episodes (`generate --env` runs): the diverging turn redone with the end-state feedback.

A rejected episode names `diverged_turn`, the first user turn after which its state differs from
the blueprint's. Its world is rebuilt from the trace (the environment, with any long-context
filler), the episode's calls before the turn's first wrong step are replayed on it, and that
step gets one tool message per call saying what the end-state check found: which state ended
differently, which of the turn's calls the request did not need, which tools it still needs (by
name: the values are the user's to give, in the conversation). The assistant model redoes the
turn from there, then the later turns with the user's recorded messages, every call run on the
rebuilt world. The continuation (the wrong step and its feedback left out) is judged by the same
`EpisodeStage` that rejected it, then the rules; one that now ends in the blueprint's state is an
accepted trajectory, written exactly as `refine` writes single-dialog ones (the wrong calls masked
`MaskReason.CORRECTED`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from callforge.core import (
    CallforgeError,
    Dialog,
    EpisodeTrace,
    MaskedCall,
    MaskReason,
    Message,
    Provenance,
    ToolCall,
    Verdict,
)
from callforge.execute import Environment, EnvironmentSpec
from callforge.generate import (
    AssistantRole,
    CallIds,
    Director,
    EpisodeStage,
    GenerationFailure,
    RunBackends,
    SerialEngine,
    UserRole,
)
from callforge.learn.refinement import (
    RefineConfig,
    RefineReport,
    _last_call_number,
    _trajectory_id,
    run_refinement,
)
from callforge.llm import RequestRejected
from callforge.run import JobProgress, RunFolder
from callforge.verify import Cascade, CascadeSpec, Checked, StageResult, build_cascade


@dataclass(frozen=True)
class DivergedStep:
    """The step of a rejected episode to redo: its message index, its user turn, the verdict that named the turn."""

    index: int
    turn: int
    verdict: Verdict


def diverged_step(checked: Checked) -> DivergedStep | str:
    """The first calling step of a rejected episode's diverging turn, or why the episode cannot be refined."""
    dialog = checked.dialog
    trace = dialog.meta.episode
    if trace is None:
        return "no_episode_trace"
    if trace.diverged_turn is None:
        codes = sorted({v.code for v in checked.failures}) or ["none"]
        return f"episode_not_diverged:{codes[0]}"
    verdict = next((v for v in checked.failures if "diverged_turn" in v.evidence), None)
    users = [i for i, m in enumerate(dialog.messages) if m.role == "user"]
    if verdict is None or trace.diverged_turn >= len(users):
        return "episode_not_diverged:" + (verdict.code if verdict else "none")
    start = users[trace.diverged_turn]
    end = users[trace.diverged_turn + 1] if trace.diverged_turn + 1 < len(users) else len(dialog.messages)
    planted = dialog.masked_calls()
    for index in range(start + 1, end):
        message = dialog.messages[index]
        if message.role == "assistant" and any(c.id not in planted for c in message.tool_calls):
            return DivergedStep(index, trace.diverged_turn, verdict)
    return "no_call_in_diverged_turn"


def episode_spec(trace: EpisodeTrace, where: str) -> EnvironmentSpec:
    """The world an episode was played in, rebuilt from its trace (paths in a trace are absolute)."""
    return EnvironmentSpec.from_json(trace.environment, Path.cwd(), where)


async def refine_episodes(
    config: RefineConfig, source: RunFolder, made: dict[str, Any], *, progress: Callable[[JobProgress], None] | None
) -> RefineReport:
    """Refine every rejected episode of the episode run `source` into `config.out` (`config.model` resolved)."""
    folder = config.open_folder()
    model = config.model or str(made.get("model") or "")
    backends = RunBackends(model, None, model, config.base_url, config.api_key, folder.path, 1)
    backend = backends.role("assistant")
    today = str(made.get("today") or "")
    user, assistant = UserRole(backend), AssistantRole(backend, today=today)
    return await run_refinement(
        folder,
        source,
        config,
        diverged_step,
        lambda checked, step: refine_episode(user, assistant, checked, step, _trajectory_id(checked.id)),
        stored=config.stored(),
        close=backends.close,
        progress=progress,
    )


_KEEP_META = {"id", "source", "scenario", "seed", "sampler", "voice", "plan", "missing", "masked", "episode"}


async def refine_episode(
    user: UserRole, assistant: AssistantRole, checked: Checked, step: DivergedStep, new_id: str
) -> Checked:
    """Redo `step` of the rejected episode `checked` on its rebuilt world; judge the continuation by its end state."""
    dialog = checked.dialog
    trace = dialog.meta.episode
    assert trace is not None
    wrong = dialog.messages[step.index]
    prefix = list(dialog.messages[: step.index])
    try:
        spec = episode_spec(trace, checked.id)
        environment = await asyncio.to_thread(spec.build)
    except CallforgeError as exc:
        return _failed(new_id, dialog, "refine.environment", f"the episode's world cannot be rebuilt: {exc}")
    try:
        feedback = await asyncio.to_thread(_feedback, spec, dialog, step, wrong)
        await asyncio.to_thread(_replay, environment, prefix)
        director = Director(user, assistant, SerialEngine(environment))
        kept = Provenance(**dialog.meta.model_dump(include=_KEEP_META))
        meta = kept.model_copy(update={"episode": trace.model_copy(update={"diverged_turn": None})})
        corrected = tuple(MaskedCall(id=str(c.id), reason=MaskReason.CORRECTED) for c in wrong.tool_calls)
        trajectory_meta = meta.model_copy(
            update={"id": new_id, "refined_from": checked.id, "masked": (*meta.masked, *corrected), "feedback": (step.verdict.code,)}
        )
        messages = [*prefix, wrong, *feedback]
        ids = CallIds(_last_call_number(dialog))
        seed = (dialog.meta.seed or 0) + 4099
        later = [m for m in dialog.messages[step.index + 1 :] if m.role == "user"]
        try:
            await director.respond(messages, _offered(dialog, trace, step.turn), ids, set(), seed=seed, turn=step.turn + 1)
            for number, said in enumerate(later, start=1):
                messages.append(said)
                offered = _offered(dialog, trace, step.turn + number)
                await director.respond(messages, offered, ids, set(), seed=seed + 101 * number, turn=step.turn + 1 + number)
        except (GenerationFailure, RequestRejected) as failure:
            code, evidence = (failure.code, failure.evidence) if isinstance(failure, GenerationFailure) else ("gen.request_rejected", {})
            verdict = Verdict.failed(code, str(failure), **evidence)
            partial = Dialog(tools=dialog.tools, messages=tuple(messages), meta=trajectory_meta)
            return Checked(id=new_id, ok=False, stages=(StageResult(stage="refine", verdicts=(verdict,)),), dialog=partial)
    finally:
        await asyncio.to_thread(environment.close)
    continuation = messages[len(prefix) + 1 + len(feedback) :]
    candidate = Dialog(tools=dialog.tools, messages=(*prefix, *continuation), meta=meta)
    judged = await _cascade(spec).check(candidate, new_id)
    trajectory = Dialog(tools=dialog.tools, messages=tuple(messages), meta=trajectory_meta)
    return Checked(id=new_id, ok=judged.ok, stages=judged.stages, dialog=trajectory)


def _cascade(spec: EnvironmentSpec) -> Cascade:
    """The end state first, as generation judged the episode, then the rules."""
    rules = build_cascade(CascadeSpec(stages=("rules",)))
    return Cascade([EpisodeStage(spec), *rules.stages])


def _offered(dialog: Dialog, trace: EpisodeTrace, turn: int) -> tuple[Any, ...]:
    """The tools offered in user turn `turn`: all, less those the episode withholds until a later turn."""
    later = {name for at, names in trace.late_tools.items() if int(at) > turn for name in names}
    return tuple(t for t in dialog.tools if t.name not in later)


def _replay(environment: Environment, messages: Sequence[Message]) -> None:
    """Run every call of `messages` in order (planted failing ones too: they fail without a trace)."""
    environment.reset()
    for message in messages:
        for call in message.tool_calls:
            environment.run(ToolCall(name=call.name, arguments=call.arguments))


def _feedback(spec: EnvironmentSpec, dialog: Dialog, step: DivergedStep, wrong: Message) -> list[Message]:
    """One tool message per call of the wrong step: what the end-state check found in its turn, as the model can act on it."""
    trace = dialog.meta.episode
    assert trace is not None
    users = [i for i, m in enumerate(dialog.messages) if m.role == "user"]
    end = users[step.turn + 1] if step.turn + 1 < len(users) else len(dialog.messages)
    expected = trace.truth[step.turn]
    planted = dialog.masked_calls()
    made = [c for m in dialog.messages[users[step.turn] : end] for c in m.tool_calls if c.id not in planted]
    reference = spec.build()
    played = spec.build()
    try:
        reference.reset()
        for turn in trace.truth[: step.turn + 1]:
            for call in turn:
                reference.run(call)
        _replay(played, dialog.messages[:end])
        paths = played.snapshot(copy=False).diff(reference.snapshot(copy=False)).paths
    finally:
        reference.close()
        played.close()
    wanted = {_key(c) for c in expected}
    missing = sorted({c.name for c in expected} - {c.name for c in made if _key(c) in wanted})
    where = ", ".join(paths[:6]) or "the state"
    out = []
    for call in wrong.tool_calls:
        problems = [f"After this turn {where} ended differently from what the request needs."]
        if _key(call) not in wanted:
            problems.append(f"This {call.name} call is not what the request asks for.")
        if missing:
            problems.append(f"The request still needs {', '.join(missing)}, with the values the user gave.")
        body = {  # an error, as a failing tool reports one: the model recovers from it rather than citing it
            "error": "not run: this turn was rejected. " + " ".join(problems),
            "next": "Redo this turn now: make the calls the user's request needs, with the values they gave.",
            "codes": [step.verdict.code],
        }
        out.append(Message(role="tool", tool_call_id=call.id, name=call.name, content=orjson.dumps(body).decode()))
    return out


def _key(call: ToolCall) -> tuple[str, bytes]:
    return call.name, orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS)


def _failed(new_id: str, dialog: Dialog, code: str, message: str) -> Checked:
    verdict = Verdict.failed(code, message)
    meta = dialog.meta.model_copy(update={"id": new_id})
    return Checked(
        id=new_id, ok=False, stages=(StageResult(stage="refine", verdicts=(verdict,)),), dialog=dialog.model_copy(update={"meta": meta})
    )
