"""The egress proxy over real sockets: a loopback origin server, a client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.tcp import LoopbackServer, read_head
from test_sandbox_tlshello import real_hello

from stockade.sandbox.proxy import (
    EgressEvent,
    EgressProxy,
    ProxyConfig,
    is_public,
    parse_request,
)


class Origin(LoopbackServer):
    """A tiny HTTP server on 127.0.0.1 that records what it received."""

    def __init__(self, body: bytes = b"hello from origin") -> None:
        self.received: list[bytes] = []
        self.body = body
        super().__init__(self._one, backlog=8)

    def _one(self, c: socket.socket) -> None:
        self.received.append(read_head(c))
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                  % (len(self.body), self.body))
        c.close()


@pytest.fixture
def origin() -> Iterator[Origin]:
    o = Origin()
    yield o
    o.sock.close()


def start(tmp_path: Path, **kw: object) -> tuple[EgressProxy, str, list[EgressEvent]]:
    events: list[EgressEvent] = []
    done = threading.Event()

    def on_event(ev: EgressEvent) -> None:
        events.append(ev)
        done.set()

    cfg = ProxyConfig(on_event=on_event, **kw)  # type: ignore[arg-type]
    proxy = EgressProxy(cfg)
    path = str(tmp_path / "p.sock")
    proxy.serve_unix(path)
    proxy._done = done  # type: ignore[attr-defined]
    return proxy, path, events


def ask(path: str, raw: bytes) -> bytes:
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(5)
    c.connect(path)
    c.sendall(raw)
    out = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        out += chunk
    c.close()
    return out


def wait_events(proxy: EgressProxy, events: list[EgressEvent], n: int) -> None:
    for _ in range(100):
        if len(events) >= n:
            return
        time.sleep(0.05)


def test_refused_host_gets_a_readable_message_and_no_name_lookup(tmp_path: Path) -> None:
    looked_up: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["93.184.215.14"]

    proxy, path, events = start(
        tmp_path, allow=lambda h, p: h == "pypi.org",
        explain=lambda h, p: f"stockade: {h} is not in network.allow of policy.yaml",
        resolve=resolve)
    try:
        out = ask(path, b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 403")
        assert b"stockade: evil.example is not in network.allow of policy.yaml" in out
        wait_events(proxy, events, 1)
        assert looked_up == []  # the allowlist is checked before any DNS query
        assert events[0].kind == "net.deny" and events[0].host == "evil.example"
    finally:
        proxy.close()


def test_no_callback_or_a_failing_callback_means_deny(tmp_path: Path) -> None:
    def broken(host: str, port: int) -> bool:
        raise RuntimeError("policy bug")

    for cfg in ({}, {"allow": broken}):
        d = tmp_path / f"c{len(cfg)}"
        d.mkdir()
        proxy, path, _ = start(d, **cfg)
        try:
            assert ask(path, b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 403")
        finally:
            proxy.close()


def test_loopback_destination_refused_unless_private_allowed(tmp_path: Path, origin: Origin) -> None:
    req = b"GET http://service.test:%d/x HTTP/1.1\r\nHost: service.test\r\n\r\n" % origin.port
    resolve = lambda h, p: ["127.0.0.1"]
    (tmp_path / "a").mkdir()
    proxy, path, events = start(tmp_path / "a", allow=lambda h, p: True, resolve=resolve)
    try:
        out = ask(path, req)
        assert out.startswith(b"HTTP/1.1 403") and b"network.allow_private" in out
        assert origin.received == []
    finally:
        proxy.close()
    (tmp_path / "b").mkdir()
    proxy, path, events = start(tmp_path / "b", allow=lambda h, p: True, resolve=resolve,
                                private_ok=lambda h, ip: ip == "127.0.0.1")
    try:
        out = ask(path, req)
        assert out.startswith(b"HTTP/1.1 200") and out.endswith(b"hello from origin")
        # origin-form request line, hop-by-hop headers replaced
        assert origin.received[0].startswith(b"GET /x HTTP/1.1\r\n")
        assert b"Connection: close" in origin.received[0]
        wait_events(proxy, events, 2)
        # recorded when it opens (a session cut short still shows it) and when it closes
        assert [e.kind for e in events] == ["net.open", "net.connect"]
        ev = events[1]
        assert ev.kind == "net.connect" and ev.address == "127.0.0.1"
        assert ev.bytes_down == len(out) and ev.bytes_up == len(origin.received[0])
    finally:
        proxy.close()


def test_connect_tunnel_counts_bytes_both_ways(tmp_path: Path) -> None:
    # relayed once it starts with a ClientHello naming the CONNECT host; the
    # origin answers whatever comes and closes
    hello = real_hello("origin.test")
    received: list[bytes] = []

    def serve(c: socket.socket) -> None:
        data = b""
        while len(data) < len(hello):
            data += c.recv(65536)
        received.append(data)
        c.sendall(b"tls would start here")
        c.close()

    origin = LoopbackServer(serve)
    proxy, path, events = start(tmp_path, allow=lambda h, p: True,
                                private_ok=lambda h, ip: True, resolve=lambda h, p: ["127.0.0.1"])
    try:
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(5)
        c.connect(path)
        c.sendall(b"CONNECT origin.test:%d HTTP/1.1\r\n\r\n" % origin.port)
        assert c.recv(100).startswith(b"HTTP/1.1 200")
        c.sendall(hello)
        got = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
        c.close()
        assert got == b"tls would start here" and received == [hello]
        wait_events(proxy, events, 2)
        assert events[1].bytes_up == len(hello)
        assert events[1].bytes_down == len(got)
    finally:
        proxy.close()
        origin.close()


@pytest.mark.parametrize("line", [
    b"GET http://pypi.org@127.0.0.1/ HTTP/1.1",
    b"GET http://127.0.0.1#@pypi.org/ HTTP/1.1",
    b"GET https://pypi.org/ HTTP/1.1",
    b"GET /relative HTTP/1.1",
    b"CONNECT pypi.org:443@evil HTTP/1.1",
    b"CONNECT pypi%2eorg:443 HTTP/1.1",
])
def test_smuggled_targets_are_rejected(line: bytes) -> None:
    assert isinstance(parse_request(line + b"\r\n\r\n"), str)


def test_internal_addresses_are_not_public() -> None:
    for ip in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fe80::1",
               "100.64.0.1", "0.0.0.0", "fd00::1", "64:ff9b::a9fe:a9fe", "203.0.113.80"):
        assert not is_public(ip), ip
    assert is_public("93.184.215.14") and is_public("2606:4700::1111")
