"""Honest exits: every run ends with a documented status, partial work is never 0, no traceback reaches the user.

The table lives in docs/cli.md; `callforge.cli.exits.Exit` is its code form. Each verb runs
in-process through `main()` (the console script's entry point, with its top-level handler), against
the shipped bfcl-mini suite and the fake OpenAI server.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from callforge.llm.fake_server import FakeOpenAIServer, Fault

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "examples" / "bfcl-mini"
DATA = MINI / "data"
PROMPTING = MINI / "results" / "prompting"
XLAM = REPO / "examples" / "verify" / "xlam-sample.jsonl"
SHOP = REPO / "examples" / "tools" / "shop.py"
DOWN = Fault("503", probability=1.0, retry_after_s=0)  # every request fails, retried at once


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    """Run `callforge ARGS` as the console script does; (exit status, stdout, stderr with lines joined)."""
    monkeypatch.setenv("CALLFORGE_CRASH_DIR", str(tmp_path / "crashes"))
    monkeypatch.setenv("COLUMNS", "2000")  # typer's error panel wraps at the terminal width
    monkeypatch.setenv("TERMINAL_WIDTH", "2000")

    def run(*args: str) -> tuple[int, str, str]:
        from callforge.cli import main

        monkeypatch.setattr(sys, "argv", ["callforge", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit:
            main()
        captured = capsys.readouterr()
        code = exit.value.code
        return (code if isinstance(code, int) else 0 if code is None else 1), captured.out, " ".join(captured.err.split())

    return run


def score_args(results: Path, out: Path, *more: str) -> list[str]:
    return ["eval", "score", "--results", str(results), "--data", str(DATA), "--out", str(out), "-q", *more]


# -- eval score -------------------------------------------------------------------------------


def test_complete_results_exit_0(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli(*score_args(PROMPTING, tmp_path / "s"))
    assert code == 0, err
    assert "scores.json" in out


def test_missing_entries_exit_3_with_the_count(cli: Cli, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(PROMPTING, partial)
    simple = partial / "BFCL_v4_simple_python_result.json"
    simple.write_text("".join(simple.read_text(encoding="utf-8").splitlines(keepends=True)[:2]), encoding="utf-8")
    code, _, err = cli(*score_args(partial, tmp_path / "s"))
    assert code == 3, err
    assert "2 of 11 entries have no result" in err and "Traceback" not in err


def test_an_empty_results_file_is_an_input_error(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("", encoding="utf-8")
    code, _, err = cli(*score_args(empty, tmp_path / "s"))
    assert code == 2, err
    assert "empty.json" in err and "no results" in err
    assert not (tmp_path / "s" / "scores.json").exists()


def test_results_that_match_no_entry_exit_4(cli: Cli, tmp_path: Path) -> None:
    stray = tmp_path / "stray.json"
    stray.write_text('{"id": "simple_python_99", "result": "[]"}\n', encoding="utf-8")
    code, _, err = cli(*score_args(stray, tmp_path / "s"))
    assert code == 4, err
    assert "nothing scored" in err


def test_a_binary_results_file_is_a_clear_error_naming_file_and_line(cli: Cli, tmp_path: Path) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"id": "simple_python_0", "result": "[]"}\n\xff\xfe\x00\x01garbage\n')
    code, _, err = cli(*score_args(binary, tmp_path / "s"))
    assert code == 2, err
    assert f"{binary}:2" in err and "UTF-8" in err and "Traceback" not in err


def test_a_lone_surrogate_is_a_clear_error_naming_file_and_line(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "surrogate.json"
    broken.write_text(
        '{"id": "simple_python_0", "result": "[]"}\n{"id": "simple_python_1", "result": "[f(x=\'\\ud800\')]"}\n',
        encoding="utf-8",
    )
    code, _, err = cli(*score_args(broken, tmp_path / "s"))
    assert code == 2, err
    assert f"{broken}:2" in err and "surrogate" in err and "Traceback" not in err


# -- eval run -----------------------------------------------------------------------------------


def run_args(server: FakeOpenAIServer, out: Path, *more: str) -> list[str]:
    return [
        "eval", "run", "--model", "openai:m", "--base-url", server.base_url, "--api-key", "x",
        "--data", str(DATA), "-c", "simple_python", "--out", str(out), "-q", *more,
    ]  # fmt: skip


def test_every_request_failing_exits_4_and_says_so(cli: Cli, tmp_path: Path) -> None:
    with FakeOpenAIServer(faults=[DOWN]) as server:
        code, _, err = cli(*run_args(server, tmp_path / "run", "--limit", "2"))
    assert code == 4, err
    assert "every request to openai:m" in err and "HTTP 503" in err and "nothing to score" in err
    assert "results path" not in err


def test_some_requests_failing_exit_3_with_the_count(cli: Cli, tmp_path: Path) -> None:
    # one request at a time: requests 1-6 are the second case's six attempts, all refused
    with FakeOpenAIServer(faults=[Fault("503", at=range(1, 7), retry_after_s=0)]) as server:
        code, out, err = cli(*run_args(server, tmp_path / "run", "--concurrency", "1"))
    assert code == 3, err + out
    assert "1 of 4 cases have no result" in err


def test_a_complete_live_run_exits_0(cli: Cli, tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        code, _, err = cli(*run_args(server, tmp_path / "run"))
    assert code == 0, err


# -- verify -------------------------------------------------------------------------------------


def verify_args(server: FakeOpenAIServer, out: Path, stages: str) -> list[str]:
    return [
        "verify", str(XLAM), "--stages", stages, "--judge", "openai:m", "--base-url", server.base_url,
        "--api-key", "x", "--limit", "10", "--out", str(out), "-q",
    ]  # fmt: skip


def test_verify_with_the_judge_down_exits_3_with_the_count(cli: Cli, tmp_path: Path) -> None:
    with FakeOpenAIServer(faults=[DOWN]) as server:
        code, _, err = cli(*verify_args(server, tmp_path / "v", "rules,judge"))
    assert code == 3, err
    assert "8 of 10 dialogs unjudged" in err  # the rules reject 2 of the first 10 without the judge


def test_verify_with_nothing_judged_exits_4(cli: Cli, tmp_path: Path) -> None:
    with FakeOpenAIServer(faults=[DOWN]) as server:
        code, _, err = cli(*verify_args(server, tmp_path / "v", "judge"))
    assert code == 4, err
    assert "10 of 10 dialogs unjudged" in err


# -- generate ----------------------------------------------------------------------------------


def test_generate_short_of_its_target_exits_3(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("generate", "-t", str(SHOP), "--model", "fake:world", "-n", "3", "--max-attempts", "2",
                       "--out", str(tmp_path / "g"), "-q")  # fmt: skip
    assert code == 3, err
    assert "of 3 dialogs accepted: attempt budget spent" in err


# -- flags are checked before any work ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "flag", "message"),
    [
        (["--base-url", "notaurl"], "--base-url", "http"),
        (["--base-url", "ftp://host/v1"], "--base-url", "http"),
        (["--timeout", "-1"], "--timeout", "greater than 0"),
        (["--timeout", "0"], "--timeout", "greater than 0"),
        (["--rpm", "-5"], "--rpm", "greater than 0"),
        (["--rpm", "nan"], "--rpm", "greater than 0"),
        (["--concurrency", "0"], "--concurrency", "greater than or equal to 1"),
    ],
)
def test_bad_request_flags_are_usage_errors(cli: Cli, tmp_path: Path, args: list[str], flag: str, message: str) -> None:
    base = ["eval", "run", "--model", "openai:m", "--api-key", "x", "--data", str(DATA), "--out", str(tmp_path / "r")]
    code, _, err = cli(*base, *args)
    assert code == 2, err
    assert flag in err and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # nothing ran


def test_a_date_that_does_not_exist_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("generate", "-t", str(SHOP), "--model", "fake:world", "--today", "2025-13-45", "-n", "1",
                       "--out", str(tmp_path / "g"), "-q")  # fmt: skip
    assert code == 2, err
    assert "--today" in err and "YYYY-MM-DD" in err
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize(
    "verb",
    [
        ["eval", "score", "--results", str(PROMPTING), "--data", str(DATA)],
        ["eval", "run", "--model", "fuzz", "--data", str(DATA)],
        ["verify", str(XLAM)],
        ["generate", "-t", str(SHOP), "--model", "fake:world"],
        ["export", str(XLAM)],
    ],
)
def test_out_pointing_at_a_file_is_a_usage_error(cli: Cli, tmp_path: Path, verb: list[str]) -> None:
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    code, _, err = cli(*verb, "--out", str(target))
    assert code == 2, err
    assert "--out" in err and "is a file" in err and "Traceback" not in err
    assert target.read_text(encoding="utf-8") == "x"


def test_tools_import_into_a_directory_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "pools"
    folder.mkdir()
    code, _, err = cli("tools", "import", str(REPO / "examples" / "pools" / "synth-200.json"), "-o", str(folder))
    assert code == 2, err
    assert "--out" in err and "is a directory" in err and "Traceback" not in err
    assert list(folder.iterdir()) == []


# -- the top-level handler ----------------------------------------------------------------------


def test_an_internal_error_writes_a_crash_report_and_exits_70(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callforge.evaluate

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in evaluate_model")

    monkeypatch.setattr(callforge.evaluate, "evaluate_model", broken)
    secret = "sk-test-0123456789abcdef"
    url = "http://alice:hunter2-pass@127.0.0.1:9/v1"
    code, out, err = cli("eval", "run", "--model", "openai:m", "--api-key", secret, "--base-url", url,
                         "--data", str(DATA), "--out", str(tmp_path / "r"), "-q")  # fmt: skip
    assert code == 70, err
    assert "callforge crashed (bug): RuntimeError: boom in evaluate_model" in err
    assert "Traceback" not in err + out
    [report] = (tmp_path / "crashes").glob("crash-*.txt")
    assert str(report) in err
    text = report.read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError: boom in evaluate_model" in text and "callforge" in text
    assert "--api-key" in text and secret not in text and "hunter2-pass" not in text
    assert secret not in err and "hunter2-pass" not in err


def test_a_file_the_system_refuses_is_one_line_naming_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import callforge.evaluate

    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "s" / "scores.json"))

    monkeypatch.setattr(callforge.evaluate, "score", refused)
    code, _, err = cli(*score_args(PROMPTING, tmp_path / "s"))
    assert code == 2, err
    assert err == f"error: Permission denied: {tmp_path / 's' / 'scores.json'}"
    assert not (tmp_path / "crashes").exists()


def test_ctrl_c_outside_a_job_exits_130_without_a_traceback(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callforge.evaluate

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(callforge.evaluate, "score", interrupted)
    code, out, err = cli(*score_args(PROMPTING, tmp_path / "s"))
    assert code == 130 and "Traceback" not in err + out
    assert not (tmp_path / "crashes").exists()


def test_every_exit_code_is_in_the_documented_table() -> None:
    from callforge.cli.exits import Exit

    table = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for status in Exit:
        assert f"| {int(status)} |" in table, status


def test_a_bad_model_spec_is_refused_before_generate_logs_a_start(cli: Cli, tmp_path: Path) -> None:
    for spec in ("local:no-such-model", "nosuch:thing"):
        code, out, err = cli("generate", "--tools", str(SHOP), "--model", spec, "--n", "1", "--out", str(tmp_path / "g"))
        assert code == 2, err
        assert "unknown" in err and "accepted" not in out + err  # no "0/1 accepted" start line first
        assert not (tmp_path / "g").exists()
