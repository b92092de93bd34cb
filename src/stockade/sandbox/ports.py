"""The launcher's side of the sandbox's proxy ports.

The listening sockets on ``127.0.0.1:PORT`` in the sandbox's network
namespace are made from outside (:mod:`stockade.sandbox.netns`); the launcher
accepts the agent's connections on them directly (no relay process inside,
so no extra copy of every byte).

* :class:`Acceptor`: a thread accepting on one listening socket.
* :class:`LazyProxy`: the egress proxy, built (and its module imported) on
  the first connection, so ``stockade run -- true`` never pays for it.
* :func:`bridge`: one connection to the gateway (started on first use).
"""

from __future__ import annotations

# The listeners and the connections are plain _socket
# objects: the socket module builds enums on import (about 5 ms), which
# neither start-up nor the agent's first connection should wait for.
import _socket
import _thread

from stockade.sandbox.threads import Slots, background

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Acceptor:
    """Accept on ``listener`` in a daemon thread, handing each connection (a
    blocking ``_socket.socket``) to ``handle``, which must not block."""

    def __init__(self, listener: _socket.socket,
                 handle: Callable[[_socket.socket], None]) -> None:
        self.listener = listener
        self.handle = handle
        self.closed = False
        background(self._loop)

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
        self._lock = _thread.allocate_lock()
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
        import stockade.sandbox.proxy  # noqa: F401 - with _socket, most of the cost

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


# Connections to the gateway relayed at once: a count of their own, so that
# an agent holding every egress relay (sandbox.pump.MAX_RELAYS) still reaches
# its model, whose gateway records every request.
_BRIDGED = Slots(512)


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
        pump(conn, up, slots=_BRIDGED)

    background(one)


__all__ = ["Acceptor", "LazyProxy", "bridge"]
