"""Bypass: a request carrying two labels the policy keeps on two different
upstreams went to whichever rule came first, so one label's data left the
place the policy keeps it.  Such a request is now refused, and recorded."""

from __future__ import annotations

import json

from gwsupport import FakeUpstream, fake_aws_key, start_gateway

from stockade.config.model import Route
from stockade.gateway.config import GatewayConfig, Limits, Upstream


def test_labels_pinned_to_different_upstreams_refuse_the_request() -> None:
    with FakeUpstream() as vendor, FakeUpstream() as a, FakeUpstream() as b:
        ups = {"anthropic": Upstream(name="anthropic", url=vendor.url, protocol="anthropic"),
               "lab": Upstream(name="lab", url=a.url + "/v1", protocol="chat"),
               "plant": Upstream(name="plant", url=b.url + "/v1", protocol="chat")}
        cfg = GatewayConfig(upstreams=ups, routes=(Route(upstream="plant", label="pii"),),
                            actions={"secret": "route:lab", "pii": "allow"},
                            limits=Limits(first_byte_timeout_s=5))
        g = start_gateway(cfg)
        key = fake_aws_key()
        body = {"model": "claude-opus-4-8", "max_tokens": 50,
                "messages": [{"role": "user", "content": f"{key} for ana@customer.test"}]}
        try:
            st, _, out = g.request("POST", "/v1/messages", body)
            msg = json.loads(out)["error"]["message"]
            assert st == 400 and "pii -> plant" in msg and "secret -> lab" in msg
            assert vendor.posts() == a.posts() == b.posts() == []
            assert key not in out.decode() and key not in json.dumps(g.events())
            body["messages"][0]["content"] = f"{key} alone"  # one pin: served there
            st, _, _ = g.request("POST", "/v1/messages", body)
            assert st == 200 and len(a.posts()) == 1
        finally:
            g.stop()
