"""Bypass: a route without a label listed before a label route (``{model:
"claude-*", upstream: anthropic}`` first, ``{label: regulated, upstream: local}``
second) used to win by list order, sending the regulated request to the vendor.
A matching label route now outranks every route without a label."""

from __future__ import annotations

from gwsupport import FakeUpstream, make_config, start_gateway

from stockade.config.model import Route


def test_a_model_glob_route_listed_first_cannot_take_labelled_data_to_the_vendor() -> None:
    with FakeUpstream([{"text": "vendor"}]) as vendor, \
            FakeUpstream([{"text": "local"}]) as local:
        routes = (Route(upstream="anthropic", model="claude-*"),
                  Route(upstream="local", team="payments"),
                  Route(upstream="local", label="regulated"))
        g = start_gateway(make_config(anthropic=vendor.url, local=local.url, routes=routes,
                                      actions={"secret": "redact", "pii": "redact",
                                               "regulated": "allow"}))
        cid = "ACME-" + "".join(str((7 * i) % 10) for i in range(8))
        body = {"model": "claude-opus-4-8", "max_tokens": 50,
                "messages": [{"role": "user", "content": f"refund customer {cid}"}]}
        try:
            st, _, _ = g.request("POST", "/v1/messages", body)
            assert st == 200
            assert vendor.posts() == [] and len(local.posts()) == 1
            ev = g.events("llm.request")[-1]["details"]
            assert ev["route"] == "models.routes[2]" and ev["route_why"]["pinned"] is True
            body["messages"][0]["content"] = "hello"  # unlabelled: the model route applies
            st, _, _ = g.request("POST", "/v1/messages", body)
            assert st == 200 and len(vendor.posts()) == 1
        finally:
            g.stop()
