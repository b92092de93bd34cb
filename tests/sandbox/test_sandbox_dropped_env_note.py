"""Credential-like variables the agent does not get are named once on stderr
(names only, never values) with the way to pass one anyway; host handles and
the model key the gateway holds are not listed.  Real bubblewrap."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]


def test_dropped_credentials_are_named_not_shown(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    values = {"GITHUB_TOKEN": "gh" + secrets.token_hex(16),
              "APP_SETTING": secrets.token_urlsafe(32),  # dropped for its value
              "ANTHROPIC_API_KEY": "k" + secrets.token_hex(20)}
    r = stockade("run", "--", "true", cwd=ws,
                 env={**values, "SSH_AUTH_SOCK": str(tmp_path / "agent.sock")})
    assert r.returncode == 0, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "not passed to the agent" in ln]
    assert len(notes) == 1, r.stderr
    assert "APP_SETTING, GITHUB_TOKEN;" in notes[0] and "sandbox.env_passthrough" in notes[0]
    assert "SSH_AUTH_SOCK" not in notes[0] and "ANTHROPIC_API_KEY" not in notes[0]
    for v in values.values():
        assert v not in r.stderr + r.stdout


def test_passed_through_names_are_not_listed(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    pol = tmp_path / "policy.yaml"
    pol.write_text("version: 1\nsandbox:\n  env_passthrough: [GITHUB_TOKEN]\n")
    r = stockade("run", "--policy", str(pol), "--", "true", cwd=ws,
                 env={"GITHUB_TOKEN": "gh" + secrets.token_hex(16)})
    assert r.returncode == 0, r.stderr
    assert "not passed to the agent" not in r.stderr
