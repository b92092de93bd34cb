"""Bypass: the client's ``X-Stockade-Workspace`` header is free text outside the
inspected request, and it was written to the ledger as ``route_why.repository``
as sent: a secret placed there was stored in clear.  It is recorded only when
the DLP scan finds nothing in it."""

from __future__ import annotations

import json

from gwsupport import FakeUpstream, fake_aws_key, make_config, start_gateway

from stockade.config.model import Route


def test_a_secret_in_the_workspace_header_never_reaches_the_ledger() -> None:
    with FakeUpstream() as vendor, FakeUpstream() as local:
        g = start_gateway(make_config(anthropic=vendor.url, local=local.url,
                                      routes=(Route(upstream="local", repository="*/pay-*"),)))
        key = fake_aws_key()
        body = {"model": "claude-opus-4-8", "max_tokens": 20,
                "messages": [{"role": "user", "content": "hi"}]}
        try:
            st, _, _ = g.request("POST", "/v1/messages", body,
                                 headers={"x-stockade-workspace": f"/src/pay-{key}"})
            assert st == 200 and len(local.posts()) == 1  # the claim still routes
            assert key not in json.dumps(g.events())
            why = g.events("llm.request")[-1]["details"]["route_why"]
            assert why["repository"] == "<withheld: finding>"
            st, _, _ = g.request("POST", "/v1/messages", body,
                                 headers={"x-stockade-workspace": "/src/pay-api"})
            assert g.events("llm.request")[-1]["details"]["route_why"]["repository"] == \
                "/src/pay-api"
        finally:
            g.stop()
