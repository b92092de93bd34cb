"""Bypass class: a descriptor stockade inherited reaches the agent.

bubblewrap passes every descriptor it inherits to the sandboxed process.  A
``stockade run`` started by a program that leaves a descriptor open without
close-on-exec (a directory, a host socket) must not hand it on: with a
directory descriptor the agent can ``fchdir`` out of its mount namespace and
read anything the user can.  ``subprocess`` used to close them for us; the
launcher now starts bubblewrap with ``posix_spawn`` and closes them itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PROBE = ("import os\n"
         "fds = sorted(int(n) for n in os.listdir('/proc/self/fd'))\n"
         "print('FDS', fds)\n"
         "for fd in fds:\n"
         "    if fd > 2:\n"
         "        try:\n"
         "            os.fchdir(fd); print('ESCAPED', os.listdir('.'))\n"
         "        except OSError:\n"
         "            pass\n")


def test_inherited_descriptors_do_not_reach_the_agent(tmp_path: Path,
                                                     stockade_wrapper: Path) -> None:
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "canary.txt").write_text("not for the agent\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    dfd = os.open(secret_dir, os.O_RDONLY | os.O_DIRECTORY)
    rfd, wfd = os.pipe()
    host_sock, other_end = socket.socketpair()  # a host socket (docker.sock, an agent)
    db = os.open(tmp_path / "ledger.db", os.O_RDWR | os.O_CREAT, 0o600)  # a ledger file
    extra = (host_sock.fileno(), db)
    try:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
               "STOCKADE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "c")}
        r = subprocess.run([str(stockade_wrapper), "run", "--", "python3", "-c", PROBE],
                           cwd=ws, env=env, capture_output=True, text=True, timeout=120,
                           pass_fds=(dfd, rfd, wfd, *extra))
    finally:
        for fd in (dfd, rfd, wfd, db):
            os.close(fd)
        host_sock.close()
        other_end.close()
    assert r.returncode == 0, r.stderr
    assert "ESCAPED" not in r.stdout and "canary" not in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("FDS"))
    fds = [int(x) for x in line[4:].strip("[] ").split(",") if x.strip()]
    # 0-2, and the one the listing itself holds open
    assert len([fd for fd in fds if fd > 2]) <= 1, line
