"""Bypass found in review: only the repository's own ``.git/config`` was read
for where git takes its hooks and config from.  But git reads a chain: the
system's config, the user's (``~/.gitconfig``), the repository's, and every
file any of them includes.

* ``include.path = ../.gitconfig`` (a project config shared in the
  repository, a common setup): the included file is config the host's git
  reads, in the workspace the agent writes.  ``core.fsmonitor`` there runs a
  program of the agent's on the user's next ``git status``.
* A relative ``core.hooksPath`` in ``~/.gitconfig`` names a folder in every
  work tree, this workspace's too.

Files included from the workspace are now read-only (a stand-in where
absent), and the hooks folder is taken from the whole chain.  Real
bubblewrap."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
PLANT = ("(printf '[core]\\n\\tfsmonitor = ./evil.sh\\n' >> {f}) 2>/dev/null && echo PLANTED; "
         "true")


def _repo(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    subprocess.run([*GIT, "init", "-q", str(ws)], check=True)
    return ws


@pytest.mark.parametrize("present", [True, False])
def test_a_config_included_from_the_workspace_is_read_only(
        stockade, tmp_path: Path, present: bool) -> None:
    ws = _repo(tmp_path)
    if present:
        (ws / ".gitconfig").write_text("[pull]\n\trebase = true\n")
    subprocess.run([*GIT, "-C", str(ws), "config", "include.path", "../.gitconfig"], check=True)
    before = (ws / ".gitconfig").read_bytes() if present else None

    r = stockade("run", "--", "bash", "-c", PLANT.format(f=".gitconfig"), cwd=ws)

    assert r.returncode == 0, r.stderr
    assert "PLANTED" not in r.stdout
    if present:
        assert (ws / ".gitconfig").read_bytes() == before
    else:
        assert not (ws / ".gitconfig").exists()  # the stand-in is gone again
    fsmonitor = subprocess.run([*GIT, "-C", str(ws), "config", "core.fsmonitor"],
                               capture_output=True, text=True, check=False)
    assert fsmonitor.stdout == ""


def test_includes_of_includes_and_the_users_own_config_count(stockade, tmp_path: Path) -> None:
    ws = _repo(tmp_path)
    home: Path = stockade.home  # type: ignore[attr-defined]
    # ~/.gitconfig includes, where the workspace lies, a team file in it,
    # which includes another (a conditional include counts as if it held)
    (ws / "team.gitconfig").write_text("[include]\n\tpath = more/extra.gitconfig\n")
    (ws / "more").mkdir()
    (ws / "more" / "extra.gitconfig").write_text("[pull]\n\trebase = true\n")
    (home / ".gitconfig").write_text(
        f'[includeIf "gitdir:{tmp_path}/"]\n\tpath = {ws}/team.gitconfig\n'
        "[core]\n\thooksPath = .githooks\n")
    before = {p: (ws / p).read_bytes() for p in ("team.gitconfig", "more/extra.gitconfig")}
    script = (PLANT.format(f="team.gitconfig") + "; " + PLANT.format(f="more/extra.gitconfig")
              + "; (mkdir -p .githooks && echo x > .githooks/pre-commit) 2>/dev/null "
              "&& echo HOOK; true")

    r = stockade("run", "--", "bash", "-c", script, cwd=ws)

    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [], r.stdout
    assert {p: (ws / p).read_bytes() for p in before} == before
    assert not (ws / ".githooks" / "pre-commit").exists()
