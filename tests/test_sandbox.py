"""Security tests of the sandbox: each attack ends in a clear result and leaves the host untouched."""

from __future__ import annotations

import os
import platform
import select
import signal
import socket
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError
from callforge.execute import SandboxLimits, run_in_sandbox
from callforge.execute import sandbox as sandbox_module
from callforge.execute.sandbox import (
    ALWAYS,
    BWRAP_PROVIDES,
    Sandbox,
    SandboxResult,
    bwrap_path,
    tool_request,
)
from callforge.execute.sandbox_cgroup import own_cgroups
from callforge.execute.sandbox_seccomp import ARCHES, BLOCKED, RET_ALLOW, build_filter, explain
from tests.sandbox_escape.helpers import SYSTEM_PYTHON  # shared with the escape suite
from tests.sandbox_escape.helpers import BareSandbox as NoNamespaceSandbox

HAS_BWRAP = bwrap_path() is not None
MODES = [
    "process",
    pytest.param("bwrap", marks=pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")),
]


def tool_file(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "tools_under_test.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def run(
    mode: str, path: Path, function: str, arguments: dict[str, Any] | None = None, **limits: Any
) -> SandboxResult:
    return run_in_sandbox(path, function, arguments or {}, limits=SandboxLimits(**limits), isolation=mode)  # type: ignore[arg-type]


def output(result: SandboxResult) -> Any:
    assert result.reply is not None, result.stderr_tail
    assert result.reply["ok"], result.reply
    return result.reply["output"]


def sandbox_processes(sandbox_id: str) -> list[int]:
    """Host processes that still carry this sandbox's id in their environment."""
    marker = f"CALLFORGE_SANDBOX={sandbox_id}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if marker in fh.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


def protections(mode: str) -> tuple[str, ...]:
    return Sandbox(isolation=mode).protections  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_protections_are_reported(mode: str) -> None:
    active = protections(mode)
    assert set(ALWAYS) | {"rlimits", "process_limit"} <= set(active)
    if mode == "bwrap":
        assert set(BWRAP_PROVIDES) <= set(active)
    if os.geteuid() == 0:
        assert {"unprivileged_uid", "total_processes"} <= set(active)
    if "private_tmp" in active:  # a mount namespace: /run is covered as well
        assert "private_run" in active
    if platform.machine() in ARCHES and "Seccomp:" in Path("/proc/self/status").read_text(encoding="ascii"):
        assert "seccomp" in active
    assert Sandbox(isolation=mode).isolation == mode  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_keyword_arguments_and_clean_result(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        def final_velocity(initial_velocity, acceleration, time):
            return initial_velocity + acceleration * time
        """,
    )
    # Dict order differs from the parameter order: a positional call would give 10.
    result = run(mode, path, "final_velocity", {"time": 10, "acceleration": 9.8, "initial_velocity": 0})
    assert output(result) == pytest.approx(98.0)
    assert result.returncode == 0 and not result.timed_out and result.limit is None


@pytest.mark.parametrize("mode", MODES)
def test_fork_bomb_is_contained(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        import os, time
        def bomb():
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
        """,
    )
    result = run(mode, path, "bomb", processes=8, cpu_s=2, wall_s=2)
    assert result.timed_out or result.limit in ("cpu", "processes"), result
    assert sandbox_processes(result.sandbox_id) == []


@pytest.mark.parametrize("mode", MODES)
def test_fork_failure_names_the_process_limit(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        import os
        def bomb():
            while True:
                os.fork()
        """,
    )
    result = run(mode, path, "bomb", processes=6, wall_s=5)
    assert result.reply is not None and not result.reply["ok"], result
    assert result.reply["error"]["type"] == "BlockingIOError"
    assert result.limit == "processes"
    assert sandbox_processes(result.sandbox_id) == []


@pytest.mark.parametrize("mode", MODES)
def test_memory_bomb_ends_with_memory_error(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        def hog():
            chunks = []
            while True:
                chunks.append(bytearray(16 * 1024 * 1024))
        """,
    )
    result = run(mode, path, "hog", memory_mb=192)
    assert result.limit == "memory", result
    assert result.reply is not None and result.reply["error"]["type"] == "MemoryError"
    # The host is fine and the next sandbox works.
    assert output(run(mode, tool_file(tmp_path, "def ok():\n    return 1\n"), "ok")) == 1


@pytest.mark.parametrize("mode", MODES)
def test_cpu_loop_is_stopped_by_the_cpu_limit(mode: str, tmp_path: Path) -> None:
    path = tool_file(tmp_path, "def spin():\n    while True:\n        pass\n")
    result = run(mode, path, "spin", cpu_s=1, wall_s=8)
    assert result.reply is None
    assert result.limit == "cpu" and result.signal in (signal.SIGXCPU, signal.SIGKILL), result
    assert sandbox_processes(result.sandbox_id) == []


@pytest.mark.parametrize("mode", MODES)
def test_timeout_kills_the_whole_process_group(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        import subprocess, time
        def hang():
            subprocess.Popen(["sleep", "60"])
            subprocess.Popen(["sleep", "60"], start_new_session=True)  # tries to escape the group
            time.sleep(60)
        """,
    )
    result = run(mode, path, "hang", wall_s=1)
    assert result.timed_out and result.reply is None
    assert sandbox_processes(result.sandbox_id) == []


@pytest.mark.parametrize("mode", MODES)
def test_writes_outside_the_workdir_fail(mode: str, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    open_dir = tmp_path / "world-writable"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    targets = [str(open_dir / tag), f"/etc/callforge-{tag}", f"/usr/callforge-{tag}"]
    if "readonly_root" in protections(mode):
        targets += [f"/var/tmp/callforge-{tag}", f"/tmp/callforge-{tag}"]
    path = tool_file(
        tmp_path,
        """
        import os
        def write(paths):
            outcome = {}
            for p in paths + ["inside.txt"]:
                try:
                    with open(p, "w") as fh:
                        fh.write("owned")
                    outcome[p] = "written"
                except OSError as exc:
                    outcome[p] = type(exc).__name__
            return outcome
        """,
    )
    try:
        outcome = output(run(mode, path, "write", {"paths": targets}))
        assert outcome["inside.txt"] == "written"
        for target in targets:
            assert outcome[target] != "written", target
            assert not os.path.exists(target), target
    finally:
        for target in targets:
            if os.path.exists(target):
                os.unlink(target)


@pytest.mark.parametrize("mode", MODES)
def test_network_cannot_reach_a_host_server(mode: str, tmp_path: Path) -> None:
    if "network_namespace" not in protections(mode):
        pytest.skip("this machine gives the process mode no network namespace")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    path = tool_file(
        tmp_path,
        """
        import socket
        def connect(port):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                return "connected"
            except OSError as exc:
                return type(exc).__name__
        """,
    )
    try:
        assert output(run(mode, path, "connect", {"port": port})) != "connected"
        readable, _, _ = select.select([server], [], [], 0)
        assert readable == [], "a connection from the sandbox reached the host's server"
    finally:
        server.close()


@pytest.mark.parametrize("mode", MODES)
def test_parent_secrets_are_invisible(mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("CALLFORGE_TEST_SECRET", secret)
    path = tool_file(
        tmp_path,
        """
        import os
        def snoop():
            hits = []
            for entry in os.listdir("/proc"):
                try:
                    with open(f"/proc/{entry}/environ", "rb") as fh:
                        if b"CALLFORGE_TEST_SECRET" in fh.read():
                            hits.append(entry)
                except OSError:
                    pass
            return {"environ": dict(os.environ), "proc_hits": hits}
        """,
    )
    seen = output(run(mode, path, "snoop"))
    assert "CALLFORGE_TEST_SECRET" not in seen["environ"]
    assert secret not in repr(seen)
    assert not set(seen["environ"]) & {"OPENAI_API_KEY", "PYTHONPATH", "VIRTUAL_ENV"}
    if os.geteuid() == 0 or "private_proc" in protections(mode):
        assert seen["proc_hits"] == []


@pytest.mark.parametrize("mode", MODES)
def test_prints_do_not_corrupt_the_reply(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        import os, sys
        def chatty():
            print("x" * 100_000)
            print("{not json")
            os.write(1, b"raw bytes on fd 1\\n")
            sys.stdout.flush()
            return {"answer": 42}
        """,
    )
    result = run(mode, path, "chatty")
    assert output(result) == {"answer": 42}
    assert "raw bytes on fd 1" in result.stderr_tail
    assert len(result.stderr_tail) <= 8192


@pytest.mark.parametrize("mode", MODES)
def test_oversized_output_ends_the_run(mode: str, tmp_path: Path) -> None:
    path = tool_file(tmp_path, "def big():\n    return 'x' * 2_000_000\n")
    result = run(mode, path, "big", output_kb=64)
    assert result.output_exceeded and result.limit == "output" and result.reply is None


@pytest.mark.parametrize("mode", MODES)
def test_file_size_limit(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        def dump():
            with open("big.bin", "wb") as fh:
                fh.write(b"x" * 3 * 1024 * 1024)
        """,
    )
    result = run(mode, path, "dump", file_mb=1)
    assert result.limit == "file_size", result
    assert result.reply is not None and result.reply["error"]["type"] == "OSError"


@pytest.mark.parametrize("mode", MODES)
def test_workdir_quota_and_open_files(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        def fill():
            for i in range(10):
                with open(f"f{i}", "wb") as fh:
                    fh.write(b"x" * 3 * 1024 * 1024)

        def hoard():
            return [open("/dev/null") for _ in range(100)]
        """,
    )
    if "workdir_quota" in protections(mode):
        assert run(mode, path, "fill", workdir_mb=8, file_mb=4).limit == "workdir"
    assert run(mode, path, "hoard", open_files=32).limit == "open_files"


@pytest.mark.parametrize("mode", MODES)
def test_workdir_is_empty_private_and_removed(mode: str, tmp_path: Path) -> None:
    path = tool_file(
        tmp_path,
        """
        import os
        def scratch():
            before = os.listdir(".")
            os.makedirs("deep/er", exist_ok=True)
            with open("deep/er/file.txt", "w") as fh:
                fh.write("data")
            return {"cwd": os.getcwd(), "before": before, "home": os.environ["HOME"]}
        """,
    )
    result = run(mode, path, "scratch")
    seen = output(result)
    assert seen["before"] == []
    assert seen["cwd"] == seen["home"] == result.workdir
    assert not os.path.exists(result.workdir)


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_protection_fails_closed(mode: str, tmp_path: Path) -> None:
    path = tool_file(tmp_path, "def ok():\n    return 1\n")
    sandbox = Sandbox(isolation=mode)  # type: ignore[arg-type]
    request = tool_request(path, "call", function="ok")
    result = sandbox._launch(mode, request, require=("made_up_protection",), protections=())
    assert result.reply is not None and "made_up_protection" in result.reply["setup_error"]
    assert result.returncode == 70


def test_bwrap_mode_without_bubblewrap_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_module, "bwrap_path", lambda: None)
    with pytest.raises(ConfigError, match="apt-get install -y bubblewrap"):
        Sandbox(isolation="bwrap")


def test_auto_prefers_bubblewrap_when_it_works() -> None:
    expected = "bwrap" if HAS_BWRAP else "process"
    assert Sandbox(isolation="auto").isolation == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cpu_s", 0),
        ("wall_s", -1),
        ("memory_mb", 8),
        ("processes", 0),
        ("open_files", 3),
        ("total_memory_mb", 32),
        ("total_memory_mb", 0),
    ],
)
def test_limits_are_validated(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"SandboxLimits.{field}"):
        SandboxLimits(**{field: value})  # type: ignore[arg-type]


def test_unknown_isolation_is_rejected() -> None:
    with pytest.raises(ConfigError, match="isolation='docker'"):
        Sandbox(isolation="docker")  # type: ignore[arg-type]


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop and sweep only happen for a root parent")
@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="needs a Python 3.11+ outside private directories")
def test_without_namespaces_root_still_drops_uid_and_sweeps_escapees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLFORGE_TEST_SECRET", "sk-should-not-leak")
    tag = uuid.uuid4().hex
    path = tool_file(
        tmp_path,
        """
        import os, time
        def probe(target):
            try:
                open(target, "w").write("owned")
                wrote = True
            except OSError:
                wrote = False
            return {"uid": os.getuid(), "wrote": wrote, "secret": "CALLFORGE_TEST_SECRET" in os.environ}

        def bomb():
            while True:
                try:
                    if os.fork() == 0:
                        os.setsid()  # leave the process group, so only the uid sweep can find it
                except OSError:
                    time.sleep(0.01)
        """,
    )
    assert SYSTEM_PYTHON is not None
    sandbox = NoNamespaceSandbox(
        SandboxLimits(processes=8, cpu_s=2, wall_s=2), isolation="process", python=SYSTEM_PYTHON
    )
    active = set(sandbox.protections)
    assert {"unprivileged_uid", "process_limit", "rlimits", "clean_env"} <= active
    assert not active & {"network_namespace", "pid_namespace", "readonly_root"}
    seen = output(
        sandbox.run(tool_request(path, "call", function="probe", arguments={"target": f"/etc/cf-{tag}"}))
    )
    assert seen == {"uid": seen["uid"], "wrote": False, "secret": False} and seen["uid"] != 0
    assert not os.path.exists(f"/etc/cf-{tag}")
    result = sandbox.run(tool_request(path, "call", function="bomb"))
    assert result.timed_out or result.limit in ("cpu", "processes")
    assert sandbox_processes(result.sandbox_id) == []


def test_total_memory_defaults_to_twice_the_per_process_limit() -> None:
    assert SandboxLimits(memory_mb=300).total_memory_bytes == 600 * 1024 * 1024
    assert SandboxLimits(memory_mb=300, total_memory_mb=256).total_memory_bytes == 256 * 1024 * 1024


class NoCgroupSandbox(Sandbox):
    """A machine without a writable cgroup: the per-process fallback."""

    use_cgroup = False


def test_without_a_cgroup_the_fallback_is_per_process(tmp_path: Path) -> None:
    sandbox = NoCgroupSandbox(isolation="process")
    assert "total_memory" not in sandbox.protections
    if os.geteuid() == 0:  # a uid of the run's own still makes RLIMIT_NPROC a total
        assert "total_processes" in sandbox.protections
    path = tool_file(tmp_path, "def ok():\n    return 1\n")
    assert output(sandbox.run(tool_request(path, "call", function="ok"))) == 1


@pytest.mark.parametrize("machine", sorted(ARCHES))
def test_seccomp_filter_shape(machine: str) -> None:
    program = build_filter(machine)
    assert program is not None and len(program) % 8 == 0
    lines = explain(program)
    audit_arch, numbers = ARCHES[machine]
    assert lines[0].split()[1:3] == ["ld", "0x4"]  # the architecture first
    assert f"{audit_arch:#x}" in lines[1]
    for name in BLOCKED:
        assert any(f"jeq {numbers[name]:#x} " in line for line in lines), name
    assert lines[-3].split()[1:3] == ["ret", f"{RET_ALLOW:#x}"]
    assert lines[-2].split()[1:3] == ["ret", "0x50001"]  # SECCOMP_RET_ERRNO | EPERM
    assert lines[-1].split()[1:3] == ["ret", "0x50026"]  # SECCOMP_RET_ERRNO | ENOSYS (clone3)
    assert build_filter("sparc64") is None


def test_own_cgroups_reads_v1_v2_and_namespaced_mounts() -> None:
    cgroup = "12:pids:/job/a\n4:memory:/job/a\n1:name=systemd:/\n0::/user.slice/app\n"
    mountinfo = "\n".join(
        [
            "30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw",
            "31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory",
            "32 25 0:28 /job /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids",
            "33 25 0:29 / /proc rw - proc proc rw",
        ]
    )
    assert own_cgroups(cgroup, mountinfo) == {
        "": "/sys/fs/cgroup/unified/user.slice/app",
        "memory": "/sys/fs/cgroup/memory/job/a",
        "pids": "/sys/fs/cgroup/pids/a",
    }
    assert own_cgroups("0::/\n", "40 1 0:30 / /sys/fs/cgroup ro - cgroup2 cgroup2 rw") == {
        "": "/sys/fs/cgroup"
    }


@pytest.mark.parametrize(
    "mode",
    [
        *MODES,
        pytest.param(
            "bwrap-no-timeout",
            marks=pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed"),
        ),
    ],
)
def test_the_childs_own_watchdog_ends_a_run(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == "bwrap-no-timeout":  # without coreutils `timeout` the child forks a supervisor
        mode = "bwrap"
        monkeypatch.setattr(sandbox_module, "_TIMEOUT", [None])
    # The child's deadline is normally a second after the parent's; move it 27 s before, so the
    # child's watchdog fires while the parent still waits, as when the parent is stalled.
    monkeypatch.setattr(sandbox_module, "WATCHDOG_GRACE_S", -27.0)
    path = tool_file(
        tmp_path,
        """
        import subprocess, time
        def hang():
            subprocess.Popen(["sleep", "60"], start_new_session=True)
            time.sleep(60)
        """,
    )
    sandbox = Sandbox(SandboxLimits(wall_s=30), isolation=mode, expose=(tmp_path,))  # type: ignore[arg-type]
    result = sandbox.run(tool_request(path, "call", function="hang"))
    assert result.timed_out and result.reply is None and result.limit is None, result
    assert result.wall_s < 30  # the parent's own limit did not end it
    assert sandbox_processes(result.sandbox_id) == []
