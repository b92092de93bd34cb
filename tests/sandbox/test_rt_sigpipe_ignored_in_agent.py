"""Bypass-of-behaviour class: the agent inherited Python's ignored SIGPIPE.

The in-sandbox forwarder is a Python process that becomes the agent with
``execvp``; Python ignores SIGPIPE (and SIGXFSZ) at start-up, and an ignored
signal stays ignored across exec.  So ``yes | head -1`` in the sandbox ran
until ``yes`` noticed EPIPE and printed "Broken pipe", and a benign pipeline
that relies on SIGPIPE (a producer that does not check write errors) never
ended.  The forwarder now restores the defaults before exec.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]


def test_the_agent_gets_default_sigpipe(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    r = stockade("run", "--", "sh", "-c",
                 "yes | head -1; grep '^SigIgn' /proc/self/status", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "Broken pipe" not in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "y"
    ignored = int(lines[1].split()[1], 16)
    assert not ignored & (1 << (13 - 1)), "SIGPIPE is ignored in the agent"
    assert not ignored & (1 << (25 - 1)), "SIGXFSZ is ignored in the agent"
