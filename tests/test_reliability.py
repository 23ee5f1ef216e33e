"""Fuzzed inputs never escape as anything but callforge's own errors (the reliability suite's parser part).

Every reader of user data either returns a value or raises a `CallforgeError` that names the
input: no RecursionError, UnicodeDecodeError, KeyError or TypeError reaches a user. Hypothesis
feeds each reader arbitrary bytes and arbitrary JSON (nested, odd types, lone surrogates). The
command-level probes (hangs, tracebacks, exit statuses) are `bench/reliability.py`, reported in
docs/reliability.md; the sandbox's are `tests/sandbox_escape/`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callforge.core import CallforgeError, redact
from callforge.evaluate.results import read_results
from callforge.llm.wire import reply_problem
from callforge.run import read_jsonl
from callforge.tools import load_tools

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _file(data: bytes, suffix: str) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)  # noqa: SIM115 - closed at once, read by path
    handle.write(data)
    handle.close()
    return Path(handle.name)


def _reads_or_refuses(read: Any, path: Path) -> None:
    try:
        read(path)
    except CallforgeError as exc:
        assert str(exc), "an error must say what is wrong"
    finally:
        path.unlink(missing_ok=True)


@SETTINGS
@given(st.binary(max_size=300), st.sampled_from([".json", ".jsonl", ".yaml"]))
def test_tool_files_of_random_bytes_load_or_fail_clearly(data: bytes, suffix: str) -> None:
    _reads_or_refuses(load_tools, _file(data, suffix))


@SETTINGS
@given(JSON)
def test_tool_files_of_random_json_load_or_fail_clearly(value: Any) -> None:
    _reads_or_refuses(load_tools, _file(json.dumps(value).encode(), ".json"))


@SETTINGS
@given(st.lists(st.binary(max_size=60) | JSON.map(lambda v: json.dumps(v).encode()), max_size=5))
def test_result_files_read_or_fail_clearly(lines: list[bytes]) -> None:
    _reads_or_refuses(lambda p: list(read_results(p)), _file(b"\n".join(lines), ".json"))


@SETTINGS
@given(st.lists(st.binary(max_size=60) | JSON.map(lambda v: json.dumps(v).encode()), max_size=5), st.booleans())
def test_run_shards_read_or_fail_clearly(lines: list[bytes], newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if newline else b"")
    _reads_or_refuses(lambda p: list(read_jsonl(p)), _file(data, ".jsonl"))


@SETTINGS
@given(JSON)
def test_any_reply_body_is_judged_without_raising(value: Any) -> None:
    problem = reply_problem(value)
    assert problem is None or isinstance(problem, str)
    if problem is None:  # a reply called well-formed really has a first choice with a message
        assert isinstance(value, dict) and isinstance(value["choices"][0]["message"], dict)


@SETTINGS
@given(st.text(max_size=60), st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=6, max_size=16))
def test_redaction_leaves_no_secret_and_is_stable(text: str, secret: str) -> None:
    known = {secret: "$K"}
    once = redact(f"{text}{secret}{text}", known)
    assert secret not in once
    assert redact(once, known) == once
