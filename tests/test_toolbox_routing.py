"""A generation run's toolbox: every source at once, each tool executed where it really lives."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from callforge.core import ConfigError, ToolCall, ToolSpec
from callforge.execute.toolbox import load_toolbox
from callforge.llm.scripted import FunctionBackend
from callforge.tools.pool import save_pool
from tests.test_cli_generate import REPO
from tests.test_rest_engine import SPEC, Library, library  # noqa: F401  (the live HTTP server fixture)

pytest.importorskip("mcp")
from tests.test_mcp import SERVER


def test_every_source_runs_on_its_own_engine(library: Library, tmp_path: Path) -> None:  # noqa: F811
    pool = tmp_path / "pool.json"
    horoscope = ToolSpec(
        name="get_horoscope",
        description="The horoscope of a sign for today.",
        parameters={"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]},
        returns={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        source="synthesized",
        domain="astrology",
    )
    save_pool(pool, [horoscope])
    finance = REPO / "examples" / "tools" / "finance.py"
    toolbox = load_toolbox([str(SPEC), "mcp:" + SERVER, str(finance), str(pool)], rest_base_url=library.url)
    assert "ping" in toolbox.rest and "createBook" in toolbox.rest
    assert "greet" in toolbox.mcp and "get_weather" in toolbox.mcp
    assert "convert_currency" in toolbox.python and toolbox.simulated == {"get_horoscope"}
    simulator = FunctionBackend(lambda request: json.dumps({"text": "A calm day."}))
    tools = {t.name: t for t in toolbox.tools}

    async def go() -> list[object]:
        engine = toolbox.engine(simulator)
        try:
            calls = [
                ToolCall(name="ping", arguments={}),
                ToolCall(name="greet", arguments={"name": "Ada"}),
                ToolCall(name="convert_currency", arguments={"amount": 10, "from_currency": "USD", "to_currency": "EUR"}),
                ToolCall(name="get_horoscope", arguments={"sign": "leo"}),
            ]
            return list(await asyncio.gather(*(engine.execute(c, tools[c.name]) for c in calls)))
        finally:
            await toolbox.aclose()

    ping, greet, convert, horoscope_out = asyncio.run(go())
    assert [o.engine for o in (ping, greet, horoscope_out)] == ["rest", "mcp", "simulated:function"]  # type: ignore[attr-defined]
    assert ping.output == "pong" and library.last().path.endswith("/ping")  # type: ignore[attr-defined]
    assert "Ada" in str(greet.output)  # type: ignore[attr-defined]
    assert convert.ok and convert.output["to_currency"] == "EUR"  # type: ignore[attr-defined]
    assert horoscope_out.output == {"text": "A calm day."}  # type: ignore[attr-defined]
    assert toolbox._open == []


def test_tools_without_an_implementation_need_a_simulator(tmp_path: Path) -> None:
    pool = tmp_path / "pool.json"
    save_pool(pool, [ToolSpec(name="get_horoscope", description="The horoscope of a sign.", source="synthesized")])
    with pytest.raises(ConfigError, match="give a simulator model"):
        load_toolbox([str(pool)]).engine(None)
