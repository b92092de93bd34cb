"""Bypass found while building the guards: a read-only .git/hooks mount is
useless if the agent can rename .git away and create a fresh one with a
writable hooks/ (rename(2) of a parent of a mount point is allowed).  The
guard directories' parents are pinned (bound onto themselves)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_renaming_git_dir_to_plant_a_hook_fails(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    before = sorted(p.name for p in (ws / ".git" / "hooks").iterdir())
    script = r"""
mv .git .git.orig && mkdir -p .git/hooks && printf '#!/bin/sh\necho pwned\n' > .git/hooks/pre-commit \
  && echo PLANTED
mv .claude .claude.orig 2>/dev/null && mkdir .claude && echo '{}' > .claude/settings.json && echo CLAUDE
git config core.hooksPath /tmp/evil 2>/dev/null && echo CONFIG
true
"""
    r = stockade("run", "--", "bash", "-c", script, cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "PLANTED" not in r.stdout and "CLAUDE" not in r.stdout and "CONFIG" not in r.stdout
    assert not (ws / ".git.orig").exists()
    assert sorted(p.name for p in (ws / ".git" / "hooks").iterdir()) == before
    assert "hooksPath" not in (ws / ".git" / "config").read_text()
