"""Open the agent's proxy ports in the sandbox's network namespace, from outside.

The sandbox has no network interface but its own loopback, so the proxy and
gateway ports the agent is pointed at (``127.0.0.1:3128``/``3129``) must be
sockets listening in *that* namespace.  The launcher makes them itself,
before any process of the agent's runs:

* bubblewrap reports the sandbox's first process on its status descriptor
  (``child-pid``); the agent is not started yet (it waits for the launcher's
  go, see :data:`stockade.sandbox.spawn.GO_TRAMPOLINE`);
* a forked child of the launcher joins that process's user namespace (ours:
  bubblewrap made it as this user, so we hold every capability in it) and
  then its network namespace, binds and listens on each port, sends the
  listening sockets back over a socket pair (``SCM_RIGHTS``) and exits.  The
  fork is needed because only a single-threaded process may join a user
  namespace, and there is no way back out of one;
* the launcher accepts the agent's connections on them (one hop, no relay
  process inside).

Nothing here reads anything the agent can write: the only input is
bubblewrap's own status line, and the namespace is refused if it turns out
to be the launcher's own (no ``--unshare-net``: the ports would be the
host's).  No control socket is exposed inside the sandbox at all.

Costs about 3 ms and no process inside the sandbox (the previous design ran a
Python forwarder there first: ~15 ms of every session's start-up).
"""

from __future__ import annotations

import _socket
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
BACKLOG = 128

class NetnsError(Exception):
    """The ports could not be opened in the sandbox's network namespace."""


def first_status_line(fd: int) -> tuple[dict[str, object], bytes]:
    """Read bubblewrap's first ``--json-status-fd`` line (``{"child-pid": N}``);
    returns it and whatever followed it (the reader of the rest gets that).
    Raises :class:`NetnsError` on EOF (bubblewrap failed before the sandbox
    existed)."""
    buf = b""
    while b"\n" not in buf:
        chunk = os.read(fd, 4096)
        if not chunk:
            raise NetnsError("bubblewrap exited before the sandbox was set up")
        buf += chunk
    line, _, rest = buf.partition(b"\n")
    msg = _flat_numbers(line)
    if msg is None:  # not the shape bubblewrap writes today: the real parser decides
        import json

        try:
            msg = json.loads(line)
        except ValueError:
            raise NetnsError("bubblewrap's status line is not JSON") from None
    if not isinstance(msg, dict):
        raise NetnsError("bubblewrap's status line is not an object")
    return msg, rest


_KEY_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz-")


def _flat_numbers(line: bytes) -> dict[str, object] | None:
    """``{ "child-pid": 12, "net-namespace": 4026532 }`` (what bubblewrap
    writes) without the json module (json and the re it imports were ~8 ms
    of every start); None for anything else, which json then reads."""
    text = line.strip()
    if not (text.startswith(b"{") and text.endswith(b"}")):
        return None
    out: dict[str, object] = {}
    for item in text[1:-1].split(b","):
        key, colon, value = item.partition(b":")
        key, value = key.strip(), value.strip()
        if not colon or len(key) < 3 or not key.startswith(b'"') or not key.endswith(b'"') \
                or not all(c in _KEY_CHARS for c in key[1:-1]) \
                or not value.isdigit() or len(value) > 20 or key[1:-1].decode() in out:
            return None
        out[key[1:-1].decode()] = int(value)
    return out


def _ns_inode(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def listen_inside(pid: int, ports: Sequence[int], *,
                  net_ns: int | None = None) -> dict[int, _socket.socket]:
    """Listening TCP sockets on ``127.0.0.1:PORT`` in the network namespace of
    process ``pid`` (the sandbox's first process), by port; close-on-exec."""
    opener = PortOpener()
    try:
        return opener.listen_inside(pid, ports, net_ns=net_ns)
    finally:
        opener.close()


class PortOpener:
    """The forked child that joins the sandbox's namespaces, made ahead of
    time: forked while this process is still single-threaded and small, it
    loads what joining needs (_ctypes, on Python < 3.12) while bubblewrap
    starts, then waits for :meth:`listen_inside` to hand it the namespaces."""

    def __init__(self) -> None:
        self._ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sys.stdout.flush()
        sys.stderr.flush()
        self._pid: int | None = os.fork()
        if self._pid == 0:  # pragma: no cover - runs in the forked child
            code = 1
            try:
                self._ours.close()
                # nothing of the launcher's but the terminal: not the agent's
                # go pipe (whose EOF must come when the launcher dies), not
                # bubblewrap's status pipe, not the recorder's
                keep = theirs.fileno()
                # no collector from here on: a finaliser of an object of the
                # launcher's could close a descriptor number reused here
                import gc

                gc.disable()
                os.closerange(3, keep)
                os.closerange(keep + 1, _max_fd())
                code = _serve(theirs)
            finally:
                os._exit(code)
        theirs.close()

    def listen_inside(self, pid: int, ports: Sequence[int], *,
                      net_ns: int | None = None) -> dict[int, _socket.socket]:
        """See :func:`listen_inside`; once per opener.  ``net_ns``: the inode
        of the sandbox's network namespace as bubblewrap reported it
        (``net-namespace``): the namespace joined must be that one, whatever
        ``/proc/PID`` turns out to name (a /proc of another pid namespace, a
        recycled pid).  Without it, /proc must be this process's own."""
        try:
            net_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise NetnsError(f"cannot open the sandbox's namespaces ({exc.strerror})") from None
        try:
            joined = os.fstat(net_fd)
            if (joined.st_dev, joined.st_ino) == _ns_inode("/proc/self/ns/net"):
                raise NetnsError("the sandbox has no network namespace of its own")
            if net_ns is not None and joined.st_ino != net_ns:
                raise NetnsError(f"process {pid} is not the sandbox bubblewrap reported "
                                 "(another network namespace)")
            if net_ns is None and os.readlink("/proc/self") != str(os.getpid()):
                raise NetnsError("/proc belongs to another pid namespace, and bubblewrap did "
                                 "not say which network namespace is the sandbox's")
            user_fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except BaseException as exc:
            os.close(net_fd)
            if isinstance(exc, OSError):
                raise NetnsError(f"cannot open the sandbox's namespaces ({exc.strerror})") from None
            raise
        ours = self._ours
        try:
            ask = " ".join(str(int(p)) for p in ports).encode()
            fds = user_fd.to_bytes(4, sys.byteorder) + net_fd.to_bytes(4, sys.byteorder)
            ours.sendmsg([ask], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
            ours.settimeout(10.0)
            msg, ancdata, _flags, _addr = ours.recvmsg(
                256, _socket.CMSG_SPACE(4 * max(1, len(ports))), _socket.MSG_CMSG_CLOEXEC)
        except OSError as exc:
            raise NetnsError(f"cannot listen in the sandbox's network namespace "
                             f"({exc.strerror or type(exc).__name__})") from None
        finally:
            os.close(user_fd)
            os.close(net_fd)
            self.close()
        got: list[int] = []
        for level, kind, data in ancdata:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                got += [int.from_bytes(data[i:i + 4], sys.byteorder)
                        for i in range(0, len(data) - len(data) % 4, 4)]
        if not msg.startswith(b"ok") or len(got) != len(ports):
            for fd in got:
                os.close(fd)
            why = msg.decode("ascii", "replace")[:200] or "no answer"
            raise NetnsError(f"cannot listen in the sandbox's network namespace ({why})")
        return {port: _socket.socket(fileno=fd) for port, fd in zip(ports, got)}

    def close(self) -> None:
        """Let the child go (EOF: it exits) and reap it."""
        try:
            self._ours.close()
        except OSError:
            pass
        pid, self._pid = self._pid, None
        if pid:
            _reap(pid)


def _max_fd() -> int:
    try:
        return max(int(name) for name in os.listdir("/proc/self/fd")) + 1
    except (OSError, ValueError):
        return 1 << 16


def _serve(conn: _socket.socket) -> int:  # pragma: no cover - runs in the forked child
    """In the forked child: get ready, wait for the namespaces, join, bind, send."""
    setns = _setns()
    try:
        msg, ancdata, _flags, _addr = conn.recvmsg(256, _socket.CMSG_SPACE(8))
    except OSError:
        return 1
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder)
                    for i in range(0, len(data) - len(data) % 4, 4)]
    if not msg or len(fds) != 2:
        return 0  # closed without a sandbox: nothing to do
    try:
        ports = [int(p) for p in msg.split()]
    except ValueError:
        return 1
    return _bind_and_send(conn, fds[0], fds[1], ports, setns)


def _bind_and_send(conn: _socket.socket, user_fd: int, net_fd: int, ports: Sequence[int],
                   setns: object) -> int:  # pragma: no cover - runs in the forked child
    """In the forked child: join, bind, send; the answer says what failed."""
    step = "join the sandbox's user namespace"
    try:
        setns(user_fd, CLONE_NEWUSER)  # type: ignore[operator]
        step = "join the sandbox's network namespace"
        setns(net_fd, CLONE_NEWNET)  # type: ignore[operator]
        step = "listen"
        listeners = []
        for port in ports:
            s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
            s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            _bind_loopback(s, port)
            s.listen(BACKLOG)
            listeners.append(s)
        fds = b"".join(s.fileno().to_bytes(4, sys.byteorder) for s in listeners)
        conn.sendmsg([b"ok"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        return 0
    except OSError as exc:
        try:
            conn.sendall(f"{step}: {exc.strerror or type(exc).__name__}".encode())
        except OSError:
            pass
        return 1


def _bind_loopback(s: _socket.socket, port: int, *, within: float = 2.0) -> None:
    """Bind 127.0.0.1:PORT.  bubblewrap gives the sandbox's loopback its
    address a moment after it reports the sandbox's pid, so "cannot assign
    requested address" is retried until then."""
    import time

    deadline = time.monotonic() + within
    while True:
        try:
            s.bind(("127.0.0.1", port))
            return
        except OSError as exc:
            if exc.errno != 99 or time.monotonic() > deadline:  # EADDRNOTAVAIL
                raise
            time.sleep(0.0005)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _setns() -> object:
    """``os.setns`` (Python 3.12+), else libc's, called through ``_ctypes``:
    the ``ctypes`` package builds its types on import (~4 ms of the opener's,
    on the start's critical path when bubblewrap is quick), its C core does
    not."""
    fn = getattr(os, "setns", None)
    if fn is not None:
        return fn
    import _ctypes

    class _Int(_ctypes._SimpleCData):  # type: ignore[type-arg]  # ctypes.c_int
        _type_ = "i"

    class _Fn(_ctypes.CFuncPtr):  # ctypes.CFUNCTYPE(c_int, c_int, c_int, use_errno=True)
        _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
        _restype_ = _Int
        _argtypes_ = (_Int, _Int)

    libc = _ctypes.dlopen(None, os.RTLD_NOW)  # type: ignore[arg-type]  # this process's symbols
    raw = _Fn(_ctypes.dlsym(libc, "setns"))

    def setns(fd: int, nstype: int) -> None:
        if raw(fd, nstype) != 0:
            err = _ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    return setns


__all__ = ["NetnsError", "PortOpener", "first_status_line", "listen_inside"]
