"""Shared helpers for the hook tests: a policy view over a temporary home and
workspace, and hook-input builders shaped like the captured client samples."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from stockade.hooks.view import HookPolicy

ALLOW = ("pypi.org", "files.pythonhosted.org", "registry.npmjs.org", "github.com",
         "*.github.com", "*.githubusercontent.com", "crates.io")


def make_policy(home: Path, ws: Path, **kw: Any) -> HookPolicy:
    deny = tuple(str(home / d) for d in (".ssh", ".aws", ".config/gcloud", ".netrc", ".kube"))
    protected = (str(home / ".claude" / "settings.json"), str(ws / ".claude" / "settings.json"),
                 str(ws / "stockade.yaml"), str(home / ".codex" / "hooks.json"),
                 str(home / "state"))
    base: dict[str, Any] = dict(workspace=str(ws), home=str(home), write=(str(ws),),
                                deny_read=deny, network_allow=ALLOW, protected=protected)
    base.update(kw)
    return HookPolicy(**base)


def claude_input(event: str, *, cwd: str, session: str | None = None, **fields: Any) -> bytes:
    """A Claude Code hook stdin object with the captured sample's fields."""
    sid = session or str(uuid.uuid4())
    data: dict[str, Any] = {
        "session_id": sid,
        "transcript_path": f"/tmp/x/.claude/projects/-proj/{sid}.jsonl",
        "cwd": cwd,
        "hook_event_name": event,
    }
    if event != "SessionStart":
        data["prompt_id"] = str(uuid.uuid4())
        data["permission_mode"] = "default"
    if event in ("PreToolUse", "PostToolUse"):
        data["effort"] = {"level": "high"}
        data["tool_use_id"] = "toolu_" + uuid.uuid4().hex[:24]
    data.update(fields)
    return json.dumps(data).encode()


def codex_input(event: str, *, cwd: str, session: str | None = None, **fields: Any) -> bytes:
    """A Codex hook stdin object with the captured sample's fields."""
    sid = session or str(uuid.uuid4())
    data: dict[str, Any] = {
        "session_id": sid,
        "transcript_path": f"/tmp/x/.codex/sessions/2026/11/21/rollout-{sid}.jsonl",
        "cwd": cwd,
        "hook_event_name": event,
        "model": "fake-model",
        "permission_mode": "bypassPermissions",
    }
    if event != "SessionStart":
        data["turn_id"] = str(uuid.uuid4())
    if event in ("PreToolUse", "PostToolUse"):
        data["tool_use_id"] = "call_" + uuid.uuid4().hex[:24]
    data.update(fields)
    return json.dumps(data).encode()


def fake_aws_key() -> str:
    """An AWS-access-key-shaped value built at run time (never committed)."""
    import random
    import string

    rnd = random.Random(os.getpid())
    return "AKIA" + "".join(rnd.choice(string.ascii_uppercase + "234567") for _ in range(16))


def fake_github_token() -> str:
    import random
    import string

    rnd = random.Random(7)
    return "ghp_" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(36))


def make_box(tmp_path: Path) -> dict[str, Path]:
    """A home with secrets, a workspace holding stockade's project files and
    a git repository (with its hooks directory), for the bypass tests."""
    home = tmp_path / "home"
    ws = home / "proj"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("x")
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text("x")
    (ws / ".claude").mkdir(parents=True)
    (ws / ".claude" / "settings.json").write_text("{}")
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n")
    (ws / "src").mkdir()
    (ws / "src" / "app.py").write_text("print(1)\n")
    (ws / "stockade.yaml").write_text("version: 1\n")
    (home / "state").mkdir()
    return {"home": home, "ws": ws, "tmp": tmp_path}


def check_shell(cmd: str, box: dict[str, Path], *, cwd: Path | None = None) -> list[Any]:
    """The violations the shell rules find in ``cmd`` (@HOME@ / @WS@ are
    replaced by the box's paths)."""
    from stockade.hooks.commands import analyse
    from stockade.hooks.depcheck import InstallVerdict
    from stockade.hooks.shellrules import check_command

    cmd = cmd.replace("@HOME@", str(box["home"])).replace("@WS@", str(box["ws"]))
    policy = make_policy(box["home"], box["ws"])
    a = analyse(cmd, cwd=str(cwd or box["ws"]), home=str(box["home"]), env={})
    return check_command(a, policy, install_check=lambda e, p: InstallVerdict("allow"))


def decisions(vs: list[Any]) -> set[tuple[str, str]]:
    return {(v.action, v.rule_id) for v in vs}
