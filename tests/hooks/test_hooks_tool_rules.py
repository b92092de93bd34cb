"""PreToolUse rules for the non-shell tools: file tools, search tools, web
tools, MCP tools, Codex's apply_patch."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hooks_fixtures import claude_input, codex_input, make_policy

from stockade.hooks.protocol import parse_input
from stockade.hooks.rules import pre_tool_use


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "home"
    ws = home / "proj"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("x")
    ws.mkdir()
    (ws / "src").mkdir()
    return {"home": home, "ws": ws}


def verdict(env: dict[str, Path], tool: str, tool_input: dict[str, Any], *,
            client: str = "claude-code", **policy_kw: Any) -> Any:
    make = claude_input if client == "claude-code" else codex_input
    inp = parse_input(make("PreToolUse", cwd=str(env["ws"]), tool_name=tool,
                           tool_input=tool_input), client=client)  # type: ignore[arg-type]
    return pre_tool_use(inp, make_policy(env["home"], env["ws"], **policy_kw), env={})


CASES = [
    ("Read", {"file_path": "{ws}/src/app.py"}, "allow"),
    ("Read", {"file_path": "{home}/.ssh/id_ed25519"}, "deny"),
    ("Read", {"file_path": "{ws}/../.ssh/id_ed25519"}, "deny"),
    ("Read", {"file_path": "/proc/self/root{home}/.ssh/id_ed25519"}, "deny"),
    ("Read", {"file_path": "~/.ssh/id_ed25519"}, "deny"),
    ("Write", {"file_path": "{ws}/src/new.py", "content": "x"}, "allow"),
    ("Write", {"file_path": "{home}/.bashrc", "content": "x"}, "deny"),
    ("Write", {"file_path": "/etc/cron.d/x", "content": "x"}, "deny"),
    ("Write", {"file_path": "{ws}/.claude/settings.json", "content": "{}"}, "deny"),
    ("Edit", {"file_path": "{ws}/src/app.py", "old_string": "a", "new_string": "b"}, "allow"),
    ("Edit", {"file_path": "{ws}/src/../../.profile", "old_string": "a", "new_string": "b"},
     "deny"),
    ("Edit", {"file_path": "{ws}/stockade.yaml", "old_string": "a", "new_string": "b"}, "deny"),
    ("MultiEdit", {"file_path": "{home}/.ssh/config", "edits": []}, "deny"),
    ("NotebookEdit", {"notebook_path": "{ws}/n.ipynb", "new_source": "x"}, "allow"),
    ("NotebookEdit", {"notebook_path": "/tmp/elsewhere.ipynb", "new_source": "x"}, "deny"),
    ("Glob", {"pattern": "**/*.py"}, "allow"),
    ("Glob", {"pattern": "**/*", "path": "{home}/.ssh"}, "deny"),
    ("Glob", {"pattern": ".ssh/*", "path": "{home}"}, "deny"),
    ("Glob", {"pattern": "**/id_*", "path": "{home}"}, "deny"),
    ("Grep", {"pattern": "TODO", "path": "{ws}/src"}, "allow"),
    ("Grep", {"pattern": "BEGIN", "path": "{home}"}, "deny"),
    ("Grep", {"pattern": "BEGIN", "path": "{home}/.ssh"}, "deny"),
    ("WebFetch", {"url": "https://github.com/acme/app", "prompt": "x"}, "allow"),
    ("WebFetch", {"url": "https://docs.attacker.example/x", "prompt": "x"}, "deny"),
    ("WebSearch", {"query": "x", "allowed_domains": ["github.com"]}, "allow"),
    ("WebSearch", {"query": "x", "allowed_domains": ["attacker.example"]}, "deny"),
    ("WebSearch", {"query": "x"}, "ask"),
    ("TodoWrite", {"todos": []}, "allow"),
    ("Task", {"description": "x", "prompt": "y"}, "allow"),
]


@pytest.mark.parametrize(("tool", "tool_input", "expected"), CASES)
def test_tool_paths_and_domains(tool: str, tool_input: dict[str, Any], expected: str,
                                env: dict[str, Path]) -> None:
    ti = json.loads(json.dumps(tool_input).replace("{ws}", str(env["ws"]))
                    .replace("{home}", str(env["home"])))
    v = verdict(env, tool, ti)
    assert v.action == expected, v
    if expected != "allow":
        assert v.reason and v.rule_ids


def test_a_symlink_in_the_workspace_to_a_denied_file_is_refused(env: dict[str, Path]) -> None:
    os.symlink(env["home"] / ".ssh" / "id_ed25519", env["ws"] / "key.txt")
    v = verdict(env, "Read", {"file_path": str(env["ws"] / "key.txt")})
    assert v.action == "deny" and "fs.read_denied" in v.rule_ids


def test_mcp_allow_list_per_server(env: dict[str, Path]) -> None:
    mcp = {"github": ("get_issue", "list_prs"), "docs": ("*",)}
    assert verdict(env, "mcp__github__get_issue", {}, mcp=mcp).action == "allow"
    v = verdict(env, "mcp__github__delete_repo", {}, mcp=mcp)
    assert v.action == "deny" and "delete_repo" in v.reason and "tools.mcp" in v.rule_ids
    assert verdict(env, "mcp__docs__anything", {}, mcp=mcp).action == "allow"
    # an unlisted server is an unknown tool: tools.default, ask while no policy sets it
    assert verdict(env, "mcp__slack__post", {}, mcp=mcp).action == "ask"
    assert verdict(env, "mcp__slack__post", {}, mcp=mcp, default_explicit=True).action == "allow"
    assert verdict(env, "mcp__slack__post", {}, mcp=mcp, default_action="deny").action == "deny"


def test_unknown_tools_get_tools_default(env: dict[str, Path]) -> None:
    v = verdict(env, "SomeNewTool", {})
    assert v.action == "ask" and "tools.default" in v.rule_ids and "tools.default" in v.reason
    assert verdict(env, "SomeNewTool", {}, default_explicit=True).action == "allow"
    v = verdict(env, "SomeNewTool", {}, default_action="deny", default_explicit=True)
    assert v.action == "deny" and "tools.default" in v.rule_ids


def test_codex_exec_command_and_shell_argv(env: dict[str, Path]) -> None:
    v = verdict(env, "Bash", {"command": "cat ~/.ssh/id_ed25519"}, client="codex")
    assert v.action == "deny"
    v = verdict(env, "shell", {"command": ["bash", "-lc", "cat ~/.ssh/id_ed25519"]},
                client="codex")
    assert v.action == "deny"
    v = verdict(env, "exec_command", {"cmd": "ls", "workdir": str(env["ws"])}, client="codex")
    assert v.action == "allow"


def test_codex_apply_patch_targets(env: dict[str, Path]) -> None:
    ok = "*** Begin Patch\n*** Add File: src/x.py\n+print(1)\n*** End Patch\n"
    assert verdict(env, "apply_patch", {"command": ok}, client="codex").action == "allow"
    bad = f"*** Begin Patch\n*** Update File: {env['home']}/.bashrc\n@@\n+x\n*** End Patch\n"
    assert verdict(env, "apply_patch", {"command": bad}, client="codex").action == "deny"


def test_a_bash_call_without_a_command_is_refused(env: dict[str, Path]) -> None:
    assert verdict(env, "Bash", {}).action == "deny"
