"""Routing to a self-hosted (Chat Completions) upstream through the real gateway:
translation on the wire, data kept in-house, fallbacks, errors, the ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from gwsupport import (
    FakeUpstream,
    RunningGateway,
    fake_aws_key,
    make_config,
    sse_events,
    start_gateway,
)

from stockade.config.model import Route
from stockade.gateway.config import GatewayConfig, Limits, Upstream

EVERYTHING_LOCAL = (Route(upstream="local"),)


@pytest.fixture
def vendor() -> Iterator[FakeUpstream]:
    with FakeUpstream([{"text": "from the vendor"}]) as up:
        yield up


@pytest.fixture
def local() -> Iterator[FakeUpstream]:
    with FakeUpstream([{"text": "from the local model"}]) as up:
        yield up


def _msg(text: str, *, stream: bool = True) -> dict[str, Any]:
    return {"model": "claude-opus-4-8", "max_tokens": 100, "stream": stream,
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": text}]}


def _text(events: list[tuple[str | None, Any]]) -> str:
    return "".join(d["delta"].get("text", "") for e, d in events if e == "content_block_delta")


def _gw(cfg: GatewayConfig) -> RunningGateway:
    return start_gateway(cfg)


def _dead_port() -> int:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return int(port)


@pytest.mark.parametrize("how", ["dlp-action", "policy-route", "cli-route"])
def test_secret_under_a_local_route_never_reaches_the_vendor(
        vendor: FakeUpstream, local: FakeUpstream, how: str) -> None:
    actions = {"secret": "route:local", "pii": "redact"} if how == "dlp-action" else \
        {"secret": "allow", "pii": "redact"}
    routes = (Route(upstream="local", label="secret"),)
    kw: dict[str, Any] = {"routes": routes} if how == "policy-route" else \
        {"cli_routes": routes} if how == "cli-route" else {}
    g = _gw(make_config(anthropic=vendor.url, local=local.url, actions=actions, **kw))
    key = fake_aws_key()
    try:
        st, _, out = g.request("POST", "/v1/messages?beta=true", _msg(f"deploy with {key}"))
        assert st == 200
        assert _text(sse_events(out)) == "from the local model"
        assert vendor.posts() == []  # the vendor never saw anything
        (post,) = local.posts()
        assert post["path"] == "/v1/chat/completions" and key in post["raw"].decode()
        # a clean request still goes to the vendor
        st, _, out = g.request("POST", "/v1/messages", _msg("hello"))
        assert _text(sse_events(out)) == "from the vendor"
        ev = g.events("llm.request")[0]
        assert ev["details"]["upstream"] == "local"
        assert ev["details"]["route_why"]["label"] == "secret"
        assert ev["details"]["route_why"]["pinned"] is True
        assert key not in json.dumps(g.events())
    finally:
        g.stop()


def test_redacted_values_are_restored_after_translation(vendor: FakeUpstream,
                                                        local: FakeUpstream) -> None:
    local.script = [{"text": "You wrote: $LAST"}]
    local.fragment = 3  # the placeholder arrives split over several chunks
    g = _gw(make_config(anthropic=vendor.url, local=local.url, routes=EVERYTHING_LOCAL))
    try:
        st, _, out = g.request("POST", "/v1/messages", _msg("mail ana.lima@customer.test now"),
                               headers={"x-claude-code-session-id": "s1"})
        assert st == 200
        assert _text(sse_events(out)) == "You wrote: mail ana.lima@customer.test now"
        seen = local.posts()[0]["raw"].decode()
        assert "ana.lima@customer.test" not in seen and "STOCKADE_REDACTED_PII" in seen
    finally:
        g.stop()


def test_non_streamed_messages_and_responses(vendor: FakeUpstream, local: FakeUpstream) -> None:
    local.script = [{"tool_call": {"name": "Bash", "arguments": {"command": "ls"}},
                     "text": "Looking."}]
    g = _gw(make_config(anthropic=vendor.url, openai=vendor.url, local=local.url,
                        routes=EVERYTHING_LOCAL))
    try:
        st, h, out = g.request("POST", "/v1/messages", _msg("list", stream=False))
        msg = json.loads(out)
        assert st == 200 and h["content-type"] == "application/json"
        assert msg["type"] == "message" and msg["model"] == "claude-opus-4-8"
        assert [b["type"] for b in msg["content"]] == ["text", "tool_use"]
        assert msg["content"][1]["input"] == {"command": "ls"} and msg["stop_reason"] == "tool_use"
        st, _, out = g.request("POST", "/v1/responses", {"model": "gpt-5-codex", "input": "list"})
        resp = json.loads(out)
        assert resp["object"] == "response" and resp["output"][1]["type"] == "function_call"
        assert {p["path"] for p in local.posts()} == {"/v1/chat/completions"}
        assert vendor.posts() == []
    finally:
        g.stop()


def test_upstream_down_gets_an_api_shaped_error_naming_it(vendor: FakeUpstream) -> None:
    g = _gw(make_config(anthropic=vendor.url, local=f"http://127.0.0.1:{_dead_port()}",
                        routes=EVERYTHING_LOCAL))
    try:
        st, _, out = g.request("POST", "/v1/messages", _msg("hi"))
        err = json.loads(out)
        assert st == 502 and err["type"] == "error"
        assert err["error"]["message"].startswith("stockade: upstream 'local' failed")
        assert vendor.posts() == []
        assert g.events("llm.response")[-1]["details"]["upstream_error"] == "connect"
    finally:
        g.stop()


def _fallback_cfg(vendor: FakeUpstream, cloud: FakeUpstream, **kw: Any) -> GatewayConfig:
    ups = {"anthropic": Upstream(name="anthropic", url=vendor.url, protocol="anthropic"),
           "local": Upstream(name="local", url=f"http://127.0.0.1:{_dead_port()}/v1",
                             protocol="chat", fallback=("cloud",)),
           "cloud": Upstream(name="cloud", url=cloud.url + "/v1", protocol="chat",
                             models=(("claude-*", "big-model"),))}
    return GatewayConfig(upstreams=ups, limits=Limits(first_byte_timeout_s=5), **kw)


def test_a_down_upstream_falls_back_in_order(vendor: FakeUpstream, local: FakeUpstream) -> None:
    g = _gw(_fallback_cfg(vendor, local, routes=EVERYTHING_LOCAL))
    try:
        st, _, out = g.request("POST", "/v1/messages", _msg("hi"))
        assert st == 200 and _text(sse_events(out)) == "from the local model"
        assert local.posts()[0]["body"]["model"] == "big-model"  # the fallback's own mapping
        ev = g.events("llm.response")[-1]["details"]
        assert ev["upstream"] == "cloud"
        assert ev["fallback_from"] == [{"upstream": "local", "error": "connect"}]
    finally:
        g.stop()


def test_data_kept_in_house_never_falls_back(vendor: FakeUpstream, local: FakeUpstream) -> None:
    g = _gw(_fallback_cfg(vendor, local, routes=(Route(upstream="local", label="secret"),),
                          actions={"secret": "allow", "pii": "redact"}))
    key = fake_aws_key()
    try:
        st, _, out = g.request("POST", "/v1/messages", _msg(f"key {key}"))
        assert st == 502 and "upstream 'local' failed" in json.loads(out)["error"]["message"]
        assert local.posts() == [] and vendor.posts() == []
    finally:
        g.stop()


def test_malformed_upstream_chunk_ends_the_stream_with_an_error_event(
        vendor: FakeUpstream, local: FakeUpstream) -> None:
    local.canned = (200, "text/event-stream",
                    (b'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
                     b"data: {this is not json\n\n"))
    g = _gw(make_config(anthropic=vendor.url, local=local.url, routes=EVERYTHING_LOCAL))
    try:
        st, _, out = g.request("POST", "/v1/messages", _msg("hi"))
        events = sse_events(out)
        assert st == 200 and _text(events) == "par"
        assert [e for e, _ in events][-2:] == ["content_block_stop", "error"]
        assert "upstream 'local' sent a stream chunk that is not JSON" in \
            events[-1][1]["error"]["message"]
        local.canned = None
        st, _, out = g.request("POST", "/v1/messages", _msg("again"))  # still serving
        assert st == 200 and _text(sse_events(out)) == "from the local model"
    finally:
        g.stop()


def test_upstream_error_status_is_translated(vendor: FakeUpstream, local: FakeUpstream) -> None:
    local.canned = (400, "application/json",
                    (b'{"error":{"message":"maximum context length is 4096 tokens",'
                     b'"type":"BadRequestError"}}'))
    g = _gw(make_config(anthropic=vendor.url, openai=vendor.url, local=local.url,
                        routes=EVERYTHING_LOCAL))
    try:
        st, _, out = g.request("POST", "/v1/messages", _msg("hi"))
        assert st == 400
        assert json.loads(out)["error"] == {
            "type": "invalid_request_error",
            "message": "upstream 'local': maximum context length is 4096 tokens"}
        st, _, out = g.request("POST", "/v1/responses", {"model": "m", "input": "hi"})
        assert st == 400 and json.loads(out)["error"]["message"].startswith("upstream 'local'")
    finally:
        g.stop()


def test_count_tokens_is_estimated_without_asking_the_upstream(
        vendor: FakeUpstream, local: FakeUpstream) -> None:
    g = _gw(make_config(anthropic=vendor.url, local=local.url, routes=EVERYTHING_LOCAL))
    try:
        st, _, out = g.request("POST", "/v1/messages/count_tokens",
                               {"model": "claude-opus-4-8",
                                "messages": [{"role": "user", "content": "x" * 4000}]})
        assert st == 200 and 1000 <= json.loads(out)["input_tokens"] <= 1100
        assert local.posts() == [] and vendor.posts() == []
        assert g.events("llm.response")[-1]["decision"] == "answered_locally"
    finally:
        g.stop()


def test_models_lists_what_the_agent_should_see(vendor: FakeUpstream, local: FakeUpstream) -> None:
    ups = {"anthropic": Upstream(name="anthropic", url=vendor.url, protocol="anthropic"),
           "local": Upstream(name="local", url=local.url + "/v1", protocol="chat",
                             models=(("claude-opus-4-8", "qwen"), ("claude-*", "qwen")))}
    g = _gw(GatewayConfig(upstreams=ups, routes=EVERYTHING_LOCAL))
    try:
        st, _, out = g.request("GET", "/v1/models", headers={"anthropic-version": "2023-06-01"})
        body = json.loads(out)
        assert st == 200 and [m["id"] for m in body["data"]] == ["claude-opus-4-8", "fake-model"]
        assert body["data"][0]["type"] == "model" and body["has_more"] is False
    finally:
        g.stop()


def test_workspace_routes_use_the_gateways_own_workspace_first(
        vendor: FakeUpstream, local: FakeUpstream) -> None:
    routes = (Route(upstream="local", repository="*/payments-*"),)
    header = {"x-stockade-workspace": "/src/payments-api"}
    g = _gw(make_config(anthropic=vendor.url, local=local.url, routes=routes))
    try:  # no workspace of its own: the client's header counts
        g.request("POST", "/v1/messages", _msg("a"), headers=header)
        g.request("POST", "/v1/messages", _msg("b"))
        assert len(local.posts()) == 1 and len(vendor.posts()) == 1
    finally:
        g.stop()
    g = _gw(make_config(anthropic=vendor.url, local=local.url, routes=routes,
                        workspace="/src/web-shop"))
    try:  # a per-session gateway: the header cannot move the work elsewhere
        g.request("POST", "/v1/messages", _msg("c"), headers=header)
        assert len(local.posts()) == 1 and len(vendor.posts()) == 2
        assert g.events("llm.request")[-1]["details"]["route_why"]["repository"] == \
            "/src/web-shop"
    finally:
        g.stop()


def test_openai_client_to_an_anthropic_only_upstream_is_refused(vendor: FakeUpstream) -> None:
    g = _gw(make_config(anthropic=vendor.url, openai=vendor.url,
                        routes=(Route(upstream="anthropic"),)))
    try:
        st, _, out = g.request("POST", "/v1/chat/completions", {
            "model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert st == 400 and "cannot be translated" in json.loads(out)["error"]["message"]
        assert vendor.posts() == []
    finally:
        g.stop()


def test_healthz_upstreams_reports_which_upstream_is_down(vendor: FakeUpstream) -> None:
    g = _gw(make_config(anthropic=vendor.url, local=f"http://127.0.0.1:{_dead_port()}"))
    try:
        st, _, out = g.request("GET", "/healthz?upstreams")
        body = json.loads(out)
        assert st == 503 and body["status"] == "degraded"
        assert body["upstreams"]["anthropic"] == {"protocol": "anthropic", "reachable": True}
        assert body["upstreams"]["local"]["reachable"] is False
        assert "could not connect to 127.0.0.1:" in body["upstreams"]["local"]["error"]
        st, _, out = g.request("GET", "/healthz")  # the plain check stays cheap and 200
        assert st == 200
    finally:
        g.stop()
