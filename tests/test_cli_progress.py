"""Long jobs report into log files and end with a word on how to go on when interrupted."""

from __future__ import annotations

import os
import signal

import pytest
import typer

from callforge.cli.progress import log_lines, resumable


def test_a_log_file_gets_the_first_line_at_once_and_then_one_per_period(capsys: pytest.CaptureFixture[str]) -> None:
    say = log_lines("generate", disable=False, every_s=3600)
    say("0/10 accepted")
    say("1/10 accepted")  # within the period: not printed
    assert capsys.readouterr().err.splitlines() == ["generate: 0/10 accepted"]
    quiet = log_lines("generate", disable=True)
    quiet("anything")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_an_interrupted_job_says_how_to_resume_and_exits_130(stop: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(typer.Exit) as exited, resumable("generate", "run it again with --resume"):
        if stop == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (main) thread before the next bytecode
        signal.pause()  # not reached: the handler raises at once
    assert exited.value.exit_code == 130
    assert "generate interrupted; run it again with --resume" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before
