"""BFCL's multi-turn categories: read the entries, and check a model's turns against the ground truth's, as BFCL does.

A multi-turn entry is judged by running calls, not by matching them. The model's calls and the
ground truth's calls run on two fresh environments of BFCL's simulators, turn by turn. After each
turn whose ground truth has calls, the model must have called something, the two states must be
equal, and the ground truth's results must all be among the model's results so far. An entry
passes only if every such turn passes. The rules are BFCL's (`multi_turn_checker`), re-stated
here in callforge's own code, with BFCL's error types on the verdicts.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callforge.core import (
    Category,
    CategoryKind,
    DataError,
    DecodeError,
    Dialog,
    Message,
    ToolCall,
    ToolSpec,
    Verdict,
    check_depth,
    iter_lines,
    too_deep_error,
)
from callforge.evaluate.check import Style
from callforge.evaluate.decode import DecodedCall, decode_fc_bfcl, decode_python, decode_python_bfcl
from callforge.formats import bfcl_data_dir, bfcl_files

if TYPE_CHECKING:
    from callforge.execute import Environment, EnvironmentSpec, EnvironmentState

MULTI_TURN_ERROR_TYPES: dict[str, str] = {
    "turns.not_a_list": "multi_turn:inference_error",
    "turns.wrong_count": "multi_turn:force_terminated",
    "turn.no_call": "multi_turn:empty_turn_model_response",
    "turn.state_mismatch": "multi_turn:instance_state_mismatch",
    "turn.response_mismatch": "multi_turn:execution_response_mismatch",
}
"""The multi-turn checker's verdict codes → BFCL's error_type strings (one to one)."""


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Tools withheld from the model until `turn` (BFCL's miss_func category), when they are offered."""

    turn: int
    tools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MultiTurnEntry:
    """One BFCL multi-turn entry: the user turns, the simulators and their start state, the ground truth.

    `ground_truth[t]` holds turn t's expected calls (possibly none: the turn where a tool or a
    value is missing). `initial_config` is BFCL's per-simulator scenario data, passed to the
    simulators as is. `data_dir` is the BFCL data folder the entry came from, whose
    `multi_turn_func_doc/` describes the tools.
    """

    id: str
    category: Category
    turns: tuple[tuple[Message, ...], ...]
    ground_truth: tuple[tuple[DecodedCall, ...], ...]
    classes: tuple[str, ...]
    initial_config: dict[str, Any] = field(hash=False)
    held_out: tuple[HeldOut, ...] = ()
    data_dir: Path | None = field(default=None, compare=False)
    required_outputs: tuple[str, ...] = ()
    """Texts the model must give (in a reply or a result) for the end-state check; none for BFCL's entries."""
    environment_spec: EnvironmentSpec | None = field(default=None, hash=False)
    """The user's environment (a class file, a service) for an eval set over their own tools; None: BFCL's simulators."""
    end_state: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    """The state the ground truth leaves, as recorded by the export (owner -> attribute -> value); for people and tools."""

    @property
    def long_context(self) -> bool:
        """Whether the simulators load BFCL's long-context filler (BFCL decides by the category name)."""
        name = self.category.value
        return "long_context" in name or "composite" in name

    def environment(self) -> Environment:
        """A fresh environment of this entry's world (the user's, or BFCL's simulators) in its initial state."""
        if self.environment_spec is not None:
            return self.environment_spec.build()
        from callforge.execute import bfcl_environment  # the execute package loads only for multi-turn work

        return bfcl_environment(
            self.classes,
            self.initial_config,
            long_context=self.long_context,
            data=self.data_dir,
            name=self.id,
        )

    def tools_at(self, turn: int) -> tuple[ToolSpec, ...]:
        """The tools offered to the model at `turn`: every simulator's, less those held out until a later turn.

        A held-out tool joins at the end of the list at its turn, as BFCL offers it (with the user
        message "I have updated some more functions you can choose from. What about now?").
        """
        from callforge.execute import bfcl_tools

        if self.environment_spec is not None:
            every = _spec_tools(self.environment_spec)
        else:
            every = bfcl_tools(self.classes, self.data_dir)
        by_name = {t.name: t for t in every}
        held = {name for h in self.held_out for name in h.tools}
        offered = [t for t in every if t.name not in held]
        for h in self.held_out:  # in turn order
            if h.turn <= turn:
                offered.extend(by_name[name] for name in h.tools if name in by_name)
        return tuple(offered)


_SPEC_TOOLS: dict[str, tuple[ToolSpec, ...]] = {}


def _spec_tools(spec: EnvironmentSpec) -> tuple[ToolSpec, ...]:
    """The tools of a user's environment, read once per process (building one may start a sandbox or a server)."""
    found = _SPEC_TOOLS.get(spec.key)
    if found is None:
        environment = spec.build()
        try:
            found = _SPEC_TOOLS[spec.key] = tuple(environment.tools)
        finally:
            environment.close()
    return found


def load_multi_turn(
    data: str | Path | None = None, categories: Iterable[Category | str] | None = None
) -> list[MultiTurnEntry]:
    """The multi-turn entries of a BFCL data folder (default: $CALLFORGE_BFCL_DATA or an installed bfcl-eval's data).

    `categories` defaults to every multi-turn category present. Questions and ground truth are
    aligned by line, as BFCL aligns them, and must agree on ids.
    """
    folder = bfcl_data_dir(data)
    files = bfcl_files(folder)
    if categories is None:
        wanted = [c for c in Category if c.kind is CategoryKind.MULTI_TURN and c in files]
        if not wanted:
            raise DataError(f"no BFCL_v*_multi_turn_<category>.json files in {str(folder)!r}")
    else:
        wanted = [Category.parse(c) if isinstance(c, str) else c for c in categories]
    entries: list[MultiTurnEntry] = []
    for category in wanted:
        if category.kind is not CategoryKind.MULTI_TURN:
            raise DataError(f"category {category.value!r} is not multi-turn; score it with `score`")
        path = files.get(category)
        if path is None:
            raise DataError(f"no question file for multi-turn category {category.value!r} in {str(folder)!r}")
        answers = path.parent / "possible_answer" / path.name
        if not answers.is_file():
            raise DataError(f"ground truth {str(answers)!r} is missing; category {category.value!r} needs it")
        questions = list(_rows(path))
        truths = list(_rows(answers))
        if len(questions) != len(truths):
            raise DataError(
                f"{str(answers)!r} has {len(truths)} entries but {str(path)!r} has {len(questions)}; "
                "BFCL aligns them line by line"
            )
        for (where, row), (truth_where, truth) in zip(questions, truths, strict=True):
            entries.append(_entry(category, row, where, truth, truth_where, folder))
    return entries


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, line in enumerate(iter_lines(path), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except RecursionError:
            raise too_deep_error(line, where) from None
        except ValueError as exc:
            raise DataError(
                f"{where}: not valid JSON ({exc}); BFCL files hold one JSON object per line"
            ) from None
        check_depth(row, where, text=line)
        if not isinstance(row, dict) or "id" not in row:
            raise DataError(f'{where}: expected an object with an "id" field')
        yield where, row


def _entry(
    category: Category, row: dict[str, Any], where: str, truth: dict[str, Any], truth_where: str, folder: Path
) -> MultiTurnEntry:
    entry_id = str(row["id"])
    if str(truth["id"]) != entry_id:
        raise DataError(
            f"{truth_where}: ground truth for {truth['id']!r}, but line {where} asks {entry_id!r}"
        )
    spec = None
    if "environment" in row:
        from callforge.execute import EnvironmentSpec

        spec = EnvironmentSpec.from_json(row["environment"], Path(where.rsplit(":", 1)[0]).parent, where)
    classes = row.get("involved_classes", [] if spec is not None else None)
    config = row.get("initial_config", {})
    question = row.get("question")
    answer = truth.get("ground_truth")
    required = truth.get("required_outputs", [])
    end_state = truth.get("end_state")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DataError(
            f'{where}: "involved_classes" must be a list of simulator class names (or give "environment": '
            "a class file or a service spec)"
        )
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise DataError(f'{truth_where}: "required_outputs" must be a list of strings')
    if end_state is not None and not isinstance(end_state, dict):
        raise DataError(f'{truth_where}: "end_state" must be an object (owner -> attribute -> value)')
    if not isinstance(config, dict):
        raise DataError(f'{where}: "initial_config" must be an object (simulator name -> scenario)')
    if not isinstance(question, list) or not isinstance(answer, list):
        raise DataError(f'{where}: "question" and the ground truth must be lists of turns')
    turns = []
    for turn in question:
        if not isinstance(turn, list):
            raise DataError(f'{where}: each turn of "question" must be a list of messages, got {turn!r}')
        try:
            turns.append(tuple(Message(role=m["role"], content=m.get("content")) for m in turn))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{where}: malformed message in {turn!r}: {exc}") from None
    ground_truth = []
    for turn in answer:
        if not isinstance(turn, list):
            raise DataError(
                f"{truth_where}: each ground-truth turn must be a list of call strings, got {turn!r}"
            )
        ground_truth.append(tuple(_truth_call(text, truth_where) for text in turn))
    held_out = []
    for key, names in (row.get("missed_function") or {}).items():
        try:
            held_out.append(HeldOut(int(key), tuple(str(n) for n in names)))
        except (TypeError, ValueError):
            raise DataError(
                f'{where}: "missed_function" maps a turn number to tool names, got {key!r}: {names!r}'
            ) from None
    return MultiTurnEntry(
        id=entry_id,
        category=category,
        turns=tuple(turns),
        ground_truth=tuple(ground_truth),
        classes=tuple(classes),
        initial_config=config,
        held_out=tuple(sorted(held_out, key=lambda h: h.turn)),
        data_dir=folder,
        required_outputs=tuple(required),
        environment_spec=spec,
        end_state=end_state,
    )


def _truth_call(text: Any, where: str) -> DecodedCall:
    """One ground-truth call, `name(args)` in Python syntax, read with `ast` (never `eval`)."""
    try:
        calls = decode_python(text)
    except DecodeError as exc:
        raise DataError(f"{where}: ground-truth call {text!r} does not parse: {exc}") from None
    if len(calls) != 1:
        raise DataError(f"{where}: expected one call per ground-truth string, got {text!r}")
    return calls[0]


def decode_turns(output: Sequence[Any], style: Style | str = Style.FC) -> list[list[tuple[ToolCall, ...]]]:
    """A model's turns as BFCL reads them: per turn, the steps that decode to at least one call.

    A step is what BFCL stores for one model response: for an FC model a list of
    `{name: "<JSON arguments>"}` (or text), for a prompting model the text, which should be a
    Python call list. Steps that do not decode, or decode to no calls, are dropped: BFCL treats
    them as the model talking.
    """
    decode = _step_calls if Style(style) is Style.FC else _prompted_calls
    decoded = []
    for turn in output:
        steps = turn if isinstance(turn, list) else ()  # BFCL finds no call in a turn that is not a list
        decoded.append([calls for step in steps if (calls := decode(step))])
    return decoded


def step_calls(step: Any, style: Style | str = Style.FC) -> tuple[ToolCall, ...]:
    """The calls of one stored step, read as the checker reads it; () means the model talked, and its turn ends.

    The live loop uses this to decide whether a turn goes on, so a run and its later scoring can
    never disagree about which steps were calls.
    """
    return _step_calls(step) if Style(style) is Style.FC else _prompted_calls(step)


def _prompted_calls(step: Any) -> tuple[ToolCall, ...]:
    """One prompting step's calls, decoded as BFCL decodes prompting output (keyword arguments only)."""
    try:
        decoded = decode_python_bfcl(step)
    except DecodeError:
        return ()
    return tuple(
        ToolCall(name=name, arguments=arguments) for item in decoded for name, arguments in item.items()
    )


def _step_calls(step: Any) -> tuple[ToolCall, ...]:
    """One step's calls as BFCL's FC decoding finds them; () when the step does not decode.

    callforge's FC decoder does the decoding. Around it, BFCL's shape rules for multi-turn: a lone
    call object counts as a list of one, every key of a call object is a call, and an argument
    object given unencoded is taken as is.
    """
    if isinstance(step, dict):
        step = [step]
    if isinstance(step, list) and all(isinstance(item, dict) and not _openai_call(item) for item in step):
        step = [
            {name: json.dumps(args) if isinstance(args, dict) else args}
            for item in step
            for name, args in item.items()
        ]
    try:
        decoded = decode_fc_bfcl(step)
    except DecodeError:
        return ()
    calls = []
    for item in decoded:
        ((name, arguments),) = item.items()
        if not isinstance(arguments, dict):
            return ()  # BFCL fails on the whole step
        calls.append(ToolCall(name=str(name), arguments=arguments))
    return tuple(calls)


def _openai_call(item: dict[str, Any]) -> bool:
    return isinstance(item.get("function"), dict)


def check_multi_turn(entry: MultiTurnEntry, output: Any, *, style: Style | str = Style.FC) -> Verdict:
    """Judge a model's multi-turn output for `entry` as BFCL's multi-turn checker does.

    `output` is what BFCL stores for a model: a list of turns, each a list of steps (one per
    model response), decoded by `style`. The verdict's code is one of `MULTI_TURN_ERROR_TYPES`;
    its evidence carries BFCL's `bfcl_error_type`, the turn, and what differed.
    """
    if type(output) is not list:
        return _failed(
            "turns.not_a_list", f"expected a list of turns, got {type(output).__name__}", decoded=None
        )
    truth = entry.ground_truth
    if len(output) != len(truth):
        return _failed(
            "turns.wrong_count",
            f"the model answered {len(output)} turns, the ground truth has {len(truth)} "
            "(BFCL counts this as a run force-terminated during inference)",
            decoded=None,
        )
    decoded = decode_turns(output, style)
    evidence_decoded = [[[{c.name: c.arguments} for c in step] for step in turn] for turn in decoded]
    expected_turns = _replay_truth(entry)
    model = entry.environment()
    try:
        model_results: list[str] = []
        for index, (steps, (truth_results, truth_state)) in enumerate(zip(decoded, expected_turns, strict=True)):
            for step in steps:
                model_results.extend(_text(model.run(call).output) for call in step)
            if truth_state is None:
                continue  # a turn that cannot be done: executed, not checked (BFCL no longer scores abstention)
            if not steps:
                return _failed(
                    "turn.no_call", f"turn {index}: the model made no call", turn=index, decoded=evidence_decoded
                )
            diff = model.snapshot(copy=False).diff(truth_state)
            if diff:
                return _failed(
                    "turn.state_mismatch",
                    f"turn {index}: the state differs from the ground truth's in {', '.join(diff.paths)}",
                    turn=index,
                    changed=list(diff.paths),
                    decoded=evidence_decoded,
                )
            missing = _missing(truth_results, model_results)
            if missing:
                return _failed(
                    "turn.response_mismatch",
                    f"turn {index}: {len(missing)} ground-truth result(s) are not among the model's results so far",
                    turn=index,
                    missing=missing,
                    decoded=evidence_decoded,
                )
    finally:
        model.close()
    return Verdict(ok=True, evidence={"decoded": evidence_decoded})


_TruthTurns = list[tuple[list[str], "EnvironmentState | None"]]
_TRUTH_CACHE: OrderedDict[tuple[str, int], tuple[MultiTurnEntry, _TruthTurns]] = OrderedDict()
_TRUTH_CACHE_SIZE = 16


def _replay_truth(entry: MultiTurnEntry) -> _TruthTurns:
    """Per turn, the ground truth's results and the state it leaves (None for a turn with no ground truth).

    The ground truth runs first, on its own environment, and the model's calls after it: one
    environment at a time, which a real service (one database behind its reset hook) needs. The
    replay is the same for every output scored against the entry, so the last few are kept (the
    states are copies no one changes; the entry is held so its `id()` cannot be reused).
    """
    key = (entry.id, id(entry))
    cached = _TRUTH_CACHE.get(key)
    if cached is not None:
        _TRUTH_CACHE.move_to_end(key)
        return cached[1]
    turns = _run_truth(entry)
    _TRUTH_CACHE[key] = (entry, turns)
    if len(_TRUTH_CACHE) > _TRUTH_CACHE_SIZE:
        _TRUTH_CACHE.popitem(last=False)
    return turns


def _run_truth(entry: MultiTurnEntry) -> _TruthTurns:
    reference = entry.environment()
    try:
        turns: _TruthTurns = []
        for expected in entry.ground_truth:
            results = [_text(reference.run(_truth_tool_call(reference, c)).output) for c in expected]
            turns.append((results, reference.snapshot() if expected else None))
        return turns
    finally:
        reference.close()


END_STATE_CODES: dict[str, str] = {
    "turns.not_a_list": "the output is not a list of turns (the run failed)",
    "turns.wrong_count": "the episode did not reach its last turn (force-terminated)",
    "episode.state_mismatch": "the world the model left differs from the one the ground truth leaves",
    "episode.output_missing": "a result the ground truth reads never reached the model",
    "episode.answer_missing": "a required output is in none of the model's replies or results",
}
"""The end-state check's verdict codes (semantic mode for multi-turn), with what each means."""


def check_end_state(entry: MultiTurnEntry, output: Any, *, style: Style | str = Style.FC) -> Verdict:
    """Judge an episode by where it ends, as tau-bench does: the final state, the results obtained, the outputs given.

    BFCL's checker compares the state after every turn, so a model that takes another valid path
    (`cp` then `rm` for `mv`, or one turn's work spread over two) fails. Here only the end counts:
    after all turns the model's world must equal the ground truth's; the result of every
    ground-truth call that reads (changes no state: what the user asked to know) must be among the
    model's results, while results that only confirm a change are not required; and each of the
    entry's `required_outputs` must appear (case-insensitively) in a reply or a result. The episode
    must still have run to its last turn.
    """
    if type(output) is not list:
        return _ended("turns.not_a_list", f"expected a list of turns, got {type(output).__name__}")
    if len(output) != len(entry.ground_truth):
        return _ended(
            "turns.wrong_count", f"the model answered {len(output)} turns, the episode has {len(entry.ground_truth)}"
        )
    decoded = decode_turns(output, style)
    reference = entry.environment()
    try:
        truth_results = []  # the results of the ground truth's reads: what the user asked to know
        for call in (c for turn in entry.ground_truth for c in turn):
            before = reference.snapshot()
            result = _text(reference.run(_truth_tool_call(reference, call)).output)
            if not before.diff(reference.snapshot(copy=False)):
                truth_results.append(result)
        end = reference.snapshot()
    finally:
        reference.close()
    model = entry.environment()
    try:
        model_results = [_text(model.run(call).output) for turn in decoded for step in turn for call in step]
        diff = model.snapshot(copy=False).diff(end)
    finally:
        model.close()
    if diff:
        return _ended(
            "episode.state_mismatch",
            f"at the end, the state differs from the ground truth's in {', '.join(diff.paths)}",
            changed=list(diff.paths),
        )
    missing = _missing(truth_results, model_results)
    if missing:
        return _ended(
            "episode.output_missing",
            f"{len(missing)} ground-truth result(s) never reached the model",
            missing=missing,
        )
    said = [step for turn in output if isinstance(turn, list) for step in turn if isinstance(step, str)]
    texts = [t.casefold() for t in (*said, *model_results)]
    absent = [want for want in entry.required_outputs if not any(want.casefold() in t for t in texts)]
    if absent:
        return _ended("episode.answer_missing", f"required output(s) not given: {absent!r}", missing=absent)
    return Verdict(ok=True, evidence={"results": len(model_results)})


def _truth_tool_call(environment: Any, call: DecodedCall) -> ToolCall:
    """A ground-truth call as a ToolCall; values given by position are named by the environment when it can."""
    if call.positional:
        return environment.bind(call.name, call.positional, call.arguments)  # type: ignore[no-any-return]
    return ToolCall(name=call.name, arguments=dict(call.arguments))


def _ended(code: str, message: str, **evidence: Any) -> Verdict:
    return Verdict(ok=False, code=code, message=message, evidence=evidence)


def result_text(output: Any) -> str:
    """A tool's output as text, the form results are fed back in and compared: a string as is, anything else as JSON."""
    if isinstance(output, str):
        return output
    try:
        return json.dumps(output)
    except (TypeError, ValueError):
        return str(output)


_text = result_text


def _missing(expected: list[str], got: list[str]) -> list[str]:
    """The expected results not found in `got`, counting duplicates (a multiset difference, in expected order)."""
    available = Counter(got)
    missing = []
    for item in expected:
        if available[item] > 0:
            available[item] -= 1
        else:
            missing.append(item)
    return missing


def _failed(code: str, message: str, **evidence: Any) -> Verdict:
    return Verdict(
        ok=False,
        code=code,
        message=message,
        evidence={"bfcl_error_type": MULTI_TURN_ERROR_TYPES[code], **evidence},
    )


def episode_entry(
    id: str,
    dialog: Dialog,
    truth: Sequence[Sequence[ToolCall]],
    environment: EnvironmentSpec,
    *,
    required_outputs: Sequence[str] = (),
) -> MultiTurnEntry:
    """A dialog over a user's environment as a multi-turn entry: its user messages the turns, `truth` the calls per turn.

    This is how a generated episode is judged by the same checkers an eval set is scored with.
    """
    turns = tuple(
        (Message(role="user", content=m.content),) for m in dialog.messages if m.role == "user"
    )
    if len(turns) != len(truth):
        raise DataError(f"{id}: {len(turns)} user turns but ground truth for {len(truth)}")
    return MultiTurnEntry(
        id=id,
        category=Category.MULTI_TURN_BASE,
        turns=turns,
        ground_truth=tuple(tuple(DecodedCall(c.name, dict(c.arguments)) for c in turn) for turn in truth),
        classes=(),
        initial_config={},
        required_outputs=tuple(required_outputs),
        environment_spec=environment,
    )


def dialog_output(dialog: Dialog) -> list[list[Any]]:
    """A dialog's assistant side as BFCL stores a model's multi-turn output (FC style): per user turn, its replies.

    A reply with calls is `[{name: "<JSON arguments>"}, ...]`, a reply in words its text, so a
    generated dialog is scored exactly as a live model's output would be.
    """
    turns: list[list[Any]] = []
    for message in dialog.messages:
        if message.role == "user":
            turns.append([])
        elif message.role == "assistant" and turns:
            if message.tool_calls:
                turns[-1].append([{c.name: json.dumps(c.arguments)} for c in message.tool_calls])
            elif message.content:
                turns[-1].append(message.content)
    return turns


def diverged_turn(entry: MultiTurnEntry, output: Any, *, style: Style | str = Style.FC) -> int | None:
    """The first turn after which the model's state differs from the ground truth's; None when every turn agrees.

    A rejected episode's first diverging turn is where it went wrong: the branch a preference pair
    rejects, and what a person reading the failure looks at first.
    """
    if type(output) is not list:
        return 0
    decoded = decode_turns(output, style)
    reference = entry.environment()
    try:
        states = []
        for expected in entry.ground_truth:
            for call in expected:
                reference.run(_truth_tool_call(reference, call))
            states.append(reference.snapshot())
    finally:
        reference.close()
    model = entry.environment()
    try:
        for index, state in enumerate(states):
            steps = decoded[index] if index < len(decoded) else []
            for step in steps:
                for made in step:
                    model.run(made)
            if model.snapshot(copy=False).diff(state):
                return index
    finally:
        model.close()
    return None
