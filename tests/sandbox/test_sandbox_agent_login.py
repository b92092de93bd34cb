"""`stockade run claude` for a subscription (OAuth) user: in personal mode the
agent's own login is shown, read-only, so it can reach the session gateway
(which passes it to its own vendor only); in team mode it stays hidden; with
no login at all the user is told what to do.  Real bubblewrap; a stand-in
`claude` (the preset is chosen by the command's name)."""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]

AGENT = """#!/bin/sh
f="$HOME/.claude/.credentials.json"
if [ -r "$f" ]; then echo "sha=$(sha256sum < "$f" | cut -c1-64)"; else echo "no-login"; fi
if (printf '{}' > "$f") 2>/dev/null; then echo WROTE; fi
echo "auth=${ANTHROPIC_AUTH_TOKEN:+set}"
"""


def setup(stockade: Stockade, tmp_path: Path, *, expires_in: float | None) -> tuple[Path, Path]:
    home: Path = stockade.home  # type: ignore[attr-defined]
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "claude").write_text(AGENT)
    (ws / "claude").chmod(0o755)
    (home / ".claude").mkdir()
    cred = home / ".claude" / ".credentials.json"
    if expires_in is not None:
        cred.write_text(json.dumps({"claudeAiOauth": {
            "accessToken": "tok-" + secrets.token_hex(16),
            "refreshToken": "ref-" + secrets.token_hex(16),
            "expiresAt": int((time.time() + expires_in) * 1000)}}))
    return ws, cred


def test_personal_mode_shows_the_login_read_only(stockade: Stockade, tmp_path: Path) -> None:
    ws, cred = setup(stockade, tmp_path, expires_in=3600)
    before = cred.read_bytes()
    r = stockade("run", "--", "./claude", cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert f"sha={hashlib.sha256(before).hexdigest()}" in r.stdout
    assert "WROTE" not in r.stdout and cred.read_bytes() == before
    assert "warning" not in r.stderr


def test_team_mode_keeps_the_login_hidden(stockade: Stockade, tmp_path: Path) -> None:
    ws, cred = setup(stockade, tmp_path, expires_in=3600)
    r = stockade("run", "--", "./claude", cwd=ws, timeout=45,
                 env={"ANTHROPIC_API_KEY": "k" + secrets.token_hex(20)})
    assert r.returncode == 0, r.stderr
    # masked (an empty stand-in), and the session key instead
    assert f"sha={hashlib.sha256(b'').hexdigest()}" in r.stdout, r.stdout
    assert hashlib.sha256(cred.read_bytes()).hexdigest() not in r.stdout
    assert "auth=set" in r.stdout


def test_no_login_at_all_is_said_with_what_to_do(stockade: Stockade, tmp_path: Path) -> None:
    ws, _cred = setup(stockade, tmp_path, expires_in=None)
    r = stockade("run", "--", "./claude", cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert "claude has no credentials" in r.stderr
    assert "claude login" in r.stderr and "ANTHROPIC_API_KEY" in r.stderr


def test_an_expired_login_is_said_before_the_agent_fails(stockade: Stockade,
                                                         tmp_path: Path) -> None:
    ws, cred = setup(stockade, tmp_path, expires_in=-60)
    r = stockade("run", "--", "./claude", cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert "access token has expired" in r.stderr
    token = json.loads(cred.read_text())["claudeAiOauth"]["accessToken"]
    assert token not in r.stderr + r.stdout
