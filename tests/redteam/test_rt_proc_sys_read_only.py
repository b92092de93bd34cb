"""Bypass found in review: with stockade run as root, the agent could write
global sysctls.  A global /proc/sys file is writable by host uid 0 whatever
its capabilities, and the sandbox maps the agent to it; bubblewrap makes
/proc/sys read-only only where access(W_OK) says it is writable, which the
0555 directory never does.  `kernel.core_pattern = |/workspace/evil.sh %p`
then made the kernel run the agent's program as host root, outside every
namespace, on the next crash.  /proc/sys (and /proc/sysrq-trigger where the
kernel has one) are bound read-only now.

The test only opens the files for writing (never writes): on the old code
the open succeeds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="the agent is host uid 0 only when "
                       "stockade runs as root"),
]

PROBE = r"""
import errno, os, sys
for path in sys.argv[1:]:
    if not os.path.exists(path):
        print("ABSENT", path)
        continue
    try:
        os.close(os.open(path, os.O_WRONLY))
    except OSError as exc:
        print("REFUSED" if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
              else f"ERRNO{exc.errno}", path)
    else:
        print("WRITABLE", path)
with open("/proc/sys/kernel/core_pattern", "rb") as f:
    print("CORE" if f.read() else "EMPTY")
"""
SYSCTLS = ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
           "/proc/sys/vm/drop_caches", "/proc/sys/fs/protected_symlinks", "/proc/sysrq-trigger")


def test_global_sysctls_cannot_be_opened_for_writing(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()

    r = stockade("run", "--", "python3", "-c", PROBE, *SYSCTLS, cwd=ws)

    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert "REFUSED /proc/sys/kernel/core_pattern" in lines, r.stdout
    assert "CORE" in lines  # still readable
    for line in lines:
        assert line.split(" ")[0] in ("REFUSED", "ABSENT", "CORE", ""), r.stdout
