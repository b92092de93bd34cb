"""Bypass class: internal addresses through the upstream (corporate) proxy.

With ``network.upstream_proxy`` set, the egress proxy handed every allowed
request to the corporate proxy without the address checks it applies to
resolved names, so ``CONNECT 127.0.0.1:22`` (or ``2130706433``, ``0x7f.1``,
``localhost``, ``169.254.169.254``) reached whatever the corporate proxy can
reach.  IP literals, in every form ``inet_aton`` accepts, are now checked like
resolved addresses first, and loopback is never sent upstream.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.tcp import LoopbackServer, read_head

from stockade.sandbox.proxy import EgressEvent, EgressProxy, ProxyConfig, parse_request


class FakeUpstream(LoopbackServer):
    """A corporate proxy on 127.0.0.1 that answers every CONNECT with 200."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        super().__init__(self._one)

    def _one(self, c: socket.socket) -> None:
        self.asked.append(read_head(c, chunk=4096).split(b" ")[1].decode())
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        c.close()


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    u = FakeUpstream()
    yield u
    u.sock.close()


def ask(path: str, target: str) -> bytes:
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(5)
    c.connect(path)
    c.sendall(f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
    out = c.recv(4096)
    c.close()
    return out


def serve(tmp_path: Path, upstream: FakeUpstream, **kw: object) -> tuple[EgressProxy, str, list[EgressEvent]]:
    events: list[EgressEvent] = []
    cfg = ProxyConfig(allow=lambda h, p: True, on_event=events.append,
                      upstream=("127.0.0.1", upstream.port), **kw)  # type: ignore[arg-type]
    proxy = EgressProxy(cfg)
    path = str(tmp_path / "p.sock")
    proxy.serve_unix(path)
    return proxy, path, events


INTERNAL = ["127.0.0.1:22", "2130706433:22", "0x7f.1:22", "0177.0.0.1:22", "127.1:22", "[::1]:22",
            "localhost:22", "LOCALHOST.:22", "db.localhost:5432", "10.0.0.1:80",
            "169.254.169.254:80", "[::ffff:169.254.169.254]:80", "0:80", "[fd00::1]:80"]


def test_internal_targets_are_refused_before_the_upstream_proxy(tmp_path: Path, upstream: FakeUpstream) -> None:
    proxy, path, events = serve(tmp_path, upstream)
    try:
        for target in INTERNAL:
            out = ask(path, target)
            assert out.startswith(b"HTTP/1.1 403"), (target, out)
        assert upstream.asked == []
        assert all(e.kind == "net.deny" and e.reason == "private-address" for e in events)
        assert ask(path, "pypi.org:443").startswith(b"HTTP/1.1 200")
        assert upstream.asked == ["pypi.org:443"]
    finally:
        proxy.close()


def test_allow_private_reaches_a_listed_range_but_never_loopback(tmp_path: Path, upstream: FakeUpstream) -> None:
    def private_ok(host: str, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network("10.0.0.0/8") or \
                ipaddress.ip_address(ip).is_loopback
        except ValueError:
            return host == "localhost"

    proxy, path, _ = serve(tmp_path, upstream, private_ok=private_ok)
    try:
        assert ask(path, "167772161:443").startswith(b"HTTP/1.1 200")  # 10.0.0.1
        for target in ("127.0.0.1:22", "localhost:22"):
            assert ask(path, target).startswith(b"HTTP/1.1 403"), target
        assert upstream.asked == ["10.0.0.1:443"]
    finally:
        proxy.close()


@pytest.mark.parametrize("form", ["2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1"])
def test_numeric_ipv4_forms_are_checked_and_recorded_as_the_address(form: str) -> None:
    req = parse_request(f"CONNECT {form}:80 HTTP/1.1\r\n\r\n".encode())
    assert not isinstance(req, str)
    assert req.host == "127.0.0.1"
