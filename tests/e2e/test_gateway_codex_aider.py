"""The real Codex CLI (Responses) and Aider (Chat Completions) through `stockade gateway`."""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

import pytest

from fakes.upstream import FakeUpstream

pytestmark = pytest.mark.e2e

CODEX_CONFIG = """model = "fake-model"
model_provider = "stockade"
check_for_update_on_startup = false

[model_providers.stockade]
name = "stockade gateway"
base_url = "{base}/v1"
wire_api = "responses"
env_key = "STOCKADE_TEST_KEY"

[analytics]
enabled = false

[feedback]
enabled = false

[features]
plugins = false
apps = false
remote_plugin = false
"""

AIDER_METADATA = {"openai/fake-model": {
    "max_input_tokens": 128000, "max_output_tokens": 4096, "max_tokens": 4096,
    "input_cost_per_token": 0, "output_cost_per_token": 0, "litellm_provider": "openai",
    "mode": "chat"}}


def _aws_key() -> str:
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def test_codex_responses_through_gateway_with_secret_in_tool_output(  # type: ignore[no-untyped-def]
        codex_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:
    proj, home, tmpdir = tmp_path / "proj", tmp_path / "home", tmp_path / "t"
    for d in (proj, home / ".codex", tmpdir):
        d.mkdir(parents=True)
    key = _aws_key()
    (proj / "creds.txt").write_text(f"aws_access_key_id = {key}\n")
    script = [{"tool_call": {"name": "exec_command", "arguments": {"cmd": "cat creds.txt"}}},
              {"tool_call": {"name": "exec_command",
                             "arguments": {"cmd": "printf '%s' '$LAST' > copy.txt"}}},
              {"text": "Copied the credentials file."}]
    with FakeUpstream(script) as up, run_gateway(tmp_path, f"openai={up.url}") as base:
        up.fragment = 6
        (home / ".codex" / "config.toml").write_text(CODEX_CONFIG.format(base=base))
        env = make_agent_env(home, STOCKADE_TEST_KEY="sk-dummy", TMPDIR=str(tmpdir))
        r = subprocess.run([str(codex_bin), "exec", "--skip-git-repo-check", "--sandbox",
                            "workspace-write", "copy creds.txt to copy.txt"], cwd=proj, env=env,
                           capture_output=True, text=True, timeout=180,
                           stdin=subprocess.DEVNULL)
        seen = b"".join(p["raw"] for p in up.posts()).decode()
        paths = {p["path"] for p in up.posts()}
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Copied the credentials file." in r.stdout + r.stderr
    assert paths == {"/v1/responses"}
    assert key not in seen and "STOCKADE_REDACTED_SECRET" in seen
    assert key in (proj / "copy.txt").read_text()
    decisions = [e["decision"] for e in read_ledger(tmp_path, "llm.request")]
    assert decisions[0] == "allow" and "redact" in decisions[1:]


def test_aider_chat_completions_through_gateway(  # type: ignore[no-untyped-def]
        aider_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:
    proj, home = tmp_path / "proj", tmp_path / "home"
    proj.mkdir()
    home.mkdir()
    meta = tmp_path / "aider_model_metadata.json"
    meta.write_text(json.dumps(AIDER_METADATA))
    script = [{"text": "I will create the file.\n\nout.txt\n```\nhello from aider\n```\n"}]
    with FakeUpstream(script) as up, run_gateway(tmp_path, f"openai={up.url}") as base:
        env = make_agent_env(home, OPENAI_API_BASE=f"{base}/v1", OPENAI_API_KEY="sk-dummy",
                             LITELLM_LOCAL_MODEL_COST_MAP="True")
        r = subprocess.run([str(aider_bin), "--model", "openai/fake-model",
                            "--model-metadata-file", str(meta), "--no-git", "--yes-always",
                            "--no-check-update", "--analytics-disable",
                            "--no-show-release-notes", "--no-pretty", "--no-fancy-input",
                            "--message", "create out.txt saying hello from aider"],
                           cwd=proj, env=env, capture_output=True, text=True, timeout=180,
                           stdin=subprocess.DEVNULL)
        posts = up.posts()
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (proj / "out.txt").read_text() == "hello from aider\n"
    assert posts and all(p["path"] == "/v1/chat/completions" for p in posts)
    # Aider's prompts pass untouched under the default policy
    assert all("STOCKADE_REDACTED" not in p["raw"].decode() for p in posts)
    assert {e["decision"] for e in read_ledger(tmp_path, "llm.request")} == {"allow"}
