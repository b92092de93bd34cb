"""`stockade run claude` with claude installed where the sandbox shows nothing
(/tmp is a private tmpfs inside; an unlisted directory is not there at all):
the launcher says where it is on the host and what to do, exit 127, and
starts nothing.  Real bubblewrap."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]


def make(tmp_path: Path) -> tuple[Path, Path]:
    bindir = tmp_path / "tools" / "bin"
    bindir.mkdir(parents=True)
    (bindir / "claude").write_text("#!/bin/sh\necho claude-ran\n")
    (bindir / "claude").chmod(0o755)
    ws = tmp_path / "ws"
    ws.mkdir()
    return bindir, ws


def test_a_command_only_the_host_sees_is_explained(stockade: Stockade, tmp_path: Path) -> None:
    bindir, ws = make(tmp_path)
    r = stockade("run", "--", "claude", cwd=ws, env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert r.returncode == 127
    assert f"cannot run claude: it is installed at {bindir}/claude on this machine" in r.stderr
    assert "hint: install it where the sandbox shows it" in r.stderr
    assert f"list {bindir} under filesystem.read" in r.stderr
    assert "claude-ran" not in r.stdout


def test_a_listed_directory_or_a_system_command_runs(stockade: Stockade, tmp_path: Path) -> None:
    bindir, ws = make(tmp_path)
    pol = tmp_path / "policy.yaml"
    pol.write_text(f"version: 1\nfilesystem:\n  read: [{bindir}]\n")
    r = stockade("run", "--policy", str(pol), "--", "claude", cwd=ws,
                 env={"PATH": f"{bindir}:/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "claude-ran" in r.stdout
    # merged /usr: /bin is a link inside too, so `sh` from PATH=/bin is found
    r = stockade("run", "--", "sh", "-c", "exit 3", cwd=ws, env={"PATH": "/bin"})
    assert r.returncode == 3, r.stderr
    r = stockade("run", "--", "no-such-command-here", cwd=ws)
    assert r.returncode == 127 and "No such file or directory" in r.stderr
