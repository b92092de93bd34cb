"""Fixture for the hook end-to-end tests (imported by test_hooks_*.py; the
e2e conftest belongs to another suite).

The real agent CLIs are installed by tests/e2e/install_agents.sh into
<repo>/.e2e/.  Without them the tests skip and say how to install them,
except under CI (env CI set), where a missing CLI is a failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE_SECRET = "fake-for-tests"
FAKE_AWS = f"[default]\naws_access_key_id = {FAKE_SECRET}\n"


def fake_api_key(prefix: str = "") -> str:
    """An API key for the scripted model, made at run time: a test can then
    look for it anywhere it must not be."""
    return prefix + os.urandom(16).hex()


def agent_cli(name: str) -> Path:
    base = Path(os.environ.get("STOCKADE_E2E_DIR") or REPO / ".e2e")
    path = base / "node_modules" / ".bin" / name
    if not path.exists():
        msg = (f"{name} CLI not installed at {path}; run tests/e2e/install_agents.sh "
               "(needs npm and the registry)")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


class HookBox:
    """A home, a project and a stockade state directory, all temporary."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.home = tmp / "home"
        self.project = tmp / "proj"
        self.state = tmp / "state"
        self.tmpdir = tmp / "tmp"  # Codex: TMPDIR must not contain HOME
        for d in (self.home, self.project, self.state, self.tmpdir):
            d.mkdir(parents=True)
        (self.home / ".aws").mkdir()
        (self.home / ".aws" / "credentials").write_text(FAKE_AWS)
        (self.project / ".env").write_text(f"API_TOKEN={FAKE_SECRET}\n")
        (self.project / "test_sample.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
        managed = tmp / "managed-policy.yaml"
        managed.write_text("version: 1\n")
        venv_bin = str(Path(sys.executable).parent)
        node_bin = os.path.dirname(shutil.which("node") or "/usr/bin/node")
        self.env = {
            "PATH": os.pathsep.join([venv_bin, node_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self.home),
            "USER": os.environ.get("USER", "tester"),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.tmpdir),
            "STOCKADE_HOME": str(self.state),
            "STOCKADE_MANAGED_POLICY": str(managed),
        }

    def stockade(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stockade", *args], env=self.env,
                              cwd=self.project, capture_output=True, text=True, timeout=120)

    def ledger_export(self) -> str:
        """`stockade ledger export`: every event as JSON lines, as a SIEM gets it."""
        self.ledger_events()  # waits for the detached writers
        proc = self.stockade("ledger", "export")
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def ledger_events(self, *, wait_s: float = 20.0) -> list[dict[str, Any]]:
        """Every ledger event, once the detached hook writers have finished."""
        spool = self.state / "hook-spool"
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            left = [p for p in spool.iterdir()] if spool.exists() else []
            if not left:
                break
            time.sleep(0.2)
        code = (
            "import json, sys\n"
            "from stockade.ledger import open_ledger\n"
            "with open_ledger(create=False) as l:\n"
            "    v = l.verify()\n"
            "    print(json.dumps([e.to_dict() for e in l.query()]))\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return list(json.loads(proc.stdout))


def stream_tool_results(stdout: str) -> dict[str, str]:
    """tool_use_id -> result text, from Claude Code's stream-json output."""
    out: dict[str, str] = {}
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("type") != "user":
            continue
        for block in (msg.get("message") or {}).get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                content = block.get("content")
                if isinstance(content, list):
                    content = "\n".join(c.get("text", "") for c in content if isinstance(c, dict))
                out[block.get("tool_use_id", "")] = str(content)
    return out


def stream_tool_uses(stdout: str) -> list[tuple[str, str]]:
    """(tool_use_id, command) in order, from Claude Code's stream-json output."""
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        if msg.get("type") != "assistant":
            continue
        for block in (msg.get("message") or {}).get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                out.append((block["id"], block.get("input", {}).get("command", "")))
    return out


@pytest.fixture()
def hook_box(tmp_path: Path) -> HookBox:
    return HookBox(tmp_path)
