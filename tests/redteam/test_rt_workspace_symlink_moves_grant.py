"""Bypass class: a symlink the agent plants in the workspace moves a grant.

A policy may grant a path under the workspace (``filesystem.write:
[${WORKSPACE}/build]``, ``read: [${WORKSPACE}/vendor]``).  The agent can write
the workspace, so in one session it replaces ``build`` with a symlink to any
directory of the user's (``~/.ssh``).

* The policy is loaded after the symlink is there: ``config/schema.py``
  resolves the grant to the symlink's target at load time, and the next
  session shows that directory read-write at its own path.  Verified by hand
  (the agent wrote into the target and read a file there).  That needs the
  loader to refuse a grant under the workspace that resolves outside it:
  xfail (strict) until it does.
* The grant was pinned while the view was cached and became a symlink
  afterwards: the layout already left a symlinked grant unbound (the agent
  then saw a dangling link); the launcher now refuses the session with a
  message that names the path (``launcher.check_grants``), instead of
  starting with the grant silently missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

AGENT = "echo planted > build/owned && echo WROTE; cat build/canary 2>/dev/null"


def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    ws = tmp_path / "ws"
    ws.mkdir()
    outside = tmp_path / "outside"  # stands for ~/.ssh
    outside.mkdir()
    (outside / "canary").write_text("not for the agent\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nfilesystem:\n  write: ['${WORKSPACE}/build']\n")
    return ws, outside, policy


def test_a_cached_grant_that_became_a_symlink_is_refused(
        tmp_path: Path, stockade: Callable[..., Any]) -> None:
    ws, outside, policy = setup(tmp_path)
    (ws / "build").mkdir()
    for _ in range(2):  # the second session uses the cached view
        assert stockade("run", "--policy", str(policy), "--", "true", cwd=ws).returncode == 0
    (ws / "build").rmdir()  # what the agent does in a session
    (ws / "build").symlink_to(outside)
    r = stockade("run", "--policy", str(policy), "--", "sh", "-c", AGENT, cwd=ws)
    assert r.returncode != 0
    assert "is now a symlink" in r.stderr
    assert "WROTE" not in r.stdout and "not for the agent" not in r.stdout
    assert sorted(p.name for p in outside.iterdir()) == ["canary"]


def test_a_grant_loaded_through_a_planted_symlink_is_refused(
        tmp_path: Path, stockade: Callable[..., Any]) -> None:
    ws, outside, policy = setup(tmp_path)
    (ws / "build").symlink_to(outside)
    r = stockade("run", "--policy", str(policy), "--", "sh", "-c", AGENT, cwd=ws)
    assert "WROTE" not in r.stdout and "not for the agent" not in r.stdout
    assert sorted(p.name for p in outside.iterdir()) == ["canary"]
