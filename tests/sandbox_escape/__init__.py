"""The sandbox escape suite: each attack a tool may try, run in every mode, with its containment.

| attack (module) | expected containment |
|---|---|
| connect to a world-writable UNIX socket under /run or /tmp (test_host_sockets) | ENOENT: a private /run and /tmp (skipped where there is no mount namespace) |
| 8 children x 100 MB under a 256 MB total (test_total_memory) | at most two hold their block: the run's cgroup (skipped without a writable cgroup) |
| fork 40 processes with `processes=10` (test_total_memory) | at most 10 run at once, whatever runs elsewhere under the same user |
| unshare(CLONE_NEWUSER), clone/clone3 into a user namespace, setns, mount, ptrace (test_nested_namespaces) | EPERM (clone3: ENOSYS) from the seccomp filter; threads and subprocesses still work |
| outlive a `kill -9` of callforge (test_die_with_parent) | every process of the run dies; the next callforge start removes the work directory |
| outlive a stuck (stopped) callforge (test_die_with_parent) | the child's supervisor enforces the wall-clock limit itself |
| leave work directories behind (test_stale_workdirs) | a sweep removes dead runs' directories, never a live (locked) one |

Modes: `process`, `bwrap` (when bubblewrap is installed) and `bare` (`process` without namespaces,
as root with a system Python); see helpers.MODES.
"""
