"""Redact, restore, block, route, fail closed: what the vendor and the agent see."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from gwsupport import RunningGateway, fake_aws_key, make_config, sse_events, start_gateway

from fakes.upstream import FakeUpstream


def _claude_turn(text: str, *, stream: bool = True) -> dict:
    return {"model": "claude-x", "max_tokens": 100, "stream": stream, "tools": [
        {"name": "Write", "description": "write a file", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "read .env"},
                     {"role": "assistant", "content": [{"type": "tool_use", "id": "t1",
                                                        "name": "Read", "input": {"p": ".env"}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                                   "content": text}]}]}


@pytest.mark.parametrize("stream", [True, False])
def test_secret_from_a_file_is_redacted_upstream_and_restored_in_tool_input(
        gw: RunningGateway, fake: FakeUpstream, stream: bool) -> None:
    key = fake_aws_key()
    fake.script = [{"text": "x"},
                   {"text": "Writing it back.", "tool_use": {"name": "Write", "input": {
                       "file_path": "copy.env", "content": "$LAST"}}}]
    fake.fragment = 5  # split placeholders across deltas
    st, _, out = gw.request("POST", "/v1/messages", _claude_turn(f"AWS_KEY={key}\n", stream=stream),
                            headers={"x-claude-code-session-id": "sess-r"})
    assert st == 200
    upstream_raw = fake.posts()[-1]["raw"].decode()
    assert key not in upstream_raw and "STOCKADE_REDACTED_SECRET" in upstream_raw
    if stream:
        evs = sse_events(out)
        pj = "".join(o["delta"]["partial_json"] for _, o in evs
                     if o.get("type") == "content_block_delta"
                     and o["delta"]["type"] == "input_json_delta")
        tool_input = json.loads(pj)
    else:
        tool_input = next(b for b in json.loads(out)["content"] if b["type"] == "tool_use")["input"]
    assert tool_input["content"] == f"AWS_KEY={key}\n"
    req_ev = gw.events("llm.request")[-1]
    assert req_ev["decision"] == "redact"
    [finding] = req_ev["details"]["findings"]
    assert finding["location"] == "$.messages[2].content[0].content"
    assert finding["kind"] == "tool_result"
    assert finding["fingerprint"].startswith("hmac-sha256:")
    assert key not in json.dumps(gw.ledger.events)


def test_placeholders_are_stable_within_a_session(gw: RunningGateway,
                                                  fake: FakeUpstream) -> None:
    key = fake_aws_key()
    hdr = {"x-claude-code-session-id": "sess-stable"}
    for _ in range(2):
        gw.request("POST", "/v1/messages", _claude_turn(key, stream=False), headers=hdr)
    a, b = (p["body"]["messages"][2]["content"][0]["content"] for p in fake.posts()[-2:])
    assert a == b and key not in a


@pytest.mark.parametrize("path,body,fragment", [
    ("/v1/chat/completions", {"model": "m", "stream": True, "messages": [
        {"role": "user", "content": "x"},
        {"role": "tool", "tool_call_id": "c", "content": "K"}]}, 3),
    ("/v1/responses", {"model": "m", "stream": True, "input": [
        {"type": "function_call_output", "call_id": "c", "output": "K"}]}, 4),
])
def test_openai_tool_call_arguments_are_restored(gw: RunningGateway, fake: FakeUpstream,
                                                 path: str, body: dict, fragment: int) -> None:
    key = fake_aws_key()
    raw = json.dumps(body).replace('"K"', json.dumps(f"token {key}"))
    fake.script = [{"text": "x"}, {"tool_call": {"name": "exec_command",
                                                 "arguments": {"cmd": "echo $LAST"}}}]
    fake.fragment = fragment
    st, _, out = gw.request("POST", path, raw=raw.encode())
    assert st == 200
    assert key not in fake.posts()[-1]["raw"].decode()
    evs = sse_events(out)
    if path.endswith("completions"):
        args = "".join(tc["function"].get("arguments", "") for _, o in evs if o != "[DONE]"
                       for tc in o["choices"][0]["delta"].get("tool_calls", []))
    else:
        args = "".join(o["delta"] for n, o in evs
                       if n == "response.function_call_arguments.delta")
    assert json.loads(args) == {"cmd": f"echo token {key}"}


def test_block_shows_rule_location_and_event_but_never_the_value(
        fake: FakeUpstream) -> None:
    g = start_gateway(make_config(anthropic=fake.url,
                                  actions={"secret": "block", "pii": "redact"}))
    try:
        key = fake_aws_key()
        st, h, out = g.request("POST", "/v1/messages", _claude_turn(f"k={key}"))
        assert st == 403 and h.get("x-should-retry") == "false"
        err = json.loads(out)
        assert err["type"] == "error" and err["error"]["type"] == "permission_error"
        msg = err["error"]["message"]
        assert msg.startswith("stockade:")
        assert "aws-access-key-id" in msg and "$.messages[2].content[0].content" in msg
        ev = g.events("llm.request")[-1]
        assert f"ledger event {ev['seq']}" in msg and ev["decision"] == "block"
        assert key not in out.decode() and key not in json.dumps(g.ledger.events)
        assert fake.posts() == []  # nothing went upstream
    finally:
        g.stop()


def test_unknown_label_blocks_by_default(fake: FakeUpstream) -> None:
    g = start_gateway(make_config(openai=fake.url))
    try:
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": "customer ACME-12345678"}]})
        assert st == 403
        assert "acme-customer-id (regulated)" in json.loads(out)["error"]["message"]
    finally:
        g.stop()


@pytest.fixture
def two_openai() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    with FakeUpstream([{"text": "vendor"}]) as a, FakeUpstream([{"text": "local"}]) as b:
        yield a, b


def test_route_action_sends_labelled_request_to_the_local_upstream(
        two_openai: tuple[FakeUpstream, FakeUpstream]) -> None:
    vendor, local = two_openai
    g = start_gateway(make_config(openai=vendor.url, local=local.url,
                                  actions={"secret": "redact", "pii": "route:local"}))
    try:
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": "mail bob@customer.test"}]})
        assert st == 200 and json.loads(out)["choices"][0]["message"]["content"] == "local"
        assert vendor.posts() == [] and len(local.posts()) == 1
        ev = g.events("llm.request")[-1]
        assert ev["decision"] == "route" and ev["details"]["upstream"] == "local"
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": "clean"}]})
        assert json.loads(out)["choices"][0]["message"]["content"] == "vendor"
    finally:
        g.stop()


def test_route_across_protocol_families_is_refused_not_leaked(fake: FakeUpstream) -> None:
    # an OpenAI client routed to an Anthropic-only upstream: no translator exists
    g = start_gateway(make_config(anthropic=fake.url, openai=fake.url,
                                  actions={"secret": "redact", "pii": "route:anthropic"}))
    try:
        st, _, out = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": "mail bob@customer.test"}]})
        assert st == 400 and "cannot be translated" in json.loads(out)["error"]["message"]
        assert fake.posts() == []
    finally:
        g.stop()


def test_inspector_failure_blocks_with_5xx_and_is_recorded(gw: RunningGateway,
                                                           fake: FakeUpstream) -> None:
    st, h, out = gw.request("POST", "/v1/messages", {"model": "m", "messages": [
        {"role": "user", "content": "EXPLODE-INSPECTOR"}]})
    assert st == 500 and h.get("x-should-retry") == "false"
    err = json.loads(out)["error"]
    assert err["type"] == "api_error" and err["message"].startswith("stockade: internal error")
    assert fake.posts() == []
    assert gw.events()[-1]["decision"] == "error"


def test_ledger_failure_fails_closed(fake: FakeUpstream) -> None:
    from stockade.gateway.deps import LedgerSink

    def broken(*a: object, **k: object) -> None:
        raise OSError("disk full")

    from gwsupport import MemoryLedger
    led = MemoryLedger()
    led.sink = lambda: LedgerSink(append=broken, close=lambda: None)  # type: ignore[method-assign]
    g = start_gateway(make_config(anthropic=fake.url), ledger=led)
    try:
        st, _, out = g.request("POST", "/v1/messages", {"model": "m", "messages": [
            {"role": "user", "content": "hi"}]})
        assert st == 500 and "could not record" in out.decode()
        assert fake.posts() == []
    finally:
        g.stop()


def test_repeat_turn_hits_the_scan_cache(gw: RunningGateway) -> None:
    big = "tool description " * 2000
    body = {"model": "m", "system": big, "messages": [{"role": "user", "content": "hello there"}]}
    gw.request("POST", "/v1/messages", body)
    misses = gw.gateway.cache.misses
    body["messages"].append({"role": "user", "content": "a brand new message, long enough"})
    gw.request("POST", "/v1/messages", body)
    assert gw.gateway.cache.misses == misses + 1  # only the new message was scanned
    assert gw.gateway.cache.hits >= 1
