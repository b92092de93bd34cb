"""A signal sent to `stockade run` (a supervisor's SIGTERM, a `kill`) reaches
the agent, which can end cleanly.  It used to go to the sandbox's pid 1,
bubblewrap's init, which as a pid namespace's init ignores every signal from
outside but SIGKILL: the agent ran on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need_bwrap

pytestmark = pytest.mark.e2e


def test_sigterm_to_the_launcher_reaches_the_agent(tmp_path: Path) -> None:
    need_bwrap()
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "home").mkdir()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    ready = ws / "ready"
    script = f'trap "echo got-term; exit 7" TERM; touch {ready}; sleep 60 & wait'
    proc = subprocess.Popen([sys.executable, "-m", "stockade", "run", "--", "sh", "-c", script],
                            cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the agent never started"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 7, err
    assert "got-term" in out
