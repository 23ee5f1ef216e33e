"""One process's share of a generation run: schedule attempts, play and judge each, write records and the manifest.

An attempt is numbered; its number and the run's seed fix everything random about it (kind, tools,
voice, request seeds). A record line is written only once an attempt is fully judged, so a killed
session loses at most the attempts in flight, and the next one skips the numbers already on disk.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callforge.core import CallforgeError, ConfigError, Dialog, Provenance, ToolSpec, Verdict
from callforge.core import Voice as VoiceRecord
from callforge.execute import Engine
from callforge.execute.toolbox import Toolbox
from callforge.generate.accounting import Tally
from callforge.generate.backends import RunBackends
from callforge.generate.kinds import DEFAULT_MIX, KINDS, Kind, PlanContext
from callforge.generate.personas import draw_voice
from callforge.generate.plan import Plan
from callforge.generate.planner import GenerationFailure, Planner
from callforge.generate.play import Director
from callforge.generate.roles import AssistantRole, UserRole
from callforge.generate.sample import Sampler, SamplingError, ToolSample
from callforge.llm.backend import BackendError, RequestRejected
from callforge.llm.metered import Meter, metering, stop_metering
from callforge.run import RunFolder
from callforge.tools.graph import ToolGraph
from callforge.verify.cascade import Cascade
from callforge.verify.execution import ExecutionStage
from callforge.verify.record import Checked, Stage, StageResult

_GIVE_UP_AFTER = 5  # consecutive attempts lost to a down endpoint before the run stops
_REPLAYABLE = frozenset({"gen.user_text", "gen.assistant_parse", "gen.max_steps"})
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
    """One process's share of a run: builds the pipeline, schedules attempts, writes records and the manifest."""

    def __init__(
        self, folder: RunFolder, toolbox: Toolbox, config: dict[str, Any], *, n: int, concurrency: int, max_attempts: int
    ) -> None:
        """Set up from the run's config; `max_attempts` caps this run's attempts, earlier sessions included."""
        self.folder = folder
        self.toolbox = toolbox
        self.config = config
        self.n = n
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.tally = Tally()
        for which in ("accepted", "rejected"):
            for row in folder.records(which):
                self.tally.add(row)
        self.kinds, self.samplers, self.weights, self.dropped = _kinds(toolbox.tools, config["mix"], config["mix"] == DEFAULT_MIX)

    def seed_of(self, index: int) -> int:
        """The seed of attempt `index`: a hash of the run seed and the index, the same in every process."""
        digest = hashlib.sha256(f"{self.config['seed']}:{index}".encode()).digest()
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

    async def run(self, backends: RunBackends, progress: Callable[[GenerateProgress], None] | None) -> GenerateReport:
        """Attempt until `n` accepted (or the attempt budget is spent), `concurrency` attempts at a time."""
        started = time.perf_counter()
        engine = backends.engine(self.toolbox, self.folder.path)
        cascade = self._cascade(engine, backends)
        _prime(cascade, self.folder)
        today = str(self.config["today"])
        planner = Planner(backends.role("planner"), engine, today=today)
        director = Director(UserRole(backends.role("user")), AssistantRole(backends.role("assistant"), today=today), engine)
        state = GenerateProgress(
            target=self.n,
            accepted=self.tally.accepted,
            rejected=self.tally.rejected,
            resumed=len(self.tally.done),
            tokens=self.tally.tokens,
            reasons=dict(self.tally.reasons),
        )
        sessions = list(self.folder.manifest().get("sessions") or [])
        number = self.folder.next_session()
        sessions.append({"session": number, "started": _now(), "wall_s": 0.0, "attempts": 0})
        self._save(sessions, started, "running")
        stop_reason = "target reached"
        if self.tally.accepted >= self.n:
            self._save(sessions, started, "complete")
            return self._report(started, sessions, True, stop_reason)
        writers = self.folder.writers(number)
        fatal: list[BaseException] = []
        lost_in_a_row = 0
        refused_in_a_row = 0
        last_save = time.monotonic()

        async def attempt(index: int) -> tuple[int, Checked | None]:
            try:
                return index, await self.attempt(index, planner, director, cascade)
            except BackendError as exc:
                if not exc.retryable:
                    raise
                self.folder.log_error(f"g{index:06d}", exc)
                return index, None

        pending: set[asyncio.Task[tuple[int, Checked | None]]] = set()
        indices = (i for i in range(self.max_attempts) if f"g{i:06d}" not in self.tally.done)
        exhausted = False
        try:
            while True:
                while not fatal and not exhausted and len(pending) < self.concurrency and self._short_of_target(len(pending)):
                    index = next(indices, None)
                    if index is None:
                        exhausted = True
                        stop_reason = f"attempt budget spent ({self.max_attempts} attempts)"
                        break
                    pending.add(asyncio.create_task(attempt(index)))
                if not pending:
                    break
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    if task.exception() is not None:
                        fatal.append(task.exception())  # type: ignore[arg-type]
                        continue
                    index, checked = task.result()
                    sessions[-1]["attempts"] += 1
                    if checked is None:
                        state.errors += 1
                        lost_in_a_row += 1
                        if lost_in_a_row >= _GIVE_UP_AFTER:
                            fatal.append(
                                BackendError(
                                    f"{lost_in_a_row} attempts in a row failed on the model endpoint (see "
                                    f"{self.folder.path / 'errors.jsonl'}); fix it and re-run with --resume"
                                )
                            )
                        continue
                    lost_in_a_row = 0
                    refused_in_a_row = refused_in_a_row + 1 if _code(checked) == "gen.request_rejected" else 0
                    if refused_in_a_row >= _GIVE_UP_AFTER:
                        fatal.append(
                            BackendError(
                                f"the model refused {refused_in_a_row} attempts in a row ({checked.failures[0].message}); "
                                "this looks like a setup problem, not one long dialog"
                            )
                        )
                    if checked.ok and self.tally.accepted >= self.n:
                        continue  # surplus from attempts in flight when the target was reached: not recorded
                    row = checked.model_dump(mode="json")
                    writers["accepted" if checked.ok else "rejected"].write(row)
                    self.tally.add(row)
                    _update(state, self.tally, checked)
                    if progress is not None:
                        progress(state)
                if fatal or self.tally.accepted >= self.n:
                    for task in pending:
                        task.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                    pending = set()
                    break
                if time.monotonic() - last_save > 5:
                    self._save(sessions, started, "running")
                    last_save = time.monotonic()
        finally:
            for writer in writers.values():
                writer.close()
            sessions[-1]["wall_s"] = round(time.perf_counter() - started, 3)
            complete = self.tally.accepted >= self.n
            self._save(sessions, started, "complete" if complete else ("failed" if fatal else "stopped"))
        if fatal:
            raise fatal[0]
        return self._report(started, sessions, self.tally.accepted >= self.n, stop_reason)

    def _short_of_target(self, in_flight: int) -> bool:
        """Whether another attempt is needed: the attempts in flight, at the yield seen so far, fall short of n.

        Starting more than that only makes attempts that are cancelled when the target is reached.
        Until 10 attempts are judged the yield is taken as 1, so a run never starts more than it needs.
        """
        judged = self.tally.accepted + self.tally.rejected
        rate = self.tally.accepted / judged if judged >= 10 else 1.0
        return self.tally.accepted + in_flight * max(rate, 0.02) < self.n

    async def attempt(self, index: int, planner: Planner, director: Director, cascade: Cascade) -> Checked:
        """Plan, play and judge attempt `index`; a generation failure becomes a rejected record."""
        seed = self.seed_of(index)
        rng = random.Random(seed)
        kind = self.kinds[self.kind_of(index)]
        sample = self.samplers[kind.name].sample(rng)
        voice = draw_voice(rng)
        id = f"g{index:06d}"
        meta = Provenance(
            id=id,
            source="callforge.generate",
            scenario=kind.name,
            seed=seed,
            sampler=sample.strategy,
            voice=VoiceRecord(persona=voice.persona, style=voice.style),
        )
        meter = Meter()
        token = metering(meter)
        plan: Plan | None = None
        replays: list[str] = []
        try:
            clock = time.perf_counter()
            try:
                plan = await _plan(kind, sample, PlanContext(planner, rng, voice, seed))
            except GenerationFailure as failure:
                return _failed(id, failure, plan, meta, meter)
            finally:
                meter.timed("plan", time.perf_counter() - clock)
            rounds = 1 + int(self.config.get("replays", 0))
            for round in range(rounds):
                last = round == rounds - 1
                if replays:
                    meta = meta.model_copy(update={"replays": tuple(replays)})
                clock = time.perf_counter()
                try:
                    dialog = await director.play(plan, voice, seed=seed + 7919 * round, meta=meta)
                except GenerationFailure as failure:
                    if last or failure.code not in _REPLAYABLE:
                        return _failed(id, failure, plan, meta, meter)
                    replays.append(failure.code)
                    continue
                finally:
                    meter.timed("play", time.perf_counter() - clock)
                clock = time.perf_counter()
                checked = await cascade.check(dialog, id)
                meter.timed("verify", time.perf_counter() - clock)
                if checked.ok or last or checked.rejected_by not in ("rules", "exec"):
                    break
                replays.append(checked.failures[0].code)
        except RequestRejected as exc:  # this request only (longer than the context): a rejected record
            return _failed(id, GenerationFailure("gen.request_rejected", str(exc)), plan, meta, meter)
        finally:
            stop_metering(token)
        spent = checked.dialog.meta.model_copy(update={"usage": meter.spend()})
        return checked.model_copy(update={"dialog": checked.dialog.model_copy(update={"meta": spent})})

    def _cascade(self, engine: Engine, backends: RunBackends) -> Cascade:
        from callforge.verify.dedup import DedupStage
        from callforge.verify.rules import RuleStage

        stages: list[Stage] = [RuleStage(), ExecutionStage(engine, compare_outputs=True)]
        judge = backends.judge()
        if judge is not None:
            from callforge.verify.judge import LLMJudge

            stages.append(LLMJudge(judge))
        same = self.config.get("max_same_calls")
        stages.append(DedupStage(float(self.config["dedup_threshold"]), max_same_calls=int(same) if same else None))
        return Cascade(stages)

    def _save(self, sessions: list[dict[str, Any]], started: float, status: str) -> None:
        sessions[-1]["wall_s"] = round(time.perf_counter() - started, 3)
        counts = self.tally.to_dict()
        self.folder.write_manifest(
            {
                "callforge": _version(),
                "status": status,
                "target": self.n,
                "updated": _now(),
                "config": self.config,
                "kinds_dropped": self.dropped,
                "sessions": sessions,
                "wall_s": round(sum(float(s.get("wall_s", 0)) for s in sessions), 3),
                "counts": {k: counts[k] for k in ("accepted", "rejected", "attempts", "yield")},
                "accounting": {k: v for k, v in counts.items() if k not in ("accepted", "rejected", "attempts", "yield")},
            }
        )

    def _report(self, started: float, sessions: list[dict[str, Any]], complete: bool, reason: str) -> GenerateReport:
        return GenerateReport(
            out=self.folder.path,
            target=self.n,
            tally=self.tally,
            wall_s=sum(float(s.get("wall_s", 0)) for s in sessions),
            session_wall_s=time.perf_counter() - started,
            complete=complete,
            stop_reason=reason,
        )


def _kinds(
    tools: Sequence[ToolSpec], mix: dict[str, float], default: bool
) -> tuple[dict[str, Kind], dict[str, Sampler], list[float], dict[str, str]]:
    """The kinds of the mix with their samplers; kinds these tools cannot serve are dropped from the default mix."""
    graph = ToolGraph.build(tools)
    kinds: dict[str, Kind] = {}
    samplers: dict[str, Sampler] = {}
    dropped: dict[str, str] = {}
    for name in sorted(mix):
        kind = KINDS[name]()
        try:
            samplers[name] = kind.sampler(tools, graph)
        except (SamplingError, CallforgeError) as exc:
            if not default:
                raise ConfigError(f"--mix asks for {name}, but these tools cannot make it: {exc}") from None
            dropped[name] = str(exc)
            continue
        kinds[name] = kind
    if not kinds:
        raise ConfigError("these tools can make none of the scenario kinds: " + "; ".join(f"{k}: {v}" for k, v in dropped.items()))
    return kinds, samplers, [mix[k] for k in kinds], dropped


async def _plan(kind: Kind, sample: ToolSample, ctx: PlanContext) -> Plan:
    """Plan once; when the tool rejects the values, plan once more with its error message as feedback."""
    state = ctx.rng.getstate()
    try:
        return await kind.plan(sample, ctx)
    except GenerationFailure as failure:
        if failure.code != "gen.plan_rejected":
            raise
        ctx.rng.setstate(state)  # the retry draws what the first try drew; only the values change
        ctx.feedback = str(failure)
        return await kind.plan(sample, ctx)


def _code(checked: Checked) -> str | None:
    failures = checked.failures
    return failures[0].code if failures else None


def _failed(id: str, failure: GenerationFailure, plan: Plan | None, meta: Provenance, meter: Meter) -> Checked:
    extra: dict[str, Any] = {"usage": meter.spend()}
    if plan is not None:
        extra["plan"] = plan.expected()
    if failure.partial is not None:
        dialog = failure.partial.model_copy(update={"meta": failure.partial.meta.model_copy(update=extra)})
    else:
        dialog = Dialog(tools=plan.tools if plan else (), meta=meta.model_copy(update=extra))
    verdict = Verdict.failed(failure.code, str(failure), **failure.evidence)
    return Checked(id=id, ok=False, stages=(StageResult(stage="generate", verdicts=(verdict,)),), dialog=dialog)


def _prime(cascade: Cascade, folder: RunFolder) -> None:
    """Dedup remembers what earlier sessions accepted, so a resumed run never accepts a copy of them."""
    if any(hasattr(s, "remember") for s in cascade.stages):
        for row in folder.records("accepted"):
            cascade.remember(Dialog.model_validate(row["dialog"]), str(row["id"]))


def _update(state: GenerateProgress, tally: Tally, checked: Checked) -> None:
    state.accepted = tally.accepted
    state.rejected = tally.rejected
    state.tokens = tally.tokens
    state.reasons = dict(tally.reasons)
    if checked.ok:
        state.new_accepted += 1


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _version() -> str:
    from callforge import __version__

    return __version__
