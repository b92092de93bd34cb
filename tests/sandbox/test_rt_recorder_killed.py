"""Bypass class: the agent runs on unrecorded once the ledger writer is gone.

The ledger is written by a recorder process the launcher forks first thing.
An agent (or anything else of the user's) that kills the recorder must not
get a session nothing can record: the launcher notices the death at once (not
on the next record, which an agent that makes no connection never causes),
stops the agent and says why.  And when the launcher itself is killed
(SIGKILL: no handler runs), the recorder still closes the session in the
ledger, so a session never just stops mid-way with no ``session.end``.
Before the fix the agent below slept on for its full minute, and a killed
launcher left a ``session.start`` with no end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need_bwrap

pytestmark = pytest.mark.e2e


def children(pid: int) -> list[int]:
    out = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rfind(b")") + 2:].split()[1]) == pid:
            out.append(int(name))
    return out


def agents(marker: str) -> list[int]:
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep",
                                                                               marker.encode()]:
                found.append(int(name))
        except OSError:
            continue
    return found


def start(tmp_path: Path, marker: str) -> tuple[subprocess.Popen[str], dict[str, str], Path]:
    need_bwrap()
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "STOCKADE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "c")}
    proc = subprocess.Popen([sys.executable, "-m", "stockade", "run", "--", "sh", "-c",
                             f"echo started; exec sleep {marker}"],
                            cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    deadline = time.monotonic() + 10
    while not agents(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert agents(marker)
    return proc, env, ws


def recorder_of(launcher: int) -> int:
    """The launcher's forked child: the same command line (bubblewrap and a
    session gateway are the other children)."""
    cmdline = Path(f"/proc/{launcher}/cmdline").read_bytes()
    kids = []
    for pid in children(launcher):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == cmdline:
                kids.append(pid)
        except OSError:
            continue
    assert len(kids) == 1, kids
    return kids[0]


def session_events(env: dict[str, str], ws: Path) -> list[dict[str, object]]:
    out = subprocess.run([sys.executable, "-m", "stockade", "ledger", "export"], cwd=ws, env=env,
                         capture_output=True, text=True, timeout=60)
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_a_dead_recorder_stops_the_agent(tmp_path: Path) -> None:
    marker = "301.25"
    proc, _, _ = start(tmp_path, marker)
    try:
        os.kill(recorder_of(proc.pid), signal.SIGKILL)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        for pid in agents(marker):
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode != 0
    assert "ledger recorder died" in err
    assert agents(marker) == []


def test_a_killed_launcher_still_ends_its_session_in_the_ledger(tmp_path: Path) -> None:
    marker = "302.25"
    proc, env, ws = start(tmp_path, marker)
    recorder = recorder_of(proc.pid)
    try:
        proc.kill()  # SIGKILL: nothing of the launcher's runs
        proc.communicate(timeout=20)
        deadline = time.monotonic() + 20
        while (agents(marker) or os.path.exists(f"/proc/{recorder}")) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for pid in agents(marker):
            os.kill(pid, signal.SIGKILL)
    assert agents(marker) == []  # --die-with-parent
    events = session_events(env, ws)
    starts = [e for e in events if e["kind"] == "session.start"]
    ends = [e for e in events if e["kind"] == "session.end"]
    assert len(starts) == 1 and len(ends) == 1
    assert ends[0]["session"] == starts[0]["session"]
    assert ends[0]["details"]["mode"] == "failed"  # type: ignore[index]
    assert "without recording the end" in str(ends[0]["details"])
