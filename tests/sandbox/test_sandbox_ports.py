"""The egress proxy behind the sandbox's ports is built once, on first use.
(The ports themselves and the agent's go: test_sandbox_netns.py.)"""

from __future__ import annotations

import socket
from pathlib import Path

from stockade.sandbox.ports import LazyProxy


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
