"""Bypass: ``--route '*=local'`` plus a policy route pinning a label to the same
``local`` used to make the choice unpinned (the wildcard matched first), so when
``local`` was down the labelled request fell back to the next upstream."""

from __future__ import annotations

import json
import socket

from gwsupport import FakeUpstream, fake_aws_key, start_gateway

from stockade.config.model import Route
from stockade.gateway.config import GatewayConfig, Limits, Upstream


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_labelled_data_never_falls_back_when_a_wildcard_route_chose_the_same_upstream() -> None:
    with FakeUpstream([{"text": "from the cloud"}]) as cloud:
        ups = {"anthropic": Upstream(name="anthropic", url=cloud.url, protocol="anthropic"),
               "local": Upstream(name="local", url=f"http://127.0.0.1:{_dead_port()}/v1",
                                 protocol="chat", fallback=("cloud",)),
               "cloud": Upstream(name="cloud", url=cloud.url + "/v1", protocol="chat")}
        cfg = GatewayConfig(upstreams=ups, routes=(Route(upstream="local", label="secret"),),
                            cli_routes=(Route(upstream="local"),),
                            actions={"secret": "allow", "pii": "redact"},
                            limits=Limits(first_byte_timeout_s=5))
        g = start_gateway(cfg)
        key = fake_aws_key()
        body = {"model": "claude-opus-4-8", "max_tokens": 50, "stream": True,
                "messages": [{"role": "user", "content": f"deploy with {key}"}]}
        try:
            st, _, out = g.request("POST", "/v1/messages", body)
            assert st == 502, out
            assert "upstream 'local' failed" in json.loads(out)["error"]["message"]
            assert cloud.posts() == []  # neither the fallback nor the vendor saw it
            ev = g.events("llm.request")[-1]["details"]
            assert ev["route"] == "--route[0]" and ev["route_why"]["pinned"] is True
            # a request without the label may still fall back
            body["messages"][0]["content"] = "hello"
            st, _, _ = g.request("POST", "/v1/messages", body)
            assert st == 200 and len(cloud.posts()) == 1
        finally:
            g.stop()
