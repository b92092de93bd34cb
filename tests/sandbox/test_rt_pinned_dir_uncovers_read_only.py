"""Bypass class: a guard's pinning bind uncovers read-only binds beneath it.

The claude preset shows ``~/.claude`` read-write and ``~/.claude/hooks``,
``commands``, ``agents`` read-only; the ``~/.claude/settings.json`` guard then
bound ``~/.claude`` once more (to pin it), on top of those read-only binds, so
the agent could rewrite ``~/.claude/hooks/*`` - programs the host's Claude
Code runs outside any sandbox.  Real bubblewrap.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import fake_agent

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]


def test_a_presets_read_only_dirs_stay_read_only_under_a_pinned_dir(
        stockade: Stockade, tmp_path: Path) -> None:
    home: Path = stockade.home  # type: ignore[attr-defined]
    for sub in ("hooks", "commands", "agents"):
        (home / ".claude" / sub).mkdir(parents=True)
        (home / ".claude" / sub / "x.sh").write_text("original\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    agent = fake_agent(ws, "for d in hooks commands agents; do\n"
                           "  (echo planted > ~/.claude/$d/x.sh) 2>/dev/null && echo WROTE $d\n"
                           "  (echo planted > ~/.claude/$d/new.sh) 2>/dev/null && echo ADDED $d\n"
                           "done\n(echo ok > ~/.claude/notes.txt) && echo RW-OK\n")
    r = stockade("run", "--", agent, cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout and "ADDED" not in r.stdout, r.stdout
    assert "RW-OK" in r.stdout  # ~/.claude itself stays writable for the agent's state
    for sub in ("hooks", "commands", "agents"):
        assert (home / ".claude" / sub / "x.sh").read_text() == "original\n"


def test_a_read_only_grant_pinned_by_a_guard_inside_stays_read_only(
        stockade: Stockade, tmp_path: Path) -> None:
    # ~/.config is listed read-only; the fish and git config guards inside it
    # pinned it with a writable bind, so the whole of it was writable
    home: Path = stockade.home  # type: ignore[attr-defined]
    (home / ".config" / "fish").mkdir(parents=True)
    (home / ".config" / "app.toml").write_text("original\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nfilesystem:\n  read: ['~/.config']\n")
    r = stockade("run", "--policy", str(policy), "--", "sh", "-c",
                 "cat ~/.config/app.toml; (echo planted > ~/.config/app.toml) 2>/dev/null && "
                 "echo WROTE; (echo x > ~/.config/new) 2>/dev/null && echo ADDED; "
                 "(echo x > ~/.config/fish/config.fish) 2>/dev/null && echo RC; true",
                 cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert "original" in r.stdout  # shown
    assert "WROTE" not in r.stdout and "ADDED" not in r.stdout and "RC" not in r.stdout, r.stdout
    assert (home / ".config" / "app.toml").read_text() == "original\n"
    assert not (home / ".config" / "new").exists()


def test_what_the_hosts_claude_code_runs_later_is_read_only_even_when_absent(
        stockade: Stockade, tmp_path: Path) -> None:
    # found in review: only hooks, commands and agents were read-only, and
    # only when they existed; skills, plugins (with hooks of their own),
    # output styles and the user's memory file were the agent's to write,
    # and a missing hooks folder could be made - on the host, for the user's
    # next Claude Code session outside any sandbox
    home: Path = stockade.home  # type: ignore[attr-defined]
    (home / ".claude" / "plugins" / "fmt" / "hooks").mkdir(parents=True)
    (home / ".claude" / "plugins" / "fmt" / "hooks" / "run.sh").write_text("original\n")
    (home / ".claude" / "CLAUDE.md").write_text("be careful\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    agent = fake_agent(
        ws,
        "(echo planted >> ~/.claude/plugins/fmt/hooks/run.sh) 2>/dev/null && echo PLUGIN\n"
        "(echo planted >> ~/.claude/CLAUDE.md) 2>/dev/null && echo MEMORY\n"
        "for d in hooks commands agents skills output-styles; do\n"
        "  (mkdir -p ~/.claude/$d/x && echo planted > ~/.claude/$d/x/a.md) 2>/dev/null "
        "&& echo MADE $d\n"
        "done\n"
        "(mkdir -p ~/.claude/todos && echo ok > ~/.claude/todos/t.json) && echo RW-OK\n")
    r = stockade("run", "--", agent, cwd=ws, timeout=45)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["RW-OK"], r.stdout
    assert (home / ".claude" / "plugins" / "fmt" / "hooks" / "run.sh").read_text() == "original\n"
    assert (home / ".claude" / "CLAUDE.md").read_text() == "be careful\n"
    # the stand-ins are gone again; what the agent may write is kept
    assert sorted(p.name for p in (home / ".claude").iterdir()) == \
        ["CLAUDE.md", "plugins", "todos"]
