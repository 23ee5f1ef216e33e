"""Pool synthesis end to end: taxonomy → functionalities → drafts → evolution → validation → dedup.

Work goes in fixed-size batches and each batch's results are judged in job order, so the pool a
seed produces does not depend on which request finished first. Every request is deterministic
(seeded), so with a response cache a killed run re-run with the same arguments replays what it
had and continues: nothing is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callforge.core import ConfigError, Message, ToolSpec, Verdict
from callforge.llm import Backend, Completion, RequestRejected, strip_fence
from callforge.run import Item, JobHooks, RayExecutor, RunFolder, WorkSetup, Written, run_job
from callforge.tools.synth.checks import check_draft, check_schema
from callforge.tools.synth.draft import ApiDraft, DraftField, draft_schema, features, snake_case, to_toolspec
from callforge.tools.synth.prompts import (
    DRAFT_SYSTEM,
    EVOLUTIONS,
    EVOLVE_SYSTEM,
    draft_prompt,
    evolve_prompt,
    feature_plan,
)
from callforge.tools.synth.similar import DEFAULT_SIMILARITY, ApiIndex
from callforge.tools.synth.taxonomy import (
    EXPAND_SCHEMA,
    EXPAND_SYSTEM,
    FUNCTIONALITY_SCHEMA,
    FUNCTIONALITY_SYSTEM,
    Domain,
    expand_prompt,
    functionality_prompt,
    seed_domains,
)

Progress = Callable[[int, int], None]
SYNTH_JOB = "synth"
DRAFTS = "drafts"
"""The stream a synthesis writes: one record per drafted API, in job order."""
_MAX_ROUNDS = 4  # rounds of fresh functionalities before giving up on reaching n
_OVERDRAFT = 1.5  # functionalities asked for per API still needed: drafts fail validation and dedup
_EXAMPLES = 12  # rejected drafts kept in the report as examples


class SynthReport(BaseModel):
    """What a synthesis run made and dropped, and what it cost: the pool's quality sheet."""

    model_config = ConfigDict(frozen=True)

    model: str
    requested: int
    kept: int
    drafts: int
    parsed: int
    valid: int
    invalid: dict[str, int]
    duplicates: dict[str, int]
    evolved: dict[str, int]
    evolution_failed: int
    domains: dict[str, int]
    features: dict[str, int]
    requests: int
    cached_requests: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    examples: list[dict[str, Any]]

    @property
    def schema_validity(self) -> float:
        """Share of drafts that passed every validation rule (before dedup)."""
        return self.valid / self.drafts if self.drafts else 0.0


@dataclass(frozen=True)
class Pool:
    """A synthesized pool: its tools, the domains it grew from, and the report."""

    tools: tuple[ToolSpec, ...]
    domains: tuple[Domain, ...]
    report: SynthReport


@dataclass(frozen=True)
class _Job:
    domain: Domain
    functionality: str

    @property
    def id(self) -> str:
        """The draft's record id: its domain and functionality (unique in a run)."""
        return f"{self.domain.name}:{self.functionality.casefold()}"


class DraftRecord(BaseModel):
    """One drafted API as the run records it: the tool (when valid) or the problems, and how it was made."""

    model_config = ConfigDict(frozen=True)

    id: str
    domain: str
    functionality: str
    tool: ToolSpec | None = None
    problems: tuple[Verdict, ...] = ()
    parsed: bool = False
    evolved: str | None = None
    evolution_failed: bool = False
    name: str = ""
    usage: tuple[int, int, int, int] | None = Field(default=None, exclude_if=lambda v: v is None)
    """Requests, cached requests, prompt and completion tokens of this draft, when a Ray worker made it
    (its counters stay in the worker; the driver adds these). Left out otherwise."""


@dataclass
class _Outcome:
    job: _Job
    tool: ToolSpec | None = None
    problems: list[Verdict] = field(default_factory=list)
    parsed: bool = False
    evolved: str | None = None
    evolution_failed: bool = False
    name: str = ""

    def record(self) -> DraftRecord:
        return DraftRecord(
            id=self.job.id,
            domain=self.job.domain.name,
            functionality=self.job.functionality,
            tool=self.tool,
            problems=tuple(self.problems),
            parsed=self.parsed,
            evolved=self.evolved,
            evolution_failed=self.evolution_failed,
            name=self.name,
        )


_DRAFT_COUNTERS: contextvars.ContextVar[_Counters | None] = contextvars.ContextVar("draft_counters", default=None)
"""The counters of the draft being made in this task (a Ray worker reports them with the record)."""


class _Counters:
    def __init__(self) -> None:
        self.requests = 0
        self.cached = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def add(self, completion: Completion) -> None:
        self.requests += 1
        self.cached += completion.cached
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens

    def add_usage(self, usage: tuple[int, int, int, int]) -> None:
        self.requests += usage[0]
        self.cached += usage[1]
        self.prompt_tokens += usage[2]
        self.completion_tokens += usage[3]


class PoolSynthesizer:
    """Grows an API pool with one model; `run` does the whole pipeline (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        *,
        seed: int = 0,
        evolve_rate: float = 0.3,
        similarity: float = DEFAULT_SIMILARITY,
        concurrency: int = 4,
        temperature: float = 0.8,
    ) -> None:
        """Configure the run; `evolve_rate` is the share of valid drafts that get one evolution pass."""
        if not 0 <= evolve_rate <= 1:
            raise ConfigError(f"evolve_rate must be between 0 and 1, got {evolve_rate}")
        if not 0 < similarity <= 1:
            raise ConfigError(f"similarity must be in (0, 1], got {similarity}")
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        self.backend = backend
        self.seed = seed
        self.evolve_rate = evolve_rate
        self.similarity = similarity
        self.concurrency = concurrency
        self.temperature = temperature
        self._counters = _Counters()
        self._limit = asyncio.Semaphore(concurrency)

    async def run(
        self,
        n: int,
        *,
        domains: Sequence[str] | None = None,
        expand: int = 0,
        progress: Progress | None = None,
        folder: RunFolder | None = None,
        config: dict[str, Any] | None = None,
        executor: RayExecutor | None = None,
        setup: WorkSetup | None = None,
    ) -> Pool:
        """Synthesize `n` APIs over `domains` (default: the seed taxonomy), plus `expand` model-proposed domains.

        Each draft is an item of the job runner, recorded in `folder`'s `drafts` stream (a
        temporary folder when none is given). Drafts are judged in job order in fixed-size groups,
        so the pool a seed gives does not depend on timing; a folder that already holds drafts of
        this run replays them first, so a killed synthesis continues where it stopped.

        `executor` drafts on Ray actors, each with the synthesizer `setup` builds there
        (`drafter`); each draft is sent with the names its domain has taken when it starts.
        """
        if n < 1:
            raise ConfigError(f"`n` must be at least 1, got {n}")
        if folder is None:
            with tempfile.TemporaryDirectory(prefix="callforge-synth-") as tmp:
                return await self.run(
                    n, domains=domains, expand=expand, progress=progress, folder=RunFolder(tmp, job=SYNTH_JOB, streams=(DRAFTS,))
                )
        started = time.monotonic()
        taxonomy = seed_domains(list(domains) if domains else None)
        if expand:
            taxonomy += await self._expand(taxonomy, expand)
        state = _State(n, self.similarity, taxonomy)
        for row in folder.records(DRAFTS):
            state.judge(DraftRecord.model_validate(row))
        covered: dict[str, list[str]] = {d.name: [] for d in taxonomy}
        stored = config if config is not None else {"n": n, "seed": self.seed}

        async def draft(job: _Job) -> Written:
            return Written(DRAFTS, (await self._job(job, state.names[job.domain.name])).record())

        def judged(written: Written) -> None:
            assert isinstance(written.record, DraftRecord)
            if executor is not None and written.record.usage is not None:
                self._counters.add_usage(written.record.usage)
            state.judge(written.record)
            if progress is not None:
                progress(len(state.kept), n)

        hooks = JobHooks(
            admit=lambda job, in_flight: len(state.kept) < n,
            written=judged,
            summary=lambda job: {"counts": {"target": n, "drafts": len(state.outcomes), "kept": len(state.kept)}},
        )
        ran = False  # the first round always runs a session, so even a model that proposes nothing leaves a manifest
        for round_number in range(_MAX_ROUNDS):
            need = n - len(state.kept)
            if need <= 0:
                break
            per_domain = max(2, min(30, math.ceil(need * _OVERDRAFT / len(taxonomy))))
            lists = await asyncio.gather(
                *(self._functionalities(d, per_domain, covered[d.name], round_number) for d in taxonomy)
            )
            jobs = _interleave(taxonomy, lists, covered)
            if not jobs and ran:
                break
            ran = True
            batch = self.concurrency * 2
            await run_job(
                folder,
                (Item(j.id, j) for j in jobs),
                draft,
                config=stored,
                concurrency=batch,
                hooks=hooks,
                ordered=True,
                barrier=batch,
                executor=executor,
                setup=setup,
                ship=lambda job: (job, list(state.names[job.domain.name])),
            )
            if not jobs:
                break
        report = self._report(n, state.kept, state.outcomes, time.monotonic() - started)
        return Pool(tuple(state.kept), tuple(taxonomy), report)

    async def _ask(
        self, system: str, prompt: str, schema: dict[str, Any], seed: int, max_tokens: int
    ) -> Completion:
        async with self._limit:
            completion = await self.backend.complete(
                [Message(role="system", content=system), Message(role="user", content=prompt)],
                temperature=self.temperature,
                max_tokens=max_tokens,
                seed=seed,
                json_schema=schema,
            )
        self._counters.add(completion)
        mine = _DRAFT_COUNTERS.get()
        if mine is not None:
            mine.add(completion)
        return completion

    async def drafter(self) -> Callable[[tuple[_Job, list[str]]], Any]:
        """The work of one draft in a Ray worker: (job, names taken) in, its record, with its usage, out."""

        async def draft(shipped: tuple[_Job, list[str]]) -> Written:
            job, taken = shipped
            counters = _Counters()
            token = _DRAFT_COUNTERS.set(counters)
            try:
                record = (await self._job(job, taken)).record()
            finally:
                _DRAFT_COUNTERS.reset(token)
            usage = (counters.requests, counters.cached, counters.prompt_tokens, counters.completion_tokens)
            return Written(DRAFTS, record.model_copy(update={"usage": usage}))

        return draft

    def _seed(self, *parts: object) -> int:
        return random.Random(":".join(map(str, (self.seed, *parts)))).randrange(2**31)

    async def _expand(self, known: list[Domain], count: int) -> list[Domain]:
        try:
            completion = await self._ask(
                EXPAND_SYSTEM, expand_prompt(known, count), EXPAND_SCHEMA, self._seed("expand"), 60 * count
            )
            answer = orjson.loads(strip_fence(completion.text))
        except (RequestRejected, orjson.JSONDecodeError):
            return []
        found: list[Domain] = []
        taken = {d.name for d in known}
        for item in answer.get("domains", []) if isinstance(answer, dict) else []:
            if not isinstance(item, dict):
                continue
            name = snake_case(str(item.get("name", "")))
            if name and name not in taken and len(found) < count:
                taken.add(name)
                found.append(Domain(name, str(item.get("description", "")).strip() or name.replace("_", " ")))
        return found

    async def _functionalities(
        self, domain: Domain, count: int, avoid: list[str], round_number: int
    ) -> list[str]:
        try:
            completion = await self._ask(
                FUNCTIONALITY_SYSTEM,
                functionality_prompt(domain, count, avoid),
                FUNCTIONALITY_SCHEMA,
                self._seed("functionalities", domain.name, round_number),
                24 * count + 32,
            )
            answer = orjson.loads(strip_fence(completion.text))
        except (RequestRejected, orjson.JSONDecodeError):
            return []
        items = answer.get("functionalities", []) if isinstance(answer, dict) else []
        return [" ".join(str(i).split()).rstrip(".") for i in items if isinstance(i, str) and i.strip()]

    async def _job(self, job: _Job, taken: list[str]) -> _Outcome:
        outcome = _Outcome(job)
        rng = random.Random(self._seed("draft", job.domain.name, job.functionality))
        count, wanted = feature_plan(rng)
        prompt = draft_prompt(job.domain, job.functionality, count, wanted, taken)
        draft = await self._draft(DRAFT_SYSTEM, prompt, rng.randrange(2**31), outcome)
        if draft is None:
            return outcome
        outcome.parsed = True
        outcome.name = draft.name
        problems = check_draft(draft)
        if problems:
            outcome.problems = problems
            return outcome
        if rng.random() < self.evolve_rate:
            operation = rng.choice(sorted(EVOLUTIONS))
            scratch = _Outcome(job)
            evolved = await self._draft(
                EVOLVE_SYSTEM, evolve_prompt(draft, operation, rng), rng.randrange(2**31), scratch
            )
            if evolved is not None:
                evolved = evolved.model_copy(update={"name": draft.name})
            if evolved is None or check_draft(evolved):
                outcome.evolution_failed = True
            else:
                draft, outcome.evolved = evolved, operation
        tool = to_toolspec(draft, domain=job.domain.name)
        outcome.problems = check_schema(tool)
        if not outcome.problems:
            outcome.tool = tool
        return outcome

    async def _draft(self, system: str, prompt: str, seed: int, outcome: _Outcome) -> ApiDraft | None:
        try:
            completion = await self._ask(system, prompt, draft_schema(), seed, 700)
        except RequestRejected as exc:
            outcome.problems = [Verdict.failed("pool.request_rejected", str(exc))]
            return None
        try:
            raw = orjson.loads(strip_fence(completion.text))
            draft = ApiDraft.model_validate(raw)
        except orjson.JSONDecodeError:
            cut = " (cut off at max_tokens)" if completion.finish_reason == "length" else ""
            outcome.problems = [
                Verdict.failed("pool.unparsable", f"the draft is not JSON{cut}: {completion.text[:120]!r}")
            ]
            return None
        except ValidationError as exc:
            outcome.problems = [
                Verdict.failed("pool.shape", f"the draft does not fit the API form: {exc.errors()[0]['msg']}")
            ]
            return None
        return _normalised(draft)

    def _report(self, n: int, kept: list[ToolSpec], outcomes: list[DraftRecord], seconds: float) -> SynthReport:
        invalid: Counter[str] = Counter()
        duplicates: Counter[str] = Counter()
        examples: list[dict[str, Any]] = []
        for outcome in outcomes:
            for problem in outcome.problems[:1]:
                (duplicates if problem.code.startswith("dedup.") else invalid)[problem.code] += 1
                if len(examples) < _EXAMPLES:
                    examples.append(
                        {
                            "name": outcome.name,
                            "domain": outcome.domain,
                            "code": problem.code,
                            "message": problem.message,
                        }
                    )
        feature_counts: Counter[str] = Counter(f for tool in kept for f in features(tool))
        kept_names = {t.name for t in kept}
        return SynthReport(
            model=self.backend.model,
            requested=n,
            kept=len(kept),
            drafts=len(outcomes),
            parsed=sum(o.parsed for o in outcomes),
            valid=sum(1 for o in outcomes if o.tool is not None),
            invalid=dict(invalid.most_common()),
            duplicates=dict(duplicates.most_common()),
            evolved=dict(
                Counter(
                    o.evolved
                    for o in outcomes
                    if o.evolved and o.tool is not None and o.tool.name in kept_names
                ).most_common()
            ),
            evolution_failed=sum(o.evolution_failed for o in outcomes),
            domains=dict(Counter(t.domain or "" for t in kept).most_common()),
            features=dict(feature_counts.most_common()),
            requests=self._counters.requests,
            cached_requests=self._counters.cached,
            prompt_tokens=self._counters.prompt_tokens,
            completion_tokens=self._counters.completion_tokens,
            seconds=round(seconds, 1),
            examples=examples,
        )


class _State:
    """What the drafts judged so far decided: the kept tools (deduplicated, in job order) and every outcome."""

    def __init__(self, n: int, similarity: float, taxonomy: list[Domain]) -> None:
        self.n = n
        self.index = ApiIndex(similarity)
        self.kept: list[ToolSpec] = []
        self.outcomes: list[DraftRecord] = []
        self.names: dict[str, list[str]] = {d.name: [] for d in taxonomy}

    def judge(self, record: DraftRecord) -> None:
        """Count a draft; keep its tool unless the pool is full or it repeats a kept one."""
        tool = record.tool
        if tool is not None and len(self.kept) < self.n:
            duplicate = self.index.check(tool)
            if duplicate is not None:
                record = record.model_copy(update={"problems": (*record.problems, duplicate)})
            else:
                self.index.add(tool)
                self.kept.append(tool)
                self.names.setdefault(record.domain, []).append(tool.name)
        self.outcomes.append(record)


def _interleave(taxonomy: list[Domain], lists: list[list[str]], covered: dict[str, list[str]]) -> list[_Job]:
    """Jobs taken round-robin over domains, so a partial run still covers every domain."""
    queues: list[list[_Job]] = []
    for domain, items in zip(taxonomy, lists, strict=True):
        queue = []
        for item in items:
            key = item.casefold()
            if key not in (c.casefold() for c in covered[domain.name]):
                covered[domain.name].append(item)
                queue.append(_Job(domain, item))
        queues.append(queue)
    jobs: list[_Job] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        jobs.extend(q[depth] for q in queues if depth < len(q))
    return jobs


def _normalised(draft: ApiDraft) -> ApiDraft:
    """Names in snake_case and whitespace trimmed: fixes a model gets wrong often and harmlessly."""

    def fix(fields: tuple[DraftField, ...]) -> tuple[DraftField, ...]:
        return tuple(
            f.model_copy(
                update={
                    "name": snake_case(f.name),
                    "description": f.description.strip(),
                    "fields": fix(f.fields),
                }
            )
            for f in fields
        )

    return draft.model_copy(
        update={
            "name": snake_case(draft.name),
            "description": " ".join(draft.description.split()),
            "parameters": fix(draft.parameters),
            "returns": fix(draft.returns),
        }
    )
