"""/metrics counts each request once, under its final decision, and does not file
requests to unknown paths under a model protocol."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from gwsupport import RunningGateway, make_config, start_gateway


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()  # nothing listens there now: connecting is refused at once
    return port


@pytest.fixture
def dead_upstream_gw() -> Iterator[RunningGateway]:
    g = start_gateway(make_config(openai=f"http://127.0.0.1:{_closed_port()}"))
    yield g
    g.stop()


def _request_lines(gw: RunningGateway) -> list[str]:
    st, _, out = gw.request("GET", "/metrics")
    assert st == 200
    return [ln for ln in out.decode().splitlines()
            if ln.startswith("stockade_gateway_requests_total{")]


def test_failed_upstream_request_is_counted_once_as_error(
        dead_upstream_gw: RunningGateway) -> None:
    st, _, _ = dead_upstream_gw.request(
        "POST", "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "mail ann@customer.test"}]})
    assert st >= 500
    lines = _request_lines(dead_upstream_gw)
    assert lines == ['stockade_gateway_requests_total{protocol="chat",decision="error"} 1']


def test_unknown_path_is_not_counted_as_chat(gw: RunningGateway) -> None:
    st, _, _ = gw.request("GET", "/nope")
    assert st == 404
    lines = _request_lines(gw)
    assert lines == ['stockade_gateway_requests_total{protocol="none",decision="reject"} 1']


def test_successful_requests_still_counted_per_request(gw: RunningGateway) -> None:
    for _ in range(3):
        st, _, _ = gw.request("POST", "/v1/chat/completions",
                              {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        assert st == 200
    assert _request_lines(gw) == [
        'stockade_gateway_requests_total{protocol="chat",decision="allow"} 3']
