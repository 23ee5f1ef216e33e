"""Attack: make new namespaces inside the sandbox, mount, or trace a process.

A nested `unshare(CLONE_NEWUSER)` gives the tool every capability inside a user namespace of its
own: mounts, more namespaces, and the kernel code behind them that an unprivileged process never
reaches otherwise. Expected containment: the seccomp filter (`seccomp`) answers EPERM to unshare,
setns, mount, umount2, pivot_root, ptrace and clone with a namespace flag, ENOSYS to clone3 (so
libc falls back to clone, whose flags it can check), while threads and subprocesses still work.
"""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from tests.sandbox_escape.helpers import MODES, call, make_sandbox, output, tool_file

KERNEL_SECCOMP = "Seccomp:" in Path("/proc/self/status").read_text(encoding="ascii")
SYSCALLS = {"x86_64": {"clone": 56, "clone3": 435}, "aarch64": {"clone": 220, "clone3": 435}}

ATTACKS = """
import ctypes, errno, os, signal, time

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000

def outcome(result):
    return "ok" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")

def attack(clone_nr, clone3_nr):
    seen = {}
    # ptrace a child of our own (same uid: allowed without a filter).
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    seen["ptrace_attach"] = outcome(libc.ptrace(16, child, None, None))  # PTRACE_ATTACH
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
    # clone with a namespace flag, through the raw system call.
    pid = libc.syscall(clone_nr, CLONE_NEWUSER | signal.SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    seen["clone_newuser"] = outcome(pid)
    if pid > 0:
        os.waitpid(pid, 0)
    # clone3 cannot be inspected by a filter (its flags sit behind a pointer).
    args = (ctypes.c_uint64 * 11)()
    args[0] = CLONE_NEWUSER
    args[4] = signal.SIGCHLD  # exit_signal
    pid = libc.syscall(clone3_nr, ctypes.byref(args), ctypes.sizeof(args))
    if pid == 0:
        os._exit(0)
    seen["clone3_newuser"] = outcome(pid)
    if pid > 0:
        os.waitpid(pid, 0)
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    seen["setns"] = outcome(libc.setns(fd, 0))
    os.close(fd)
    # Last: the unshare itself; when it works, mount a tmpfs in the new namespaces.
    seen["unshare_user"] = outcome(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS))
    seen["mount"] = outcome(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
    return seen

def ordinary():
    import subprocess, threading
    box = []
    thread = threading.Thread(target=lambda: box.append(sum(range(10))))
    thread.start()
    thread.join()
    done = subprocess.run(["echo", "child"], capture_output=True, text=True, check=True)
    return {"thread": box, "subprocess": done.stdout.strip()}
"""


@pytest.mark.skipif(platform.machine() not in SYSCALLS, reason="the filter knows x86_64 and aarch64 only")
@pytest.mark.parametrize("mode", MODES)
def test_namespace_mount_and_ptrace_calls_are_refused(mode: str, tmp_path: Path) -> None:
    if not KERNEL_SECCOMP:
        pytest.skip("this kernel has no seccomp filters")
    assert "seccomp" in make_sandbox(mode, tmp_path).protections
    numbers = SYSCALLS[platform.machine()]
    seen = output(
        call(
            mode,
            tool_file(tmp_path, ATTACKS),
            "attack",
            {"clone_nr": numbers["clone"], "clone3_nr": numbers["clone3"]},
        )
    )
    assert seen == {
        "ptrace_attach": "EPERM",
        "clone_newuser": "EPERM",
        "clone3_newuser": "ENOSYS",
        "setns": "EPERM",
        "unshare_user": "EPERM",
        "mount": "EPERM",
    }


@pytest.mark.parametrize("mode", MODES)
def test_threads_and_subprocesses_still_work(mode: str, tmp_path: Path) -> None:
    assert output(call(mode, tool_file(tmp_path, ATTACKS), "ordinary")) == {
        "thread": [45],
        "subprocess": "child",
    }
