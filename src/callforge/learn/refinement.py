"""Refinement trajectories: a rejected step, the verifier's feedback as an observation, the step redone and verified.

ToolACE-R and AgentRefine train on "wrong call -> feedback -> right call". A generation run already
holds the wrong calls (its rejected records, each with every Verdict), so `refine` replays each
refinable one from its failing step: the rejected step stays, each of its calls gets the
verifier's findings as a tool message, and the assistant model continues from there, its calls
run by the run's own tools, the user's later turns replayed as they were. The continuation is
then verified as a dialog of its own (the conversation before the step plus the new steps, with
the wrong step and the feedback left out) by the rules and execution. Only a continuation that
passes makes an accepted trajectory; the rest are kept as rejected records with their verdicts.

A run of episodes (`generate --env`) is refined by `episode_refine`: a rejected episode's diverging
turn is redone on its world, rebuilt from the trace, with the end-state check's findings as the
feedback, and judged by its end state.

The output is a Run folder (job `refine`): `callforge export OUT --format openai` writes the
trajectories with the wrong step masked (`MaskReason.CORRECTED`), `--format dpo` turns each into a
preference pair. A killed refinement resumes (`resume=True`) from its records and request cache.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import Field

from callforge.core import ConfigError, Dialog, MaskedCall, MaskReason, Provenance, Verdict
from callforge.execute import load_toolbox_async
from callforge.generate import AssistantRole, CallIds, Director, GenerationFailure, RunBackends, UserRole
from callforge.learn.feedback import FailedStep, failed_step, feedback_messages
from callforge.llm import ModelRef, RequestRejected
from callforge.run import Item, JobConfig, JobHooks, JobProgress, RunFolder, Written, blocking, run_job
from callforge.verify import Cascade, CascadeSpec, Checked, StageResult, build_cascade

S = TypeVar("S")
"""What one refinement redoes: a dialog's failed step, an episode's diverged step."""

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


class RefineConfig(JobConfig):
    """A refinement: which generation run, which assistant model and tools, where the trajectories go."""

    job: ClassVar[str] = "refine"
    may_change: ClassVar[frozenset[str]] = frozenset({"limit"})
    runtime: ClassVar[frozenset[str]] = frozenset(
        {"out", "resume", "concurrency", "base_url", "api_key", "rest_base_url"}
    )

    run: Path
    """The generation run folder whose rejected dialogs are refined."""
    model: ModelRef | None = None
    """The assistant model (default: the run's)."""
    tools: tuple[str, ...] | None = None
    """Tool sources that run the calls (default: the run's)."""
    limit: int | None = Field(default=None, ge=1)
    """Read at most this many rejected records."""
    concurrency: int = Field(default=1, ge=1)
    base_url: str | None = None
    api_key: str | None = None
    rest_base_url: str | None = None


RefineProgress = JobProgress
"""Live counts of a refinement (`streams["accepted"]`: trajectories kept)."""


async def refine_async(
    config: RefineConfig | None = None,
    /,
    *,
    progress: Callable[[JobProgress], None] | None = None,
    **fields: Any,
) -> RefineReport:
    """Redo the failing step of each refinable rejected dialog of `config.run`; write trajectories to `config.out`.

    `model` (default: the run's) plays the assistant; `tools` (default: the run's sources) run the
    calls. `limit` caps the rejected records read, `resume=True` continues a refinement in `out`.
    """
    config = RefineConfig.of(config, **fields)
    source = RunFolder(config.run, job="generate")
    made = source.manifest().get("config")
    if not isinstance(made, dict):
        raise ConfigError(
            f"{source.path}: not a generation run folder (no manifest.json with a config); give `run` a generate run"
        )
    spec = config.model if config.model is not None else str(made.get("model") or "")
    if not spec:
        raise ConfigError(f"{source.path}'s manifest names no model; pass `model`")
    if made.get("env") is not None:  # an episode run: each rejected episode's world comes from its trace
        from callforge.learn.episode_refine import refine_episodes

        return await refine_episodes(config.model_copy(update={"model": spec}), source, made, progress=progress)
    tools = list(config.tools) if config.tools else [str(t) for t in made.get("tools", [])]
    resolved = config.model_copy(update={"model": spec, "tools": tuple(tools)})
    folder = resolved.open_folder()
    try:
        toolbox = await load_toolbox_async(tools, rest_base_url=config.rest_base_url)
    except ConfigError as exc:
        if config.tools:
            raise
        raise ConfigError(
            f"{exc} (the tool sources {source.path}'s manifest names; run from the folder the generation ran in, "
            "or pass `tools`)"
        ) from None
    simulator = made.get("simulator_model") or spec
    backends = RunBackends(spec, None, simulator, config.base_url, config.api_key, folder.path, 1)
    engine = backends.engine(toolbox, folder.path)
    backend = backends.role("assistant")
    director = Director(UserRole(backend), AssistantRole(backend, today=str(made.get("today") or "")), engine)
    cascade = build_cascade(CascadeSpec(stages=("rules", "exec"), compare_outputs=True), engine=engine)

    async def close() -> None:
        await backends.close()
        await toolbox.aclose()

    return await run_refinement(
        folder,
        source,
        config,
        lambda checked: failed_step(checked.dialog, checked.failures),
        lambda checked, step: _refine_one(director, cascade, checked, step),
        stored=resolved.stored(),
        close=close,
        progress=progress,
    )


async def run_refinement(
    folder: RunFolder,
    source: RunFolder,
    config: RefineConfig,
    find: Callable[[Checked], S | str],
    redo: Callable[[Checked, S], Awaitable[Checked]],
    *,
    stored: dict[str, Any],
    close: Callable[[], Awaitable[None]],
    progress: Callable[[JobProgress], None] | None,
) -> RefineReport:
    """Redo, as one resumable job, the step `find` names in each rejected record of `source`.

    `find` returns the step to redo or the reason the record is skipped (counted by reason); `redo`
    returns the trajectory, accepted or rejected. Dialogs and episodes share this; only what a step
    is and how it is redone differ. `close` runs when the job ends, however it ends.
    """
    skipped: Counter[str] = Counter()
    todo: list[Item[tuple[Checked, S]]] = []
    read = 0
    for row in source.records("rejected"):
        if config.limit is not None and read >= config.limit:
            break
        read += 1
        checked = Checked.model_validate(row)
        found = find(checked)
        if isinstance(found, str):
            skipped[found] += 1
        else:
            todo.append(Item(_trajectory_id(checked.id), (checked, found)))

    async def job(item: tuple[Checked, S]) -> Written:
        record = await redo(*item)
        return Written("accepted" if record.ok else "rejected", record)

    try:
        state = await run_job(
            folder,
            todo,
            job,
            config={**stored, "source": str(source.path)},
            concurrency=config.concurrency,
            hooks=JobHooks(summary=lambda done: _summary(done, read, skipped)),
            progress=progress,
            total=len(todo),
        )
    finally:
        await close()
    return _report(folder, read, dict(skipped), state.elapsed_s)


refine = blocking(refine_async)


def _summary(job: JobProgress, read: int, skipped: Counter[str]) -> dict[str, Any]:
    counts = {"read": read, "refined": job.streams["accepted"], "failed": job.streams["rejected"], "skipped": dict(skipped)}
    return {"counts": counts}


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
    except (GenerationFailure, RequestRejected) as failure:
        # A refused request (longer than the context) fails this trajectory only, like a failed step.
        code, evidence = (failure.code, failure.evidence) if isinstance(failure, GenerationFailure) else ("gen.request_rejected", {})
        verdict = Verdict.failed(code, str(failure), **evidence)
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

