"""`uninstall` removes a settings file `install` created once nothing is left in
it, and never a file the user had, or one they have since put settings in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stockade.cli import main


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("STOCKADE_CLAUDE_MANAGED_SETTINGS", str(tmp_path / "etc" / "managed.json"))
    monkeypatch.setenv("STOCKADE_MANAGED_POLICY", str(tmp_path / "no-managed-policy.yaml"))
    (tmp_path / "no-managed-policy.yaml").write_text("version: 1\n")
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.chdir(h)
    return h


@pytest.mark.parametrize(("client", "rel"), [("claude-code", ".claude/settings.json"),
                                             ("codex", ".codex/hooks.json")])
def test_a_file_install_created_goes_away(home: Path, client: str, rel: str,
                                          capsys: Any) -> None:
    path = home / rel
    assert main(["install", client]) == 0
    assert path.exists()
    assert main(["install", client]) == 0  # a second install changes nothing about that
    assert main(["uninstall", client]) == 0
    assert not path.exists()
    assert "install created it" in capsys.readouterr().out


def test_a_file_the_user_had_stays_even_when_empty(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text("{}\n")
    assert main(["install", "claude-code"]) == 0
    assert main(["uninstall", "claude-code"]) == 0
    assert json.loads(path.read_text()) == {}


def test_settings_added_after_install_are_kept(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    assert main(["install", "claude-code"]) == 0
    data = json.loads(path.read_text())
    data["model"] = "opus"
    path.write_text(json.dumps(data))
    assert main(["uninstall", "claude-code"]) == 0
    assert json.loads(path.read_text()) == {"model": "opus"}
