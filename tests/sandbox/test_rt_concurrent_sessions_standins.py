"""Bypass class: one session's clean-up removes another session's guard.

A guarded path that does not exist (``.vscode`` here) is created empty on the
host and covered read-only.  With two sessions in one workspace, the first to
end removed the stand-in it had created; the second had found it existing and
bound it read-only, and removing a directory detaches what is mounted on it
in every mount namespace, so the second agent could then write
``.vscode/tasks.json`` (which VS Code runs) on the host.  Now the last
session out removes the stand-ins (sandbox/standins.py).  Real bubblewrap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.sandbox.standins import StandIns

pytestmark = pytest.mark.e2e


def _wait_for(path: Path, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_session_ending_first_leaves_the_others_guards_in_place(
        stockade: Callable[..., object], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "sig").mkdir(parents=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(stockade.home),  # type: ignore[attr-defined]
           "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def start(script: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "stockade", "run", "--", "sh", "-c",
                                 script], cwd=ws, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    first = start("touch sig/first-up; while [ ! -f sig/first-may-end ]; do sleep 0.05; done")
    try:
        _wait_for(ws / "sig" / "first-up", "the first session")
        assert (ws / ".vscode").is_dir()  # its stand-in, on the host
        second = start("touch sig/second-up; while [ ! -f sig/first-ended ]; do sleep 0.05; "
                       "done; (mkdir -p .vscode && echo planted > .vscode/tasks.json) "
                       "2>/dev/null && echo WROTE; true")
        try:
            _wait_for(ws / "sig" / "second-up", "the second session")
            (ws / "sig" / "first-may-end").touch()
            assert first.wait(timeout=30) == 0, first.stderr.read() if first.stderr else ""
            assert (ws / ".vscode").is_dir()  # still the second session's guard
            (ws / "sig" / "first-ended").touch()
            out, err = second.communicate(timeout=30)
        finally:
            second.kill()
    finally:
        first.kill()
    assert second.returncode == 0, err
    assert "WROTE" not in out
    assert not (ws / ".vscode" / "tasks.json").exists()
    assert not (ws / ".vscode").exists()  # the last one out removed it


def test_the_last_session_out_removes_every_empty_stand_in(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    a, b = StandIns(state), StandIns(state)
    assert a.create_dir(str(tmp_path / "d1"))
    assert b.create_file(str(tmp_path / "f1"))
    assert a.create_dir(str(tmp_path / "kept"))
    (tmp_path / "kept" / "user-file").write_text("the user's now\n")
    a.release()  # b still runs: nothing goes
    assert (tmp_path / "d1").is_dir() and (tmp_path / "f1").is_file()
    b.release()
    assert not (tmp_path / "d1").exists() and not (tmp_path / "f1").exists()
    assert (tmp_path / "kept" / "user-file").exists()  # no longer empty: left alone
    assert not (tmp_path / "state" / "standins.list").exists()


def test_a_session_starting_waits_while_the_last_one_cleans_up(tmp_path: Path) -> None:
    import fcntl

    state = tmp_path / "state"
    StandIns(str(state)).release()  # makes the lock file
    fd = os.open(state / "standins.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a session ending alone holds it
    got: list[StandIns] = []
    t = threading.Thread(target=lambda: got.append(StandIns(str(state))), daemon=True)
    t.start()
    time.sleep(0.3)
    assert not got, "a new session planned while stand-ins were being removed"
    os.close(fd)
    t.join(timeout=10)
    assert got
    got[0].release()


def test_a_state_directory_that_cannot_be_made_is_a_clear_refusal(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = stockade("run", "--", "sh", "-c", "echo RAN", cwd=ws,
                 env={"STOCKADE_HOME": str(blocker / "state")})
    assert r.returncode != 0
    assert "RAN" not in r.stdout
    assert "Traceback" not in r.stderr
    assert str(blocker / "state") in r.stderr
