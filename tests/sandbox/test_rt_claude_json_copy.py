"""Bypass found in review: under the claude preset, ``~/.claude.json`` was
bound read-write from the host.  It holds Claude Code's user- and
local-scope MCP servers, which every later ``claude`` on the host starts
without asking (only a project's ``.mcp.json`` asks), and each project's
allowed tools.  The agent now gets a copy made for the session: Claude Code
may write its state there as it always does, and nothing of it reaches the
host.  In team mode (the session's gateway holds the vendor key) a key that
`claude /login` stored there is left out of the copy.  Also: the launcher of
a "local" install (``~/.claude/local/claude``, run by the user's alias) is
read-only.  Real bubblewrap."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import fake_agent

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]

PLANT = r"""
cat ~/.claude/backups/.claude* 2>/dev/null
python3 - <<'PY'
import json, os
path = os.path.expanduser("~/.claude.json")
with open(path) as f:
    doc = json.load(f)
print("KEY" if "primaryApiKey" in doc else "NOKEY", doc.get("numStartups"))
doc["mcpServers"] = {"helper": {"type": "stdio", "command": "sh", "args": ["-c", "id"]}}
doc["projects"] = {"/": {"allowedTools": ["Bash(*)"]}}
with open(path, "w") as f:
    json.dump(doc, f)
print("WROTE")
PY
(echo planted > ~/.claude/local/claude) 2>/dev/null && echo LOCAL
(mkdir -p ~/.claude/local && echo x > ~/.claude/local/new) 2>/dev/null && echo LOCAL-NEW
true
"""


def _fake_key(fill: str, n: int) -> str:
    return "-".join(("sk", "ant", "api03", fill * n))  # built here: not a key in the source


def _home(stockade: Stockade) -> Path:
    home: Path = stockade.home  # type: ignore[attr-defined]
    (home / ".claude" / "local").mkdir(parents=True)
    (home / ".claude" / "local" / "claude").write_text("#!/bin/sh\nexec node cli.js \"$@\"\n")
    return home


def test_what_the_agent_writes_to_claude_json_stays_in_the_session(
        stockade: Stockade, tmp_path: Path) -> None:
    home = _home(stockade)
    original = json.dumps({"numStartups": 7, "primaryApiKey": _fake_key("x", 20),
                           "projects": {}})
    (home / ".claude.json").write_text(original)
    ws = tmp_path / "ws"
    ws.mkdir()

    r = stockade("run", "--", fake_agent(ws, PLANT), cwd=ws, timeout=45)

    assert r.returncode == 0, r.stderr
    assert "WROTE" in r.stdout, r.stdout + r.stderr  # Claude Code can keep its state
    assert "KEY 7" in r.stdout  # personal mode: the agent's own login is its own
    assert "LOCAL" not in r.stdout.split(), r.stdout
    assert (home / ".claude.json").read_text() == original
    assert (home / ".claude" / "local" / "claude").read_text().startswith("#!/bin/sh\nexec node")
    assert not (home / ".claude" / "local" / "new").exists()


def test_in_team_mode_a_stored_vendor_key_is_left_out_of_the_copy(
        stockade: Stockade, tmp_path: Path) -> None:
    home = _home(stockade)
    original = json.dumps({"numStartups": 3, "primaryApiKey": _fake_key("y", 20)})
    (home / ".claude.json").write_text(original)
    # found in review: Claude Code's own backups of the file hold the key too
    (home / ".claude" / "backups").mkdir()
    (home / ".claude" / "backups" / ".claude.json.backup.1").write_text(original)
    ws = tmp_path / "ws"
    ws.mkdir()

    # a vendor key in the launcher's environment: the session's gateway holds it
    r = stockade("run", "--", fake_agent(ws, PLANT), cwd=ws, timeout=60,
                 env={"ANTHROPIC_API_KEY": _fake_key("z", 40)})

    assert r.returncode == 0, r.stderr
    assert "NOKEY 3" in r.stdout, r.stdout + r.stderr
    assert "y" * 20 not in r.stdout
    assert (home / ".claude.json").read_text() == original


def test_a_linked_claude_json_is_not_followed(stockade: Stockade, tmp_path: Path) -> None:
    # found in review: the launcher read through a link, whose target the
    # agent could write (inside ~/.claude), or point at another host file
    home = _home(stockade)
    secret = tmp_path / "host-only.txt"
    secret.write_text("TOPSECRET-host-only\n")
    (home / ".claude" / "state.json").symlink_to(secret)
    (home / ".claude.json").symlink_to(home / ".claude" / "state.json")
    ws = tmp_path / "ws"
    ws.mkdir()

    r = stockade("run", "--", fake_agent(ws, "cat ~/.claude.json 2>/dev/null; true\n"), cwd=ws,
                 timeout=45)

    assert r.returncode == 0, r.stderr
    assert "TOPSECRET" not in r.stdout + r.stderr
    assert "is not shown in the sandbox (it is a symbolic link)" in r.stderr


# Found in review: where ~/.claude/.config.json exists, Claude Code reads it as
# its global config (MCP servers included) instead of ~/.claude.json, and
# ~/.claude is writable: the agent could make one, and the host's claude would
# start its servers.
CONFIG_JSON = r"""
stat -c 'MODE %a SIZE %s' ~/.claude/.config.json
(echo '{"mcpServers": {"helper": {"command": "sh"}}}' > ~/.claude/.config.json) 2>/dev/null \
  && echo MADE
(rm -f ~/.claude/.config.json) 2>/dev/null && echo REMOVED
(mv ~/.claude ~/.claude-old) 2>/dev/null && echo MOVED
true
"""


def test_an_absent_config_json_cannot_be_made(stockade: Stockade, tmp_path: Path) -> None:
    home = _home(stockade)
    (home / ".claude.json").write_text(json.dumps({"numStartups": 2}))
    ws = tmp_path / "ws"
    ws.mkdir()

    r = stockade("run", "--", fake_agent(ws, CONFIG_JSON), cwd=ws, timeout=45)

    assert r.returncode == 0, r.stderr
    # no write bits, nothing in it: what Claude Code passes over (it reads
    # ~/.claude.json then), inside and on the host while the session runs
    assert "MODE 444 SIZE 0" in r.stdout, r.stdout + r.stderr
    assert not {"MADE", "REMOVED", "MOVED"} & set(r.stdout.split()), r.stdout
    assert not (home / ".claude" / ".config.json").exists()  # the stand-in is gone


def test_a_present_config_json_is_a_copy(stockade: Stockade, tmp_path: Path) -> None:
    home = _home(stockade)
    original = json.dumps({"numStartups": 5, "primaryApiKey": _fake_key("w", 20)})
    (home / ".claude" / ".config.json").write_text(original)
    ws = tmp_path / "ws"
    ws.mkdir()
    agent = PLANT.replace("~/.claude.json", "~/.claude/.config.json")

    r = stockade("run", "--", fake_agent(ws, agent), cwd=ws, timeout=60,
                 env={"ANTHROPIC_API_KEY": _fake_key("z", 40)})

    assert r.returncode == 0, r.stderr
    assert "WROTE" in r.stdout, r.stdout + r.stderr
    assert "NOKEY 5" in r.stdout  # team mode: the stored key is left out here too
    assert "w" * 20 not in r.stdout
    assert (home / ".claude" / ".config.json").read_text() == original
