"""Inside the sandbox: open the agent's proxy ports on 127.0.0.1, hand them to
the launcher, wait for its go, then become the agent.

    python -I -S forwarder.py --listen 3128 [--listen 3129] --ctl /run/stockade/ctl.sock -- CMD...

The sandbox has no network interface but its own loopback, so tools that only
speak TCP to a proxy (``HTTPS_PROXY=http://127.0.0.1:3128``) need a socket
listening there, in the sandbox's network namespace.  This process binds them
(it is the only one that can: it is in that namespace), sends the listening
sockets to the launcher over the control socket (``SCM_RIGHTS``), and the
launcher accepts the agent's connections on them itself: no relay process,
no extra copy of every byte.  The launcher answers one byte, ``1``, once the
session is recorded in the ledger; anything else (or EOF) means no, and the
agent never starts.  Then ``execvp``: the agent's exit status is bubblewrap's.
The listening sockets are close-on-exec, so the agent cannot accept on them,
and while the launcher holds them no one in the sandbox can bind those ports.

Only builtin modules and no ``stockade`` imports: it runs with ``-I -S``
under the launcher's own interpreter, found by absolute path, never ``PATH``,
and its start-up is on the critical path of every session.
"""

import os
import sys

import _signal  # type: ignore[import-not-found]  # signal, without its enum import
import _socket

EXIT_NO_GO = 125


def _fail(msg: str, code: int = EXIT_NO_GO) -> int:
    os.write(2, f"stockade: {msg}\n".encode())
    return code


def main(argv: list[str]) -> int:
    if "--" not in argv:
        return _fail("forwarder usage: --listen PORT ... --ctl SOCKET -- CMD", 2)
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    ports: list[int] = []
    ctl = None
    i = 0
    while i + 1 < len(opts):
        if opts[i] == "--listen":
            ports.append(int(opts[i + 1]))
        elif opts[i] == "--ctl":
            ctl = opts[i + 1]
        else:
            return _fail(f"forwarder: unknown option {opts[i]}", 2)
        i += 2
    if i != len(opts) or ctl is None:
        return _fail("forwarder usage: --listen PORT ... --ctl SOCKET -- CMD", 2)
    if not cmd:
        return _fail("no command to run", 2)
    listeners = []
    for port in ports:
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        listeners.append(s)
    c = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        c.connect(ctl)
        fds = b"".join(s.fileno().to_bytes(4, sys.byteorder) for s in listeners)
        msg = ("ports " + " ".join(map(str, ports))).encode()
        c.sendmsg([msg], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)] if fds else [])
        go = c.recv(1)
    except OSError as exc:
        return _fail(f"the launcher did not start this session ({exc.strerror}); not starting")
    c.close()
    for s in listeners:
        s.close()
    if go != b"1":
        return _fail("the session could not be recorded; not starting")
    # Python ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored
    # across exec: the agent gets the defaults (`yes | head` must end quietly).
    for sig in (_signal.SIGPIPE, _signal.SIGXFSZ):
        _signal.signal(sig, _signal.SIG_DFL)
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        return _fail(f"cannot run {cmd[0]}: {exc.strerror}",
                     127 if isinstance(exc, FileNotFoundError) else 126)
    return 127  # not reached: execvp returns only by raising


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
