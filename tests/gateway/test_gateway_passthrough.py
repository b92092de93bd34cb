"""A clean request goes through untouched; streams are relayed as they come."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from gwsupport import RunningGateway, sse_events

from fakes.upstream import FakeUpstream

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "agents" / "examples"


def test_clean_request_bytes_and_headers_reach_upstream_unchanged(
        gw: RunningGateway, fake: FakeUpstream) -> None:
    body = json.dumps({"model": "claude-x", "max_tokens": 10, "stream": False,
                       "messages": [{"role": "user", "content": "hello"}]}, indent=1).encode()
    st, h, out = gw.request("POST", "/v1/messages?beta=true", raw=body, headers={
        "x-api-key": "sk-ant-personal", "anthropic-beta": "claude-code-20250219",
        "anthropic-version": "2023-06-01", "X-Claude-Code-Session-Id": "s-1"})
    assert st == 200 and json.loads(out)["content"][0]["text"] == "OK"
    seen = fake.posts()[-1]
    assert seen["raw"] == body  # not re-serialised
    assert seen["path"] == "/v1/messages?beta=true"
    assert seen["headers"]["x-api-key"] == "sk-ant-personal"  # personal mode: passes through
    assert seen["headers"]["anthropic-beta"] == "claude-code-20250219"
    assert "x-stockade-event" in h
    req_ev, resp_ev = gw.events()[-2:]
    assert req_ev["kind"] == "llm.request" and req_ev["decision"] == "allow"
    assert req_ev["session"] == "s-1"
    assert resp_ev["details"]["usage"]["output_tokens"] == 20
    assert "sk-ant-personal" not in json.dumps(gw.events())  # credentials never logged


def test_captured_claude_code_turn_is_forwarded_byte_identical(
        gw: RunningGateway, fake: FakeUpstream) -> None:
    p = EXAMPLES / "claude_request_turn2.json"
    if not p.exists():
        pytest.skip("captured requests not available")
    cap = json.loads(p.read_text())
    raw = json.dumps(cap["body"]).encode()
    st, h, out = gw.request("POST", cap["path"], raw=raw, headers={"x-api-key": "k"})
    assert st == 200 and h["content-type"].startswith("text/event-stream")
    assert fake.posts()[-1]["raw"] == raw
    names = [e for e, _ in sse_events(out)]
    assert names[0] == "message_start" and names[-1] == "message_stop"


@pytest.mark.parametrize("path,body", [
    ("/v1/chat/completions", {"model": "m", "stream": True,
                              "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/responses", {"model": "m", "stream": True, "input": "hi"}),
    ("/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
    ("/v1/responses", {"model": "m", "input": "hi"}),
    ("/v1/messages/count_tokens", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
])
def test_openai_and_count_tokens_paths(gw: RunningGateway, fake: FakeUpstream, path: str,
                                       body: dict) -> None:
    st, h, out = gw.request("POST", path, body, headers={"authorization": "Bearer sk-x"})
    assert st == 200
    if body.get("stream"):
        evs = sse_events(out)
        assert evs and (evs[-1][1] == "[DONE]" or evs[-1][0] == "response.completed")
    # OpenAI base ends in /v1: the path must not be doubled
    assert fake.posts()[-1]["path"] == path
    assert fake.posts()[-1]["headers"]["authorization"] == "Bearer sk-x"


def test_service_endpoints(gw: RunningGateway) -> None:
    assert gw.request("HEAD", "/")[0] == 200
    assert gw.request("GET", "/")[0] == 200
    st, _, out = gw.request("GET", "/healthz")
    assert st == 200 and json.loads(out)["status"] == "ok"
    st, _, out = gw.request("GET", "/v1/models", headers={"authorization": "Bearer x"})
    assert st == 200 and json.loads(out)["data"][0]["id"] == "fake-model"
    gw.request("POST", "/v1/chat/completions", {"model": "m", "messages": []})
    st, h, out = gw.request("GET", "/metrics")
    text = out.decode()
    assert st == 200 and h["content-type"].startswith("text/plain")
    assert 'stockade_gateway_requests_total{protocol="chat",decision="allow"} 1' in text


def test_stream_is_relayed_before_upstream_finishes(gw: RunningGateway,
                                                    fake: FakeUpstream) -> None:
    """Time to first token: the first event reaches the client while the
    upstream is still producing the rest."""
    fake.script = [{"text": "abcdefghij"}]
    fake.fragment = 1
    fake.event_gap_s = 0.2
    s = socket.create_connection((gw.host, gw.port))
    body = json.dumps({"model": "m", "stream": True,
                       "messages": [{"role": "user", "content": "x"}]}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    s.settimeout(5)
    got = b""
    while b"chat.completion.chunk" not in got:
        got += s.recv(65536)
    # the upstream needs >= 12 gaps for the whole answer; we already have data
    assert b"[DONE]" not in got
    s.close()
    time.sleep(0.1)


def test_keep_alive_serves_several_requests_on_one_connection(gw: RunningGateway) -> None:
    import http.client
    conn = http.client.HTTPConnection(gw.host, gw.port, timeout=5)
    for _ in range(3):
        conn.request("POST", "/v1/chat/completions", body=json.dumps(
            {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}))
        r = conn.getresponse()
        assert r.status == 200 and b"[DONE]" in r.read()
    conn.close()


@pytest.mark.parametrize("name,path", [
    ("claude_request_turn1.json", "/v1/messages?beta=true"),
    ("claude_request_turn2.json", "/v1/messages?beta=true"),
    ("claude_request_title_sidecall.json", "/v1/messages?beta=true"),
    ("codex_request_turn1.json", "/v1/responses"),
])
def test_real_agent_requests_pass_untouched_with_the_real_dlp_engine(
        fake: FakeUpstream, name: str, path: str) -> None:
    """Vendor e-mails and example keys in the agents' own prompts are allowlisted,
    not acted on: the default policy forwards these byte for byte."""
    p = EXAMPLES / name
    if not p.exists():
        pytest.skip("captured requests not available")
    from stockade.gateway.deps import dlp_scanner
    from gwsupport import make_config, start_gateway

    scanner, _ = dlp_scanner(None)
    g = start_gateway(make_config(anthropic=fake.url, openai=fake.url), scanner=scanner)
    try:
        raw = json.dumps(json.loads(p.read_text())["body"]).encode()
        st, _, _ = g.request("POST", path, raw=raw)
        assert st == 200
        assert fake.posts()[-1]["raw"] == raw
        assert g.events("llm.request")[-1]["decision"] == "allow"
    finally:
        g.stop()
