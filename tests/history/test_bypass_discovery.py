"""Discovery must not miss sessions in silence, nor be steered by the audited
user: an unreadable folder is reported, a linked ``~/.claude`` in someone
else's home is not followed, and a transcript swapped for a FIFO after it was
found neither hangs the audit nor is read."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest
from fakehome import ClaudeSession, Clock, recent
from historyworld import run_cli

from stockade.dlp import Engine
from stockade.history.discover import discover
from stockade.history.records import Skip
from stockade.history.worker import scan_source

ALL = frozenset({"claude-code", "codex", "aider"})


def _claude(home: Path, seed: int = 1) -> Path:
    s = ClaudeSession(home, "/p", clock=Clock(recent(1)), rng=random.Random(seed))
    s.prompt("hi")
    return s.write()


def test_an_unreadable_folder_is_reported_as_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "h"
    path = _claude(home)
    locked = path.parent  # the project folder: as if chmod 000 by its owner
    real_scandir = os.scandir

    def scandir(p: object = ".") -> object:
        if os.fspath(p) == str(locked):  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(p)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    skips: list[Skip] = []
    found = discover([str(home)], own_home=False, agents=ALL, since=None, env={}, skips=skips)
    assert found == []
    assert Skip(str(locked), 0, "cannot read: Permission denied") in skips


@pytest.mark.parametrize("link", [".claude", ".claude/projects"])
def test_a_linked_agent_folder_in_an_audited_home_is_not_followed(tmp_path: Path, link: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    _claude(elsewhere)  # elsewhere/.claude/projects/...
    home = tmp_path / "victim"
    home.mkdir()
    target = elsewhere / link
    (home / link).parent.mkdir(parents=True, exist_ok=True)
    (home / link).symlink_to(target, target_is_directory=True)
    skips: list[Skip] = []
    found = discover([str(home)], own_home=False, agents=ALL, since=None, env={}, skips=skips)
    assert found == []
    assert [(k.file, k.reason) for k in skips] == [(str(home / link), "symbolic link not followed")]


def test_your_own_linked_claude_folder_is_read(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    _claude(dotfiles)
    home = tmp_path / "me"
    home.mkdir()
    (home / ".claude").symlink_to(dotfiles / ".claude", target_is_directory=True)
    found = discover([str(home)], own_home=True, agents=ALL, since=None, env={}, skips=[])
    assert len(found) == 1


def test_a_transcript_swapped_for_a_fifo_is_skipped_without_hanging(tmp_path: Path) -> None:
    home = tmp_path / "h"
    path = _claude(home)
    [src] = discover([str(home)], own_home=False, agents=ALL, since=None, env={}, skips=[])
    path.unlink()
    os.mkfifo(path)  # nobody will ever write to it
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(scan_source(src, Engine())), daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "reading a FIFO blocked the audit"
    [res] = result
    assert [k.reason for k in res.skipped] == ["cannot read: not a regular file"]  # type: ignore[attr-defined]


def test_a_transcript_swapped_for_a_link_is_not_followed(tmp_path: Path) -> None:
    home = tmp_path / "h"
    path = _claude(home)
    [src] = discover([str(home)], own_home=False, agents=ALL, since=None, env={}, skips=[])
    other = _claude(tmp_path / "other", seed=2)
    path.unlink()
    path.symlink_to(other)
    res = scan_source(src, Engine())
    assert res.sessions == {} and len(res.skipped) == 1 and res.skipped[0].reason.startswith("cannot read")


def test_an_empty_home_gives_an_empty_report(tmp_path: Path, cli_env) -> None:
    import json

    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("history", "--home", str(empty), "--format", "json", env=cli_env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["sessions"], data["exposures"], data["actions"], data["skipped"]) == ([], [], [], [])
    t = run_cli("history", "--home", str(empty), env=cli_env)
    assert t.returncode == 0 and "0 sessions" in t.stdout and "0 exposures" in t.stdout



def test_a_link_loop_among_transcripts_is_reported_not_walked(tmp_path: Path) -> None:
    home = tmp_path / "h"
    path = _claude(home)
    (path.parent / "loop").symlink_to(path.parent, target_is_directory=True)
    skips: list[Skip] = []
    found = discover([str(home)], own_home=False, agents=ALL, since=None, env={}, skips=skips)
    assert [s.path for s in found] == [str(path)]
    assert [(k.file, k.reason) for k in skips] == [(str(path.parent / "loop"), "symbolic link not followed")]
