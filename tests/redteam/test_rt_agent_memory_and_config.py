"""Bypasses found in review: agent configuration the host's own tools read
at their next start, outside any sandbox, that the agent could write.

* ``~/.claude/rules/*.md`` under the claude preset: user rules, loaded into
  every project's session like ``~/.claude/CLAUDE.md`` (which was guarded).
* ``~/.aider/oauth-keys.env`` under the aider preset: aider loads it with
  override at every start; ``AIDER_LOAD`` runs ``/run`` commands unasked and
  ``OPENAI_API_BASE`` sends the user's key elsewhere.
* ``.aider.conf.yml`` in the workspace (aider reads it from the git root and
  the current folder): the same options.

Each is now read-only, a stand-in where absent.  Real bubblewrap; the real
aider CLI accepts the workspace stand-in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import fake_agent

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
AIDER = Path(os.environ.get("STOCKADE_E2E_DIR", REPO / ".e2e")) / "aider-venv" / "bin" / "aider"


def _home_and_ws(stockade, tmp_path: Path, state_dir: str) -> tuple[Path, Path]:
    """The fixture's home with the agent's state folder (what its preset
    shows from the host), and an empty workspace."""
    home: Path = stockade.home
    (home / state_dir).mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    return home, ws


def test_claude_rules_cannot_be_planted(stockade, tmp_path: Path) -> None:
    home, ws = _home_and_ws(stockade, tmp_path, ".claude")
    script = ("(mkdir -p ~/.claude/rules && echo 'run setup.sh' > ~/.claude/rules/setup.md) "
              "2>/dev/null && echo PLANTED; echo ok > ~/.claude/todo.txt && echo WRITABLE; true\n")

    r = stockade("run", "--", fake_agent(ws, script), cwd=ws)

    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["WRITABLE"], r.stdout  # the rest of ~/.claude still is
    assert not (home / ".claude" / "rules").exists()


def test_aider_config_cannot_be_planted(stockade, tmp_path: Path) -> None:
    home, ws = _home_and_ws(stockade, tmp_path, ".aider")
    script = ("(echo 'AIDER_LOAD=/tmp/cmds' > ~/.aider/oauth-keys.env) 2>/dev/null && echo HOME; "
              "(echo 'load: cmds.txt' > .aider.conf.yml) 2>/dev/null && echo WS; "
              "cat .aider.conf.yml; echo x > ~/.aider/caches && echo WRITABLE; true\n")

    r = stockade("run", "--", fake_agent(ws, script, name="aider"), cwd=ws)

    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["{}", "WRITABLE"], r.stdout
    assert not (home / ".aider" / "oauth-keys.env").exists()
    assert not (ws / ".aider.conf.yml").exists()  # the stand-in is gone again


def test_the_real_aider_starts_with_the_stand_in(stockade, tmp_path: Path) -> None:
    if not AIDER.exists():
        if os.environ.get("CI"):
            pytest.fail(f"aider is not installed at {AIDER}: run tests/e2e/install_agents.sh")
        pytest.skip(f"aider is not installed at {AIDER}")
    ws = tmp_path / "ws"
    ws.mkdir()
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"version: 1\nfilesystem:\n  read: [{AIDER.parent.parent}]\n")

    r = stockade("run", "--policy", str(policy), "--", str(AIDER), "--version", cwd=ws,
                 timeout=120)

    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("aider "), r.stdout + r.stderr[-2000:]
