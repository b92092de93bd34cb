"""Bypass class: an unexpected exception in a proxy connection thread.

Only ``OSError`` was caught per connection.  Anything else (``UnicodeError``
from IDNA on a name the old normaliser let through, a resolver bug) killed
the thread with a traceback on the user's terminal, no answer to the agent
and no ledger event.  Now it is refused, answered and recorded.
"""

from __future__ import annotations

import socket
from pathlib import Path

from stockade.sandbox.proxy import EgressEvent, EgressProxy, ProxyConfig


def ask(path: str, raw: bytes) -> bytes:
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(5)
    c.connect(path)
    c.sendall(raw)
    out = b""
    while chunk := c.recv(4096):
        out += chunk
    c.close()
    return out


def serve(tmp_path: Path, **kw: object) -> tuple[EgressProxy, str, list[EgressEvent]]:
    events: list[EgressEvent] = []
    proxy = EgressProxy(ProxyConfig(allow=lambda h, p: True, on_event=events.append, **kw))  # type: ignore[arg-type]
    path = str(tmp_path / "p.sock")
    proxy.serve_unix(path)
    return proxy, path, events


def test_a_failing_resolver_is_answered_and_recorded(tmp_path: Path) -> None:
    def resolve(host: str, port: int) -> list[str]:
        raise UnicodeError("label too long")

    proxy, path, events = serve(tmp_path, resolve=resolve)
    try:
        out = ask(path, b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 502"), out
        assert [(e.kind, e.host, e.reason) for e in events] == [
            ("net.deny", "pypi.org", "proxy-error: UnicodeError")]
        assert proxy.busy() == 0
    finally:
        proxy.close()


def test_a_name_idna_cannot_encode_is_refused_before_any_lookup(tmp_path: Path) -> None:
    looked_up: list[str] = []
    proxy, path, _ = serve(tmp_path, resolve=lambda h, p: looked_up.append(h) or [])
    try:
        out = ask(path, b"CONNECT " + b"\xaa" * 64 + b".example:443 HTTP/1.1\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400"), out
        assert looked_up == []
    finally:
        proxy.close()
