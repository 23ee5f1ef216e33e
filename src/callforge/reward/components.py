"""The reward components and their mix, each a TRL reward function over a method that returns the reasons.

`Reward.results(completions, **columns)` gives one `RewardResult` per completion; calling the
reward (`reward(completions, **columns)`, the shape TRL's GRPOTrainer calls) gives their scores.
Every component judges the completion as `decode_completion` read it, so a completion that is not
well formed scores nothing from any of them.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from callforge.core import CallforgeError, ConfigError, Dialog, Message, ToolCall, ToolSpec, Verdict
from callforge.evaluate import Mode, Scorer, Style, check_end_state, episode_entry, make_scorer
from callforge.execute import (
    Engine,
    Environment,
    EnvironmentSpec,
    Observation,
    Toolbox,
    error_payload,
    load_toolbox,
    parse_environment,
    short_text,
)
from callforge.reward.decode import MAX_CHARS, decode_completion
from callforge.reward.record import Decoded, RewardResult
from callforge.reward.row import RewardRow, rows_from_columns
from callforge.verify import RuleStage, default_checks

T = TypeVar("T")

COMPONENTS = ("format", "exact", "execution", "end_state")
"""The component names a mix is written with (`format=0.2,exact=1`)."""

DEFAULT_WEIGHTS: dict[str, float] = {"format": 0.2, "exact": 1.0, "execution": 1.0, "end_state": 1.0}
"""The default mix; execution and end state count only on rows they apply to (an executor, an environment)."""

_READABLE = ("calls", "plain")


class Reward:
    """A reward function for TRL's GRPOTrainer whose every score comes with its reason.

    Subclasses implement `ajudge` (or `judge`) for one decoded completion and one row; this class
    turns TRL's batch call into those judgements and the judgements into floats.
    """

    name = "reward"

    def __init__(self, *, max_chars: int = MAX_CHARS, base: Path | None = None) -> None:
        self.max_chars = max_chars
        self.base = base
        self.__name__ = self.name  # TRL names a reward function (its log column) by `__name__`

    def judge(self, decoded: Decoded, row: RewardRow) -> RewardResult:
        """Judge one decoded completion against its row (blocking form)."""
        return _run_blocking(self.ajudge(decoded, row))

    def close(self) -> None:
        """Release what the reward holds open (the REST or MCP clients of tools it loaded); call it when done."""
        _run_blocking(self.aclose())

    async def aclose(self) -> None:
        """`close`, awaited: nothing to release by default."""

    async def ajudge(self, decoded: Decoded, row: RewardRow) -> RewardResult:
        """Judge one decoded completion against its row."""
        raise NotImplementedError

    def __call__(self, completions: Sequence[Any], **columns: Any) -> list[float | None]:
        """TRL's reward-function call: one score per completion, None where this component does not apply.

        When TRL passes `log_extra`, each completion's reason code goes to the completions table too.
        """
        results = self.results(completions, **columns)
        log = columns.get("log_extra")
        if callable(log):
            log(f"{self.name}_code", [r.code for r in results])
        return [r.score for r in results]

    def results(self, completions: Sequence[Any], **columns: Any) -> list[RewardResult]:
        """The judgement of each completion, reasons included; `columns` are the dataset's, one list each."""
        return _run_blocking(self.aresults(completions, **columns))

    async def aresults(self, completions: Sequence[Any], **columns: Any) -> list[RewardResult]:
        """`results` for async code."""
        rows = rows_from_columns(len(completions), columns, base=self.base)
        decoded = [
            decode_completion(c, row.tools, max_chars=self.max_chars) for c, row in zip(completions, rows, strict=True)
        ]
        return list(await asyncio.gather(*(self.ajudge(d, row) for d, row in zip(decoded, rows, strict=True))))

    def score_one(self, completion: Any, row: RewardRow) -> RewardResult:
        """Judge one completion against one row (see `read_row`)."""
        return self.judge(decode_completion(completion, row.tools, max_chars=self.max_chars), row)

    def _result(self, score: float | None, reason: str, detail: str = "", **evidence: Any) -> RewardResult:
        return RewardResult(
            component=self.name, score=score, code=f"{self.name}.{reason}", detail=detail, evidence=evidence
        )

    def _unreadable(self, decoded: Decoded) -> RewardResult:
        return self._result(
            0.0, "unreadable", f"the completion is not well formed ({decoded.shape}): {decoded.detail}".rstrip(": "),
            shape=decoded.shape,
        )


SCHEMA_RULES = ("function", "arguments", "duplicates")
"""The verify rules the format component runs on the calls: offered tools, schema-valid arguments, no duplicate call."""


class FormatReward(Reward):
    """1 when the completion is calls and nothing else, or a plain answer on a row whose reference calls nothing.

    With `schema=True` (the default) the calls must also pass verify's rule checks `function`,
    `arguments` and `duplicates`: each names an offered tool, its arguments fit the tool's schema,
    and no call is made twice. Which tools and values were asked for is for the other components.
    """

    name = "format"

    def __init__(self, *, schema: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.rules = RuleStage([c for c in default_checks() if c.name in SCHEMA_RULES]) if schema else None

    async def ajudge(self, decoded: Decoded, row: RewardRow) -> RewardResult:
        """Judge the form: calls only (valid against the schemas), or words where no call is wanted."""
        shape = decoded.shape
        if shape == "calls":
            failing = self._rule_failures(decoded, row)
            if failing:
                first = failing[0]
                return self._result(0.0, first.code, first.message, rules=[v.code for v in failing])
            return self._result(1.0, "calls", convention=decoded.convention, calls=len(decoded.calls))
        if shape == "plain":
            if row.reference:
                return self._result(0.0, "no_call", "a plain answer where the reference calls a tool")
            return self._result(1.0, "plain_answer")
        detail = {
            "empty": "no output",
            "too_long": decoded.detail,
            "prose": "text around the calls (a call inside prose does not count)",
            "broken": decoded.detail,
            "bad_input": decoded.detail,
        }[shape]
        reason = {"broken": "broken", "bad_input": "bad_input", "prose": "prose"}.get(shape, shape)
        return self._result(0.0, reason, detail, length=decoded.length)


    def _rule_failures(self, decoded: Decoded, row: RewardRow) -> list[Verdict]:
        if self.rules is None:
            return []
        calls = tuple(c.model_copy(update={"id": f"call_{n}"}) for n, c in enumerate(decoded.calls))
        turn = (Message(role="user", content="(prompt)"), Message(role="assistant", tool_calls=calls))
        return self.rules.run(Dialog(tools=row.tools, messages=turn))


class ExactReward(Reward):
    """1 when the calls match the reference, by BFCL's checker (`mode="bfcl"`) or callforge's semantic rules."""

    name = "exact"

    def __init__(self, mode: Mode | str = Mode.SEMANTIC, **options: Any) -> None:
        super().__init__(**options)
        self.mode = Mode(mode)
        self._scorers: dict[Style, Scorer] = {}

    def _scorer(self, style: Style) -> Scorer:
        scorer = self._scorers.get(style)
        if scorer is None:
            scorer = self._scorers[style] = make_scorer(self.mode, style)
        return scorer

    async def ajudge(self, decoded: Decoded, row: RewardRow) -> RewardResult:
        """Score the calls with the evaluator against the row's Case (a Python call list with its own decoder)."""
        if decoded.shape not in _READABLE:
            return self._unreadable(decoded)
        output: Any
        if decoded.shape == "calls" and decoded.convention == "python":
            style, output = Style.PROMPTING, decoded.source
        elif decoded.shape == "calls":
            style = Style.FC
            output = [{c.name: json.dumps(c.arguments, default=str)} for c in decoded.calls]
        else:
            style, output = Style.FC, ""  # a reply in words: no call
        try:
            verdict = self._scorer(style).score(row.case, output)
        except (CallforgeError, ValueError) as exc:
            return self._result(0.0, "error", f"the evaluator could not score this row: {exc}")
        if verdict.ok:
            return self._result(1.0, "ok", mode=self.mode.value, style=style.value)
        return self._result(
            0.0,
            verdict.code,
            verdict.message,
            mode=self.mode.value,
            bfcl_error_type=verdict.evidence.get("bfcl_error_type"),
        )


ToolExecutor = Callable[[ToolCall], Any]
"""A plain function that runs one call and returns its output (in this process: for tools you trust)."""


class _FunctionEngine:
    """A user's executor function as an Engine; an exception is the call's failure, as in the sandbox."""

    def __init__(self, function: ToolExecutor, name: str = "function") -> None:
        self.function = function
        self.name = name

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        try:
            output = self.function(call)
        except Exception as exc:  # the tool's failure is the call's result, never ours
            verdict = Verdict.failed("exec.exception", f"{type(exc).__name__}: {exc}", type=type(exc).__name__)
            return Observation(call=call, verdict=verdict, engine=self.name)
        return Observation(call=call, output=output, engine=self.name)


class ExecutionReward(Reward):
    """1 when the calls run and each returns what a reference call returns, one to one.

    Applies to rows with reference calls, when an executor is given: an `Engine` (a sandboxed
    `PythonEngine`, REST, MCP), a function `(ToolCall) -> output`, or tool sources (`tools.py`,
    an OpenAPI spec) loaded as `callforge generate --tools` loads them. Tools are taken to be
    deterministic and stateless (outputs are cached per call); stateful tools are `end_state`'s.
    A call is matched to a reference call of the same name with an equal output (floats within
    `rel_tol`); as many calls as the reference, each must succeed, none may return an error, and
    none may set an argument its reference call leaves out unless at the schema default (a memo
    or a flag may change what a call does without changing what it returns).
    """

    name = "execution"

    def __init__(
        self,
        executor: Engine | ToolExecutor | Sequence[str | Path] | None = None,
        *,
        rel_tol: float = 1e-9,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._toolbox: Toolbox | None = None
        if isinstance(executor, str | Path) or (isinstance(executor, Sequence) and not callable(executor)):
            self._toolbox = load_toolbox([executor] if isinstance(executor, str | Path) else list(executor))
            self.engine: Engine | None = self._toolbox.engine(None)
        else:
            self.engine = _engine(executor)
        self.rel_tol = rel_tol
        self._outputs: OrderedDict[str, Observation] = OrderedDict()

    async def aclose(self) -> None:
        """Close the clients of the tools this reward loaded from sources (an Engine given is the caller's)."""
        if self._toolbox is not None:
            await self._toolbox.aclose()
            self._toolbox = None

    async def ajudge(self, decoded: Decoded, row: RewardRow) -> RewardResult:
        """Run the reference calls (once per row) and the completion's calls, and compare what they return."""
        if self.engine is None:
            return self._result(None, "not_applicable", "no executor given")
        if not row.reference:
            return self._result(None, "not_applicable", "the reference calls nothing")
        wanted = await asyncio.gather(*(self._run(c, row) for c in row.reference))
        for obs in wanted:
            why = _failure(obs)
            if why:
                return self._result(None, "reference_failed", f"reference call {obs.call.name} fails: {why}")
        if decoded.shape not in _READABLE:
            return self._unreadable(decoded)
        calls = decoded.calls
        if not calls:
            return self._result(0.0, "no_call", "the completion calls nothing")
        if len(calls) != len(row.reference):
            return self._result(
                0.0, "wrong_count", f"{len(calls)} call(s) where the reference makes {len(row.reference)}",
                calls=len(calls), reference=len(row.reference),
            )
        unknown = [c.name for c in calls if row.tool(c.name) is None]
        if unknown:
            return self._result(0.0, "unknown_tool", f"no offered tool is called {unknown[0]!r}", names=unknown)
        got = await asyncio.gather(*(self._run(c, row) for c in calls))
        for obs in got:
            why = _failure(obs)
            if why:
                reason = "error_payload" if obs.ok else "call_failed"
                return self._result(0.0, reason, f"{obs.call.name} fails: {why}", verdict=obs.verdict.code)
        same = [[g.call.name == w.call.name and _same(g.output, w.output, self.rel_tol) for g in got] for w in wanted]
        if _matching(same) is None:
            return self._result(
                0.0, "result_mismatch", "the calls do not return what the reference calls return",
                expected=[short_text(w.output) for w in wanted], got=[short_text(g.output) for g in got],
            )
        fits = [
            [ok and not _says_more(g.call, w.call, row, self.rel_tol) for g, ok in zip(got, line, strict=True)]
            for w, line in zip(wanted, same, strict=True)
        ]
        if _matching(fits) is None:
            return self._result(
                0.0, "extra_arguments",
                "a call sets an argument the reference leaves out, at a value other than its default "
                "(a request that says more is another request, whatever this output shows)",
            )
        return self._result(1.0, "ok", calls=len(calls))

    async def _run(self, call: ToolCall, row: RewardRow) -> Observation:
        assert self.engine is not None
        tool = row.tool(call.name) or ToolSpec(name=call.name)
        try:
            key = orjson.dumps([call.name, call.arguments, tool.parameters], option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            key = ""
        found = self._outputs.get(key) if key else None
        if found is not None:
            return found
        try:
            obs = await self.engine.execute(ToolCall(name=call.name, arguments=call.arguments), tool)
        except CallforgeError as exc:
            obs = Observation(call=call, verdict=Verdict.failed("exec.error", str(exc)), engine=self.engine.name)
        if key:
            self._outputs[key] = obs
            if len(self._outputs) > 8192:
                self._outputs.popitem(last=False)
        return obs


def _engine(executor: Engine | ToolExecutor | Sequence[str | Path] | None) -> Engine | None:
    if executor is None:
        return None
    if isinstance(executor, Engine):
        return executor
    if callable(executor):
        return _FunctionEngine(executor)
    raise ConfigError(f"an executor is an Engine, a function or tool sources, not {type(executor).__name__}")


def _says_more(call: ToolCall, reference: ToolCall, row: RewardRow, rel_tol: float) -> bool:
    """Whether `call` sets an argument `reference` leaves out, other than at the tool's schema default."""
    tool = row.tool(call.name)
    properties = tool.properties if tool is not None else {}
    for name, value in call.arguments.items():
        if name in reference.arguments:
            continue
        schema = properties.get(name)
        if not (isinstance(schema, dict) and "default" in schema and _same(value, schema["default"], rel_tol)):
            return True
    return False


def _failure(obs: Observation) -> str:
    if not obs.ok:
        return f"{obs.verdict.code}: {obs.verdict.message}"
    return error_payload(obs.output) or ""


def _same(a: Any, b: Any, rel_tol: float) -> bool:
    """JSON equality, floats within `rel_tol` (ints and bools exactly, `True` never `1`)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=0.0)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rel_tol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, rel_tol) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _matching(fits: list[list[bool]]) -> list[int] | None:
    """A perfect matching of rows to columns where `fits` allows (Kuhn's algorithm), or None."""
    owner: dict[int, int] = {}

    def place(row: int, seen: set[int]) -> bool:
        for col, ok in enumerate(fits[row]):
            if ok and col not in seen:
                seen.add(col)
                if col not in owner or place(owner[col], seen):
                    owner[col] = row
                    return True
        return False

    for row in range(len(fits)):
        if not place(row, set()):
            return None
    return [col for col, _ in sorted(owner.items(), key=lambda item: item[1])]


EnvironmentFactory = Callable[[], Environment]
"""Builds a fresh environment in its initial state (e.g. `lambda: ObjectEnvironment(Bank())`)."""


@dataclass(frozen=True)
class _FactorySpec(EnvironmentSpec):
    """An in-process environment factory where the evaluator expects an EnvironmentSpec."""

    factory: EnvironmentFactory | None = field(default=None, compare=False)

    def build(self) -> Environment:
        assert self.factory is not None
        return self.factory()

    @property
    def key(self) -> str:
        return f"factory:{id(self.factory)}"


class EndStateReward(Reward):
    """1 when the calls leave the environment where the reference calls leave it (`check_end_state`).

    Applies to rows with an environment (the row's `environment` column, else the one given here).
    The calls the conversation made before the turn (`prior_calls`) run first on both sides. Any
    path to the same state passes, as long as it takes at most `max_extra_calls` calls more than the
    reference (0 by default: a reward must not pay for extra reads or probing calls); the results
    of the reference's reads must reach the model too.
    """

    name = "end_state"

    def __init__(
        self,
        environment: EnvironmentSpec | str | EnvironmentFactory | None = None,
        *,
        max_extra_calls: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if isinstance(environment, str):
            environment = parse_environment(environment)
        elif callable(environment) and not isinstance(environment, EnvironmentSpec):
            environment = _FactorySpec("python", Path("<factory>"), factory=environment)
        self.environment = environment
        self.max_extra_calls = max_extra_calls
        self._reference_ok: dict[tuple[str, str], str] = {}

    async def ajudge(self, decoded: Decoded, row: RewardRow) -> RewardResult:
        """Replay the prior calls, then the reference's and the completion's calls, and compare the end states."""
        spec = row.environment or self.environment
        if spec is None:
            return self._result(None, "not_applicable", "the row has no environment")
        problem = await asyncio.to_thread(self._check_reference, spec, row)
        if problem:
            return self._result(None, "reference_failed", problem)
        if decoded.shape not in _READABLE:
            return self._unreadable(decoded)
        calls = decoded.calls
        if len(calls) > len(row.reference) + self.max_extra_calls:
            return self._result(
                0.0, "extra_calls",
                f"{len(calls)} call(s) where the reference makes {len(row.reference)} "
                f"(at most {self.max_extra_calls} more allowed)",
                calls=len(calls), reference=len(row.reference),
            )
        try:
            verdict = await asyncio.to_thread(self._check, spec, row, decoded)
        except Exception as exc:  # the completion's calls broke the world: no reward, never a skipped component
            return self._result(0.0, "error", f"{type(exc).__name__}: {exc}")
        if verdict.ok:
            return self._result(1.0, "ok")
        return self._result(0.0, verdict.code, verdict.message, **_plain(verdict.evidence))

    def _turns(self, row: RewardRow) -> list[tuple[ToolCall, ...]]:
        return [row.prior_calls, row.reference] if row.prior_calls else [row.reference]

    def _check(self, spec: EnvironmentSpec, row: RewardRow, decoded: Decoded) -> Verdict:
        truth = self._turns(row)
        dialog = Dialog(messages=tuple(Message(role="user", content=f"turn {n}") for n in range(len(truth))))
        entry = episode_entry(row.key, dialog, truth, spec)
        step: Any = [{c.name: json.dumps(c.arguments, default=str)} for c in decoded.calls] or decoded.text
        output: list[list[Any]] = [[step]]
        if row.prior_calls:
            output.insert(0, [[{c.name: json.dumps(c.arguments)} for c in row.prior_calls]])
        return check_end_state(entry, output, style=Style.FC)

    def _check_reference(self, spec: EnvironmentSpec, row: RewardRow) -> str:
        """Why the reference's own calls cannot be judged on this environment ('' when they can); once per row."""
        key = (spec.key, row.key)
        found = self._reference_ok.get(key)
        if found is None:
            if len(self._reference_ok) > 4096:
                self._reference_ok.clear()
            found = self._reference_ok[key] = _reference_problem(spec, self._turns(row))
        return found


def _reference_problem(spec: EnvironmentSpec, truth: list[tuple[ToolCall, ...]]) -> str:
    try:
        environment = spec.build()
    except Exception as exc:  # the row's environment, not the completion: the component does not apply
        return f"the environment does not build: {type(exc).__name__}: {exc}"
    try:
        for call in (c for turn in truth for c in turn):
            obs = environment.run(call)
            why = _failure(obs)
            if why:
                return f"reference call {call.name} fails: {why}"
    except Exception as exc:
        return f"the reference calls fail: {type(exc).__name__}: {exc}"
    finally:
        environment.close()
    return ""


def _plain(evidence: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in evidence.items() if isinstance(v, str | int | float | bool | list)}


class MixReward(Reward):
    """A weighted mean of components over those that apply to the row; None when none does.

    The completion is decoded once and every part judges that reading. The code is the first
    failing part's (in the order given), or `mix.full` when every applying part gave full reward.
    """

    name = "mix"

    def __init__(self, parts: Sequence[tuple[Reward, float]], **options: Any) -> None:
        super().__init__(**options)
        if not parts:
            raise ConfigError("a reward mix needs at least one component")
        for part, weight in parts:
            if not math.isfinite(weight) or weight < 0:
                raise ConfigError(f"the weight of {part.name} must be a number >= 0, not {weight}")
        if sum(w for _, w in parts) <= 0:
            raise ConfigError("a reward mix needs a weight above 0")
        self.parts = tuple(parts)

    @property
    def weights(self) -> dict[str, float]:
        """Each part's weight, by component name."""
        return {part.name: weight for part, weight in self.parts}

    async def aclose(self) -> None:
        """Close every part."""
        for part, _ in self.parts:
            await part.aclose()

    async def ajudge(self, decoded: Decoded, row: RewardRow) -> RewardResult:
        """Judge with every part and weigh the scores of those that apply."""
        results = await asyncio.gather(*(part.ajudge(decoded, row) for part, _ in self.parts))
        total = weight_sum = 0.0
        for result, (_, weight) in zip(results, self.parts, strict=True):
            if result.score is not None:
                total += weight * result.score
                weight_sum += weight
        score = total / weight_sum if weight_sum > 0 else None
        failing = next((r for r in results if r.score is not None and r.score < 1.0), None)
        code = failing.code if failing is not None else ("mix.full" if score is not None else "mix.not_applicable")
        return RewardResult(
            component=self.name,
            score=score,
            code=code,
            detail=failing.detail if failing is not None else "",
            parts=tuple(results),
        )


def make_reward(
    mix: str | Mapping[str, float] = "default",
    *,
    mode: Mode | str = Mode.SEMANTIC,
    executor: Engine | ToolExecutor | Sequence[str | Path] | None = None,
    environment: EnvironmentSpec | str | EnvironmentFactory | None = None,
    max_extra_calls: int = 0,
    max_chars: int = MAX_CHARS,
    base: Path | None = None,
) -> Reward:
    """The reward a mix names: `default`, one component (`exact`), or weights (`format=0.2,exact=1`).

    `mode` is the exact component's (semantic or bfcl), `executor` the execution component's,
    `environment` the end-state component's default environment (a row's own wins); `base` is
    the folder relative `environment` paths in rows are read from.
    """
    weights = parse_mix(mix)
    options: dict[str, Any] = {"max_chars": max_chars, "base": base}
    made: dict[str, Callable[[], Reward]] = {
        "format": lambda: FormatReward(**options),
        "exact": lambda: ExactReward(mode, **options),
        "execution": lambda: ExecutionReward(executor, **options),
        "end_state": lambda: EndStateReward(environment, max_extra_calls=max_extra_calls, **options),
    }
    if len(weights) == 1 and not isinstance(mix, Mapping) and "=" not in mix and mix != "default":
        return made[next(iter(weights))]()
    return MixReward([(made[name](), weight) for name, weight in weights.items()], **options)


def parse_mix(mix: str | Mapping[str, float]) -> dict[str, float]:
    """Weights by component from `default`, a component name, `name=weight,...` or a mapping."""
    if isinstance(mix, Mapping):
        weights = {str(k): float(v) for k, v in mix.items()}
    elif mix.strip() == "default":
        weights = dict(DEFAULT_WEIGHTS)
    else:
        weights = {}
        for item in (part.strip() for part in mix.split(",")):
            if not item:
                continue
            name, sep, value = item.partition("=")
            try:
                weights[name.strip()] = float(value) if sep else 1.0
            except ValueError:
                raise ConfigError(f"mix {mix!r}: {value!r} is not a weight") from None
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown or not weights:
        raise ConfigError(
            f"mix {mix!r}: unknown component(s) {unknown}; use default, or name=weight pairs of {', '.join(COMPONENTS)}"
        )
    return weights


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _run_blocking(coroutine: Awaitable[T]) -> T:
    """Run a coroutine to its end from sync code, also when the caller is inside an event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(coroutine))
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callforge-reward")
    return _pool.submit(asyncio.run, _awaited(coroutine)).result()


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable
