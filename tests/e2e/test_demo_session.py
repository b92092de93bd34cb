"""`make demo`'s session, end to end: real sandbox, real gateway, real ledger."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_session_passes_and_never_prints_the_planted_key(tmp_path: Path) -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("CI"):
            pytest.fail("bubblewrap is missing: the demo needs it (apt-get install bubblewrap)")
        pytest.skip("bubblewrap is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    proc = subprocess.run([sys.executable, "-m", "stockade", "demo", "--dir", str(tmp_path / "d")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "demo passed" in out
    assert "refused (403): stockade: attacker.example is not in network.allow" in out
    assert "the AWS key from .env reached the vendor: no" in out
    assert "ledger intact" in out
    # The planted values are in the workspace's .env; none may appear in the output.
    env_file = (tmp_path / "d" / "workspace" / ".env").read_text()
    for line in env_file.splitlines():
        name, _, value = line.partition("=")
        if name.startswith("AWS_"):
            assert value not in out
