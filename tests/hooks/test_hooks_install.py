"""install / uninstall / doctor against temporary settings files: merging
with what is there, removing exactly what was added, the interpreter's
absolute path in the command."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from stockade.cli import main
from stockade.hooks.install import (
    CLAUDE_EVENTS,
    add_hooks,
    hook_command,
    installed_events,
    remove_hooks,
)

USER_HOOK = {"type": "command", "command": "/usr/local/bin/my-audit"}


def existing() -> dict[str, Any]:
    return {"model": "opus", "permissions": {"allow": ["Bash(ls:*)"]},
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [dict(USER_HOOK)]}],
                      "Notification": [{"hooks": [dict(USER_HOOK)]}]}}


def test_add_then_remove_restores_the_original() -> None:
    cmd = hook_command("claude-code")
    merged, added = add_hooks(existing(), client="claude-code", command=cmd)
    assert added == list(CLAUDE_EVENTS)
    assert merged["model"] == "opus" and merged["permissions"] == existing()["permissions"]
    # stockade runs first; the user's own hook is still there
    pre = merged["hooks"]["PreToolUse"]
    assert pre[0] == {"matcher": "*", "hooks": [{"type": "command", "command": cmd + " || exit 2",
                                                 "timeout": 30}]}
    assert pre[1]["hooks"] == [USER_HOOK]
    again, added2 = add_hooks(merged, client="claude-code", command=cmd)
    assert added2 == [] and again == merged
    restored, n = remove_hooks(merged, commands={cmd})
    assert n == len(CLAUDE_EVENTS)
    assert restored == existing()


def test_an_earlier_install_without_exit_2_is_brought_up_to_date() -> None:
    cmd = hook_command("claude-code")
    merged, _ = add_hooks({}, client="claude-code", command=cmd)
    bare = json.loads(json.dumps(merged).replace(" || exit 2", ""))
    again, updated = add_hooks(bare, client="claude-code", command=cmd)
    assert updated == ["PreToolUse", "UserPromptSubmit"] and again == merged


def test_remove_keeps_a_hook_the_user_added_to_our_group() -> None:
    cmd = hook_command("claude-code")
    merged, _ = add_hooks({}, client="claude-code", command=cmd)
    merged["hooks"]["Stop"][0]["hooks"].append(dict(USER_HOOK))
    out, _ = remove_hooks(merged, commands={cmd})
    assert out == {"hooks": {"Stop": [{"hooks": [USER_HOOK]}]}}


def test_the_command_runs_this_interpreter_by_absolute_path() -> None:
    words = shlex.split(hook_command("codex"))
    assert words == [sys.executable, "-P", "-m", "stockade", "hook", "codex"]
    assert Path(words[0]).is_absolute()


def test_a_stockade_package_planted_in_the_project_is_not_what_the_hook_runs(
        tmp_path: Path) -> None:
    """Regression: agents run hooks with the project as the current directory,
    and `python -m` puts it first on the import path, so a `stockade/` package
    the agent wrote there ran as the hook, outside any sandbox."""
    import subprocess

    planted = tmp_path / "stockade"
    planted.mkdir()
    (planted / "__init__.py").write_text("")
    (planted / "__main__.py").write_text("print('PLANTED'); raise SystemExit(0)\n")
    proc = subprocess.run(shlex.split(hook_command("claude-code")), cwd=tmp_path,
                          input='{"hook_event_name": "PreToolUse", "tool_name": "Bash", '
                                '"tool_input": {"command": "ls"}, "cwd": "."}',
                          capture_output=True, text=True, timeout=60)
    assert "PLANTED" not in proc.stdout + proc.stderr


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


def test_cli_install_uninstall_user_scope(home: Path, capsys: Any) -> None:
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(existing()))
    assert main(["install", "claude-code"]) == 0
    assert set(installed_events(json.loads(settings.read_text()))) >= set(CLAUDE_EVENTS)
    assert main(["uninstall", "claude-code"]) == 0
    assert json.loads(settings.read_text()) == existing()
    assert "removed 6 hook entries" in capsys.readouterr().out


def test_cli_install_project_and_managed_scopes(home: Path, tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    assert main(["install", "claude-code", "--scope", "project", "--project", str(proj)]) == 0
    assert installed_events(json.loads((proj / ".claude" / "settings.json").read_text()))
    assert main(["install", "claude-code", "--scope", "managed"]) == 0
    managed = tmp_path / "etc" / "managed.json"
    assert installed_events(json.loads(managed.read_text()))
    assert main(["uninstall", "claude-code", "--scope", "managed"]) == 0
    assert not managed.exists()  # install created it; nothing else was in it


def test_cli_install_codex(home: Path) -> None:
    assert main(["install", "codex"]) == 0
    data = json.loads((home / ".codex" / "hooks.json").read_text())
    assert set(installed_events(data)) == {"PreToolUse", "PostToolUse", "UserPromptSubmit",
                                           "SessionStart", "Stop"}
    assert main(["uninstall", "codex"]) == 0
    assert not (home / ".codex" / "hooks.json").exists()


def test_install_refuses_to_overwrite_a_broken_settings_file(home: Path, capsys: Any) -> None:
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{ not json")
    assert main(["install", "claude-code"]) == 2
    assert settings.read_text() == "{ not json"
    assert "not valid JSON" in capsys.readouterr().err


def test_doctor_reports_installs_and_runs_the_hook(home: Path, capsys: Any) -> None:
    assert main(["install", "claude-code"]) == 0
    capsys.readouterr()
    code = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    checks = {c["check"]: c for c in report["checks"]}
    assert code == 0 and report["ok"] is True, report
    assert any(k.startswith("claude-code (user)") and v["status"] == "ok"
               for k, v in checks.items())
    assert checks["self-test claude-code: refuses reading ~/.ssh"]["status"] == "ok"
    assert checks["self-test claude-code: lets `ls` through"]["status"] == "ok"


def test_doctor_fails_when_an_event_is_missing(home: Path, capsys: Any) -> None:
    settings = home / ".claude" / "settings.json"
    settings.parent.mkdir()
    partial, _ = add_hooks({}, client="claude-code", command=hook_command("claude-code"))
    del partial["hooks"]["PreToolUse"]
    settings.write_text(json.dumps(partial))
    assert main(["doctor"]) == 1
    assert "missing PreToolUse" in capsys.readouterr().out
