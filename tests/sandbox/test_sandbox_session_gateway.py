"""`stockade run` without a gateway starts one for the session: the same
policy, a per-session key in team mode, recorded, and stopped at the end;
`-- true` never starts it.  Real bubblewrap, the real gateway, the scripted
upstream over a real socket."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes.upstream import FakeUpstream  # noqa: E402

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]

ASK = ('curl -sS -m 60 "$ANTHROPIC_BASE_URL/v1/messages" -H "content-type: application/json" '
       '-H "anthropic-version: 2023-06-01" -H "x-api-key: ${ANTHROPIC_API_KEY:-none}" '
       '-d \'{"model":"claude-x","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}\'; '
       'echo; env | grep -c "^ANTHROPIC_API_KEY=stk_" || true')


def events(stockade: Stockade, ws: Path, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = stockade("ledger", "export", cwd=ws, env=env)
    return [json.loads(line) for line in out.stdout.splitlines()]


def gateways_running(session: str) -> list[str]:
    """`stockade gateway` processes started for ``session`` (it is in their
    environment) that are still alive."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gateway" in cmdline and b"--ready-file" in cmdline \
                and f"STOCKADE_SESSION={session}".encode() in environ:
            found.append(pid)
    return found


def policy_for(tmp_path: Path, up: FakeUpstream) -> Path:
    pol = tmp_path / "policy.yaml"
    pol.write_text(f"version: 1\nmodels:\n  upstreams:\n    anthropic:\n      url: {up.url}\n"
                   "      key_env: ANTHROPIC_API_KEY\n      protocol: anthropic\n")
    return pol


@pytest.mark.parametrize("team", [False, True], ids=["personal", "team"])
def test_the_session_gets_its_own_gateway(stockade: Stockade, tmp_path: Path, team: bool) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    vendor = "vendor-" + secrets.token_hex(12)
    env = {"ANTHROPIC_API_KEY": vendor} if team else {}
    with FakeUpstream([{"text": "hello"}]) as up:
        pol = policy_for(tmp_path, up)
        r = stockade("run", "--policy", str(pol), "--", "sh", "-c", ASK, cwd=ws, env=env,
                     timeout=180)
        posts = up.posts()
    assert r.returncode == 0, r.stderr
    assert '"type": "message"' in r.stdout, r.stdout + r.stderr
    assert vendor not in r.stdout + r.stderr  # the agent never saw the vendor key
    sent = {k.lower(): v for k, v in posts[0]["headers"].items()}
    if team:
        assert r.stdout.strip().endswith("1")  # the agent holds a stockade key ...
        assert sent["x-api-key"] == vendor  # ... and the gateway put the vendor's in
    else:
        assert sent["x-api-key"] == "none"  # personal mode: the client's own credentials
    evs = events(stockade, ws, env)
    start = next(e for e in evs if e["kind"] == "session.start")
    session = start["session"]
    assert start["details"]["gateway"] == "per-session"
    (gw,) = [e for e in evs if e["kind"] == "session.gateway"]
    assert gw["session"] == session and gw["details"]["team_mode"] is team
    assert any(e["kind"] == "llm.request" for e in evs)
    assert gateways_running(session) == []  # stopped with the session
    keys = stockade("keys", "list", cwd=ws, env=env).stdout
    rows = [line.split() for line in keys.splitlines() if line.strip()]
    statuses = [row[-1] for row in rows if row[-1] in ("active", "revoked")]
    # team mode: one key, made for this session and revoked at its end
    assert statuses == (["revoked"] if team else [])
    assert vendor not in json.dumps(evs)


def test_true_starts_no_gateway(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    r = stockade("run", "--", "true", cwd=ws)
    assert r.returncode == 0, r.stderr
    kinds = [e["kind"] for e in events(stockade, ws)]
    assert "session.start" in kinds and "session.end" in kinds
    assert "session.gateway" not in kinds


def test_no_ledger_no_agent(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    marker = ws / "ran"
    r = stockade("run", "--", "sh", "-c", f"touch {marker}", cwd=ws,
                 env={"STOCKADE_LEDGER": f"sqlite:///{blocker}/ledger.db"})
    assert r.returncode != 0
    assert "ledger" in r.stderr
    assert not marker.exists()


def test_an_agent_preset_warms_its_gateway_and_a_short_session_stops_it(
        stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    agent = ws / "claude"  # the claude preset, by the command's name
    agent.write_text("#!/bin/sh\necho \"base=$ANTHROPIC_BASE_URL\"\n")
    agent.chmod(0o755)
    with FakeUpstream([{"text": "hello"}]) as up:
        pol = policy_for(tmp_path, up)
        # the gateway is still starting when the agent is gone: the session
        # must stop it, not wait for it
        r = stockade("run", "--policy", str(pol), "--", "./claude", cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert "base=http://127.0.0.1:3129" in r.stdout
    assert "did not start" not in r.stderr
    session = next(e for e in events(stockade, ws) if e["kind"] == "session.start")["session"]
    assert gateways_running(session) == []
