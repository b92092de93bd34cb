"""The forwarder hands its listening sockets to the launcher over the control
socket, the launcher accepts the agent's connections on them, and the agent
starts only on the launcher's go."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.sandbox.ports import Acceptor, Control, ControlError, LazyProxy

FORWARDER = Path(__file__).resolve().parents[2] / "src" / "stockade" / "sandbox" / "forwarder.py"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def start(tmp_path: Path, *cmd: str) -> tuple[Control, subprocess.Popen[str], int]:
    control = Control(str(tmp_path / "ctl.sock"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-I", "-S", str(FORWARDER), "--listen", str(port),
                             "--ctl", str(tmp_path / "ctl.sock"), "--", *cmd],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return control, proc, port


def test_the_agent_waits_for_the_go_and_its_port_is_served_here(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    control, proc, port = start(tmp_path, "sh", "-c", f"echo yes > {marker}; yes | head -1")
    listeners = control.take(alive=lambda: proc.poll() is None, expected=[port])
    assert set(listeners) == {port}
    assert not (tmp_path / "ctl.sock").exists()  # nothing later can talk to it
    assert not marker.exists()
    got: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        got.append(conn.recv(100))
        conn.sendall(b"pong")
        conn.close()

    acc = Acceptor(listeners[port], handle)
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"ping")
        assert c.recv(100) == b"pong"
        c.close()
        assert got == [b"ping"]
        control.go(True)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert marker.read_text() == "yes\n"
        # SIGPIPE is back to its default in the agent: `yes` ends quietly
        assert out == "y\n" and "Broken pipe" not in err
    finally:
        acc.close()


def test_no_go_means_the_agent_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    control, proc, port = start(tmp_path, "sh", "-c", f"touch {marker}")
    control.take(alive=lambda: proc.poll() is None, expected=[port])
    control.go(False)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 125
    assert "not starting" in err
    assert not marker.exists()


def test_a_forwarder_that_never_comes_is_an_error(tmp_path: Path) -> None:
    control = Control(str(tmp_path / "ctl.sock"))
    with pytest.raises(ControlError):
        control.take(alive=lambda: False, expected=[3128])
    assert not (tmp_path / "ctl.sock").exists()


def test_the_proxy_is_built_on_the_first_connection_only(tmp_path: Path) -> None:
    made: list[object] = []

    class Fake:
        refuse_all: str | None = None

        def take(self, conn: socket.socket) -> None:
            conn.close()

        def busy(self) -> int:
            return 0

        def close(self) -> None:
            pass

    def make() -> Fake:
        made.append(1)
        return Fake()

    lazy = LazyProxy(make)
    lazy.refuse_all = "stockade: the ledger failed"
    assert made == [] and lazy.busy() == 0
    a, b = socket.socketpair()
    lazy(a)
    c, d = socket.socketpair()
    lazy(c)
    assert len(made) == 1
    assert lazy._proxy.refuse_all == "stockade: the ledger failed"
    for s in (b, d):
        s.close()
