"""Benign regression: masks made from /dev/null are unreadable inside a user
namespace (device nodes sit on nodev mounts), and git treats an unreadable
~/.config/git/config as fatal.  Masks are empty regular files instead."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_git_commit_works_under_the_guards(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(ws)], check=True)
    (stockade.home / ".gitconfig").write_text(  # type: ignore[attr-defined]
        "[user]\n\tname = Dev\n\temail = dev@example.invalid\n")
    script = ("cat ~/.bashrc ~/.config/git/config && echo x > f && git add f && "
              "git commit -qm one && git log --format=%an")
    r = stockade("run", "--", "bash", "-c", script, cwd=ws)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Dev"
