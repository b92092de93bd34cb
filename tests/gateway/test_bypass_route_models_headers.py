"""Bypass: ``GET /v1/models`` is not a model request and nothing of it is
inspected, yet it passed every client header and the query string on to the
routed upstream: a secret in a custom header (``ANTHROPIC_CUSTOM_HEADERS``) or
in the query reached the vendor unscanned.  Only credentials, the API version
and paging parameters go on now."""

from __future__ import annotations

import json

from gwsupport import FakeUpstream, fake_aws_key, make_config, start_gateway


def test_models_passes_on_no_free_text_header_or_query() -> None:
    with FakeUpstream() as vendor:
        g = start_gateway(make_config(anthropic=vendor.url))
        key = fake_aws_key()
        try:
            st, _, out = g.request(
                "GET", f"/v1/models?limit=5&note={key}",
                headers={"anthropic-version": "2023-06-01", "x-api-key": "sk-client",
                         "x-custom-note": key, "x-stockade-workspace": "/w"})
            assert st == 200 and json.loads(out)["data"][0]["id"] == "fake-model"
            (seen,) = vendor.requests
            assert key not in json.dumps({**seen, "raw": ""})
            assert seen["path"] == "/v1/models?limit=5"
            assert seen["headers"]["anthropic-version"] == "2023-06-01"
            assert seen["headers"]["x-api-key"] == "sk-client"  # its own vendor: passed on
            assert "x-custom-note" not in seen["headers"]
        finally:
            g.stop()


def test_models_refuses_an_upstream_list_past_the_size_cap() -> None:
    import stockade.gateway.server as server

    with FakeUpstream() as vendor:
        g = start_gateway(make_config(anthropic=vendor.url))
        old, server.MAX_MODELS_BYTES = server.MAX_MODELS_BYTES, 16  # the fake's list is larger
        try:
            st, _, out = g.request("GET", "/v1/models", headers={"anthropic-version": "x"})
            assert st == 502 and "larger than" in json.loads(out)["error"]["message"]
        finally:
            server.MAX_MODELS_BYTES = old
            g.stop()


def test_models_refuses_a_protected_value_in_what_it_passes_on() -> None:
    # found in review: the paging ids, anthropic-beta and the user agent went
    # on unscanned (a value of up to 128 characters each)
    key = fake_aws_key()
    with FakeUpstream() as vendor:
        g = start_gateway(make_config(anthropic=vendor.url))
        try:
            for path, headers in ((f"/v1/models?after_id={key}", {}),
                                  ("/v1/models", {"anthropic-beta": key}),
                                  ("/v1/models", {"anthropic-version": "a\tb"})):
                st, _, out = g.request("GET", path, headers={"x-api-key": "sk-client", **headers})
                message = json.loads(out)["error"]["message"]
                assert st == 400 and message.startswith("stockade: GET /v1/models"), out
                assert key not in message
            st, _, _ = g.request("GET", "/v1/models?limit=5", headers={
                "x-api-key": "sk-client", "user-agent": key,
                "anthropic-beta": "oauth-2025-04-20,claude-code-20250219"})
            assert st == 200
            assert vendor.requests and key not in json.dumps({**vendor.requests[-1], "raw": ""})
            assert len(vendor.requests) == 1  # the refused ones never left
            # each refusal is recorded, with the rule but not the value
            refused = [e for e in g.events() if e.get("decision") == "reject"]
            assert len(refused) == 3 and key not in repr(refused)
        finally:
            g.stop()
