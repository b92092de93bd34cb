"""Bypass found in review: a file made setuid inside the sandbox stays
setuid on the host, where the sandbox's nosuid no longer applies.  With
stockade run as root, `cp /usr/bin/python3 .tool && chmod 4755 .tool` left a
setuid-root interpreter in the workspace: root for any local user who can
reach it (run as a developer: that developer's uid).  The seccomp filter now
refuses every way of giving a file the setuid or setgid bit (chmod, fchmod,
fchmodat(2), open/openat/creat creating one, mknod), and ordinary modes
still work."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PLANT = r"""
import os, shutil, stat
shutil.copy("/bin/true", "tool")
tries = {
    "chmod": lambda: os.chmod("tool", 0o4755),
    "chmod-sgid": lambda: os.chmod("tool", 0o2755),
    "fchmod": lambda: os.fchmod(os.open("tool", os.O_RDONLY), 0o4755),
    "open": lambda: os.close(os.open("made", os.O_CREAT | os.O_WRONLY, 0o4755)),
    "mknod": lambda: os.mknod("node", stat.S_IFREG | 0o6755),
}
for name, f in tries.items():
    try:
        f()
        print("MADE", name)
    except PermissionError:
        print("REFUSED", name)
os.chmod("tool", 0o755)
os.close(os.open("plain", os.O_CREAT | os.O_WRONLY, 0o640))
print("PLAIN OK")
"""


def test_no_file_leaves_the_sandbox_setuid_or_setgid(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()

    r = stockade("run", "--", "python3", "-c", PLANT, cwd=ws)

    assert r.returncode == 0, r.stderr
    assert "MADE" not in r.stdout, r.stdout
    assert r.stdout.count("REFUSED") == 5, r.stdout
    assert "PLAIN OK" in r.stdout
    special = stat.S_ISUID | stat.S_ISGID
    assert {p.name: p.stat().st_mode & special for p in ws.iterdir()} == {
        name: 0 for name in ("tool", "plain", *(n for n in ("made", "node")
                                                if (ws / n).exists()))}
    assert stat.S_IMODE((ws / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((ws / "plain").stat().st_mode) & 0o777 == 0o640 & ~0o022
