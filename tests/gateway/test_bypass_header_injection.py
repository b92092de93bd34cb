"""Bypass: header values with bare LF/CR/NUL, invalid header names and control
characters in the request target were accepted and forwarded, so a client could
add headers (or a second request) on a pooled upstream connection."""

from __future__ import annotations

import json
import socket

import pytest
from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream


def _send(gw: RunningGateway, head: bytes, body: bytes) -> bytes:
    s = socket.create_connection((gw.host, gw.port))
    line, _, rest = head.partition(b"\r\n")
    s.sendall(line + b"\r\nContent-Length: %d\r\n" % len(body) + rest + b"\r\n" + body)
    s.settimeout(5)
    got = b""
    try:
        while b"\r\n\r\n" not in got:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    return got


@pytest.mark.parametrize("head", [
    pytest.param(b"X-Note: a\nX-Injected: {v}\r\n", id="bare-lf-in-value"),
    pytest.param(b"X-Note: a\rX-Injected: {v}\r\n", id="bare-cr-in-value"),
    pytest.param(b"X-Note: a\x00{v}\r\n", id="nul-in-value"),
    pytest.param(b"X Injected: {v}\r\n", id="space-in-name"),
    pytest.param(b"X(Injected): {v}\r\n", id="separator-in-name"),
    pytest.param(b"X-Inj\xc3\xa9cted: {v}\r\n", id="non-ascii-name"),
    pytest.param(b"Content-Length: 2\r\n", id="conflicting-content-length"),
])
def test_malformed_headers_are_refused(blocking: RunningGateway, fake: FakeUpstream,
                                       head: bytes) -> None:
    value = fake_secret()
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    got = _send(blocking, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                + head.replace(b"{v}", value.encode()), body)
    assert got.startswith(b"HTTP/1.1 400"), got[:200]
    assert fake.requests == []
    assert value.encode() not in got
    ev = blocking.events("llm.request")[-1]
    assert ev["decision"] == "reject" and ev["details"]["status"] == 400
    assert value not in json.dumps(blocking.ledger.events)


@pytest.mark.parametrize("target", [
    pytest.param(b"/v1/chat/completions?a=\tX-Injected:{v}", id="tab-in-target"),
    pytest.param(b"/v1/chat/completions?a=\x7f{v}", id="del-in-target"),
    pytest.param(b"/v1/chat/completions?a=\x01{v}", id="ctl-in-target"),
])
def test_control_characters_in_the_request_target_are_refused(
        blocking: RunningGateway, fake: FakeUpstream, target: bytes) -> None:
    value = fake_secret()
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    got = _send(blocking, b"POST " + target.replace(b"{v}", value.encode())
                + b" HTTP/1.1\r\nHost: x\r\n", body)
    assert got.startswith(b"HTTP/1.1 400"), got[:200]
    assert fake.requests == []
    assert blocking.events("llm.request")[-1]["decision"] == "reject"  # refused by stockade
