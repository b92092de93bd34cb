"""Bypass class: a hostile hand-over on the sandbox's control socket.

The forwarder (the sandbox's first process) binds 127.0.0.1:3128/3129 inside
and sends the listening sockets to the launcher over ``/run/stockade/ctl.sock``;
the launcher then accepts the agent's connections on whatever it received.
Whoever reaches that socket first (a process that is not the forwarder, or a
forwarder that something inside subverted) must not be able to hand the
launcher a directory, a file, a socket connected elsewhere, a UNIX or UDP
socket, a listener on another address, more descriptors than the forwarder
sends (``MSG_CTRUNC``), or the wrong ports.  Each is refused, every received
descriptor is closed, and the descriptors kept are close-on-exec (no later
spawn inherits them).  Before the fix the launcher wrapped whatever came as
its listener, leaked the rest, and took a connection from any process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.sandbox.ports import Control, ControlRefused, descends_from


def open_fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")}


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def listener(port: int, host: str = "127.0.0.1") -> socket.socket:
    s = socket.socket()
    s.bind((host, port))
    s.listen(1)
    return s


def hand_over(path: str, msg: bytes, fds: list[int]) -> threading.Thread:
    """A client that sends ``msg`` and ``fds`` like the forwarder does."""

    def run() -> None:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        try:
            socket.send_fds(c, [msg], fds)
            c.recv(1)
        except OSError:
            pass
        finally:
            c.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


Maker = Callable[[Path, int], tuple[bytes, list[object]]]


def _dir(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    return f"ports {port}".encode(), [os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)]


def _file(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    (tmp / "f").write_text("x")
    return f"ports {port}".encode(), [os.open(tmp / "f", os.O_RDONLY)]


def _connected(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    srv = listener(0)
    c = socket.create_connection(srv.getsockname())
    return f"ports {port}".encode(), [c, srv]


def _unix_listener(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(str(tmp / "u.sock"))
    u.listen(1)
    return f"ports {port}".encode(), [u]


def _udp(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    return f"ports {port}".encode(), [u]


def _other_port(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    return f"ports {port}".encode(), [listener(0)]


def _any_address(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    return f"ports {port}".encode(), [listener(port, "0.0.0.0")]


def _too_many(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    return f"ports {port}".encode(), [listener(port)] + [
        os.open(tmp, os.O_RDONLY | os.O_DIRECTORY) for _ in range(20)]


def _wrong_ports(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    return f"ports {port} 22".encode(), [listener(port), listener(0)]


def _not_a_number(tmp: Path, port: int) -> tuple[bytes, list[object]]:
    return b"ports x", [listener(port)]


@pytest.mark.parametrize("make", [_dir, _file, _connected, _unix_listener, _udp, _other_port,
                                  _any_address, _too_many, _wrong_ports, _not_a_number],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_hostile_hand_over_is_refused_and_leaks_nothing(tmp_path: Path, make: Maker) -> None:
    port = free_port()
    msg, objs = make(tmp_path, port)
    fds = [o if isinstance(o, int) else o.fileno() for o in objs]  # type: ignore[attr-defined]
    control = Control(str(tmp_path / "ctl.sock"))
    before = open_fds()
    t = hand_over(str(tmp_path / "ctl.sock"), msg, fds)
    with pytest.raises(ControlRefused):
        control.take(alive=lambda: True, expected=[port], timeout=10)
    control.close()
    t.join(5)
    # every descriptor the kernel installed here was closed again
    assert open_fds() - before == set()
    assert not (tmp_path / "ctl.sock").exists()
    for o in objs:
        if isinstance(o, int):
            os.close(o)
        else:
            o.close()  # type: ignore[attr-defined]


def test_a_process_outside_the_sandbox_is_refused(tmp_path: Path) -> None:
    port = free_port()
    lst = listener(port)
    control = Control(str(tmp_path / "ctl.sock"))
    t = hand_over(str(tmp_path / "ctl.sock"), f"ports {port}".encode(), [lst.fileno()])
    # stands in for bubblewrap: the peer (this process) is not one of its own
    bwrap = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(ControlRefused, match="other than the sandbox's forwarder"):
            control.take(alive=lambda: True, expected=[port], timeout=10,
                         peer_ok=lambda pid: descends_from(pid, bwrap.pid))
    finally:
        bwrap.kill()
        bwrap.wait()
    control.close()
    t.join(5)
    lst.close()


def test_the_real_hand_over_is_taken_close_on_exec(tmp_path: Path) -> None:
    port = free_port()
    lst = listener(port)
    control = Control(str(tmp_path / "ctl.sock"))
    t = hand_over(str(tmp_path / "ctl.sock"), f"ports {port}".encode(), [lst.fileno()])
    got = control.take(alive=lambda: True, expected=[port], timeout=10,
                       peer_ok=lambda pid: descends_from(pid, os.getpid()))
    assert set(got) == {port}
    assert not os.get_inheritable(got[port].fileno())
    control.go(True)
    t.join(5)
    got[port].close()
    lst.close()


def test_descends_from_follows_the_parent_chain() -> None:
    assert descends_from(os.getpid(), os.getpid())
    assert descends_from(os.getpid(), os.getppid())
    assert not descends_from(os.getppid(), os.getpid())
    assert not descends_from(1, os.getpid())


@pytest.mark.e2e
def test_inside_the_control_socket_is_gone_and_cannot_be_made_again(
        tmp_path: Path, stockade: Callable[..., object]) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    probe = (
        "import os, socket\n"
        "print('EXISTS', os.path.exists('/run/stockade/ctl.sock'))\n"
        "u = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        "    u.bind('/run/stockade/ctl.sock'); print('REBOUND')\n"
        "except OSError as e:\n"
        "    print('NOBIND', e.errno)\n"
        "for port in (3128, 3129):\n"
        "    s = socket.socket()\n"
        "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
        "    try:\n"
        "        s.bind(('127.0.0.1', port)); s.listen(1); print('STOLE', port)\n"
        "    except OSError as e:\n"
        "        print('TAKEN', port)\n"
    )
    r = stockade("run", "--", "python3", "-I", "-c", probe, cwd=ws)
    out = r.stdout  # type: ignore[attr-defined]
    assert r.returncode == 0, r.stderr  # type: ignore[attr-defined]
    assert "EXISTS False" in out and "NOBIND" in out and "REBOUND" not in out
    assert "TAKEN 3128" in out and "STOLE" not in out
