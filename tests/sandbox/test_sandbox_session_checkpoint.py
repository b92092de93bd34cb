"""Each `stockade run` ends with a signed ledger checkpoint over its last
event, so a ledger whose tail is cut off afterwards (the session's end, its
refusals) fails `stockade ledger verify` instead of reading "intact".
Real bubblewrap, the real sqlite ledger."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]


def test_a_truncated_session_tail_is_detected(stockade: Stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    for _ in range(2):
        r = stockade("run", "--", "true", cwd=ws)
        assert r.returncode == 0, r.stderr
    ok = stockade("ledger", "verify", cwd=ws)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    db = tmp_path / "state" / "ledger.db"
    with sqlite3.connect(db) as con:
        last = con.execute("SELECT max(seq) FROM events").fetchone()[0]
        assert con.execute("SELECT max(seq) FROM checkpoints").fetchone()[0] == last
        con.execute("DELETE FROM events WHERE seq > ?", (last - 2,))  # the last session's tail
    bad = stockade("ledger", "verify", cwd=ws)
    assert bad.returncode != 0
    assert "truncat" in (bad.stdout + bad.stderr).lower()
