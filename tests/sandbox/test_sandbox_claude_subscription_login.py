"""The real Claude Code CLI, logged in with a subscription (OAuth), under
`stockade run claude` in personal mode: its own login reaches the session
gateway, which passes it to its own upstream (a scripted one over a real
socket), and the answer comes back.  Without the login shown read-only the
agent had no credentials at all."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes.upstream import FakeUpstream  # noqa: E402

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]
REPO = Path(__file__).resolve().parents[2]
CLAUDE = Path(os.environ.get("STOCKADE_E2E_DIR", REPO / ".e2e")) / "node_modules" / ".bin" / "claude"


# Claude Code's global config: ~/.claude.json, or ~/.claude/.config.json
# where that exists (read instead; test_rt_claude_json_copy.py)
@pytest.mark.parametrize("config", [".claude.json", ".claude/.config.json"])
def test_a_subscription_login_works_through_the_session_gateway(
        stockade: Stockade, tmp_path: Path, config: str) -> None:
    if not CLAUDE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"claude is not installed at {CLAUDE}: run tests/e2e/install_agents.sh")
        pytest.skip(f"claude is not installed at {CLAUDE}: run tests/e2e/install_agents.sh")
    real = CLAUDE.resolve()
    home: Path = stockade.home  # type: ignore[attr-defined]
    (home / ".claude").mkdir()
    token = "oat-" + secrets.token_hex(16)
    (home / ".claude" / ".credentials.json").write_text(json.dumps({"claudeAiOauth": {
        "accessToken": token, "refreshToken": "ref-" + secrets.token_hex(8),
        "expiresAt": int((time.time() + 3600) * 1000),
        "scopes": ["user:inference", "user:profile"], "subscriptionType": "max"}}))
    # Claude Code's state file exists: the agent gets a copy of it for the
    # session (test_rt_claude_json_copy.py), and works with that
    state = json.dumps({"numStartups": 41, "hasCompletedOnboarding": True})
    (home / config).write_text(state)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "claude").symlink_to(real)  # the preset is chosen by the command's name
    with FakeUpstream([{"text": "hello from upstream"}]) as up:
        pol = tmp_path / "policy.yaml"
        pol.write_text(f"version: 1\nfilesystem:\n  read: [{real.parent.parent}]\n"
                       f"models:\n  upstreams:\n    anthropic:\n      url: {up.url}\n"
                       "      key_env: ANTHROPIC_API_KEY\n      protocol: anthropic\n")
        r = stockade("run", "--policy", str(pol), "--", "./claude", "-p", "say hi", cwd=ws,
                     timeout=120)
        auths = [q["headers"].get("authorization") for q in up.requests
                 if q["path"].startswith("/v1/messages")]
    assert r.returncode == 0, r.stderr[-2000:]
    assert "hello from upstream" in r.stdout
    assert auths and all(a == f"Bearer {token}" for a in auths)
    assert token not in r.stdout + r.stderr
    assert (home / config).read_text() == state
    # the stand-in of an absent ~/.claude/.config.json is gone: the host's
    # Claude Code keeps reading ~/.claude.json
    assert {p.name for p in (home / ".claude").iterdir() if p.name.endswith(".json")} == {
        ".credentials.json", *((".config.json",) if config == ".claude/.config.json" else ())}
