"""Bypass class: the proxy resolves allowed names itself, so a secret put in a
label under an allowed wildcard (``<secret>.github.com``, default policy)
would reach DNS even though the connection is then refused.  Names that look
like encoded data are refused before any lookup."""

from __future__ import annotations

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
