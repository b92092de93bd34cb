"""The real Codex CLI (OpenAI Responses), through `stockade gateway`, on a self-hosted
model that speaks only Chat Completions: Responses <-> Chat Completions translation,
streaming, chosen by a route on the workspace (`repository:`)."""

from __future__ import annotations

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


def test_codex_multi_turn_tool_task_on_a_chat_completions_model(  # type: ignore[no-untyped-def]
        codex_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:
    proj, home, tmpdir = tmp_path / "proj", tmp_path / "home", tmp_path / "t"
    for d in (proj, home / ".codex", tmpdir):
        d.mkdir(parents=True)
    script = [
        {"tool_call": {"name": "exec_command",
                       "arguments": {"cmd": "printf 'grüße ✓\\n' > hello.txt"}}},
        {"tool_call": {"name": "exec_command", "arguments": {"cmd": "wc -c hello.txt"}}},
        {"text": "Wrote hello.txt; wc says: $LAST"},
    ]
    policy = tmp_path / "xdg" / "stockade" / "policy.yaml"
    policy.parent.mkdir(parents=True)
    with FakeUpstream([{"text": "the vendor must not be asked"}]) as vendor, \
            FakeUpstream(script) as local:
        policy.write_text(
            "version: 1\nmodels:\n  upstreams:\n"
            f"    openai: {{url: {vendor.url}/v1}}\n"
            f"    local: {{url: {local.url}/v1, models: {{'fake-*': qwen2.5-coder-7b}}}}\n"
            "  routes:\n    - {repository: '*test_codex_multi_turn*', upstream: local}\n")
        local.fragment = 4
        with run_gateway(tmp_path) as base:
            (home / ".codex" / "config.toml").write_text(CODEX_CONFIG.format(base=base))
            env = make_agent_env(home, STOCKADE_TEST_KEY="sk-dummy", TMPDIR=str(tmpdir))
            r = subprocess.run([str(codex_bin), "exec", "--skip-git-repo-check", "--sandbox",
                                "workspace-write", "write hello.txt and count its bytes"],
                               cwd=proj, env=env, capture_output=True, text=True, timeout=180,
                               stdin=subprocess.DEVNULL, check=False)
        posts = local.posts()
        vendor_posts = vendor.posts()
    assert r.returncode == 0, r.stderr[-3000:]
    assert (proj / "hello.txt").read_text() == "grüße ✓\n"
    assert "Wrote hello.txt; wc says:" in r.stdout + r.stderr
    assert "12 hello.txt" in r.stdout + r.stderr  # the command's output made the round trip
    assert vendor_posts == []
    assert posts and {p["path"] for p in posts} == {"/v1/chat/completions"}
    assert all(p["body"]["model"] == "qwen2.5-coder-7b" and p["body"]["stream"] for p in posts)
    last = posts[-1]["body"]["messages"]
    calls = [c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    assert len(calls) == 2 and calls == [m["tool_call_id"] for m in last if m["role"] == "tool"]
    reqs = read_ledger(tmp_path, "llm.request")
    assert reqs and all(e["details"]["upstream"] == "local" for e in reqs)
    assert all(e["details"]["translated"] == "responses->chat" for e in reqs)
    why = reqs[-1]["details"]["route_why"]
    assert why["repository"] == str(tmp_path) and why["pinned"] is False
