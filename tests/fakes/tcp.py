"""A loopback TCP server for tests: a free port on 127.0.0.1, one thread per
connection running ``serve(conn)``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable


class LoopbackServer:
    def __init__(self, serve: Callable[[socket.socket], None], *, backlog: int = 16) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port: int = self.sock.getsockname()[1]
        self.serve = serve
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def close(self) -> None:
        self.sock.close()


def read_head(c: socket.socket, *, chunk: int = 65536) -> bytes:
    """What ``c`` sends up to the end of an HTTP head (or its close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = c.recv(chunk)
        if not got:
            break
        data += got
    return data
