"""Bypass: ``/healthz?upstreams`` answered anyone who could reach a team gateway
with every upstream's name and, for one that is down, its internal host and
port.  In team mode it now needs a stockade key, like the model API."""

from __future__ import annotations

import json
import os
import socket

from gwsupport import FakeUpstream, make_config, start_gateway

from stockade.gateway.keys import KeyStore, create_key
from stockade.state import StateDir


def test_upstream_health_needs_a_key_in_team_mode(fake: FakeUpstream, state: StateDir) -> None:
    key, _ = create_key(state, user="mon", team="ops")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = int(s.getsockname()[1])
    s.close()  # nothing listens there: the probe reports it down, naming host:port
    g = start_gateway(make_config(anthropic=fake.url, local=f"http://127.0.0.1:{dead}"),
                      env={"ANTHROPIC_API_KEY": "vendor-" + os.urandom(8).hex()},
                      keystore=KeyStore(state))
    try:
        for headers in ({}, {"x-api-key": "sk-not-a-stockade-key"}):
            st, _, out = g.request("GET", "/healthz?upstreams", headers=headers)
            assert st == 401 and f":{dead}".encode() not in out and b"local" not in out
        st, _, out = g.request("GET", "/healthz?upstreams", headers={"x-api-key": key})
        body = json.loads(out)
        assert st == 503 and set(body["upstreams"]) == {"anthropic", "local"}
        assert f"127.0.0.1:{dead}" in body["upstreams"]["local"]["error"]
        st, _, _ = g.request("GET", "/healthz")  # the plain liveness check stays open
        assert st == 200
    finally:
        g.stop()
