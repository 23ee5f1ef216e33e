"""Extension points: a package adds a backend provider, an engine kind or an export format through entry points."""

from __future__ import annotations

import asyncio
import importlib
import json
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, Dialog, Message, ToolCall, ToolSpec
from callforge.execute import EngineOptions, Observation, make_engine
from callforge.export import RecordFormat, export, export_formats
from callforge.llm import BackendOptions, ScriptedBackend, make_backend

TOOL = ToolSpec(name="ping", parameters={"type": "object", "properties": {"host": {"type": "string"}}})


def _plugin_backend(name: str, options: BackendOptions) -> ScriptedBackend:
    return ScriptedBackend([f"{name} via {options.base_url}"], model=f"echo:{name}")


class _ConstEngine:
    name = "const"

    def __init__(self, value: str) -> None:
        self.value = value

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        return Observation(call=call, output={"value": self.value}, engine=self.name)


def _plugin_engine(rest: str, options: EngineOptions) -> _ConstEngine:
    return _ConstEngine(rest)


PLUGIN_FORMAT = RecordFormat(lambda d: [{"id": d.meta.id, "turns": len(d.messages)}], masks=False)


def _install(monkeypatch: pytest.MonkeyPatch, module: str, group: str, name: str, target: str) -> None:
    """Make `importlib.metadata.entry_points(group=...)` in `module` list one plugin entry, as an installed package would."""
    found = importlib.import_module(module)
    real = found.entry_points

    def entry_points(*, group: str) -> Any:
        listed = list(real(group=group))
        if group == wanted:
            listed.append(EntryPoint(name=name, value=target, group=group))
        return listed

    wanted = group
    monkeypatch.setattr(found, "entry_points", entry_points)


def test_a_registered_backend_provider_is_a_model_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(monkeypatch, "callforge.llm.registry", "callforge.backends", "echo", "tests.test_plugins:_plugin_backend")
    backend = make_backend("echo:hello", base_url="http://example")
    reply = asyncio.run(backend.complete([Message(role="user", content="hi")]))
    assert backend.model == "echo:hello" and reply.text == "hello via http://example"
    with pytest.raises(ConfigError, match=r"unknown model spec 'nope:x'.*registered provider \(echo\)"):
        make_backend("nope:x")


def test_a_registered_engine_kind_runs_calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _install(monkeypatch, "callforge.execute.registry", "callforge.engines", "const", "tests.test_plugins:_plugin_engine")
    engine = make_engine("const:pong", cache=tmp_path / "exec-cache.sqlite")
    observation = asyncio.run(engine.execute(ToolCall(name="ping", arguments={"host": "a"}), TOOL))
    assert observation.output == {"value": "pong"}
    with pytest.raises(ConfigError, match=r"the engines are python:\.\.\., simulated:\.\.\., rest:\.\.\., mcp:\.\.\., const:\.\.\."):
        make_engine("ssh:box")


def test_a_registered_export_format_writes_records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _install(monkeypatch, "callforge.export.api", "callforge.export_formats", "turns", "tests.test_plugins:PLUGIN_FORMAT")
    assert "turns" in export_formats() and "dpo" in export_formats()  # dpo is callforge.learn's own entry point
    data = tmp_path / "d.jsonl"
    dialog = Dialog(messages=(Message(role="user", content="hi"), Message(role="assistant", content="hello")), meta={"id": "x"})
    data.write_text(dialog.model_dump_json() + "\n")
    report = export(data, tmp_path / "out", format="turns")
    assert report.written == 1
    assert [json.loads(line) for line in (tmp_path / "out" / "data.jsonl").read_text().splitlines()] == [
        {"id": "x", "turns": 2}
    ]
    _install(monkeypatch, "callforge.export.api", "callforge.export_formats", "broken", "tests.test_plugins:TOOL")
    with pytest.raises(ConfigError, match=r"'broken' .* is not a RecordFormat"):
        export_formats()
