"""Requests the gateway refuses and upstream answers it cannot process: always an
answer in the client's API shape and a ledger record, never a dropped connection."""

from __future__ import annotations

import json

import pytest
from gwsupport import RunningGateway, make_config, sse_events, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.keys import KeyStore
from stockade.state import StateDir


def test_absurd_nesting_is_a_recorded_400(gw: RunningGateway, fake: FakeUpstream) -> None:
    raw = b'{"model":"m","messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    st, _, out = gw.request("POST", "/v1/chat/completions", raw=raw)
    assert st == 400 and "nests deeper" in json.loads(out)["error"]["message"]
    assert fake.posts() == []
    assert gw.events()[-1]["decision"] == "reject"
    assert gw.request("GET", "/healthz")[0] == 200


def test_corrupt_key_file_is_a_recorded_500(fake: FakeUpstream, state: StateDir) -> None:
    (state.root / "gateway-keys.json").write_text("{not json")
    g = start_gateway(make_config(anthropic=fake.url), env={"ANTHROPIC_API_KEY": "v"},
                      keystore=KeyStore(state))
    try:
        st, _, out = g.request("POST", "/v1/messages", {"model": "m", "messages": []},
                               headers={"x-api-key": "stk_abcdefgh_" + "a" * 43})
        assert st == 500 and "checking the caller's key" in json.loads(out)["error"]["message"]
        assert fake.posts() == []
        assert g.events()[-1]["decision"] == "error"
    finally:
        g.stop()


_ODD_BODIES = [
    ("/v1/messages", {"id": "m", "type": "message", "content": 5, "stop_reason": {"x": 1}}),
    ("/v1/chat/completions", {"choices": [{"index": {}, "message": ["x"],
                                           "finish_reason": ["stop"]}]}),
    ("/v1/responses", {"status": [], "output": [7, {"content": 5}]}),
]


@pytest.mark.parametrize("path,odd", _ODD_BODIES)
def test_odd_upstream_json_is_relayed_untouched(gw: RunningGateway, fake: FakeUpstream,
                                                path: str, odd: dict) -> None:
    data = json.dumps(odd).encode()
    fake.canned = (200, "application/json", data)
    st, _, out = gw.request("POST", path, {"model": "m", "messages": []})
    assert st == 200 and out == data
    assert gw.events("llm.response")[-1]["decision"] == "ok"


_ODD_STREAMS = [
    ("/v1/messages", ['{"type":"message_start","message":[]}',
                      '{"type":"content_block_delta","index":{},"delta":"x"}',
                      '{"type":"content_block_delta","index":[1],"delta":{"text":"hi"}}',
                      '{"type":"message_delta","delta":[],"usage":1}']),
    ("/v1/chat/completions", ['{"choices":{"a":1}}', '{"choices":[{"index":[],"delta":[]}]}',
                              '{"choices":[{"delta":{"content":"hi","tool_calls":5}}]}',
                              "[DONE]"]),
    ("/v1/responses", ['{"type":"response.output_text.delta","item_id":{},"delta":"hi"}',
                       '{"type":"response.output_text.done","item_id":{}}',
                       '{"type":"response.completed","response":[]}']),
]


@pytest.mark.parametrize("restoring", [False, True])
@pytest.mark.parametrize("path,events", _ODD_STREAMS)
def test_odd_upstream_stream_events_do_not_break_the_relay(
        gw: RunningGateway, fake: FakeUpstream, path: str, events: list[str],
        restoring: bool) -> None:
    fake.canned = (200, "text/event-stream", b"".join(b"data: %s\n\n" % e.encode()
                                                      for e in events))
    text = "mail bob@customer.test" if restoring else "hi"  # pii: redact => a vault
    st, _, out = gw.request("POST", path, {"model": "m", "stream": True, "messages": [
        {"role": "user", "content": text}], "input": text})
    assert st == 200 and len(sse_events(out)) == len(events)
    assert gw.events("llm.response")[-1]["decision"] == "ok"


def test_unprocessable_upstream_json_is_a_recorded_502(gw: RunningGateway,
                                                       fake: FakeUpstream) -> None:
    fake.canned = (200, "application/json", b"[" * 100_000 + b"]" * 100_000)
    st, _, out = gw.request("POST", "/v1/messages", {"model": "m", "messages": []})
    assert st == 502 and json.loads(out)["error"]["message"].startswith("stockade: could not")
    assert gw.events("llm.response")[-1]["decision"] == "relay_error"
    assert gw.request("GET", "/healthz")[0] == 200


@pytest.mark.parametrize("path,error_event", [
    ("/v1/messages", "error"), ("/v1/chat/completions", None), ("/v1/responses", "error")])
def test_unprocessable_stream_event_ends_the_stream_with_an_error_event(
        gw: RunningGateway, fake: FakeUpstream, path: str, error_event: str | None) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    fake.canned = (200, "text/event-stream",
                   b'data: {"type":"ping"}\n\ndata: ' + deep + b"\n\ndata: {}\n\n")
    st, _, out = gw.request("POST", path, {"model": "m", "stream": True, "messages": [
        {"role": "user", "content": "hi"}]})
    assert st == 200
    name, last = sse_events(out.rsplit(b"\n\n", 2)[-2] + b"\n\n")[-1]  # the final event
    assert name == error_event
    err = last["error"]["message"] if "error" in last else last["message"]
    assert err.startswith("stockade: could not process the stream")
    assert gw.events("llm.response")[-1]["decision"] == "relay_error"
    assert gw.request("GET", "/healthz")[0] == 200


def test_unreadable_upstream_response_head_is_a_recorded_502() -> None:
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def answer() -> None:
        conn, _ = srv.accept()
        conn.recv(1 << 20)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n{}")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    g = start_gateway(make_config(openai=f"http://127.0.0.1:{srv.getsockname()[1]}"))
    try:
        st, _, _ = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": []})
        assert st == 502
        assert g.events("llm.response")[-1]["details"]["upstream_error"] == "protocol"
    finally:
        g.stop()
        srv.close()
