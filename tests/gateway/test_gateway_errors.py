"""Bad input and bad upstreams: an API-shaped error, a ledger record, no crash."""

from __future__ import annotations

import json
import socket
import time

import pytest
from gwsupport import RunningGateway, make_config, sse_events, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.config import Limits


def _still_serving(g: RunningGateway) -> None:
    assert g.request("GET", "/healthz")[0] == 200


@pytest.mark.parametrize("raw,needle", [
    (b'{"model": "m", "messages": [', "not valid JSON"),
    (b'{"model": "m", "messages": [{"role":"user","content":"\xff\xfe"}]}', "not valid UTF-8"),
])
def test_malformed_bodies(gw: RunningGateway, fake: FakeUpstream, raw: bytes, needle: str) -> None:
    st, _, out = gw.request("POST", "/v1/messages", raw=raw)
    err = json.loads(out)
    assert st == 400 and err["type"] == "error"
    assert err["error"]["type"] == "invalid_request_error"
    assert err["error"]["message"].startswith("stockade:") and needle in err["error"]["message"]
    assert fake.posts() == []
    assert gw.events()[-1]["decision"] == "reject"
    _still_serving(gw)


def test_body_over_limit_is_refused_before_reading_it(fake: FakeUpstream) -> None:
    g = start_gateway(make_config(openai=fake.url, limits=Limits(max_body_bytes=1000)))
    try:
        st, _, out = g.request("POST", "/v1/chat/completions", raw=b"x" * 5000)
        assert st == 413 and "limit of 1000 bytes" in json.loads(out)["error"]["message"]
        assert g.events()[-1]["details"]["status"] == 413
        _still_serving(g)
    finally:
        g.stop()


def test_unknown_path_and_wrong_method(gw: RunningGateway) -> None:
    st, _, out = gw.request("POST", "/v1/embeddings", {"input": "x"})
    assert st == 404 and json.loads(out)["error"]["message"].startswith("stockade: no such")
    st, _, out = gw.request("GET", "/v1/messages", headers={"anthropic-version": "2023-06-01"})
    assert st == 405 and json.loads(out)["type"] == "error"
    assert [e["details"]["status"] for e in gw.events()[-2:]] == [404, 405]


def test_upstream_down() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    g = start_gateway(make_config(anthropic=f"http://127.0.0.1:{port}"))
    try:
        st, _, out = g.request("POST", "/v1/messages", {"model": "m", "messages": []})
        err = json.loads(out)["error"]
        assert st == 502 and "upstream 'anthropic'" in err["message"]
        assert "could not connect" in err["message"]
        ev = g.events("llm.response")[-1]
        assert ev["details"]["upstream_error"] == "connect"
        _still_serving(g)
    finally:
        g.stop()


def test_upstream_slow_times_out(fake: FakeUpstream) -> None:
    fake.delay_s = 2
    g = start_gateway(make_config(openai=fake.url, limits=Limits(first_byte_timeout_s=0.3)))
    try:
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": []})
        assert st == 504 and "sent nothing" in json.loads(out)["error"]["message"]
        assert g.events("llm.response")[-1]["details"]["upstream_error"] == "timeout"
    finally:
        g.stop()


def test_upstream_stalls_mid_stream(fake: FakeUpstream) -> None:
    fake.stall_after_start = 2
    g = start_gateway(make_config(anthropic=fake.url, limits=Limits(idle_timeout_s=0.3)))
    try:
        st, _, out = g.request("POST", "/v1/messages", {"model": "m", "stream": True,
                                                         "tools": [{"name": "t"}],
                                                         "messages": []})
        assert st == 200  # the stream had started; the error arrives as an event
        evs = sse_events(out)
        assert evs[0][0] == "message_start"
        assert evs[-1][0] == "error" and evs[-1][1]["error"]["message"].startswith("stockade:")
        assert g.events("llm.response")[-1]["decision"] == "upstream_timeout"
    finally:
        g.stop()


def test_client_disconnect_mid_stream(gw: RunningGateway, fake: FakeUpstream) -> None:
    fake.script = [{"text": "abcdefghijklmnop"}]
    fake.fragment = 1
    fake.event_gap_s = 0.05
    s = socket.create_connection((gw.host, gw.port))
    body = json.dumps({"model": "m", "stream": True, "messages": []}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body))
    s.settimeout(5)
    got = b""
    while b"chat.completion.chunk" not in got:
        got += s.recv(65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # RST
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        resp = gw.events("llm.response")
        if resp and resp[-1]["decision"] == "client_disconnected":
            break
        time.sleep(0.05)
    assert gw.events("llm.response")[-1]["decision"] == "client_disconnected"
    fake.event_gap_s = 0
    _still_serving(gw)
    st, _, _ = gw.request("POST", "/v1/chat/completions", {"model": "m", "messages": []})
    assert st == 200


def test_garbage_request_line(gw: RunningGateway) -> None:
    s = socket.create_connection((gw.host, gw.port))
    s.sendall(b"NONSENSE\r\n\r\n")
    s.settimeout(5)
    assert s.recv(4096).startswith(b"HTTP/1.1 400")
    s.close()
    _still_serving(gw)


def test_a_compressed_request_body_is_refused(blocking, fake) -> None:  # type: ignore[no-untyped-def]
    # inspected must be what the vendor reads: a body the vendor might
    # decompress (or a plain one labelled gzip) has two readings
    import gzip
    import json as _json

    body = _json.dumps({"model": "m", "max_tokens": 5,
                        "messages": [{"role": "user", "content": "hi"}]}).encode()
    for raw, coding in ((gzip.compress(body), [("content-encoding", "gzip")]),
                        (body, [("content-encoding", "gzip")]),
                        (body, [("content-encoding", "identity"), ("content-encoding", "gzip")]),
                        (body, [("content-encoding", "identity, gzip")])):
        st, _, out = blocking.request("POST", "/v1/messages", raw=raw, headers=coding)
        assert st == 415, out
        assert _json.loads(out)["error"]["message"].startswith("stockade: a request body with "
                                                                "Content-Encoding 'gzip'")
    assert not fake.posts()
