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


def test_tampering_found_at_the_end_of_a_run_is_said(stockade: Stockade, tmp_path: Path) -> None:
    # the signature itself is made after `stockade run` exits; what it would
    # refuse (a cut tail) is still said by the run, not only in the ledger
    ws = tmp_path / "ws"
    ws.mkdir()
    for _ in range(2):
        assert stockade("run", "--", "true", cwd=ws).returncode == 0
    assert stockade("ledger", "verify", cwd=ws).returncode == 0
    db = tmp_path / "state" / "ledger.db"
    with sqlite3.connect(db) as con:
        last = con.execute("SELECT max(seq) FROM events").fetchone()[0]
        con.execute("DELETE FROM events WHERE seq > ?", (last - 2,))
        con.execute("DELETE FROM checkpoints WHERE seq > ?", (last - 2,))
    r = stockade("run", "--", "true", cwd=ws)
    assert "could not sign a ledger checkpoint" in r.stderr
    assert "refusing to overwrite the evidence" in r.stderr  # (cut, then refilled)


def test_as_a_pid_namespaces_init_the_checkpoint_is_signed_before_exit(
        stockade: Stockade, tmp_path: Path) -> None:
    # a container's entrypoint: when it exits the kernel kills the recorder,
    # so the launcher signs before it exits
    import shutil
    import sys

    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux unshare is not installed")
    ws = tmp_path / "ws"
    ws.mkdir()
    probe = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "true"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("cannot make a pid namespace here")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(stockade.home),  # type: ignore[attr-defined]
           "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in range(2):  # (a new ledger's first events are signed as it is made)
        r = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", sys.executable, "-m",
                            "stockade", "run", "--", "true"], cwd=ws, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    ok = stockade("ledger", "verify", cwd=ws)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "every event is covered by a signed checkpoint" in ok.stdout
