"""The real Claude Code CLI, through `stockade gateway`, on a self-hosted model that
speaks only OpenAI Chat Completions (the scripted upstream over a real socket):
the gateway translates Messages <-> Chat Completions, streaming included."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest
from fakes.upstream import FakeUpstream

from stockade.dlp.fakes import sample

pytestmark = pytest.mark.e2e


def _claude(bin_: Path, cwd: Path, base: str, prompt: str, tools: str,
            make_env) -> dict:  # type: ignore[no-untyped-def, type-arg]
    home = cwd.parent / "home"
    home.mkdir(exist_ok=True)
    env = make_env(home, ANTHROPIC_BASE_URL=base, ANTHROPIC_API_KEY="sk-ant-dummy",
                   CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    r = subprocess.run([str(bin_), "-p", prompt, "--allowedTools", tools,
                        "--output-format", "json"], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"claude rc={r.returncode} stdout={r.stdout[-2000:]!r} "
                             f"stderr={r.stderr[-2000:]!r}") from None


def _user_policy(tmp: Path, local_url: str, extra: str = "") -> None:
    """The user's own policy (upstreams may only be defined there or in the managed
    layer, never in the workspace); the gateway fixture points XDG_CONFIG_HOME here."""
    f = tmp / "xdg" / "stockade" / "policy.yaml"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(f"version: 1\nmodels:\n  upstreams:\n"
                 f"    local:\n      url: {local_url}/v1\n"
                 f"      models: {{'claude-*': qwen2.5-coder-32b-instruct}}\n"
                 f"{extra}")


def test_multi_turn_tool_task_on_a_chat_completions_model(  # type: ignore[no-untyped-def]
        claude_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    script = [
        {"text": "I will write the file first.",
         "tool_call": {"name": "Write", "arguments": {"file_path": str(proj / "notes.txt"),
                                                      "content": "größe: 42 ✓\n"}}},
        {"tool_call": {"name": "Bash", "arguments": {"command": "wc -c notes.txt",
                                                     "description": "count bytes"}}},
        {"text": "The file holds: $LAST"},
    ]
    with FakeUpstream([{"text": "the vendor must not be asked"}]) as vendor, \
            FakeUpstream(script) as local:
        _user_policy(tmp_path, local.url, "  routes:\n    - {upstream: local}\n")
        local.fragment = 5  # arguments and UTF-8 text arrive in small pieces
        local.chat_side_calls = True
        with run_gateway(tmp_path, f"anthropic={vendor.url}") as base:
            out = _claude(claude_bin, proj, base, "write notes.txt, count its bytes, tell me",
                          "Write,Bash", make_agent_env)
        posts = local.posts()
        vendor_posts = vendor.posts()
    assert out["is_error"] is False, out
    assert (proj / "notes.txt").read_text() == "größe: 42 ✓\n"
    # the answer quotes the command's real output, which came back as a tool result
    assert out["result"].startswith("The file holds: ")
    assert "notes.txt" in out["result"] and "16" in out["result"]
    assert vendor_posts == []
    main = [p for p in posts if p["body"].get("tools")]
    assert len(main) == 3 and all(p["path"] == "/v1/chat/completions" for p in posts)
    assert all(p["body"]["model"] == "qwen2.5-coder-32b-instruct" for p in main)
    assert all(p["body"]["stream"] is True for p in main)
    last = main[-1]["body"]["messages"]
    # tool_use / tool_result pairing survived translation, in Chat Completions order
    calls = [c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    results = [m["tool_call_id"] for m in last if m["role"] == "tool"]
    assert len(calls) == 2 and calls == results
    reqs = read_ledger(tmp_path, "llm.request")
    assert reqs and all(e["details"]["upstream"] == "local" for e in reqs)
    assert all(e["details"]["translated"] == "anthropic->chat" for e in reqs)
    assert reqs[-1]["details"]["route"] == "models.routes[0]"
    resp = [e for e in read_ledger(tmp_path, "llm.response") if e["details"]["status"] == 200]
    assert resp[-1]["details"]["usage"]["output_tokens"] == 20


def test_secret_routed_to_local_never_reaches_the_vendor(  # type: ignore[no-untyped-def]
        claude_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    secret = sample("github_pat_classic", random.Random()).value  # built at run time
    (proj / "deploy.env").write_text(f"TOKEN={secret}\n")
    script = [{"tool_call": {"name": "Read", "arguments": {"file_path": str(proj / "deploy.env")}}},
              {"text": "The file sets TOKEN."}]
    with FakeUpstream(script) as vendor, FakeUpstream(script) as local:
        _user_policy(tmp_path, local.url, "dlp:\n  actions: {secret: 'route:local'}\n")
        vendor.chat_side_calls = local.chat_side_calls = True
        vendor.script = [{"tool_use": {"name": "Read", "input": {
            "file_path": str(proj / "deploy.env")}}}, {"text": "The file sets TOKEN."}]
        with run_gateway(tmp_path, f"anthropic={vendor.url}") as base:
            out = _claude(claude_bin, proj, base, "what does deploy.env set?", "Read",
                          make_agent_env)
        vendor_raw = b"".join(p["raw"] for p in vendor.posts())
        local_raw = b"".join(p["raw"] for p in local.posts())
    assert out["is_error"] is False, out
    assert out["result"] == "The file sets TOKEN."
    # the first turn (no secret yet) went to the vendor; the turn carrying the file's
    # content went to the in-house model, unredacted, and never to the vendor
    assert vendor.posts(), "the clean first turn should have gone to the vendor"
    assert secret.encode() not in vendor_raw
    assert secret.encode() in local_raw
    routed = [e for e in read_ledger(tmp_path, "llm.request") if e["decision"] == "route"]
    assert routed and routed[-1]["details"]["upstream"] == "local"
    assert routed[-1]["details"]["route"] == "dlp.actions.secret -> route:local"
    assert secret not in json.dumps(read_ledger(tmp_path))
