"""The launcher's side of the sandbox's proxy ports.

The in-sandbox forwarder (:mod:`stockade.sandbox.forwarder`) binds
``127.0.0.1:PORT`` in the sandbox's network namespace and sends the listening
sockets here over a control socket; the launcher accepts the agent's
connections on them directly (one hop less than relaying through a process
inside, which also means one copy less of every byte).

* :class:`Control`: the control socket; accepts the one forwarder, takes its
  sockets, then stops listening, so nothing the agent runs later can talk to it.
* :class:`Acceptor`: a thread accepting on one listening socket.
* :class:`LazyProxy`: the egress proxy, built (and its module imported) on
  the first connection, so ``stockade run -- true`` never pays for it.
* :func:`bridge`: one connection to the gateway (started on first use).
"""

from __future__ import annotations

# The control socket, the listeners and the connections are plain _socket
# objects: the socket module builds enums on import (about 5 ms), which
# neither start-up nor the agent's first connection should wait for.
import _socket
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

MAX_FDS = 8
MAX_MSG = 256


class ControlError(Exception):
    """The forwarder did not hand over its sockets."""


class ControlRefused(ControlError):
    """Something handed over what the forwarder never sends: a process other
    than the sandbox's forwarder, the wrong ports, or descriptors that are not
    the listening sockets it binds.  The session must not start."""


class Control:
    """``/run/stockade/ctl.sock`` inside; one connection, ever.

    The one peer it expects is the forwarder, the sandbox's first process,
    which runs before any code of the agent's.  Everything it hands over is
    checked anyway, as if the agent had sent it: the peer must be a process
    of this session's bubblewrap (``peer_ok``), the message must name exactly
    the expected ports, and each descriptor must be a listening TCP socket
    bound to ``127.0.0.1:PORT``.  Anything else closes every descriptor
    received and refuses the session (:class:`ControlRefused`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)  # the sandbox may map our uid to another one
        self.sock.listen(1)
        self.conn: _socket.socket | None = None

    def take(self, *, alive: Callable[[], bool], expected: Sequence[int],
             peer_ok: Callable[[int], bool] | None = None,
             timeout: float = 120.0) -> dict[int, _socket.socket]:
        """Wait for the forwarder (while ``alive()``), and return its listening
        sockets by port.  Raises :class:`ControlError` when it never comes,
        :class:`ControlRefused` when what came is not what it sends."""
        import time

        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.02)
        try:
            while True:
                try:
                    fd, _ = self.sock._accept()  # type: ignore[attr-defined]  # no stub
                    break
                except TimeoutError:
                    if not alive() or time.monotonic() > deadline:
                        raise ControlError("the sandbox did not start its forwarder") from None
        finally:
            self.stop_listening()
        conn = _socket.socket(fileno=fd)
        conn.settimeout(5.0)
        self.conn = conn
        if peer_ok is not None:
            pid = _peer_pid(conn)
            if pid is None or not peer_ok(pid):
                raise ControlRefused("a process other than the sandbox's forwarder connected "
                                     "to the control socket")
        try:
            msg, fds, flags = _recv_fds(conn)
        except OSError as exc:
            raise ControlError(f"no sockets from the forwarder ({exc.strerror})") from None
        try:
            return _check_handover(msg, fds, flags, expected=expected)
        except ControlRefused:
            for fd in fds:
                _close(fd)
            raise

    def go(self, ok: bool) -> None:
        """Let the agent start (``ok``), or not (the forwarder exits)."""
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            if ok:
                conn.sendall(b"1")
        except OSError:
            pass  # the forwarder is gone: bubblewrap's exit says the rest
        finally:
            conn.close()

    def stop_listening(self) -> None:
        try:
            self.sock.close()
        finally:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def close(self) -> None:
        self.go(False)
        self.stop_listening()


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _peer_pid(conn: _socket.socket) -> int | None:
    """The connecting process (SO_PEERCRED; in our pid namespace)."""
    try:
        raw = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    except OSError:
        return None
    pid = int.from_bytes(raw[0:4], sys.byteorder)
    return pid or None


def descends_from(pid: int, ancestor: int, *, depth: int = 8) -> bool:
    """Is ``pid`` ``ancestor`` or one of its descendants (by /proc PPid)?"""
    for _ in range(depth):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            return False
        # comm may hold spaces and parentheses: the fields follow the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        try:
            pid = int(fields[1])
        except (IndexError, ValueError):
            return False
    return False


def _check_handover(msg: bytes, fds: list[int], flags: int, *,
                    expected: Sequence[int]) -> dict[int, _socket.socket]:
    """The forwarder's ``ports P...`` and one listening socket per port, or
    :class:`ControlRefused` (the caller closes ``fds``)."""
    if flags & (_socket.MSG_CTRUNC | _socket.MSG_TRUNC):
        raise ControlRefused("the control message was truncated (more descriptors or bytes "
                             "than the forwarder sends)")
    words = msg.decode("ascii", "replace").split()
    want = [str(p) for p in expected]
    if words != ["ports", *want] or len(fds) != len(want):
        raise ControlRefused("the forwarder sent something else than its sockets")
    out: dict[int, _socket.socket] = {}
    for port, fd in zip(expected, fds, strict=True):
        why = _not_a_listener(fd, port)
        if why:
            for s in out.values():
                s.detach()  # the caller closes every fd
            raise ControlRefused(f"descriptor for port {port} is {why}")
        out[port] = _socket.socket(fileno=fd)
    return out


def _not_a_listener(fd: int, port: int) -> str | None:
    """Why ``fd`` is not a TCP socket listening on 127.0.0.1:``port``, or None."""
    import stat

    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return "not a socket"
        # getsockopt on a dup: wrapping the fd itself would let a later
        # failure close it twice
        probe = _socket.socket(fileno=os.dup(fd))
    except OSError as exc:
        return f"unusable ({exc.strerror})"
    try:
        sol = _socket.SOL_SOCKET
        if probe.getsockopt(sol, _socket.SO_DOMAIN) != _socket.AF_INET:
            return "not an IPv4 socket"
        if probe.getsockopt(sol, _socket.SO_TYPE) != _socket.SOCK_STREAM:
            return "not a stream socket"
        if probe.getsockopt(sol, _socket.SO_PROTOCOL) != _socket.IPPROTO_TCP:
            return "not TCP"
        if not probe.getsockopt(sol, _socket.SO_ACCEPTCONN):
            return "not listening"
        if probe.getsockname() != ("127.0.0.1", port):
            return "bound to another address"
    except OSError as exc:
        return f"unusable ({exc.strerror})"
    finally:
        probe.close()
    return None


def _recv_fds(conn: _socket.socket) -> tuple[bytes, list[int], int]:
    """``socket.recv_fds`` on a plain _socket: close-on-exec descriptors (no
    later spawn inherits them), and the flags that say whether any were cut."""
    msg, ancdata, flags, _addr = conn.recvmsg(MAX_MSG, _socket.CMSG_SPACE(MAX_FDS * 4),
                                              _socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(data) - len(data) % 4
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder) for i in range(0, usable, 4)]
    return msg, fds, flags


class Acceptor:
    """Accept on ``listener`` in a daemon thread, handing each connection (a
    blocking ``_socket.socket``) to ``handle``, which must not block."""

    def __init__(self, listener: _socket.socket,
                 handle: Callable[[_socket.socket], None]) -> None:
        self.listener = listener
        self.handle = handle
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                fd, _ = self.listener._accept()  # type: ignore[attr-defined]  # no stub
            except OSError:
                return
            conn = _socket.socket(fileno=fd)
            if self.closed:
                conn.close()
                return
            try:
                self.handle(conn)
            except Exception:  # noqa: BLE001 - a connection that cannot be served is cut
                conn.close()

    def close(self) -> None:
        self.closed = True
        try:
            self.listener.shutdown(_socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()


class LazyProxy:
    """The egress proxy, made by ``make()`` on the first connection."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._proxy: Any = None
        self._refuse: str | None = None
        self._closed = False

    @property
    def refuse_all(self) -> str | None:
        return self._refuse

    @refuse_all.setter
    def refuse_all(self, why: str | None) -> None:
        with self._lock:
            self._refuse = why
            if self._proxy is not None:
                self._proxy.refuse_all = why

    def __call__(self, conn: _socket.socket) -> None:
        with self._lock:
            if self._closed:
                conn.close()
                return
            if self._proxy is None:
                self._proxy = self._make()
                self._proxy.refuse_all = self._refuse
            proxy = self._proxy
        proxy.take(conn)

    def warm(self, probe: tuple[str, int] | None = None) -> None:
        """Build the proxy now, so that the agent's first connection need not:
        its modules, then the proxy, then ``allow(probe)`` (which loads the
        policy's matchers).  Each step is a few milliseconds of a launcher
        that may be ending a short session meanwhile: after :meth:`close`,
        no further step starts."""
        if self._closed or self._proxy is not None:
            return
        # Imported outside the lock: a connection that arrives meanwhile waits
        # for the module (import lock), not for the whole warm-up.
        import stockade.sandbox.proxy  # noqa: F401 - with ipaddress, most of the cost

        with self._lock:
            if self._closed or self._proxy is not None:
                return
            self._proxy = self._make()
            self._proxy.refuse_all = self._refuse
            proxy = self._proxy
        allow = getattr(proxy.config, "allow", None)
        if probe is not None and allow is not None and not self._closed:
            try:
                allow(*probe)
            except Exception:  # noqa: BLE001, S110 - the real request will say
                pass

    def busy(self) -> int:
        with self._lock:
            proxy = self._proxy
        return 0 if proxy is None else int(proxy.busy())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            proxy = self._proxy
        if proxy is not None:
            proxy.close()


def bridge(conn: _socket.socket, target: Callable[[], tuple[str, int] | None]) -> None:
    """Relay one connection to the gateway, in its own thread.  ``target()``
    says where the gateway listens (and may start it); None cuts the
    connection."""

    def one() -> None:
        from stockade.sandbox.pump import dial, pump

        try:
            addr = target()
            if addr is None:
                conn.close()
                return
            up = dial(addr[0], addr[1], timeout=10)
        except Exception:  # noqa: BLE001 - no gateway: the agent sees the connection cut
            conn.close()
            return
        up.settimeout(None)
        pump(conn, up)

    threading.Thread(target=one, daemon=True).start()


__all__ = ["Acceptor", "Control", "ControlError", "ControlRefused", "LazyProxy", "bridge",
           "descends_from"]
