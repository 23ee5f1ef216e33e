"""Attack: reach a host service through a UNIX socket file under /run or /tmp.

A network namespace does not stop path-based UNIX sockets: they live in the filesystem, so a
world-writable socket under /run (dbus, the journal, a container runtime) is reachable unless the
sandbox has its own /run. Expected containment: the socket file is not there (ENOENT), nothing
reaches the server, in every mode with a mount namespace (`private_run`, `private_tmp`).
"""

from __future__ import annotations

import os
import select
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox_escape.helpers import MODES, call, make_sandbox, output, tool_file

CONNECT = """
import socket
def connect(path):
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(5)
        client.connect(path)
        client.sendall(b"hello from the sandbox")
        client.close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__
"""


@pytest.fixture
def host_socket(request: pytest.FixtureRequest) -> Iterator[tuple[str, socket.socket]]:
    """A listening, world-writable UNIX socket in the host directory given as the parameter."""
    directory: str = request.param
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        pytest.skip(f"cannot create a socket under {directory}")
    path = os.path.join(directory, f"callforge-test-{uuid.uuid4().hex[:12]}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o666)  # like /run/dbus/system_bus_socket: anyone may connect
    server.listen(4)
    try:
        yield path, server
    finally:
        server.close()
        if os.path.exists(path):
            os.unlink(path)


@pytest.mark.parametrize("host_socket", ["/run", "/tmp"], indirect=True)
@pytest.mark.parametrize("mode", MODES)
def test_host_unix_socket_is_unreachable(
    mode: str, host_socket: tuple[str, socket.socket], tmp_path: Path
) -> None:
    path, server = host_socket
    directory = os.path.dirname(path)
    active = make_sandbox(mode, tmp_path).protections
    if "private_tmp" not in active:
        pytest.skip(f"no mount namespace in this mode: {directory} is the host's")
    assert ("private_run" if directory == "/run" else "private_tmp") in active
    outcome = output(call(mode, tool_file(tmp_path, CONNECT), "connect", {"path": path}))
    assert outcome == "FileNotFoundError", outcome
    readable, _, _ = select.select([server], [], [], 0)
    assert readable == [], f"a connection from the sandbox reached the host's socket {path}"
