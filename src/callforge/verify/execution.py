"""The execution stage: run every call of a dialog on an engine and judge what came back, the same way for every engine."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from callforge.core import Dialog, MaskReason, ToolCall, ToolSpec, Verdict
from callforge.execute import Engine, Observation, error_payload, short_text
from callforge.llm import Closable
from callforge.tools import validator_for
from callforge.verify.record import StageResult


class ExecutionStage:
    """Runs each call on `engine`; fails on exceptions, timeouts, kills, error payloads and `returns` violations.

    `compare_outputs=True` also fails a call whose recorded tool message differs from what the engine
    returns now (for deterministic engines: a dataset that claims outputs its tools never give).
    A call the engine cannot run (`exec.unavailable`) fails only with `require_all=True`; otherwise
    it is recorded and the dialog is marked skipped when no call could run.
    """

    name = "exec"

    def __init__(self, engine: Engine, *, compare_outputs: bool = False, require_all: bool = False) -> None:
        """Execute with `engine`."""
        self.engine = engine
        self.compare_outputs = compare_outputs
        self.require_all = require_all

    async def aclose(self) -> None:
        """Close the engine when it holds servers or clients (REST, MCP), so a run leaves nothing running."""
        if isinstance(self.engine, Closable):
            await self.engine.aclose()

    async def check(self, dialog: Dialog) -> StageResult:
        """Execute every call of a known tool, concurrently, and judge each outcome."""
        tools = {t.name: t for t in dialog.tools}
        sites = [
            (i, call, tools[call.name])
            for i, message in enumerate(dialog.messages)
            if message.role == "assistant"
            for call in message.tool_calls
            if call.name in tools
        ]
        if not sites:
            return StageResult(stage=self.name, skipped=True, meta={"observations": []})
        observations = await asyncio.gather(*(self.engine.execute(call, tool) for _, call, tool in sites))
        recorded = _recorded_outputs(dialog) if self.compare_outputs else {}
        injected = dialog.masked_calls(MaskReason.INJECTED)
        verdicts: list[Verdict] = []
        ran = 0
        for (index, call, tool), observation in zip(sites, observations, strict=True):
            if observation.verdict.code == "exec.unavailable":
                if self.require_all:
                    verdicts.append(observation.verdict)
                continue
            ran += 1
            found = [_located(v, index, call) for v in _judge(index, call, tool, observation, recorded)]
            if call.id is not None and call.id in injected:
                found = _injected(index, call, observation, found)
            verdicts.extend(found)
        return StageResult(
            stage=self.name,
            verdicts=tuple(verdicts),
            skipped=ran == 0 and not verdicts,
            meta={"observations": [o.model_dump(mode="json") for o in observations]},
        )


def _judge(
    index: int, call: ToolCall, tool: ToolSpec, observation: Observation, recorded: dict[str, Any]
) -> list[Verdict]:
    where = f"{call.name} (message {index})"
    if not observation.ok:
        verdict = observation.verdict
        return [verdict.model_copy(update={"message": f"{where}: {verdict.message}"})]
    output = observation.output
    out = []
    reason = error_payload(output)
    if reason is not None:
        out.append(
            Verdict.failed("exec.error_payload", f"{where}: the tool reported an error ({reason})", output=output)
        )
    elif isinstance(tool.returns, dict) and tool.returns:  # an error payload rarely fits `returns` anyway
        for issue in validator_for(tool.returns)(output):
            out.append(
                Verdict.failed(
                    "exec.returns_schema",
                    f"{where}: the output does not match the tool's returns schema: {issue.message}",
                    path=list(issue.path),
                )
            )
    if call.id is not None and call.id in recorded:
        claimed = recorded[call.id]
        if _canonical(claimed) != _canonical(output):
            out.append(
                Verdict.failed(
                    "exec.output_mismatch",
                    f"{where}: the dialog's tool message says {short_text(claimed)}, the tool returns {short_text(output)}",
                    recorded=claimed,
                    output=output,
                )
            )
    return out


def _located(verdict: Verdict, index: int, call: ToolCall) -> Verdict:
    """Name the message and call a failure belongs to, as the rules do, so refinement can find the step."""
    return verdict.model_copy(update={"evidence": {**verdict.evidence, "message_index": index, "call": call.name}})


def _injected(index: int, call: ToolCall, observation: Observation, found: list[Verdict]) -> list[Verdict]:
    """A planted failing call must fail (that is the lesson); any failure of it is expected."""
    failed = not observation.ok or any(v.code == "exec.error_payload" for v in found)
    if failed:
        return [v for v in found if v.code == "exec.output_mismatch"]
    return [
        Verdict.failed(
            "exec.injected_error_passed",
            f"{call.name} (message {index}): this call was planted to fail (masked as injected), but the tool accepted it",
        )
    ]


def _recorded_outputs(dialog: Dialog) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for message in dialog.messages:
        if message.role == "tool" and message.tool_call_id:
            text = message.content or ""
            try:
                found[message.tool_call_id] = orjson.loads(text)
            except orjson.JSONDecodeError:
                found[message.tool_call_id] = text
    return found


def _canonical(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return repr(value).encode()
