"""Bypass class: the proxy resolves allowed names itself, so a secret put in a
label under an allowed wildcard (``<secret>.github.com``, default policy)
would reach DNS even though the connection is then refused.  Names that look
like encoded data are refused before any lookup, and the ledger (so every
report read from it) keeps a masked preview and a keyed hash, never the name."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_secret_in_a_subdomain_of_an_allowed_wildcard_is_not_looked_up(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    canary = "rtc" + secrets.token_hex(12)
    script = f"""import urllib.request, urllib.error
for host in ("{canary}.github.com", "{canary[:12]}.{canary[12:]}.githubusercontent.com"):
    try:
        urllib.request.urlopen("http://" + host + "/", timeout=10)
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode().split(":")[0])
"""
    r = stockade("run", "--", "python3", "-c", script, cwd=ws)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("403 stockade") == 2, r.stdout
    # the refusal is recorded, but the name (the payload) is not
    for args in (("report", "egress", "--json"), ("report", "egress"), ("ledger", "export")):
        out = stockade(*args, cwd=ws)
        assert out.returncode == 0, out.stderr
        assert canary not in out.stdout and canary[:12] not in out.stdout, args
        assert canary[12:] not in out.stdout, args
    dests = json.loads(stockade("report", "egress", "--json", cwd=ws).stdout)["destinations"]
    masked = sorted(d["host"] for d in dests)
    assert masked == ["<27 chars>.github.com", "<28 chars>.githubusercontent.com"], masked
    assert all(d["encoded_name"] and d["denied"] == 1 for d in dests)
    export = stockade("ledger", "export", cwd=ws).stdout
    hashes = {json.loads(x)["details"].get("host_hmac") for x in export.splitlines() if "net.deny" in x}
    assert len(hashes) == 2 and all(h and h.startswith("hmac-sha256:") for h in hashes), hashes
