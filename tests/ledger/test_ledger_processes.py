"""Several writer processes at once, and a writer killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from stockade.ledger import open_ledger
from stockade.state import StateDir

WRITER = str(Path(__file__).with_name("ledger_writer.py"))


def test_four_concurrent_writers_keep_one_linear_chain(home: StateDir) -> None:
    with open_ledger(state=home):
        pass  # create it first, as `stockade init` would
    per_writer = 150
    procs = [subprocess.Popen([sys.executable, WRITER, str(per_writer), f"w{n}", "40"],
                              stdout=subprocess.PIPE, text=True) for n in range(4)]
    acked: dict[str, list[int]] = {}
    for n, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        acked[f"w{n}"] = [int(x) for x in out.split()[1:]]
    with open_ledger(state=home, create=False) as ledger:
        report = ledger.verify()
        assert report.events == 4 * per_writer
        assert report.last_checkpoint is not None and report.checkpoints_checked >= 10
        for session, seqs in acked.items():
            stored = list(ledger.query(session=session))
            assert [e.seq for e in stored] == seqs  # each writer's own order kept
            assert [e.details["i"] for e in stored] == list(range(per_writer))
    all_seqs = sorted(s for seqs in acked.values() for s in seqs)
    assert all_seqs == list(range(1, 4 * per_writer + 1))  # no gaps, no duplicates


def test_every_acknowledged_event_survives_sigkill(home: StateDir) -> None:
    with open_ledger(state=home):
        pass
    acked: list[int] = []
    with subprocess.Popen([sys.executable, WRITER, "0", "victim", "25"],
                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        while len(acked) < 300:
            acked.append(int(proc.stdout.readline()))
        os.kill(proc.pid, signal.SIGKILL)
        # Lines already in the pipe were acknowledged before the kill too.
        acked += [int(x) for x in proc.stdout.read().split()]
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with open_ledger(state=home, create=False) as ledger:
        report = ledger.verify()
        stored = {e.seq for e in ledger.query(session="victim")}
    assert set(acked) <= stored
    assert report.events >= acked[-1]
    assert acked == list(range(1, len(acked) + 1))
