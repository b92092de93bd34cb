"""Bypass class: a ``bwrap`` planted where ``$PATH`` finds it first.

The launcher ran the first ``bwrap`` on ``$PATH``.  A project that puts its
own ``bin/`` (or ``.``) on ``PATH`` (direnv, a virtualenv in the workspace)
let the agent plant a ``bwrap`` there in one session that runs, unsandboxed,
in the next.  The system's ``/usr/bin/bwrap`` is preferred now, and relative
entries and entries inside the workspace are never searched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stockade.sandbox.launcher import find_bwrap

FAKE = "#!/bin/sh\necho planted > {marker}\nexit 0\n"


def plant(d: Path, marker: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "bwrap").write_text(FAKE.format(marker=marker))
    (d / "bwrap").chmod(0o755)


@pytest.mark.e2e
def test_planted_bwrap_in_the_workspace_is_never_run(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    marker = tmp_path / "planted"
    plant(ws / "bin", marker)
    plant(ws, marker)
    path = f"{ws}/bin:.:/usr/local/bin:/usr/bin:/bin"
    r = stockade("run", "--", "sh", "-c", "echo inside=$STOCKADE_SANDBOX", cwd=ws, env={"PATH": path})
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
    assert "inside=1" in r.stdout


def test_path_search_skips_relative_and_workspace_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    marker = tmp_path / "planted"
    plant(ws / "bin", marker)
    plant(ws / "sub" / "bin", marker)
    system = tmp_path / "opt" / "bin"
    plant(system, marker)
    (tmp_path / "link-into-ws").symlink_to(ws / "bin")
    real_access = os.access
    # a machine without /usr/bin/bwrap: PATH is searched
    monkeypatch.setattr(os, "access", lambda p, m: p != "/usr/bin/bwrap" and real_access(p, m))
    env = {"PATH": f"bin:.:{ws}/bin:{ws}/sub/bin:{tmp_path}/link-into-ws:{system}"}
    monkeypatch.chdir(ws)
    assert find_bwrap(None, env, workspace=str(ws)) == f"{system}/bwrap"


def test_system_bwrap_is_preferred_to_path(tmp_path: Path) -> None:
    if not os.access("/usr/bin/bwrap", os.X_OK):
        pytest.skip("no /usr/bin/bwrap on this machine")
    other = tmp_path / "other"
    plant(other, tmp_path / "m")
    assert find_bwrap(None, {"PATH": str(other)}, workspace=str(tmp_path / "ws")) == "/usr/bin/bwrap"
