"""Live evaluation: BFCL's request preparation, result files, resume, failures, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callforge.cli import app
from callforge.core import OMITTED, Case, ToolCall
from callforge.evaluate import Mode, Style, evaluate_model
from callforge.evaluate.bfcl_prompt import fc_tools, prompting_messages
from callforge.evaluate.live import request_for
from callforge.formats import load_bfcl_suite
from callforge.llm.backend import BackendError
from callforge.llm.scripted import FunctionBackend, Request

from .conftest import read_jsonl, stream


@pytest.fixture(scope="module")
def cases(bfcl_dir: Path) -> dict[str, Case]:
    suite = load_bfcl_suite(bfcl_dir / "data", ["simple_python", "simple_java", "multiple", "irrelevance"])
    return {c.id: c for c in suite}


def _oracle_calls(case: Case) -> list[ToolCall]:
    calls = []
    for expected in case.expected:
        arguments = {k: v[0] for k, v in expected.arguments.items() if v and v[0] != OMITTED}
        calls.append(ToolCall(name=expected.name, arguments=arguments))
    return calls


def _key(messages, tools) -> tuple:  # type: ignore[no-untyped-def]
    return tuple(m.content for m in messages), tuple(t.name for t in tools or ())


def _index(cases: dict[str, Case], style: Style) -> dict[tuple, Case]:  # type: ignore[type-arg]
    # Some BFCL questions repeat across categories; the full request (system prompt, tools) tells them apart.
    return {_key(*request_for(c, style)): c for c in cases.values()}


def _case_of(by_request: dict, request: Request) -> Case:  # type: ignore[type-arg]
    return by_request[_key(request.messages, request.tools)]


def _oracle(by_request: dict, style: Style):  # type: ignore[no-untyped-def,type-arg]
    def respond(request: Request) -> object:
        case = _case_of(by_request, request)
        calls = _oracle_calls(case)
        if not calls:
            return "None of the functions apply."
        if style is Style.FC:
            return [c.model_copy(update={"name": c.name.replace(".", "_")}) for c in calls]
        return (
            "["
            + ", ".join(f"{c.name}({', '.join(f'{k}={v!r}' for k, v in c.arguments.items())})" for c in calls)
            + "]"
        )

    return respond


def test_prompting_request_is_bfcl_default_prompt(cases: dict[str, Case]) -> None:
    case = cases["simple_python_0"]
    messages = prompting_messages(case)
    system = messages[0].content or ""
    assert messages[0].role == "system" and messages[1:] == list(case.messages)
    assert system.startswith("You are an expert in composing functions.You are given a question")
    assert (
        "[func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)]"
        in system
    )
    functions = json.loads(system.split("that you can invoke.\n", 1)[1])
    assert functions[0]["name"] == "calculate_triangle_area"
    assert functions[0]["description"].endswith(" Note that the provided function is in Python 3 syntax.")
    assert '\n    {\n        "name"' in system  # json.dumps(indent=4), as BFCL renders it
    assert request_for(case, Style.PROMPTING)[1] is None


def test_java_functions_are_string_typed_with_hints(cases: dict[str, Case]) -> None:
    functions = json.loads(
        (prompting_messages(cases["simple_java_0"])[0].content or "").split("invoke.\n", 1)[1]
    )
    for prop in functions[0]["parameters"]["properties"].values():
        assert prop["type"] == "string"
        assert (
            "type parameter in string representation" in prop["description"]
            or "any type" in prop["description"]
        )
    assert functions[0]["description"].endswith("Java 8 SDK syntax.")


def test_fc_tools_use_openapi_types_and_no_dots(cases: dict[str, Case]) -> None:
    tools = fc_tools(cases["simple_python_1"])  # math.factorial
    assert tools[0].name == "math_factorial"
    assert tools[0].parameters["type"] == "object"
    floats = [
        prop
        for case in cases.values()
        if case.category == "simple_python"
        for tool in fc_tools(case)
        for prop in tool.properties.values()
        if prop.get("format") == "float"
    ]
    assert floats and all(
        p["type"] == "number" and p["description"].endswith("This is a float type value.") for p in floats
    )
    # the Case's own tools stay untouched
    assert cases["simple_python_1"].tools[0].name == "math.factorial"


@pytest.mark.parametrize("style", [Style.PROMPTING, Style.FC])
def test_an_oracle_model_scores_100_percent_in_both_modes(
    cases: dict[str, Case], bfcl_dir: Path, tmp_path: Path, style: Style
) -> None:
    backend = FunctionBackend(_oracle(_index(cases, style), style))
    report = evaluate_model(
        model=backend,
        data=bfcl_dir / "data",
        out=tmp_path,
        style=style,
        categories=["simple_python", "multiple", "irrelevance"],
        limit=6,
        concurrency=3,
    )
    assert report.sent == 18 and report.resumed == 0 and not report.failed
    for mode in Mode:
        scores = report.scores[mode].categories
        assert {c.value: (s.correct, s.total) for c, s in scores.items()} == {
            "simple_python": (6, 6),
            "multiple": (6, 6),
            "irrelevance": (6, 6),
        }, mode
    rows = list(read_jsonl(tmp_path / "bfcl-results" / "BFCL_v4_simple_python_result.json"))
    assert sorted(r["id"] for r in stream(tmp_path, "results") if r["category"] == "simple_python") == sorted(
        r["id"] for r in rows
    )
    assert sorted(r["id"] for r in rows) == [f"simple_python_{i}" for i in range(6)]
    if style is Style.FC:
        assert all(
            isinstance(r["result"], list) and isinstance(next(iter(r["result"][0].values())), str)
            for r in rows
        )
    else:
        assert all(isinstance(r["result"], str) and r["result"].startswith("[") for r in rows)
    assert (tmp_path / "scores" / "bfcl" / "scores.json").is_file()
    assert (tmp_path / "scores" / "semantic" / "scores.json").is_file()


def test_failed_requests_are_logged_and_retried_by_a_rerun(
    cases: dict[str, Case], bfcl_dir: Path, tmp_path: Path
) -> None:
    by_request = _index(cases, Style.PROMPTING)
    oracle = _oracle(by_request, Style.PROMPTING)
    flaky_ids = {"simple_python_2", "simple_python_4"}

    def flaky(request: Request) -> object:
        if _case_of(by_request, request).id in flaky_ids:
            raise BackendError("gave up after 6 attempts: HTTP 503", retryable=True)
        return oracle(request)

    first = evaluate_model(
        model=FunctionBackend(flaky), data=bfcl_dir / "data", out=tmp_path, categories=["simple_python"], limit=6
    )
    assert first.sent == 4
    assert [case_id for case_id, _ in first.failed] == sorted(flaky_ids)
    assert "HTTP 503" in first.failed[0][1]
    assert first.scores[Mode.BFCL].categories[next(iter(first.scores[Mode.BFCL].categories))].total == 4

    again = FunctionBackend(oracle)
    second = evaluate_model(
        model=again, data=bfcl_dir / "data", out=tmp_path, categories=["simple_python"], limit=6
    )
    assert len(again.requests) == 2 and second.resumed == 4 and not second.failed
    ids = [r["id"] for r in stream(tmp_path, "results")]
    assert sorted(ids) == [f"simple_python_{i}" for i in range(6)]  # nothing lost, nothing twice


def test_a_half_written_line_from_a_kill_is_dropped_and_redone(
    cases: dict[str, Case], bfcl_dir: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    path = results / "BFCL_v4_simple_python_result.json"
    path.write_text(
        '{"id": "simple_python_0", "result": "[]"}\n{"id": "simple_python_1", "resu', encoding="utf-8"
    )
    backend = FunctionBackend(_oracle(_index(cases, Style.PROMPTING), Style.PROMPTING))
    report = evaluate_model(
        model=backend, data=bfcl_dir / "data", out=tmp_path, categories=["simple_python"], limit=3
    )
    assert len(backend.requests) == 2 and report.resumed == 1
    assert path.read_text(encoding="utf-8").endswith("\n")  # the torn line was cut
    assert [r["id"] for r in stream(tmp_path, "results")] == ["simple_python_0", "simple_python_1", "simple_python_2"]


def test_a_configuration_error_stops_the_run_and_keeps_results(bfcl_dir: Path, tmp_path: Path) -> None:
    count = 0

    def refuse_after_two(request: Request) -> str:
        nonlocal count
        count += 1
        if count > 2:
            raise BackendError("HTTP 401: the API key was refused")
        return "[]"

    with pytest.raises(BackendError, match="401"):
        evaluate_model(
            model=FunctionBackend(refuse_after_two),
            data=bfcl_dir / "data",
            out=tmp_path,
            categories=["simple_python"],
            limit=5,
        )
    assert len(stream(tmp_path, "results")) == 2


def test_cli_live_run_and_flag_errors(bfcl_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    args = [
        "eval",
        "--model",
        "fuzz:3",
        "--style",
        "fc",
        "--data",
        str(bfcl_dir / "data"),
        "-c",
        "simple_python",
        "--limit",
        "4",
        "-o",
        str(tmp_path),
        "-q",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "simple_python" in result.output and "ran 4 cases" in result.output
    again = runner.invoke(app, args)
    assert "ran 0 cases, resumed 4" in again.output

    both = runner.invoke(app, ["eval", "--model", "fuzz", "--results", str(tmp_path)])
    assert both.exit_code != 0
    neither = runner.invoke(app, ["eval", "--data", str(bfcl_dir / "data")])
    assert neither.exit_code != 0
    live_flag = runner.invoke(
        app,
        ["eval", "--results", str(tmp_path / "results"), "--data", str(bfcl_dir / "data"), "--limit", "3"],
    )
    assert live_flag.exit_code != 0
    bad_spec = runner.invoke(app, ["eval", "--model", "nonsense:x", "--data", str(bfcl_dir / "data")])
    assert bad_spec.exit_code != 0


def test_a_request_the_server_refuses_for_one_case_is_a_wrong_answer_and_the_run_goes_on(
    cases: dict[str, Case], bfcl_dir: Path, tmp_path: Path
) -> None:
    from callforge.llm import RequestRejected

    by_request = _index(cases, Style.PROMPTING)
    oracle = _oracle(by_request, Style.PROMPTING)

    def too_long_once(request: Request) -> object:
        if _case_of(by_request, request).id == "simple_python_1":
            raise RequestRejected("the prompt is longer than the context (9000 > 8192 tokens)")
        return oracle(request)

    report = evaluate_model(
        model=FunctionBackend(too_long_once), data=bfcl_dir / "data", out=tmp_path, categories=["simple_python"], limit=3
    )
    assert report.sent == 3 and not report.failed
    rows = {r["id"]: r for r in stream(tmp_path, "results")}
    assert rows["simple_python_1"]["result"] == "" and "longer than the context" in rows["simple_python_1"]["parse"]
    category = next(iter(report.scores[Mode.BFCL].categories.values()))
    assert category.total == 3 and category.correct == 2
