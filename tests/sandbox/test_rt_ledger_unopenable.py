"""A ledger that cannot be opened means no agent, even now that the ledger is
opened and session.start recorded while bubblewrap sets the sandbox up: the
sandbox is torn down before its mount points are, and the error names the
ledger, not a bubblewrap mount failure."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]


def test_no_ledger_no_agent(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    marker = ws / "ran"
    for _ in range(3):  # the teardown races the sandbox's set-up: try it more than once
        r = stockade("run", "--", "sh", "-c", f"touch {marker}", cwd=ws,
                     env={"STOCKADE_LEDGER": "postgresql://db.invalid/ledger"})
        assert r.returncode == 3, r.stderr
        assert "cannot record the session in the ledger; not starting the agent" in r.stderr
        assert "bwrap:" not in r.stderr
        assert not marker.exists()
    assert sorted(p.name for p in ws.iterdir()) == []  # no stand-in left behind
