"""A minimal seccomp filter for the sandbox: no new namespaces, no mounts, no ptrace.

The sandbox's namespaces and uid drop keep a tool away from the host, but a nested
`unshare(CLONE_NEWUSER)` hands it every capability inside a user namespace of its own, and with
them mounts and the kernel code behind them that an unprivileged process never reaches otherwise.
This module builds a classic-BPF seccomp program (no libseccomp, no dependency) that the child
installs with `prctl(PR_SET_SECCOMP)` right before the tool runs. It answers:

* EPERM to unshare, setns, mount and the new mount API, umount2, pivot_root, chroot, ptrace,
  process_vm_readv/writev, bpf, userfaultfd, perf_event_open and the keyring calls;
* EPERM to clone when its flags ask for a namespace (fork, vfork and threads still work);
* ENOSYS to clone3, whose flags sit behind a pointer a filter cannot read; libc then falls back to
  clone, which the filter can check (glibc >= 2.34 and musl do this);
* EPERM to every call made through another ABI (i386 `int 0x80` or x32 on x86_64), whose numbers
  differ and would slip past the table.

Everything else is allowed: this is a deny-list for the kernel's namespace and mount surface, not
a full syscall allow-list. Only x86_64 and aarch64 are known; elsewhere `build_filter` returns
None and the sandbox reports no `seccomp` protection.
"""

from __future__ import annotations

import errno
import platform
import struct

# Classic BPF opcodes (<linux/bpf_common.h>) and seccomp return values (<linux/seccomp.h>).
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS: A = 32-bit word at offset k of struct seccomp_data
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

# Offsets in struct seccomp_data {int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];}.
_NR = 0
_ARCH = 4
_ARG0_LOW = 16  # the low 32 bits of args[0] on a little-endian machine

_X32_SYSCALL_BIT = 0x40000000

CLONE_NAMESPACE_FLAGS = 0x7E020000
"""CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (<linux/sched.h>)."""

BLOCKED: tuple[str, ...] = (
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "userfaultfd",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
)
"""System calls answered with EPERM, whatever their arguments."""

# Per architecture: the AUDIT_ARCH value and the numbers of the calls above plus clone and clone3
# (<asm/unistd_64.h> on x86_64, <asm-generic/unistd.h> on aarch64; the mount API and clone3 share
# their numbers across architectures).
_NEW_MOUNT_API = {
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "clone3": 435,
}
ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (
        0xC000003E,
        {
            "unshare": 272,
            "setns": 308,
            "mount": 165,
            "umount2": 166,
            "pivot_root": 155,
            "chroot": 161,
            "ptrace": 101,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "bpf": 321,
            "userfaultfd": 323,
            "perf_event_open": 298,
            "keyctl": 250,
            "add_key": 248,
            "request_key": 249,
            "clone": 56,
            **_NEW_MOUNT_API,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "unshare": 97,
            "setns": 268,
            "mount": 40,
            "umount2": 39,
            "pivot_root": 41,
            "chroot": 51,
            "ptrace": 117,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "bpf": 280,
            "userfaultfd": 282,
            "perf_event_open": 241,
            "keyctl": 219,
            "add_key": 217,
            "request_key": 218,
            "clone": 220,
            **_NEW_MOUNT_API,
        },
    ),
}


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> tuple[int, int, int, int]:
    return (code, jt, jf, k)


def build_filter(machine: str | None = None) -> bytes | None:
    """The seccomp program for `machine` (this one by default) as packed `struct sock_filter`s.

    None when the architecture is not in ARCHES: the sandbox then runs without the filter and
    does not report the `seccomp` protection, rather than guess syscall numbers.
    """
    arch = ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, numbers = arch
    deny = RET_ERRNO | errno.EPERM
    blocked = [numbers[name] for name in BLOCKED]
    # Layout (jump offsets count the instructions skipped after the jump):
    #   0  A = arch;  1  if A != native: goto DENY
    #   2  A = nr;    3  if A >= X32 bit: goto DENY  (x86_64 only; aarch64 gets an always-false test)
    #   4.. if A == blocked[i]: goto DENY
    #   then: if A == clone3: goto NOSYS; if A != clone: goto ALLOW
    #   A = args[0] (low word); if A & namespace flags: goto DENY; ALLOW: ret allow
    #   DENY: ret EPERM;  NOSYS: ret ENOSYS
    body: list[tuple[int, int, int, int]] = []
    n_blocked = len(blocked)
    tail = 5  # clone3 test, clone test, load arg0, jset, ret allow
    # Distance from the instruction after index i to DENY, for an instruction at index i.
    total = 4 + n_blocked + tail  # DENY's index
    body.append(_insn(_LD_W_ABS, _ARCH))
    body.append(_insn(_JEQ, audit_arch, jt=0, jf=total - 2))
    body.append(_insn(_LD_W_ABS, _NR))
    x32 = _X32_SYSCALL_BIT if audit_arch == ARCHES["x86_64"][0] else 0xFFFFFFFF
    body.append(_insn(_JGE, x32, jt=total - 4, jf=0))
    for i, number in enumerate(blocked):
        here = 4 + i
        body.append(_insn(_JEQ, number, jt=total - here - 1, jf=0))
    here = 4 + n_blocked
    body.append(_insn(_JEQ, numbers["clone3"], jt=total - here, jf=0))  # -> NOSYS (DENY + 1)
    body.append(_insn(_JEQ, numbers["clone"], jt=0, jf=2))  # not clone -> ALLOW
    body.append(_insn(_LD_W_ABS, _ARG0_LOW))
    body.append(_insn(_JSET, CLONE_NAMESPACE_FLAGS, jt=1, jf=0))  # -> DENY
    body.append(_insn(_RET, RET_ALLOW))
    body.append(_insn(_RET, deny))
    body.append(_insn(_RET, RET_ERRNO | errno.ENOSYS))
    assert len(body) == total + 2
    return b"".join(struct.pack("=HBBI", code, jt, jf, k) for code, jt, jf, k in body)


def explain(program: bytes) -> list[str]:
    """The program as readable lines (for tests and for anyone checking what the child installs)."""
    names = {_LD_W_ABS: "ld", _JEQ: "jeq", _JGE: "jge", _JSET: "jset", _RET: "ret"}
    lines = []
    for index in range(len(program) // 8):
        code, jt, jf, k = struct.unpack_from("=HBBI", program, index * 8)
        lines.append(f"{index:3d} {names.get(code, hex(code))} {k:#x} jt={jt} jf={jf}")
    return lines
