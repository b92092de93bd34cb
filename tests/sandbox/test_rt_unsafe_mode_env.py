"""Bypass class: ``--unsafe-no-sandbox`` handed over the whole environment.

Without a sandbox the launcher ran the command with the caller's environment
as is: cloud keys, tokens and the SSH agent socket included, though the
session record listed them as dropped.  The scrubbed environment is used in
either mode now, and a command that cannot start still ends its session in
the ledger (exit status 127).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_unsafe_mode_runs_with_the_scrubbed_environment(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    can = {k: "rtc" + k + secrets.token_hex(10) for k in ("aws", "tok", "val")}
    r = stockade("run", "--unsafe-no-sandbox", "--", "env", cwd=ws,
                 env={"AWS_SECRET_ACCESS_KEY": can["aws"], "GITHUB_TOKEN": can["tok"],
                      "APP_SETTING": can["val"], "SSH_AUTH_SOCK": str(tmp_path / "agent.sock"),
                      "KEEP_ME": "plain"})
    assert r.returncode == 0, r.stderr
    for label, value in can.items():
        assert value not in r.stdout, label
    assert "SSH_AUTH_SOCK" not in r.stdout
    assert "KEEP_ME=plain" in r.stdout


def test_a_command_that_cannot_start_still_ends_the_session(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    r = stockade("run", "--unsafe-no-sandbox", "--", str(tmp_path / "no-such-program"), cwd=ws)
    assert r.returncode == 127, r.stderr
    assert "cannot run" in r.stderr and "Traceback" not in r.stderr
    export = stockade("ledger", "export", cwd=ws).stdout
    end = [json.loads(x) for x in export.splitlines() if '"session.end"' in x]
    assert len(end) == 1 and end[0]["details"]["exit_status"] == 127
