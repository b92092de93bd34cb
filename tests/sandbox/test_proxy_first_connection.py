"""The agent's first connection waits for whatever the launcher imports to
serve it: the launcher's accept loop, the lazily built proxy and the relay
stay off the modules that cost milliseconds there (``encodings.idna`` pulls
in unicodedata and stringprep; asyncio is asyncio).  And a session that is
closing never builds its proxy."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from stockade.sandbox.ports import LazyProxy

COSTLY = ("encodings.idna", "asyncio", "socket", "selectors", "dataclasses", "typing",
          "ipaddress", "threading", "contextlib", "functools", "collections")

# Runs in a fresh interpreter: the listener and every connection are the
# launcher's plain _socket objects, as in `stockade run`.  Prints the modules
# loaded once the connection is served and its event is out.
PROXY_SIDE = r"""
import _socket, _thread, sys
from stockade.sandbox.ports import Acceptor, LazyProxy

def make():
    from stockade.sandbox.proxy import EgressProxy, ProxyConfig
    # a cached view matches network.allow with the policy's own primitives
    from stockade.config.domains import host_allowed, parse_pattern, private_allowed
    allowed = (parse_pattern("*.example.com"),)
    return EgressProxy(ProxyConfig(allow=lambda h, p: h in ("localhost", "127.0.0.1") or host_allowed(allowed, h, p),
                                   private_ok=lambda h, ip: private_allowed(("127.0.0.0/8",), ip),
                                   on_event=on_event))

served = _thread.allocate_lock()
served.acquire()
def on_event(ev):
    if ev.kind == "net.connect":
        served.release()

listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(4)
lazy = LazyProxy(make)
Acceptor(listener, lazy)
print(listener.getsockname()[1], flush=True)
if not served.acquire(timeout=30):
    sys.exit("the connection was never served")
print(" ".join(m for m in sys.argv[1:] if m in sys.modules), flush=True)
"""


@pytest.mark.parametrize("target", ["localhost", "127.0.0.1"])
def test_serving_the_first_connection_loads_no_costly_module(target: str) -> None:
    """A name is resolved by the proxy itself; an address is parsed and
    judged (stockade.netaddr, from the proxy and config.domains): neither
    imports ipaddress."""
    origin = socket.socket()
    origin.bind(("127.0.0.1", 0))
    origin.listen(1)
    origin_port = origin.getsockname()[1]

    def answer() -> None:
        c, _ = origin.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += c.recv(4096)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        c.close()

    threading.Thread(target=answer, daemon=True).start()
    proc = subprocess.Popen([sys.executable, "-c", PROXY_SIDE, *COSTLY], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=20) as c:
            c.sendall(b"GET http://%s:%d/ HTTP/1.1\r\nHost: %s\r\n\r\n"
                      % (target.encode(), origin_port, target.encode()))
            got = b""
            while chunk := c.recv(4096):
                got += chunk
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"ok")
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert out.strip() == "", f"loaded while serving the first connection: {out.strip()}"
    finally:
        proc.kill()
        proc.wait()
        origin.close()


def test_a_closed_session_never_builds_its_proxy() -> None:
    made: list[int] = []

    def make() -> object:
        made.append(1)
        raise AssertionError("built after close")

    lazy = LazyProxy(make)
    lazy.close()
    lazy.warm(("warm-up.invalid", 443))
    a, b = socket.socketpair()
    lazy(a)  # a connection that raced the close is cut, not served
    assert b.recv(1) == b""
    b.close()
    assert made == []
