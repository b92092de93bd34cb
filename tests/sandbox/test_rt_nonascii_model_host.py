"""Bypass class: a model API named with characters IDNA folds to ASCII.

``ª`` and ``º`` are letters to ``str.isalnum()`` and IDNA maps them to ``a``
and ``o``, so ``CONNECT ªpi.ºpenªi.com:443`` named api.openai.com to the
resolver while the model-host refusal compared the raw text and let it pass.
Every host is now canonical (ASCII, IDNA) before any check, record or lookup.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from stockade.sandbox.hosts import canonical_host, is_model_host
from stockade.sandbox.proxy import EgressEvent, EgressProxy, ProxyConfig, parse_request

SPOOFED = b"\xaapi.\xbapen\xaai.com"  # latin-1 on the wire: "ªpi.ºpenªi.com"


def test_spoofed_name_is_parsed_as_the_ascii_host_it_resolves_to() -> None:
    for line in (b"CONNECT " + SPOOFED + b":443 HTTP/1.1",
                 b"GET http://" + SPOOFED + b"/v1/models HTTP/1.1"):
        req = parse_request(line + b"\r\n\r\n")
        assert not isinstance(req, str), req
        assert req.host == "api.openai.com"
    assert is_model_host(SPOOFED.decode("latin-1"))
    assert canonical_host("API.OpenAI.com.") == "api.openai.com"


@pytest.mark.parametrize("bad", [b"\xaa" * 64 + b".example", b"ex\xa0ample.com"])
def test_names_without_a_canonical_form_are_refused(bad: bytes) -> None:
    assert isinstance(parse_request(b"CONNECT " + bad + b":443 HTTP/1.1\r\n\r\n"), str)


def test_allow_check_and_resolver_see_only_the_ascii_name(tmp_path: Path) -> None:
    asked: list[str] = []
    resolved: list[str] = []
    events: list[EgressEvent] = []

    def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        raise OSError("no network in this test")

    proxy = EgressProxy(ProxyConfig(allow=lambda h, p: asked.append(h) is None,
                                    resolve=resolve, on_event=events.append))
    path = str(tmp_path / "p.sock")
    proxy.serve_unix(path)
    try:
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(5)
        c.connect(path)
        c.sendall(b"CONNECT " + SPOOFED + b":443 HTTP/1.1\r\n\r\n")
        assert c.recv(1000).startswith(b"HTTP/1.1 502")  # the event is out before the reply
        c.close()
    finally:
        proxy.close()
    assert asked == ["api.openai.com"] and resolved == ["api.openai.com"]
    assert [e.host for e in events] == ["api.openai.com"]


@pytest.mark.e2e
def test_spoofed_model_host_is_refused_in_the_sandbox_even_when_observing(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    script = """import socket
s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
s.sendall(b"CONNECT \\xaapi.\\xbapen\\xaai.com:443 HTTP/1.1\\r\\n\\r\\n")
print(s.recv(4096).decode("latin-1"))
"""
    r = stockade("run", "--observe", "--", "python3", "-c", script, cwd=ws)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("HTTP/1.1 403"), r.stdout
    assert "api.openai.com is a model API" in r.stdout
    export = stockade("ledger", "export", cwd=ws)
    denied = [json.loads(x) for x in export.stdout.splitlines() if '"net.deny"' in x]
    assert [e["details"]["host"] for e in denied] == ["api.openai.com"], export.stdout
