"""Bypass class: a killed launcher leaves its session's gateway and key alive.

The session's own gateway holds the user's vendor key (team mode) and listens
on 127.0.0.1, and the agent's per-session stockade key opens it.  The launcher
stops the gateway and revokes the key at the session's end; SIGKILL skips
that end.  Before the fix both stayed: a gateway with the vendor key, open to
any local process holding the key the agent had (and could have written
anywhere it can write).  Now the recorder process, which outlives the
launcher, stops the gateway (by pidfd, never a recycled pid) and revokes the
key when the launcher's pipe closes.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need_bwrap

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes.upstream import FakeUpstream  # noqa: E402
from sandbox.test_rt_recorder_killed import recorder_of  # noqa: E402
from sandbox.test_sandbox_session_gateway import gateways_running, policy_for  # noqa: E402

pytestmark = pytest.mark.e2e

AGENT = ('curl -sS -m 60 -o /dev/null "$ANTHROPIC_BASE_URL/v1/models" '
         '-H "x-api-key: $ANTHROPIC_API_KEY"; echo "session=$STOCKADE_SESSION"; exec sleep 303.25')


def holds_pidfd(pid: int) -> bool:
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") == "anon_inode:[pidfd]":
                return True
        except OSError:
            continue
    return False


def test_a_killed_launcher_takes_its_gateway_and_key_with_it(tmp_path: Path) -> None:
    need_bwrap()
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "STOCKADE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "c"),
           "ANTHROPIC_API_KEY": "vendor-" + secrets.token_hex(12)}  # team mode
    with FakeUpstream([{"text": "hello"}]) as up:
        pol = policy_for(tmp_path, up)
        proc = subprocess.Popen([sys.executable, "-m", "stockade", "run", "--policy", str(pol),
                                 "--", "sh", "-c", AGENT], cwd=ws, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("session="), line + proc.stderr.read()  # type: ignore[union-attr]
            session = line.strip().split("=", 1)[1]
            assert gateways_running(session)  # the curl started it
            # the launcher hands the gateway to the recorder, which holds a pidfd
            deadline = time.monotonic() + 10
            while not holds_pidfd(recorder_of(proc.pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            proc.kill()
            proc.communicate(timeout=20)
            deadline = time.monotonic() + 20
            while gateways_running(session) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            proc.kill()
        assert gateways_running(session) == []
    # the recorder revokes after stopping the gateway: give it its moment
    deadline = time.monotonic() + 10
    while True:
        keys = subprocess.run([sys.executable, "-m", "stockade", "keys", "list"], cwd=ws, env=env,
                              capture_output=True, text=True, timeout=60).stdout
        statuses = [row.split()[-1] for row in keys.splitlines()
                    if row.strip() and row.split()[-1] in ("active", "revoked")]
        if statuses != ["active"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert statuses == ["revoked"]


def key_statuses(env: dict[str, str], ws: Path) -> list[str]:
    keys = subprocess.run([sys.executable, "-m", "stockade", "keys", "list"], cwd=ws, env=env,
                          capture_output=True, text=True, timeout=60).stdout
    return [row.split()[-1] for row in keys.splitlines()
            if row.strip() and row.split()[-1] in ("active", "revoked")]


def test_a_key_whose_recorder_was_killed_too_is_revoked_by_the_next_session(
        tmp_path: Path) -> None:
    need_bwrap()
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "STOCKADE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "c"),
           "ANTHROPIC_API_KEY": "vendor-" + secrets.token_hex(12)}  # team mode
    proc = subprocess.Popen([sys.executable, "-m", "stockade", "run", "--", "sh", "-c",
                             "echo up; exec sleep 304.25"], cwd=ws, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "up\n"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # launcher and recorder at once (the OOM killer)
        proc.communicate(timeout=20)
    assert key_statuses(env, ws) == ["active"]  # nothing was left to revoke it
    r = subprocess.run([sys.executable, "-m", "stockade", "run", "--", "true"], cwd=ws, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert key_statuses(env, ws) == ["revoked", "revoked"]
