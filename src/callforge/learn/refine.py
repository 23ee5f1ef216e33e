"""Refinement trajectories: a rejected step, the verifier's feedback as an observation, the step redone and verified.

ToolACE-R and AgentRefine train on "wrong call -> feedback -> right call". A generation run already
holds the wrong calls (its rejected records, each with every Verdict), so `refine` replays each
refinable one from its failing step: the rejected step stays, each of its calls gets the
verifier's findings as a tool message, and the assistant model continues from there, its calls
run by the run's own tools, the user's later turns replayed as they were. The continuation is
then verified as a dialog of its own (the conversation before the step plus the new steps, with
the wrong step and the feedback left out) by the rules and execution. Only a continuation that
passes makes an accepted trajectory; the rest are kept as rejected records with their verdicts.

The output is a Run folder (job `refine`): `callforge export OUT --format openai` writes the
trajectories with the wrong step masked (`MaskReason.CORRECTED`), `--format dpo` turns each into a
preference pair. A killed refinement resumes (`resume=True`) from its records and request cache.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callforge.core import ConfigError, Dialog, MaskedCall, MaskReason, Provenance, Verdict
from callforge.execute.toolbox import load_toolbox
from callforge.generate.backends import RunBackends
from callforge.generate.planner import GenerationFailure
from callforge.generate.play import CallIds, Director
from callforge.generate.roles import AssistantRole, UserRole
from callforge.learn.feedback import FailedStep, failed_step, feedback_messages
from callforge.llm.backend import Backend
from callforge.run import RunFolder
from callforge.verify.cascade import Cascade
from callforge.verify.execution import ExecutionStage
from callforge.verify.record import Checked, StageResult
from callforge.verify.rules import RuleStage

_CALL_ID = re.compile(r"call_(\d+)$")
_KEEP_META = {"id", "source", "scenario", "seed", "sampler", "voice", "plan", "missing", "masked"}
"""What a trajectory keeps of the rejected dialog's provenance (not its usage, replays or notes)."""


@dataclass(frozen=True)
class RefineReport:
    """What a refinement read, redid and kept; `skipped` says why a rejected dialog had no step to redo."""

    out: Path
    read: int
    refined: int
    failed: int
    skipped: dict[str, int]
    codes: dict[str, int] = field(default_factory=dict)
    """Failure codes of the steps that were corrected (first code per trajectory)."""
    still_failing: dict[str, int] = field(default_factory=dict)
    """Why corrections failed verification, by first code."""
    wall_s: float = 0.0

    @property
    def attempted(self) -> int:
        """Trajectories tried in this and earlier sessions."""
        return self.refined + self.failed


@dataclass
class RefineProgress:
    """Live counts for a progress bar."""

    total: int = 0
    done: int = 0
    refined: int = 0
    failed: int = 0


def refine(
    run: str | Path,
    out: str | Path,
    *,
    model: str | Backend | None = None,
    tools: list[str] | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    rest_base_url: str | None = None,
    limit: int | None = None,
    resume: bool = False,
    progress: Callable[[RefineProgress], None] | None = None,
) -> RefineReport:
    """Redo the failing step of each refinable rejected dialog of the generation run `run`; write trajectories to `out`.

    `model` (default: the run's) plays the assistant; `tools` (default: the run's sources) run the
    calls. `limit` caps the rejected records read, `resume` continues a refinement in `out`.
    """
    return asyncio.run(
        refine_async(
            run,
            out,
            model=model,
            tools=tools,
            base_url=base_url,
            api_key=api_key,
            rest_base_url=rest_base_url,
            limit=limit,
            resume=resume,
            progress=progress,
        )
    )


async def refine_async(
    run: str | Path,
    out: str | Path,
    *,
    model: str | Backend | None = None,
    tools: list[str] | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    rest_base_url: str | None = None,
    limit: int | None = None,
    resume: bool = False,
    progress: Callable[[RefineProgress], None] | None = None,
) -> RefineReport:
    """The async core of `refine`."""
    started = time.perf_counter()
    source = RunFolder(run, job="generate")
    config = source.manifest().get("config")
    if not isinstance(config, dict):
        raise ConfigError(f"{source.path}: not a generation run folder (no manifest.json with a config)")
    folder = RunFolder(out, job="refine")
    if folder.exists and not resume:
        raise ConfigError(f"{folder.path} already holds a refinement; pass --resume to continue it, or choose another --out")
    done = {str(r["id"]) for which in ("accepted", "rejected") for r in folder.records(which)}
    spec = model if model is not None else str(config.get("model") or "")
    if not spec:
        raise ConfigError(f"{source.path}'s manifest names no model; pass --model")
    try:
        toolbox = load_toolbox(tools or [str(t) for t in config.get("tools", [])], rest_base_url=rest_base_url)
    except ConfigError as exc:
        if tools:
            raise
        raise ConfigError(
            f"{exc} (the tool sources {source.path}'s manifest names; run from the folder the generation ran in, "
            "or pass --tools)"
        ) from None
    backends = RunBackends(spec, None, config.get("simulator_model") or spec, base_url, api_key, folder.path, 1)
    engine = backends.engine(toolbox, folder.path)
    backend = backends.role("assistant")
    director = Director(UserRole(backend), AssistantRole(backend, today=str(config.get("today") or "")), engine)
    cascade = Cascade([RuleStage(), ExecutionStage(engine, compare_outputs=True)])
    skipped: Counter[str] = Counter()
    todo: list[tuple[Checked, FailedStep]] = []
    read = 0
    for row in source.records("rejected"):
        if limit is not None and read >= limit:
            break
        read += 1
        checked = Checked.model_validate(row)
        found = failed_step(checked.dialog, checked.failures)
        if isinstance(found, str):
            skipped[found] += 1
        elif _trajectory_id(checked.id) not in done:
            todo.append((checked, found))
    state = RefineProgress(total=len(todo))
    session = folder.next_session()
    header = {"source": str(source.path), "config": {"model": _name(spec), "tools": toolbox_sources(config, tools)}}
    folder.write_manifest({**header, "status": "running"})
    writers = folder.writers(session)
    try:
        for checked, step in todo:
            record = await _refine_one(director, cascade, checked, step)
            writers["accepted" if record.ok else "rejected"].write(record.model_dump(mode="json"))
            state.done += 1
            state.refined += record.ok
            state.failed += not record.ok
            if progress is not None:
                progress(state)
    finally:
        for writer in writers.values():
            writer.close()
        await backends.close()
        await toolbox.aclose()
    report = _report(folder, read, dict(skipped), time.perf_counter() - started)
    folder.write_manifest(
        {
            **header,
            "status": "complete",
            "counts": {"read": read, "refined": report.refined, "failed": report.failed, "skipped": report.skipped},
        }
    )
    return report


def toolbox_sources(config: dict[str, Any], tools: list[str] | None) -> list[str]:
    """The tool sources a refinement ran with: the ones given, else the generation run's."""
    return list(tools) if tools else [str(t) for t in config.get("tools", [])]


async def _refine_one(director: Director, cascade: Cascade, checked: Checked, step: FailedStep) -> Checked:
    dialog = checked.dialog
    wrong = dialog.messages[step.index]
    feedback = feedback_messages(wrong, step.verdicts)
    prefix = list(dialog.messages[: step.index])
    messages = [*prefix, wrong, *feedback]
    ids = CallIds(_last_call_number(dialog))
    later_users = [m for m in dialog.messages[step.index + 1 :] if m.role == "user"]
    seed = (dialog.meta.seed or 0) + 4099
    meta = Provenance(**dialog.meta.model_dump(include=_KEEP_META))
    new_id = _trajectory_id(checked.id)
    corrected = tuple(MaskedCall(id=str(c.id), reason=MaskReason.CORRECTED) for c in wrong.tool_calls)
    trajectory_meta = meta.model_copy(
        update={"id": new_id, "refined_from": checked.id, "masked": (*meta.masked, *corrected), "feedback": tuple(step.codes)}
    )
    turn = sum(1 for m in prefix if m.role == "user")
    try:
        await director.respond(messages, dialog.tools, ids, set(), seed=seed, turn=turn)  # the wrong step never ran
        for number, user in enumerate(later_users, start=1):
            messages.append(user)
            await director.respond(messages, dialog.tools, ids, set(), seed=seed + 101 * number, turn=turn + number)
    except GenerationFailure as failure:
        verdict = Verdict.failed(failure.code, str(failure), **failure.evidence)
        partial = Dialog(tools=dialog.tools, messages=tuple(messages), meta=trajectory_meta)
        return Checked(id=new_id, ok=False, stages=(StageResult(stage="refine", verdicts=(verdict,)),), dialog=partial)
    continuation = messages[len(prefix) + 1 + len(feedback) :]
    candidate = Dialog(tools=dialog.tools, messages=(*prefix, *continuation), meta=meta)
    judged = await cascade.check(candidate, new_id)
    trajectory = Dialog(tools=dialog.tools, messages=tuple(messages), meta=trajectory_meta)
    return Checked(id=new_id, ok=judged.ok, stages=judged.stages, dialog=trajectory)


def _trajectory_id(rejected_id: str) -> str:
    return f"{rejected_id}-refined"


def _last_call_number(dialog: Dialog) -> int:
    """Past every `call_N` id (and every call) in the dialog, so new ids never clash."""
    numbers = [int(m.group(1)) for msg in dialog.messages for c in msg.tool_calls if c.id and (m := _CALL_ID.match(c.id))]
    count = sum(len(msg.tool_calls) for msg in dialog.messages)
    return max([count, *numbers])


def _name(spec: str | Backend) -> str:
    return spec if isinstance(spec, str) else spec.model


def _report(folder: RunFolder, read: int, skipped: dict[str, int], wall_s: float) -> RefineReport:
    codes: Counter[str] = Counter()
    still: Counter[str] = Counter()
    refined = failed = 0
    for row in folder.records("accepted"):
        refined += 1
        feedback = row["dialog"]["meta"].get("feedback") or ["unknown"]
        codes[str(feedback[0])] += 1
    for row in folder.records("rejected"):
        failed += 1
        first = Checked.model_validate(row).failures
        still[first[0].code if first else "unknown"] += 1
    return RefineReport(folder.path, read, refined, failed, skipped, dict(codes.most_common()), dict(still.most_common()), wall_s)

