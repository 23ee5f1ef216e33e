"""One process's share of a generation run: schedule attempts, play and judge each, write records and the manifest.

An attempt is numbered; its number and the run's seed fix everything random about it (kind, tools,
voice, request seeds). A record line is written only once an attempt is fully judged, so a killed
session loses at most the attempts in flight, and the next one skips the numbers already on disk.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from callforge.core import CallforgeError, ConfigError, Dialog, Level, Provenance, ToolSpec, Verdict
from callforge.core import Voice as VoiceRecord
from callforge.execute import Engine, Toolbox, load_toolbox_async
from callforge.generate.accounting import Tally
from callforge.generate.backends import RunBackends
from callforge.generate.config import GenerateConfig
from callforge.generate.focus import Focus, read_focus
from callforge.generate.kinds import DEFAULT_MIX, KINDS, Kind, PlanContext
from callforge.generate.metered import Meter, metering, stop_metering
from callforge.generate.personas import Voice, draw_voice
from callforge.generate.plan import Plan
from callforge.generate.planner import GenerationFailure, Planner
from callforge.generate.play import Director
from callforge.generate.roles import AssistantRole, UserRole
from callforge.generate.sample import Sampler, SamplingError, ToolSample
from callforge.generate.steer import KNOBS, FocusedSampler, Knob, kind_at, steered_mix, steered_sampler
from callforge.llm import BackendError, RequestRejected
from callforge.run import (
    JUDGED,
    FailurePolicy,
    Item,
    JobHooks,
    JobProgress,
    RayExecutor,
    RunFolder,
    Written,
    run_job,
)
from callforge.tools import ToolGraph
from callforge.verify import (
    Cascade,
    CascadeSpec,
    Checked,
    StageName,
    StageResult,
    build_cascade,
    measure_difficulty,
)

_GIVE_UP_AFTER = 5  # consecutive attempts lost to a down endpoint before the run stops
_REPLAYABLE = frozenset({"gen.user_text", "gen.user_invented", "gen.assistant_parse", "gen.max_steps"})
"""Generation failures of the roles' text, which a replay of the same plan with new seeds may not repeat."""


@dataclass
class GenerateProgress:
    """What a progress display shows, updated after every judged attempt."""

    target: int
    accepted: int = 0
    rejected: int = 0
    resumed: int = 0
    errors: int = 0
    tokens: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    new_accepted: int = 0

    @property
    def eta_s(self) -> float | None:
        """Seconds to the target at this session's accepted rate (None before the first accept)."""
        if not self.new_accepted:
            return None
        rate = self.new_accepted / max(1e-9, time.perf_counter() - self.started)
        return max(0, self.target - self.accepted) / rate

    def top_reasons(self, k: int = 3) -> list[tuple[str, int]]:
        """The commonest rejection codes so far."""
        return sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


@dataclass
class GenerateReport:
    """A finished (or stopped) run: where it is, and its counts and accounting over every session."""

    out: Path
    target: int
    tally: Tally
    wall_s: float
    session_wall_s: float
    complete: bool
    stop_reason: str

    @property
    def accepted(self) -> int:
        """Accepted dialogs in the run (all sessions)."""
        return self.tally.accepted

    @property
    def manifest_path(self) -> Path:
        """The run's manifest."""
        return self.out / "manifest.json"


class Session:
    """One process's share of a run: builds the pipeline, runs attempts as jobs of the runner, keeps the tally."""

    def __init__(self, folder: RunFolder, toolbox: Toolbox, config: GenerateConfig, stored: dict[str, Any]) -> None:
        """Set up from the run's config; `stored` is the config as the manifest keeps it (with the tool digest)."""
        self.folder = folder
        self.toolbox = toolbox
        self.config = config
        self.stored = stored
        self.tally = Tally()
        for which in JUDGED:
            for row in folder.records(which):
                self.tally.add(row)
        self.focus = read_focus(config.focus) if config.focus is not None else None
        self.level = _level(config.difficulty, self.focus)
        self.knob = KNOBS[self.level] if self.level is not None else None
        mix = self.focus.mix(config.mix) if self.focus is not None else config.mix
        mix = steered_mix(mix, self.knob) if self.knob is not None else mix
        self.kinds, self.samplers, self.weights, self.dropped = _kinds(
            toolbox.tools, mix, config.mix == DEFAULT_MIX, self.knob, self.focus.tools if self.focus else None
        )
        self._refused_in_a_row = 0

    def seed_of(self, index: int) -> int:
        """The seed of attempt `index`: a hash of the run seed and the index, the same in every process."""
        digest = hashlib.sha256(f"{self.config.seed}:{index}".encode()).digest()
        return int.from_bytes(digest[:4], "big")

    def kind_of(self, index: int) -> str:
        """The kind of attempt `index`: a golden-ratio sequence over the mix's cumulative weights.

        Unlike an independent draw per attempt, consecutive attempts spread evenly over the kinds,
        so even a 10-dialog run gets the mix it asked for; the seed shifts where the sequence starts.
        """
        point = (self.seed_of(-1) / 2**32 + index * 0.6180339887498949) % 1.0
        total = 0.0
        names = list(self.kinds)
        for name, weight in zip(names, self.weights, strict=True):
            total += weight / sum(self.weights)
            if point < total:
                return name
        return names[-1]

    async def run(
        self,
        backends: RunBackends,
        progress: Callable[[GenerateProgress], None] | None,
        executor: RayExecutor | None = None,
    ) -> GenerateReport:
        """Attempt until `n` accepted (or the attempt budget is spent), `concurrency` attempts at a time.

        With `executor`, the attempts run in shards on Ray: each worker plays and judges them
        without the dedup stage, and this process, the only writer, dedups each record in attempt
        order just before it is written (`_deduplicate`), so the dedup index sees every shard's
        accepted dialogs in the order a one-at-a-time run accepts them.
        """
        started = time.perf_counter()
        n = self.config.n
        attempt_one = self.pipeline(backends) if executor is None else _elsewhere
        state = GenerateProgress(target=n, resumed=len(self.tally.done))
        _update(state, self.tally, None)

        async def attempt(index: int) -> Written:
            checked = await attempt_one(index)
            return Written("accepted" if checked.ok else "rejected", checked)

        def written(result: Written) -> None:
            checked = result.record
            assert isinstance(checked, Checked)
            self.tally.add(checked.model_dump(mode="json"))
            _update(state, self.tally, checked)
            self._refused_in_a_row = self._refused_in_a_row + 1 if _code(checked) == "gen.request_rejected" else 0
            if self._refused_in_a_row >= _GIVE_UP_AFTER:
                raise BackendError(
                    f"the model refused {self._refused_in_a_row} attempts in a row ({checked.failures[0].message}); "
                    "this looks like a setup problem, not one long dialog"
                )

        def show(job: JobProgress) -> None:
            state.errors = job.errors
            if progress is not None:
                progress(state)

        hooks = JobHooks(
            enough=lambda job: self.tally.accepted >= n,
            keep=lambda result: not (isinstance(result.record, Checked) and result.record.ok and self.tally.accepted >= n),
            admit=lambda job, in_flight: self._short_of_target(in_flight),
            written=written,
            summary=lambda job: self._summary(),
        )
        attempts = (Item(attempt_id(i), i) for i in range(self.config.attempts))
        await run_job(
            self.folder,
            attempts,
            attempt,
            config=self.stored,
            concurrency=self.config.concurrency,
            policy=FailurePolicy(give_up_after=_GIVE_UP_AFTER),
            hooks=hooks,
            progress=show,
            ordered=executor is not None,  # dedup and the target see the shards' records in attempt order
            executor=executor,
            setup=_GenerateSetup(_portable(self.config), self.folder.path.resolve()) if executor is not None else None,
            finish=self._deduplicate() if executor is not None else None,
        )
        complete = self.tally.accepted >= n
        reason = "target reached" if complete else f"attempt budget spent ({self.config.attempts} attempts)"
        return GenerateReport(
            out=self.folder.path,
            target=n,
            tally=self.tally,
            wall_s=float(self.folder.manifest().get("wall_s") or 0.0),
            session_wall_s=time.perf_counter() - started,
            complete=complete,
            stop_reason=reason,
        )

    def pipeline(self, backends: RunBackends, *, dedup: bool = True) -> Callable[[int], Awaitable[Checked]]:
        """What makes one attempt: the run's engine, cascade, planner and roles, built once and shared by attempts.

        `dedup=False` leaves the dedup stage out of the cascade (a Ray worker's: the driver dedups).
        """
        engine = backends.engine(self.toolbox, self.folder.path)
        cascade = self._cascade(engine, backends, dedup=dedup)
        if cascade.remembers:
            for row in self.folder.records("accepted"):
                cascade.remember(Dialog.model_validate(row["dialog"]), str(row["id"]))
        today = str(self.config.today)
        planner = Planner(backends.role("planner"), engine, today=today)
        director = Director(UserRole(backends.role("user")), AssistantRole(backends.role("assistant"), today=today, reasoning=self.config.reasoning), engine)

        async def attempt(index: int) -> Checked:
            return await self.attempt(index, planner, director, cascade)

        return attempt

    def _short_of_target(self, in_flight: int) -> bool:
        """Whether another attempt is needed: the attempts in flight, at the yield seen so far, fall short of n.

        Starting more than that only makes attempts that are cancelled when the target is reached.
        Until 10 attempts are judged the yield is taken as 1, so a run never starts more than it needs.
        """
        judged = self.tally.accepted + self.tally.rejected
        rate = self.tally.accepted / judged if judged >= 10 else 1.0
        return self.tally.accepted + in_flight * max(rate, 0.02) < self.config.n

    def draw(self, index: int) -> Draw:
        """Everything random about attempt `index`, fixed by the run's seed: kind, tools, voice, and its record's provenance."""
        seed = self.seed_of(index)
        rng = random.Random(seed)
        kind = self.kinds[self.kind_of(index)]
        sample = self.samplers[kind.name].sample(rng)
        voice = draw_voice(rng)
        meta = Provenance(
            id=attempt_id(index),
            source="callforge.generate",
            scenario=kind.name,
            seed=seed,
            sampler=sample.strategy,
            voice=VoiceRecord(persona=voice.persona, style=voice.style),
        )
        return Draw(attempt_id(index), seed, rng, kind, sample, voice, meta)

    async def attempt(self, index: int, planner: Planner, director: Director, cascade: Cascade) -> Checked:
        """Plan, play and judge attempt `index`; a generation failure becomes a rejected record."""
        drawn = self.draw(index)

        async def plan() -> Plan:
            knob = self.knob
            ctx = PlanContext(planner, drawn.rng, drawn.voice, drawn.seed)
            if knob is not None:
                ctx = replace(ctx, optional=knob.optional, hint=knob.hint)
            return await plan_once_more(drawn.kind, drawn.sample, ctx)

        return await self.judged(drawn, plan, director, cascade, retry_after=("rules", "exec"))

    async def judged(
        self,
        drawn: Draw,
        plan: Callable[[], Awaitable[Plan | tuple[Plan, Provenance]]],
        director: Director,
        cascade: Cascade,
        *,
        retry_after: tuple[str, ...],
        before_play: Callable[[], Awaitable[None]] | None = None,
        after_check: Callable[[Checked], Checked] | None = None,
    ) -> Checked:
        """The attempt's skeleton: plan, then play and judge, replayed with new seeds while a `retry_after` stage rejects.

        `plan` may also return the provenance the plan adds (an episode's blueprint); `before_play`
        runs before each play (a stateful environment goes back to its start), `after_check` sees
        each judged dialog. Every failure becomes a rejected record; the attempt's usage goes on it.
        """
        meta, meter, id = drawn.meta, Meter(), drawn.id
        token = metering(meter)
        made: Plan | None = None
        replays: list[str] = []
        try:
            clock = time.perf_counter()
            try:
                planned = await plan()
            except GenerationFailure as failure:
                meter.timed("plan", time.perf_counter() - clock)  # before the record takes the meter's sums
                return failed_record(id, failure, made, meta, meter)
            meter.timed("plan", time.perf_counter() - clock)
            made, meta = planned if isinstance(planned, tuple) else (planned, meta)
            rounds = 1 + self.config.replays
            for round in range(rounds):
                last = round == rounds - 1
                if replays:
                    meta = meta.model_copy(update={"replays": tuple(replays)})
                if before_play is not None:
                    await before_play()
                clock = time.perf_counter()
                try:
                    dialog = await director.play(made, drawn.voice, seed=drawn.seed + 7919 * round, meta=meta)
                except GenerationFailure as failure:
                    meter.timed("play", time.perf_counter() - clock)
                    if last or failure.code not in _REPLAYABLE:
                        return failed_record(id, failure, made, meta, meter)
                    replays.append(failure.code)
                    continue
                meter.timed("play", time.perf_counter() - clock)
                clock = time.perf_counter()
                checked = await cascade.check(dialog, id)
                if after_check is not None:
                    checked = after_check(checked)
                meter.timed("verify", time.perf_counter() - clock)
                if checked.ok or last or checked.rejected_by not in retry_after:
                    break
                replays.append(checked.failures[0].code or "rejected")
        except RequestRejected as exc:  # this request only (longer than the context): a rejected record
            return failed_record(id, GenerationFailure("gen.request_rejected", str(exc)), made, meta, meter)
        finally:
            stop_metering(token)
        measured = measure_difficulty(checked.dialog) if checked.ok else None
        spent = checked.dialog.meta.model_copy(update={"usage": meter.spend(), "difficulty": measured})
        return checked.model_copy(update={"dialog": checked.dialog.model_copy(update={"meta": spent})})

    def _cascade(self, engine: Engine, backends: RunBackends, *, dedup: bool = True) -> Cascade:
        stages: list[StageName] = ["rules", "exec"]
        judge = backends.judge()
        if judge is not None:
            stages.append("judge")
        if dedup:
            stages.append("dedup")
        spec = CascadeSpec(
            stages=tuple(stages),
            compare_outputs=True,
            dedup_threshold=self.config.dedup_threshold,
            max_same_calls=self.config.max_same_calls,
        )
        return build_cascade(spec, engine=engine, judge=judge)

    def _deduplicate(self) -> Callable[[Written], Awaitable[Written]]:
        """The dedup stage as the driver of a sharded run applies it: to each record the workers judged, as it is written.

        It makes the record a one-process run makes: an accepted dialog that repeats one accepted
        before gets the dedup stage's verdicts and goes to `rejected` (with no measured difficulty,
        as a rejected dialog has none); the others get the stage's (empty) result appended.
        """
        spec = CascadeSpec(
            stages=("dedup",), dedup_threshold=self.config.dedup_threshold, max_same_calls=self.config.max_same_calls
        )
        dedup = build_cascade(spec)
        for row in self.folder.records("accepted"):
            dedup.remember(Dialog.model_validate(row["dialog"]), str(row["id"]))

        async def finish(result: Written) -> Written:
            checked = result.record
            assert isinstance(checked, Checked)
            if not checked.ok:
                return result
            stages = (*checked.stages, *(await dedup.check(checked.dialog, checked.id)).stages)
            if all(stage.ok for stage in stages):
                return Written(result.stream, checked.model_copy(update={"stages": stages}))
            meta = checked.dialog.meta.model_copy(update={"difficulty": None})
            dialog = checked.dialog.model_copy(update={"meta": meta})
            return Written("rejected", checked.model_copy(update={"ok": False, "stages": stages, "dialog": dialog}))

        return finish

    def _summary(self) -> dict[str, Any]:
        counts = self.tally.to_dict()
        return {
            "target": self.config.n,
            "kinds_dropped": self.dropped,
            "counts": {k: counts[k] for k in ("accepted", "rejected", "attempts", "yield")},
            "accounting": {k: v for k, v in counts.items() if k not in ("accepted", "rejected", "attempts", "yield")},
            **self._steering(),
        }

    def _steering(self) -> dict[str, Any]:
        """What `difficulty` and `focus` made of the run (the level aimed at, the kinds' weights), for the manifest."""
        if self.level is None:
            return {}
        names = list(self.kinds)
        total = sum(self.weights)
        steering: dict[str, Any] = {
            "level": str(self.level),
            "mix": {name: round(w / total, 4) for name, w in zip(names, self.weights, strict=True)},
        }
        if self.focus is not None:
            steering["focus"] = {"source": self.focus.source, "model": self.focus.model, "tools": self.focus.tools}
        return {"steering": steering}


@dataclass(frozen=True)
class Draw:
    """What the seed fixes for one attempt: its id, seed and rng, kind and tools, voice, and provenance so far."""

    id: str
    seed: int
    rng: random.Random
    kind: Kind
    sample: ToolSample
    voice: Voice
    meta: Provenance


async def _elsewhere(index: int) -> Checked:
    raise AssertionError("a sharded run's attempts run in its Ray workers")  # the runner sends them there


@dataclass(frozen=True)
class _GenerateSetup:
    """Builds a generation's attempts in a Ray worker (picklable: the config travels, not the tools or backends).

    The worker loads the tools and builds the backends, engine, planner and roles itself; its
    cascade has no dedup stage (the driver's, which sees every shard's accepted dialogs). It keeps
    its caches in the run folder when its node sees it (a local cluster), in a folder of its own otherwise.
    """

    config: GenerateConfig
    folder: Path

    async def __call__(self) -> Callable[[int], Awaitable[Written]]:
        config = self.config
        where = self.folder if self.folder.is_dir() else Path(tempfile.mkdtemp(prefix="callforge-generate-worker-"))
        toolbox = await load_toolbox_async(list(config.tools), rest_base_url=config.rest_base_url, read_only=config.read_only)
        session = Session(RunFolder(where, job=GenerateConfig.job), toolbox, config, {})
        backends = RunBackends(
            config.model, config.judge_model, config.simulator_model, config.base_url, config.api_key, where, config.concurrency
        )
        attempt_one = session.pipeline(backends, dedup=False)

        async def attempt(index: int) -> Written:
            checked = await attempt_one(index)
            return Written("accepted" if checked.ok else "rejected", checked)

        return attempt


def _portable(config: GenerateConfig) -> GenerateConfig:
    """The config with its local files (tools, focus) as absolute paths, so a worker started elsewhere finds them."""
    tools = tuple(str(Path(t).resolve()) if Path(t).exists() else t for t in config.tools)
    focus = str(Path(config.focus).resolve()) if config.focus is not None and Path(config.focus).exists() else config.focus
    return config.model_copy(update={"tools": tools, "focus": focus})


def attempt_id(index: int) -> str:
    """The record id of attempt `index` (`g000042`): stable, so a resumed run skips what is on disk."""
    return f"g{index:06d}"


def _kinds(
    tools: Sequence[ToolSpec],
    mix: dict[str, float],
    default: bool,
    knob: Knob | None = None,
    focus: dict[str, float] | None = None,
) -> tuple[dict[str, Kind], dict[str, Sampler], list[float], dict[str, str]]:
    """The kinds of the mix with their samplers; kinds these tools cannot serve are dropped from the default mix.

    A difficulty `knob` sizes the kinds and redraws their distractors; a kind that cannot be made at
    the level's size (no chain of 3 tools) is made at its own. `focus` weighs tools by a target's failures.
    """
    graph = ToolGraph.build(tools)
    kinds: dict[str, Kind] = {}
    samplers: dict[str, Sampler] = {}
    dropped: dict[str, str] = {}
    for name in sorted(mix):
        kind = kind_at(name, knob)
        try:
            try:
                sampler = kind.sampler(tools, graph)
            except SamplingError:
                if knob is None:
                    raise
                kind = KINDS[name]()
                sampler = kind.sampler(tools, graph)
        except (SamplingError, CallforgeError) as exc:
            if not default:
                raise ConfigError(f"`mix` asks for {name}, but these tools cannot make it: {exc}") from None
            dropped[name] = str(exc)
            continue
        sampler = steered_sampler(sampler, tools, knob)
        samplers[name] = FocusedSampler(sampler, focus) if focus else sampler
        kinds[name] = kind
    if not kinds:
        raise ConfigError("these tools can make none of the scenario kinds: " + "; ".join(f"{k}: {v}" for k, v in dropped.items()))
    return kinds, samplers, [mix[k] for k in kinds], dropped


async def plan_once_more(
    kind: Kind, sample: ToolSample, ctx: PlanContext, *, before_retry: Callable[[], Awaitable[None]] | None = None
) -> Plan:
    """Plan once; when the tool rejects the values, plan once more with its error message as feedback.

    `before_retry` runs between the tries: a stateful environment goes back to its initial state,
    so the calls the first try proved leave no trace.
    """
    state = ctx.rng.getstate()
    try:
        return await kind.plan(sample, ctx)
    except GenerationFailure as failure:
        if failure.code != "gen.plan_rejected":
            raise
        ctx.rng.setstate(state)  # the retry draws what the first try drew; only the values change
        ctx.feedback = str(failure)
        if before_retry is not None:
            await before_retry()
        return await kind.plan(sample, ctx)


def _level(difficulty: str | None, focus: Focus | None) -> Level | None:
    """The level a run steers toward: the one asked for, the target's 50% level (auto), one above a focus's failures."""
    if difficulty == "auto":
        assert focus is not None  # the config refuses auto without a focus
        return focus.auto
    if difficulty is not None:
        return Level(difficulty)
    return focus.harder if focus is not None else None


def _code(checked: Checked) -> str | None:
    failures = checked.failures
    return failures[0].code if failures else None


def failed_record(id: str, failure: GenerationFailure, plan: Plan | None, meta: Provenance, meter: Meter) -> Checked:
    """An attempt that could not become a dialog, as a rejected record: the code, the plan, the dialog so far."""
    extra: dict[str, Any] = {"usage": meter.spend()}
    if plan is not None:
        extra["plan"] = plan.expected()
    if failure.partial is not None:
        dialog = failure.partial.model_copy(update={"meta": failure.partial.meta.model_copy(update=extra)})
    else:
        dialog = Dialog(tools=plan.tools if plan else (), meta=meta.model_copy(update=extra))
    verdict = Verdict.failed(failure.code, str(failure), **failure.evidence)
    return Checked(id=id, ok=False, stages=(StageResult(stage="generate", verdicts=(verdict,)),), dialog=dialog)


def _update(state: GenerateProgress, tally: Tally, checked: Checked | None) -> None:
    state.accepted = tally.accepted
    state.rejected = tally.rejected
    state.tokens = tally.tokens
    state.reasons = dict(tally.reasons)
    if checked is not None and checked.ok:
        state.new_accepted += 1
