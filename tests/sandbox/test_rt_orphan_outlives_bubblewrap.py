"""Bypass class: what the agent leaves running outlives bubblewrap.

bubblewrap's outer process exits as soon as the agent (the sandbox's pid 2)
does, or when Ctrl-C kills it; the sandbox's first process and whatever the
agent left in the background die of that (--die-with-parent) only
asynchronously, a few ms later.  The launcher removed the guard stand-ins
meanwhile, so an orphan spinning on ``.vscode/tasks.json`` could land a write
on the host.  Now the session's end waits, by pidfd, until the sandbox's
first process (and so its whole pid namespace) is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ORPHAN = ("(while :; do mkdir -p .vscode 2>/dev/null && echo planted > .vscode/tasks.json "
          "; done) 2>/dev/null & sleep 0.3; exit 0")


def _sandboxed_in(ws: Path) -> list[int]:
    """Processes in another pid namespace (a sandbox's) working in ``ws``."""
    ours = os.readlink("/proc/self/ns/pid")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") == ours:
                continue
            if os.path.samefile(f"/proc/{pid}/cwd", ws):
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_an_orphan_of_the_agent_is_gone_before_the_guards_are(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    for _ in range(3):
        r = stockade("run", "--", "sh", "-c", ORPHAN, cwd=ws)
        assert r.returncode == 0, r.stderr
        assert not (ws / ".vscode" / "tasks.json").exists()
        assert not (ws / ".vscode").exists()  # its stand-in, removed once all were gone
        assert _sandboxed_in(ws) == []


def test_ctrl_c_reaches_the_agent_and_the_guards_hold_to_the_end(stockade,
                                                                  tmp_path: Path) -> None:
    """The terminal's SIGINT goes to the launcher's process group: bubblewrap
    has one of its own, so it does not die of it (ending the session under
    the agent); the launcher hands it to the agent, which decides."""
    ws = tmp_path / "ws"
    ws.mkdir()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(stockade.home),  # type: ignore[attr-defined]
           "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    agent = ("trap 'echo GOT-INT; exit 3' INT; touch up; "
             "(while :; do mkdir -p .vscode 2>/dev/null && echo planted > .vscode/tasks.json "
             "; done) 2>/dev/null & while :; do sleep 0.05; done")
    proc = subprocess.Popen([sys.executable, "-m", "stockade", "run", "--", "sh", "-c", agent],
                            cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (ws / "up").exists():
            assert time.monotonic() < deadline, "the session never started"
            time.sleep(0.05)
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the foreground group
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "GOT-INT" in out, err[-500:]  # the agent's own handler ran
    assert proc.returncode == 3, err[-500:]
    assert not (ws / ".vscode" / "tasks.json").exists()
    assert not (ws / ".vscode").exists()
    assert _sandboxed_in(ws) == []
