"""Tool specs from Python files are built in the sandbox: the same specs as in-process, never importing here."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from callforge.core import ConfigError
from callforge.execute import PythonEngine
from callforge.tools import tools_from_functions

REPO = Path(__file__).resolve().parents[1]
TRAVEL = REPO / "examples" / "tools" / "travel.py"


def in_process_specs(path: Path) -> list[object]:
    spec = importlib.util.spec_from_file_location("travel_in_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    public = [f for n, f in vars(module).items() if inspect.isfunction(f) and not n.startswith("_") and f.__module__ == module.__name__]
    return [t.model_dump(exclude={"source"}) for t in tools_from_functions(public)]


def test_sandboxed_describe_matches_the_in_process_specs() -> None:
    described = PythonEngine(TRAVEL).describe()
    assert {t.source for t in described} == {str(TRAVEL)}
    ours = sorted((t.model_dump(exclude={"source"}) for t in described), key=lambda t: str(t["name"]))
    theirs = sorted(in_process_specs(TRAVEL), key=lambda t: str(t["name"]))  # type: ignore[index]
    assert ours == theirs and len(ours) == 8


def test_a_function_without_type_hints_is_named_with_the_fix(tmp_path: Path) -> None:
    module = tmp_path / "loose.py"
    module.write_text("def good(city: str) -> str:\n    '''Weather.'''\n    return city\n\n\ndef loose(city):\n    return city\n")
    with pytest.raises(ConfigError, match=r"function 'loose' of .*loose\.py.*type hint"):
        PythonEngine(module).describe()


def test_describing_does_not_run_the_module_here(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    module = tmp_path / "side.py"
    module.write_text(
        f"try:\n    open({str(marker)!r}, 'w').write('x')\nexcept OSError:\n    pass\n\n"
        "def f(x: int) -> int:\n    \"\"\"Id.\"\"\"\n    return x\n"
    )
    engine = PythonEngine(module)
    if not {"readonly_root", "unprivileged_uid"} & set(engine.protections):
        pytest.skip("this machine's sandbox cannot stop writes (non-root, no user namespaces)")
    specs = engine.describe()
    assert [s.name for s in specs] == ["f"]
    assert not marker.exists()  # the import ran in the sandbox, whose writes outside its folder fail


def test_cli_tools_show_reads_python_files() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "callforge", "tools", "show", str(TRAVEL), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    names = {t["function"]["name"] for t in orjson.loads(run.stdout)}
    assert {"geocode", "weather_forecast", "book_flight"} <= names
