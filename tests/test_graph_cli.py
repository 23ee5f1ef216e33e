"""`callforge tools graph`: stats of the example tools, DOT output, hub damping, and errors that name the fix."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from callforge.cli.tools_graph import register_graph
from callforge.core import ConfigError, SpecError

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(str(p) for p in (REPO / "examples" / "tools").glob("*.py"))


def make_app() -> typer.Typer:
    """A `tools` group holding only `graph`, as cli/tools.py wires it."""
    app = typer.Typer()

    @app.callback()
    def _tools() -> None:
        """Tools."""

    register_graph(app)
    return app


def invoke(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(make_app(), ["graph", *args])
    return result.exit_code, result.output, result.exception


def test_stats_of_the_example_tools_and_their_dot(tmp_path: Path) -> None:
    dot = tmp_path / "graph.dot"
    code, output, error = invoke(*EXAMPLES, "--json", "--dot", str(dot))
    assert code == 0 and error is None, output
    stats = json.loads(output)
    assert stats["tools"] == 28 and stats["domains"] == 4
    assert stats["domain_edges"] == 15 + 21 + 21 + 28  # 6, 7, 7 and 8 tools per file
    assert stats["hub_limit"] == 5 and stats["capped"] == []
    assert 50 < stats["data_edges"] < 100
    assert stats["chains"] > 50 and stats["fan_outs"] > 20 and stats["fan_ins"] > 20 and stats["dags"] > 100
    assert "convert_units" in stats["isolated"]
    assert [h["name"] for h in stats["hubs"]][:2] == ["search_products", "geocode"]
    text = dot.read_text()
    assert text.count("subgraph cluster_") == 4
    assert '"list_orders" -> "cancel_order" [label="orders[].order_id → order_id (1.00)"];' in text
    # a currency field a dozen results carry no longer links them all to portfolio_value
    assert '-> "portfolio_value"' not in text

    code, output, _ = invoke(*EXAMPLES, "--json", "--hub-limit", "off", "--dot", str(dot))
    undamped = json.loads(output)
    assert code == 0 and undamped["hub_limit"] is None
    assert (
        undamped["data_edges"] - stats["data_edges"] == 36
    )  # 12 producers × from_currency, to_currency, currency
    assert '"book_hotel" -> "portfolio_value" [label="currency → currency (1.00)"];' in dot.read_text()


def test_the_table_and_json_tool_files(tmp_path: Path) -> None:
    forecast = {
        "type": "function",
        "function": {
            "name": "get_forecast",
            "description": "Weather at a place.",
            "parameters": {
                "type": "object",
                "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
                "required": ["latitude", "longitude"],
            },
        },
    }
    spec = tmp_path / "weather_api.json"
    spec.write_text(json.dumps([forecast]))
    travel = str(REPO / "examples" / "tools" / "travel.py")
    code, output, error = invoke(
        travel, str(spec), "--top", "2", "--dot", str(tmp_path / "g.dot"), "--threshold", "0.9"
    )
    assert code == 0 and error is None, output
    assert "tool graph: 9 tools (threshold 0.9, hub damping more than 5 feeders)" in output
    for label in (
        "data edges",
        "domain edges",
        "components",
        "longest chain",
        "fan-ins (2 → 1)",
        "DAGs (3–5 tools)",
    ):
        assert label in output
    assert "top 2 hub tools" in output and "geocode" in output
    assert f"wrote {tmp_path / 'g.dot'}" in output
    assert (
        '"geocode" -> "get_forecast" [label="latitude → latitude (1.00)\\nlongitude → longitude (1.00)"];'
        in (tmp_path / "g.dot").read_text()
    )


def test_errors_name_the_input_and_the_fix(tmp_path: Path) -> None:
    for args, kind, words in (
        ([str(tmp_path / "missing.py")], ConfigError, "missing.py: no such file"),
        ([EXAMPLES[0], "--hub-limit", "many"], ConfigError, "'auto' or 'off'"),
        ([EXAMPLES[0], "--threshold", "2"], ConfigError, "outside 0..1"),
        ([EXAMPLES[0], EXAMPLES[0]], SpecError, "two tools are named"),
    ):
        code, _, error = invoke(*args)
        assert code != 0 and isinstance(error, kind) and words in str(error), args


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None, reason="sentence-transformers is installed"
)
def test_embeddings_without_the_package_say_what_to_install() -> None:
    code, _, error = invoke(EXAMPLES[0], "--embeddings", "./models/minilm")
    assert code != 0 and isinstance(error, ConfigError) and "pip install sentence-transformers" in str(error)


def test_the_command_is_wired_into_callforge_tools() -> None:
    from callforge.cli import app

    group = typer.main.get_command(app)
    tools = group.commands["tools"]  # type: ignore[attr-defined]
    if "graph" not in tools.commands:
        pytest.skip("cli/tools.py does not call register_graph(tools_app) yet")
    result = CliRunner().invoke(app, ["tools", "graph", EXAMPLES[0], "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tools"] == 6
