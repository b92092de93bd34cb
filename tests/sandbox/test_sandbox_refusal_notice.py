"""A refused destination is told to the user on the launcher's stderr when the
session ends (an HTTPS client shows only "CONNECT tunnel failed, response
403").  Real bubblewrap, the real egress proxy."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.sandbox.refusals import Refusals, reason_for

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]

PROBE = """import socket, sys
for target in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(f"CONNECT {target} HTTP/1.1\\r\\nHost: {target}\\r\\n\\r\\n".encode())
    print(target, s.recv(200).split(b"\\r\\n")[0].decode())
"""


def test_each_refused_destination_gets_one_line_with_its_reason(
        stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "probe.py").write_text(PROBE)
    pol = tmp_path / "policy.yaml"
    pol.write_text("version: 1\nnetwork:\n  allow: [pypi.org, 127.0.0.9, nosuch.invalid]\n")
    r = stockade("run", "--policy", str(pol), "--", "python3", "probe.py", "example.org:443",
                 "example.org:443", "127.0.0.9:443", "nosuch.invalid:443", "api.anthropic.com:443",
                 cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "example.org:443 HTTP/1.1 403" in r.stdout  # the agent sees only this
    # ... and the user is told, on stderr, once per destination
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("stockade: ")]
    session = lines[0].rsplit(" ", 1)[-1].strip("`")
    assert session.startswith("s-")
    assert lines[0] == (f"stockade: refused example.org:443 (not in network.allow of user "
                        f"{pol}:3); see `stockade report egress {session}`")
    assert sum("example.org" in ln for ln in lines) == 1
    assert ("stockade: refused 127.0.0.9:443 (resolves to a private address 127.0.0.9; "
            "allow it with network.allow_private)") in r.stderr
    assert "stockade: could not reach nosuch.invalid:443 (the name does not resolve" in r.stderr
    assert "stockade: refused api.anthropic.com:443 (a model API" in r.stderr
    # nothing of it reached the agent's own output
    assert "stockade: refused" not in r.stdout


def test_a_session_with_no_refusal_prints_nothing(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    r = stockade("run", "--", "true", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "refused" not in r.stderr and "could not reach" not in r.stderr


def test_names_are_printable_and_a_flood_is_summed_up() -> None:
    ref = Refusals()
    verdict = reason_for({"host": "x", "reason": "not-allowed"}, kind="net.deny",
                         source="p.yaml:3", is_model=lambda h: False)
    ref.add("evil\x1b]0;pwned\x07.example", 443, verdict)
    for i in range(30):
        ref.add(f"h{i}.example", 443, verdict)
    ref.add("ok.example", 443, reason_for({"host": "ok.example"}, kind="net.connect",
                                          source="p", is_model=lambda h: False))
    lines = ref.lines(session="s-1")
    assert "\x1b" not in "".join(lines) and "\x07" not in "".join(lines)
    assert len(lines) == 21 and lines[-1].startswith("stockade: ... and 11 more destinations")
    assert not any("ok.example" in ln for ln in lines)  # a clean connection is no refusal


def test_a_connection_refused_or_cut_over_the_relay_cap_says_so() -> None:
    """Not "not in network.allow": the host may well be allowed."""
    for kind, verb in (("net.deny", "refused"), ("net.connect", "cut")):
        got = reason_for({"host": "pypi.org", "reason": "relay-cap"}, kind=kind,
                         source="policy.yaml", is_model=lambda h: False)
        assert got is not None and got[0] == verb
        assert "512 connections" in got[1] and "network.allow" not in got[1]


def test_a_refusal_by_the_proxys_request_checks_says_what_it_found() -> None:
    # not "not in network.allow": the name was allowed, the request was not
    got = reason_for({"host": "allowed.test", "reason": "sni-mismatch: TLS server name "
                      "api.openai.com does not match CONNECT host allowed.test"},
                     kind="net.deny", source="p.yaml", is_model=lambda h: False)
    assert got == ("refused", ("TLS server name api.openai.com does not match CONNECT host "
                               "allowed.test"))
    got = reason_for({"host": "x", "reason": "not-tls: \x1b[2Jescape"}, kind="net.deny",
                     source="p.yaml", is_model=lambda h: False)
    assert got is not None and "\x1b" not in got[1]
