"""Inside the sandbox: expose the launcher's Unix sockets on 127.0.0.1, then
run the agent.

    python -I -S forwarder.py --listen 3128=/run/stockade/proxy.sock [...] [--go-fd N] -- CMD...

The sandbox has no network interface but its own loopback, so tools that only
speak TCP to a proxy (``HTTPS_PROXY=http://127.0.0.1:3128``) reach the
launcher's egress proxy through this bridge.  The listening sockets are bound
*before* the agent starts; a detached grandchild serves them (reaped by
bubblewrap's init) and this process becomes the agent with ``execvp``, so the
agent's exit status is bubblewrap's.

Standard library only and no ``stockade`` imports: it runs with ``-I -S``
under the launcher's own interpreter, found by absolute path, never ``PATH``.
"""

import os
import socket
import sys
import threading

CHUNK = 1 << 20


def _copy(src: socket.socket, dst: socket.socket) -> None:
    moved = False
    try:
        r, w = os.pipe()
        try:
            while True:
                try:
                    n = os.splice(src.fileno(), w, CHUNK)
                except OSError as exc:
                    if moved or exc.errno not in (22, 38, 95):
                        raise
                    break
                if n == 0:
                    return
                moved = True
                while n:
                    n -= os.splice(r, dst.fileno(), n)
            buf = bytearray(256 * 1024)
            view = memoryview(buf)
            while True:
                n = src.recv_into(buf)
                if n == 0:
                    return
                dst.sendall(view[:n])
        finally:
            os.close(r)
            os.close(w)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _serve_one(conn: socket.socket, path: str) -> None:
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(path)
    except OSError:
        conn.close()
        up.close()
        return
    t = threading.Thread(target=_copy, args=(up, conn), daemon=True)
    t.start()
    _copy(conn, up)
    t.join()
    conn.close()
    up.close()


def _accept(listener: socket.socket, path: str) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            continue
        threading.Thread(target=_serve_one, args=(conn, path), daemon=True).start()


def main(argv: list[str]) -> int:
    if "--" not in argv:
        sys.stderr.write("stockade forwarder: usage: --listen PORT=SOCKET ... -- CMD\n")
        return 2
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    routes: list[tuple[int, str]] = []
    go_fd = None
    i = 0
    while i < len(opts):
        if opts[i] == "--listen" and i + 1 < len(opts):
            port_text, _, path = opts[i + 1].partition("=")
            routes.append((int(port_text), path))
            i += 2
        elif opts[i] == "--go-fd" and i + 1 < len(opts):
            go_fd = int(opts[i + 1])
            i += 2
        else:
            sys.stderr.write(f"stockade forwarder: unknown option {opts[i]}\n")
            return 2
    if not cmd:
        sys.stderr.write("stockade: no command to run\n")
        return 2
    listeners: list[tuple[socket.socket, str]] = []
    for port, path in routes:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        s.set_inheritable(False)
        listeners.append((s, path))
    if listeners:
        pid = os.fork()
        if pid == 0:
            try:
                if os.fork() == 0:
                    null = os.open(os.devnull, os.O_RDWR)
                    os.dup2(null, 0)
                    os.dup2(null, 1)
                    os.dup2(null, 2)
                    threads = [threading.Thread(target=_accept, args=lp, daemon=True)
                               for lp in listeners]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        for s, _ in listeners:
            s.close()
    if go_fd is not None:
        # the launcher writes one byte once the session is recorded; EOF means no
        go = os.read(go_fd, 1)
        os.close(go_fd)
        if go != b"1":
            sys.stderr.write("stockade: the session could not be recorded; not starting\n")
            return 125
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        sys.stderr.write(f"stockade: cannot run {cmd[0]}: {exc.strerror}\n")
        return 127 if isinstance(exc, FileNotFoundError) else 126


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
