"""The proxy ports are opened in the sandbox's network namespace from outside,
and the agent starts only on the launcher's go (sandbox/netns.py).

Real bubblewrap throughout: the sandbox's first process is the trampoline,
waiting on a pipe only the test (as the launcher) can write.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.sandbox.layout import namespace_args
from stockade.sandbox.netns import NetnsError, first_status_line, listen_inside
from stockade.sandbox.spawn import EXIT_NO_GO, GO_TRAMPOLINE, Proc, shell_fds

BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason="bubblewrap is not installed")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


class Sandbox:
    """bubblewrap running ``cmd`` behind the go trampoline, started as the
    launcher starts it (spawn.Proc, the pipes moved to numbers a shell can
    name); ``tmp`` is the one writable folder."""

    def __init__(self, tmp: Path, *cmd: str) -> None:
        assert BWRAP is not None
        self.go_r, self.go_w = os.pipe()
        self.ack_r, ack_w = os.pipe()
        self.status_r, status_w = os.pipe()
        go_at, ack_at = shell_fds((status_w,))
        trampoline = GO_TRAMPOLINE.format(go=go_at, ack=ack_at)
        argv = [BWRAP, *namespace_args(), "--ro-bind", "/", "/", "--bind", str(tmp), str(tmp),
                "--proc", "/proc", "--dev", "/dev", "--json-status-fd", str(status_w), "--",
                "/bin/sh", "-c", trampoline, "stockade-go", *cmd]
        self.proc = Proc(argv, env=dict(os.environ), pass_fds=(status_w,),
                         dup_to={self.go_r: go_at, ack_w: ack_at})
        for fd in (self.go_r, ack_w, status_w):
            os.close(fd)

    def pid(self) -> int:
        first, _ = first_status_line(self.status_r)
        return int(first["child-pid"])  # type: ignore[call-overload]

    def go(self, what: bytes | None) -> int:
        if what is not None:
            os.write(self.go_w, what)
        os.close(self.go_w)
        rc = self.proc.wait()
        os.close(self.status_r)
        return rc

    def acked(self) -> bytes:
        with os.fdopen(self.ack_r, "rb") as f:
            return f.read()


@needs_bwrap
def test_the_port_is_served_here_and_exists_only_inside(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "out"
    client = (f"import socket; c = socket.create_connection(('127.0.0.1', {port}), timeout=5); "
              f"c.sendall(b'ping'); open({str(out)!r}, 'wb').write(c.recv(10))")
    box = Sandbox(tmp_path, sys.executable, "-I", "-S", "-c", client)
    listeners = listen_inside(box.pid(), [port])
    assert set(listeners) == {port}
    ls = listeners[port]
    assert ls.getsockname() == ("127.0.0.1", port)
    assert not os.get_inheritable(ls.fileno())  # no later spawn inherits it
    # the host's loopback has no such listener: the socket lives in the sandbox
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    os.write(box.go_w, b"1\n")
    ls.settimeout(20)
    fd, _ = ls._accept()  # a plain _socket, as the launcher's Acceptor takes it
    conn = socket.socket(fileno=fd)
    assert conn.recv(10) == b"ping"
    conn.sendall(b"pong")
    conn.close()
    assert box.go(None) == 0
    assert out.read_bytes() == b"pong"
    assert box.acked() == b"\n"  # the trampoline said the agent started


@needs_bwrap
@pytest.mark.parametrize("answer", [None, b"0\n", b"yes\n", b""], ids=["eof", "zero", "other", "empty"])
def test_no_go_means_the_agent_never_runs(tmp_path: Path, answer: bytes | None,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    # EOF is what the sandbox sees when the launcher dies (SIGKILL) before it
    # recorded session.start: the agent must not start unrecorded
    marker = tmp_path / "ran"
    box = Sandbox(tmp_path, "sh", "-c", f"touch {marker}")
    box.pid()
    assert box.go(answer) == EXIT_NO_GO
    assert "could not be recorded; not starting" in capfd.readouterr().err
    assert not marker.exists()
    assert box.acked() == b""  # no "started" line either


@needs_bwrap
def test_the_agent_keeps_neither_pipe(tmp_path: Path) -> None:
    out = tmp_path / "fds"
    box = Sandbox(tmp_path, "sh", "-c", f"ls -l /proc/self/fd > {out}")
    box.pid()
    assert box.go(b"1\n") == 0
    assert box.acked() == b"\n"
    assert "pipe:" not in out.read_text()  # neither the go nor the ack pipe


@needs_bwrap
def test_a_missing_command_is_named(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    box = Sandbox(tmp_path, "no-such-command-here")
    box.pid()
    assert box.go(b"1\n") == 127
    assert "stockade: cannot run no-such-command-here" in capfd.readouterr().err
    box.acked()


def test_our_own_network_namespace_is_refused() -> None:
    # a sandbox without --unshare-net would put the "proxy" ports on the host
    with pytest.raises(NetnsError, match="no network namespace of its own"):
        listen_inside(os.getpid(), [free_port()])


def test_a_vanished_process_is_an_error() -> None:
    proc = subprocess.Popen(["true"])
    proc.wait()
    with pytest.raises(NetnsError):
        listen_inside(proc.pid, [free_port()])


_MOVE = """
import os, sys
from stockade.sandbox.spawn import Proc
a, b, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pipes = []
for i in range(2):            # both ends well away from the numbers under test
    r, w = os.pipe()
    pipes.append((os.dup2(r, 20 + 2 * i), os.dup2(w, 21 + 2 * i)))
    os.close(r)
    os.close(w)
for (r, w), want in zip(pipes, (a, b)):
    os.dup2(r, want)          # the read ends sit at the numbers under test
script = f"read -r x <&3; read -r y <&4; echo $x$y > {out}"
proc = Proc(["/bin/sh", "-c", script], env=dict(os.environ), pass_fds=(), dup_to={a: 3, b: 4})
os.write(pipes[0][1], b"A\\n")
os.write(pipes[1][1], b"B\\n")
sys.exit(proc.wait())
"""


@pytest.mark.parametrize("sources", [(5, 6), (4, 3), (3, 4)])
def test_descriptors_move_to_the_numbers_the_shell_names(tmp_path: Path,
                                                          sources: tuple[int, int]) -> None:
    # dup2 runs in order: a source that is also another's target must not be
    # lost (4 -> 3 and 3 -> 4).  In a fresh interpreter: pytest holds low fds.
    out = tmp_path / "got"
    r = subprocess.run([sys.executable, "-c", _MOVE, str(sources[0]), str(sources[1]), str(out)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "AB\n"


def test_bubblewrap_that_dies_early_is_seen_on_the_status_line() -> None:
    r, w = os.pipe()
    os.close(w)
    with pytest.raises(NetnsError, match="exited before the sandbox was set up"):
        first_status_line(r)
    os.close(r)


class _Flaky:
    """A socket whose bind fails like a loopback without its address yet."""

    def __init__(self, fails: int, errno: int = 99) -> None:
        self.fails, self.errno, self.calls = fails, errno, 0

    def bind(self, addr: tuple[str, int]) -> None:
        self.calls += 1
        if self.calls <= self.fails:
            raise OSError(self.errno, os.strerror(self.errno))


def test_bind_waits_for_the_loopback_address() -> None:
    # bubblewrap reports the sandbox's pid before its loopback has 127.0.0.1:
    # an early bind got EADDRNOTAVAIL now and then and refused the session
    from stockade.sandbox.netns import _bind_loopback

    s = _Flaky(3)
    _bind_loopback(s, 3128)  # type: ignore[arg-type]
    assert s.calls == 4
    with pytest.raises(OSError):
        _bind_loopback(_Flaky(10**9), 3128, within=0.05)  # type: ignore[arg-type]
    other = _Flaky(1, errno=98)  # EADDRINUSE is not waited for
    with pytest.raises(OSError):
        _bind_loopback(other, 3128)  # type: ignore[arg-type]
    assert other.calls == 1


@needs_bwrap
def test_the_namespace_joined_is_the_one_bubblewrap_reported(tmp_path: Path) -> None:
    # /proc/PID may name another process than bubblewrap's (a /proc of another
    # pid namespace, a recycled pid): the network namespace joined must be
    # the one bubblewrap reported, or the ports would serve someone else
    box = Sandbox(tmp_path, "true")
    first, _ = first_status_line(box.status_r)
    pid, net_ns = int(first["child-pid"]), first["net-namespace"]  # type: ignore[call-overload]
    assert isinstance(net_ns, int)
    with pytest.raises(NetnsError, match="not the sandbox bubblewrap reported"):
        listen_inside(pid, [free_port()], net_ns=net_ns + 1)
    listeners = listen_inside(pid, [free_port()], net_ns=net_ns)
    for ls in listeners.values():
        ls.close()
    assert box.go(b"1\n") == 0
    box.acked()


def test_the_port_opener_holds_none_of_the_launchers_descriptors() -> None:
    # it is forked once the agent's go pipe exists: were the write end left
    # open in it, the sandbox would not see EOF (a "no") when the launcher dies
    import select

    from stockade.sandbox.netns import PortOpener

    go_r, go_w = os.pipe()
    opener = PortOpener()
    try:
        os.close(go_w)
        ready, _, _ = select.select([go_r], [], [], 5.0)
        assert ready, "the go pipe's write end is still open somewhere"
        assert os.read(go_r, 1) == b""  # EOF
    finally:
        os.close(go_r)
        opener.close()


@pytest.mark.parametrize("native", [True, False], ids=["os.setns", "libc"])
def test_setns_joins_and_reports_errors_by_errno(native: bool,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of joining a namespace (Python 3.12's os.setns, libc's
    through _ctypes before it) fail with the errno as OSError."""
    import errno

    from stockade.sandbox import netns

    if native and not hasattr(os, "setns"):
        pytest.skip("os.setns is Python 3.12+")
    if not native:
        monkeypatch.delattr(os, "setns", raising=False)
    setns = netns._setns()
    with pytest.raises(OSError) as bad:
        setns(-1, netns.CLONE_NEWNET)  # type: ignore[operator]
    assert bad.value.errno == errno.EBADF
    with open("/proc/self/ns/uts") as f, pytest.raises(OSError) as wrong:
        setns(f.fileno(), netns.CLONE_NEWNET)  # type: ignore[operator]  # not a net namespace
    assert wrong.value.errno == errno.EINVAL
    # joining for real: the listen_inside tests above, with bubblewrap
