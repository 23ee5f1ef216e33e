"""Multi-turn episodes over a stateful environment (`generate --env`): a proven blueprint first, then the play.

APIGen-MT's order, in callforge's parts. A *blueprint* is a multi-turn plan made on a fresh copy of
the environment: the planner fixes each turn's calls and values (a value a tool rejects is planned
again with the tool's message), and then the calls run once more from the initial state, so the
blueprint carries the state they provably reach. A blueprint whose calls fail, that changes
nothing, or that repeats one already made is rejected before any text is written.

The *episode* plays the blueprint on another fresh copy: the user role reveals the task turn by
turn in a persona, the assistant acts with every tool of the environment, and the environment runs
each call. The dialog is judged first by where it ends (`EpisodeStage`: the end-state check that
scores eval sets, on the blueprint's calls), so a failed episode always names the first turn whose
state diverged from the blueprint's; then by the rules (and the judge, when there is one) and dedup.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from callforge.core import (
    ConfigError,
    Dialog,
    EpisodeTrace,
    Provenance,
    ToolCall,
    ToolSpec,
    Verdict,
)
from callforge.evaluate import check_end_state, dialog_output, diverged_turn, episode_entry
from callforge.execute import (
    Environment,
    EnvironmentEngine,
    EnvironmentSpec,
    EnvironmentState,
    Toolbox,
    error_payload,
)
from callforge.generate.backends import RunBackends, Timed
from callforge.generate.config import DEFAULT_TWISTS, GenerateConfig
from callforge.generate.kinds import Kind, PlanContext, askable, breakages
from callforge.generate.pasted import pasted_block
from callforge.generate.personas import Voice
from callforge.generate.plan import Plan, PlannedCall
from callforge.generate.planner import GenerationFailure, Planner
from callforge.generate.play import Director
from callforge.generate.roles import AssistantRole, UserRole
from callforge.generate.session import Session, plan_once_more
from callforge.run import RunFolder
from callforge.verify import Cascade, CascadeSpec, Checked, StageName, StageResult, build_cascade

EPISODE_KINDS = ("multi_turn",)
"""The scenario kinds an episode is planned with (several user turns, each building on the state)."""


class EpisodeStage:
    """A cascade stage that asks whether an episode ends where its blueprint does (`check_end_state`).

    The environment is built afresh to replay the blueprint and the episode's calls, so the verdict
    is the one an eval set exported from the run gives the same dialog. On a failure, the evidence
    names `diverged_turn`, the first user turn after which the states differ.
    """

    name = "episode"

    def __init__(self, environment: EnvironmentSpec) -> None:
        """Judge episodes over `environment`."""
        self.environment = environment

    async def check(self, dialog: Dialog) -> StageResult:
        """The end-state verdict of one episode (its trace is on `dialog.meta.episode`)."""
        return await asyncio.to_thread(self._check, dialog)

    def _check(self, dialog: Dialog) -> StageResult:
        trace = dialog.meta.episode
        if trace is None:
            verdict = Verdict.failed("episode.no_blueprint", "the dialog carries no episode trace to judge it by")
            return StageResult(stage=self.name, verdicts=(verdict,))
        entry = episode_entry(dialog.meta.id or "episode", dialog, trace.truth, episode_world(self.environment, trace))
        output = dialog_output(dialog)
        verdict = check_end_state(entry, output)
        if verdict.ok:
            return StageResult(stage=self.name)
        turn = diverged_turn(entry, output)
        evidence = {**verdict.evidence, "diverged_turn": turn}
        return StageResult(stage=self.name, verdicts=(Verdict.failed(verdict.code or "episode.failed", verdict.message, **evidence),))


class EpisodeSession(Session):
    """A generation run whose attempts are episodes over one environment (see the module docstring)."""

    def __init__(
        self, folder: RunFolder, environment: EnvironmentSpec, tools: Sequence[ToolSpec], config: GenerateConfig, stored: dict[str, Any]
    ) -> None:
        """Set up over `environment`, whose `tools` every episode offers; earlier blueprints are read back for dedup."""
        super().__init__(folder, Toolbox(tools=tuple(tools)), config, stored)
        self.environment = environment
        self.tools = tuple(tools)
        self.known: set[bytes] = set()
        for which in ("accepted", "rejected"):
            for row in folder.records(which):
                trace = (row.get("dialog", {}).get("meta") or {}).get("episode")
                if trace:
                    self.known.add(_signature([[ToolCall.model_validate(c) for c in turn] for turn in trace["truth"]]))

    def pipeline(self, backends: RunBackends, *, dedup: bool = True) -> Callable[[int], Awaitable[Checked]]:
        """Per attempt: a fresh environment, a proven blueprint, the play, then rules, end state and dedup (unless `dedup=False`)."""
        cascade = self._episode_cascade(backends, dedup=dedup)
        if cascade.remembers:
            for row in self.folder.records("accepted"):
                cascade.remember(Dialog.model_validate(row["dialog"]), str(row["id"]))
        today = str(self.config.today)
        user = UserRole(backends.role("user"))
        assistant = AssistantRole(backends.role("assistant"), today=today, reasoning=self.config.reasoning)
        planner_backend = backends.role("planner")

        fills = self._fills()

        async def attempt(index: int) -> Checked:
            twist = self.twist_of(index)
            world = self.environment
            if twist == "long_context" and fills:
                world = world.with_long_context(self.seed_of(index))
            environment = await asyncio.to_thread(world.build)
            try:
                engine = Timed(SerialEngine(environment))
                planner = Planner(planner_backend, engine, today=today)
                director = Director(user, assistant, engine, answer_questions=True)
                return await self.episode(index, environment, planner, director, cascade, twist=twist, world=world)
            finally:
                await asyncio.to_thread(environment.close)

        return attempt

    def twist_of(self, index: int) -> str:
        """The twist of attempt `index`, fixed by the run's seed; drawn before the world is built, which it may change."""
        return _draw(random.Random(self.seed_of(index) ^ 0x7157), self.config.twists or DEFAULT_TWISTS)

    def _fills(self) -> bool:
        """Whether the environment can start from long-context filler state (asked once, and only when the twist is wanted)."""
        if not (self.config.twists or {}).get("long_context") or not self.environment.fillable:
            return False
        probe = self.environment.with_long_context(0).build()
        try:
            return bool(getattr(probe, "filled", False))
        finally:
            probe.close()

    def _episode_cascade(self, backends: RunBackends, *, dedup: bool = True) -> Cascade:
        stages: list[StageName] = ["rules"]
        judge = backends.judge()
        if judge is not None:
            stages.append("judge")
        if dedup:
            stages.append("dedup")
        spec = CascadeSpec(
            stages=tuple(stages), dedup_threshold=self.config.dedup_threshold, max_same_calls=self.config.max_same_calls
        )
        # The end state goes first: a failed episode then always names its diverging turn, which is
        # where its preference pair is cut (learn's `diverged` pairs), even when a rule would also fail.
        built = build_cascade(spec, judge=judge)
        return Cascade([EpisodeStage(self.environment), *built.stages], unsure=spec.unsure)

    async def episode(
        self,
        index: int,
        environment: Environment,
        planner: Planner,
        director: Director,
        cascade: Cascade,
        *,
        twist: str = "plain",
        world: EnvironmentSpec | None = None,
    ) -> Checked:
        """Blueprint, play and judge attempt `index` with `twist` on `environment`, built from `world`.

        `world` is the session's environment, or it with long-context filler: the blueprint is
        proven on it and the trace names it, so the judge rebuilds the same initial state.
        """
        drawn = self.draw(index)
        world = world or self.environment

        async def blueprint() -> tuple[Plan, Provenance]:
            ctx = PlanContext(planner, drawn.rng, drawn.voice, drawn.seed)
            plan = await self._blueprint(drawn.kind, drawn.sample, ctx, environment)
            truth, end, end_json = await asyncio.to_thread(_prove, environment, plan)
            self._admit(truth, end)
            filled = world.long_context is not None
            made, truth, made_twist = await asyncio.to_thread(
                _twisted, twist, plan, truth, environment, random.Random(drawn.seed + 1), filled=filled, voice=drawn.voice
            )
            made = made.model_copy(update={"tools": self.tools})  # the whole environment is offered
            trace = EpisodeTrace(
                environment=world.to_json(), truth=truth, end_state=end_json, twist=made_twist, late_tools=late_tools(made)
            )
            return made, drawn.meta.model_copy(update={"episode": trace})

        async def restart() -> None:
            await asyncio.to_thread(environment.reset)

        return await self.judged(
            drawn, blueprint, director, cascade, retry_after=("rules", "episode"), before_play=restart, after_check=_with_divergence
        )

    async def _blueprint(self, kind: Kind, sample: Any, ctx: PlanContext, environment: Environment) -> Plan:
        """The plan, made from the initial state (each try starts again from it, so a failed try leaves no trace)."""
        await asyncio.to_thread(environment.reset)
        ctx.world = _world(environment)
        return await plan_once_more(kind, sample, ctx, before_retry=lambda: asyncio.to_thread(environment.reset))

    def _admit(self, truth: tuple[tuple[ToolCall, ...], ...], end: EnvironmentState | None) -> None:
        """Refuse a blueprint that changes nothing or repeats one already made (in this run, any session)."""
        if end is None:
            raise GenerationFailure("gen.blueprint_no_effect", "the blueprint's calls change nothing in the environment")
        signature = _signature(truth)
        if signature in self.known:
            raise GenerationFailure("gen.blueprint_duplicate", "the blueprint repeats the calls of an earlier one")
        self.known.add(signature)


Truth = tuple[tuple[ToolCall, ...], ...]


def _draw(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, [weights[n] for n in names])[0]


def _twisted(
    twist: str, plan: Plan, truth: Truth, environment: Environment, rng: random.Random, *, filled: bool = False, voice: Voice
) -> tuple[Plan, Truth, str]:
    """The blueprint with its twist worked in (and the truth per user message to match), or plain when it has no room.

    * `missing`: one turn's request leaves out a value the user would state; the assistant must ask
      (that message's truth is empty, as in BFCL's miss_param) and the user's next message gives it.
    * `change_mind`: the user first asks with another amount, then settles on the planned one in
      the same message; the calls must use the final value.
    * `error`: a wrong call, scripted and masked (it is never a training target), runs first in one
      turn and fails on the environment without changing it; the assistant recovers from its error.
    * `late_tool`: the tool one turn needs is not offered until then (BFCL's miss_func): the request
      cannot be done (empty truth), then the user says the tool is there and the calls follow.
    * `long_context`: the world started from bulky filler state (`filled`: the blueprint was made and
      proven on it, so outputs are long and the right item is one among many); a world without
      filler gets one user message placed inside a long pasted block instead (`pasted_block`).
      The calls never change.
    """
    tools = {t.name: t for t in plan.tools}
    turns = list(plan.turns)
    if twist == "missing":
        slots = [
            (n, name)
            for n, turn in enumerate(turns)
            if len(turn.calls) == 1 and (tool := tools.get(turn.calls[0].name)) is not None
            for name in askable(tool)
            if name in turn.calls[0].arguments and name not in turn.calls[0].refs
        ]
        if slots:
            n, name = rng.choice(slots)
            asked = turns[n].model_copy(update={"missing": (name,)})
            new_turns = (*turns[:n], asked, turns[n], *turns[n + 1 :])
            return plan.model_copy(update={"turns": new_turns}), (*truth[:n], (), *truth[n:]), twist
    elif twist == "change_mind":
        amounts = [
            (n, name, value)
            for n, turn in enumerate(turns)
            for call in turn.calls[:1]
            for name, value in call.arguments.items()
            if isinstance(value, int | float) and not isinstance(value, bool) and name not in call.refs
        ]
        if amounts:
            n, name, value = rng.choice(amounts)
            dropped = round(value * 2 + 5, 2) if isinstance(value, float) else value * 2 + 5
            revised = turns[n].model_copy(update={"revisions": {name: dropped}})
            return plan.model_copy(update={"turns": (*turns[:n], revised, *turns[n + 1 :])}), truth, twist
    elif twist == "error":
        for n in rng.sample(range(len(turns)), len(turns)):
            call = turns[n].calls[0] if turns[n].calls else None
            tool = tools.get(call.name) if call is not None else None
            if call is None or tool is None or not tool.properties:
                continue
            for arguments in breakages(call.arguments, tool, rng)[:4]:
                if _fails_harmlessly(environment, truth[:n], ToolCall(name=call.name, arguments=arguments)):
                    bad = PlannedCall(name=call.name, arguments=arguments, fails=True)
                    failing = turns[n].model_copy(update={"steps": ((bad,), *turns[n].steps)})
                    return plan.model_copy(update={"turns": (*turns[:n], failing, *turns[n + 1 :])}), truth, twist
    elif twist == "late_tool":
        for n in rng.sample(range(len(turns)), len(turns)):
            names = {c.name for c in turns[n].calls}
            if len(names) != 1 or any(c.fails for c in turns[n].calls):
                continue
            (name,) = names
            if any(c.name == name for turn in turns[:n] for c in turn.calls):
                continue  # an earlier turn needs it: it cannot be missing from the start
            earlier = [turn.model_copy(update={"withheld": (name,)}) for turn in turns[:n]]
            request = turns[n].model_copy(update={"withheld": (name,)})
            unlock = turns[n].model_copy(update={"unlocked": (name,)})
            new_turns = (*earlier, request, unlock, *turns[n + 1 :])
            return plan.model_copy(update={"turns": new_turns}), (*truth[:n], (), *truth[n:]), twist
    elif twist == "long_context":
        if filled:
            return plan, truth, twist
        asking = [n for n, turn in enumerate(turns) if turn.calls and not turn.missing and not turn.offtopic]
        if asking:
            n = rng.choice(asking)
            pasted = turns[n].model_copy(update={"pasted": pasted_block(rng, voice)})
            return plan.model_copy(update={"turns": (*turns[:n], pasted, *turns[n + 1 :])}), truth, twist
    return plan, truth, "plain"


def episode_world(environment: EnvironmentSpec, trace: EpisodeTrace) -> EnvironmentSpec:
    """The world an episode was played in: `environment` with the filler its trace names (a long-context episode)."""
    seed = trace.environment.get("long_context")
    if type(seed) is int and environment.fillable:
        return environment.with_long_context(seed)
    return environment


def late_tools(plan: Plan) -> dict[str, tuple[str, ...]]:
    """The tools a plan withholds until a later turn, as BFCL's `missed_function` says it: {turn: names}."""
    return {str(n): turn.unlocked for n, turn in enumerate(plan.turns) if turn.unlocked}


def _fails_harmlessly(environment: Environment, before: Sequence[Sequence[ToolCall]], call: ToolCall) -> bool:
    """Whether `call`, made where the blueprint stands after `before`, fails and leaves the state as it was."""
    environment.reset()
    for turn in before:
        for made in turn:
            environment.run(made)
    start = environment.snapshot()
    observation = environment.run(call)
    failed = not observation.ok or error_payload(observation.output) is not None
    return failed and not start.diff(environment.snapshot(copy=False))


class SerialEngine(EnvironmentEngine):
    """An environment as an engine whose calls run one at a time, off the event loop.

    One state cannot take two calls at once (a parallel step runs its calls in order), and a call
    may block (a sandbox run, a service's answer), so each runs in a worker thread.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._lock = asyncio.Lock()

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Any:
        """Run `call` on the environment's state, after any call already running."""
        async with self._lock:
            return await asyncio.to_thread(self.environment.run, call)


def _prove(environment: Environment, plan: Plan) -> tuple[tuple[tuple[ToolCall, ...], ...], EnvironmentState | None, dict[str, Any] | None]:
    """Run the blueprint's calls from the initial state: its truth per turn, the end state (None: nothing changed), as JSON."""
    environment.reset()
    start = environment.snapshot()
    truth: list[tuple[ToolCall, ...]] = []
    for number, turn in enumerate(plan.turns):
        calls = tuple(ToolCall(name=c.name, arguments=c.arguments) for c in turn.calls if not c.fails)
        for call in calls:
            observation = environment.run(call)
            if not observation.ok:
                raise GenerationFailure(
                    "gen.blueprint_fails",
                    f"turn {number + 1}: {call.name} fails when the blueprint is run from the start: {observation.verdict.message}",
                    arguments=call.arguments,
                )
        truth.append(calls)
    end = environment.snapshot()
    if not start.diff(end):
        return tuple(truth), None, None
    return tuple(truth), end, _state_json(end)


def _state_json(state: EnvironmentState) -> dict[str, Any] | None:
    found: dict[str, dict[str, Any]] = {}
    for entry in state.entries:
        found.setdefault(entry.owner, {})[entry.name] = entry.value
    try:
        return orjson.loads(orjson.dumps(found))  # type: ignore[no-any-return]
    except TypeError:
        return None


def _world(environment: Environment, limit: int = 1500) -> str:
    """The initial state as the planner is shown it: values it can refer to (open accounts, files, names)."""
    state = {f"{e.owner}.{e.name}": e.value for e in environment.snapshot(copy=False).entries}
    try:
        text = orjson.dumps(state, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        text = repr(state)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"The world the calls act on starts as: {text}. Refer to what exists in it where a tool needs an existing item."


def _signature(truth: Sequence[Sequence[ToolCall]]) -> bytes:
    return orjson.dumps([[(c.name, c.arguments) for c in turn] for turn in truth], option=orjson.OPT_SORT_KEYS)


def _with_divergence(checked: Checked) -> Checked:
    """A rejected episode with the diverging turn on its trace, where readers (and preference pairs) find it."""
    trace = checked.dialog.meta.episode
    if checked.ok or trace is None:
        return checked
    turn = next((v.evidence.get("diverged_turn") for v in checked.failures if "diverged_turn" in v.evidence), None)
    if turn is None:
        return checked
    meta = checked.dialog.meta.model_copy(update={"episode": trace.model_copy(update={"diverged_turn": turn})})
    return checked.model_copy(update={"dialog": checked.dialog.model_copy(update={"meta": meta})})


def check_episode_config(environment: EnvironmentSpec, config: GenerateConfig) -> None:
    """Refuse what cannot work: several attempts at once on one real service (they would share its state)."""
    if environment.kind == "service" and config.concurrency > 1:
        raise ConfigError(
            f"--env {environment.path}: a service has one state, so its episodes run one at a time; pass --concurrency 1"
        )
