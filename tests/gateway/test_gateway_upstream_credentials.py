"""The client's vendor credentials go only to the upstream they were meant for."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from gwsupport import make_config, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.keys import KeyStore, create_key
from stockade.state import StateDir

_PII = {"role": "user", "content": "mail bob@customer.test"}  # gwsupport's rule: label pii


@pytest.fixture
def vendor_and_local() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    with FakeUpstream([{"text": "vendor"}]) as a, FakeUpstream([{"text": "local"}]) as b:
        yield a, b


def test_personal_mode_does_not_hand_client_keys_to_a_routed_upstream(
        vendor_and_local: tuple[FakeUpstream, FakeUpstream]) -> None:
    vendor, local = vendor_and_local
    client_key = "sk-client-" + os.urandom(8).hex()
    g = start_gateway(make_config(openai=vendor.url, local=local.url,
                                  actions={"secret": "redact", "pii": "route:local"}))
    hdrs = {"authorization": f"Bearer {client_key}", "api-key": client_key,
            "cookie": f"s={client_key}", "x-team": "t1"}
    try:
        st, _, _ = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [_PII]},
                             headers=hdrs)
        assert st == 200 and len(local.posts()) == 1
        seen = local.posts()[0]["headers"]
        assert client_key not in repr(seen) and "authorization" not in seen
        assert seen["x-team"] == "t1"  # other headers still pass
        st, _, _ = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [
            {"role": "user", "content": "clean"}]}, headers=hdrs)
        assert st == 200  # the protocol's default upstream still gets the client's key
        assert vendor.posts()[-1]["headers"]["authorization"] == f"Bearer {client_key}"
    finally:
        g.stop()


def test_team_mode_injects_each_upstreams_own_key(
        vendor_and_local: tuple[FakeUpstream, FakeUpstream], state: StateDir) -> None:
    vendor, local = vendor_and_local
    vendor_key, local_key = "v-" + os.urandom(8).hex(), "l-" + os.urandom(8).hex()
    key, _ = create_key(state, user="alice", team=None)
    g = start_gateway(make_config(openai=vendor.url, local=local.url, local_key_env="LOCAL_KEY",
                                  actions={"secret": "redact", "pii": "route:local"}),
                      env={"OPENAI_API_KEY": vendor_key, "LOCAL_KEY": local_key},
                      keystore=KeyStore(state))
    try:
        st, _, _ = g.request("POST", "/v1/chat/completions", {"model": "m", "messages": [_PII]},
                             headers={"authorization": f"Bearer {key}"})
        assert st == 200
        seen = local.posts()[0]["headers"]
        assert seen["authorization"] == f"Bearer {local_key}"
        assert vendor_key not in repr(seen) and key not in repr(seen)
    finally:
        g.stop()


def test_personal_mode_passes_only_the_credential_headers_the_vendor_takes() -> None:
    # found in review: every credential-named header went on uninspected -
    # a cookie, a second x-api-key, another vendor's key header - and an
    # Anthropic key sent to the OpenAI path reached the OpenAI upstream
    client_key = "sk-client-" + os.urandom(8).hex()
    other = "other-" + os.urandom(8).hex()
    with FakeUpstream([{"text": "a"}]) as anth, FakeUpstream([{"text": "o"}]) as oai:
        g = start_gateway(make_config(anthropic=anth.url, openai=oai.url))
        try:
            st, _, _ = g.request(
                "POST", "/v1/messages",
                {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
                headers=[("x-api-key", client_key), ("x-api-key", other), ("cookie", f"k={other}"),
                         ("api-key", other), ("x-goog-api-key", other)])
            assert st == 200
            seen = anth.posts()[-1]["raw_headers"]
            assert [(k.lower(), v) for k, v in seen if v in (client_key, other)
                    or other in v] == [("x-api-key", client_key)]
            st, _, _ = g.request("POST", "/v1/chat/completions",
                                 {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                                 headers=[("x-api-key", other), ("authorization",
                                                                 f"Bearer {client_key}")])
            assert st == 200
            seen = oai.posts()[-1]["raw_headers"]
            assert [(k.lower(), v) for k, v in seen if client_key in v or other in v] == [
                ("authorization", f"Bearer {client_key}")]
        finally:
            g.stop()
