"""The real Claude Code CLI through `stockade gateway` to the scripted upstream."""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

import pytest

from fakes.upstream import FakeUpstream

pytestmark = pytest.mark.e2e


def _claude(bin_: Path, cwd: Path, base: str, prompt: str, tools: str,
            make_env) -> dict:  # type: ignore[no-untyped-def, type-arg]
    home = cwd.parent / "home"
    home.mkdir(exist_ok=True)
    env = make_env(home, ANTHROPIC_BASE_URL=base, ANTHROPIC_API_KEY="sk-ant-dummy",
                    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    r = subprocess.run([str(bin_), "-p", prompt, "--allowedTools", tools,
                        "--output-format", "json"], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=120, stdin=subprocess.DEVNULL)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"claude rc={r.returncode} stdout={r.stdout[-2000:]!r} "
                             f"stderr={r.stderr[-2000:]!r}") from None


def _aws_key() -> str:
    # AWS key ids are base32 (A-Z, 2-7): the DLP engine rejects other shapes
    return "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))


def test_clean_session_is_forwarded_untouched(claude_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:  # type: ignore[no-untyped-def]
    proj = tmp_path / "proj"
    proj.mkdir()
    script = [{"tool_use": {"name": "Bash", "input": {"command": "echo hello > out.txt",
                                                       "description": "write"}}},
              {"text": "Done: wrote out.txt."}]
    with FakeUpstream(script) as up, run_gateway(tmp_path, f"anthropic={up.url}") as base:
        out = _claude(claude_bin, proj, base, "write hello to out.txt", "Bash", make_agent_env)
        posts = up.posts()
    assert out["is_error"] is False and out["result"] == "Done: wrote out.txt."
    assert (proj / "out.txt").read_text() == "hello\n"
    main = [p for p in posts if p["body"].get("tools")]
    assert len(main) == 2
    # the default policy leaves an ordinary Claude Code request alone
    assert all("STOCKADE_REDACTED" not in p["raw"].decode() for p in posts)
    reqs = read_ledger(tmp_path, "llm.request")
    assert {e["decision"] for e in reqs} == {"allow"}
    assert reqs[-1]["session"] == out["session_id"]
    assert read_ledger(tmp_path, "llm.response")[-1]["details"]["usage"]["output_tokens"] == 20


def test_secret_read_from_workspace_is_redacted_upstream_and_written_back_real(
        claude_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:  # type: ignore[no-untyped-def]
    proj = tmp_path / "proj"
    proj.mkdir()
    key = _aws_key()
    (proj / ".env").write_text(f"AWS_ACCESS_KEY_ID={key}\n")
    script = [{"tool_use": {"name": "Read", "input": {"file_path": str(proj / ".env")}}},
              {"tool_use": {"name": "Write", "input": {"file_path": str(proj / "copy.env"),
                                                        "content": "$LAST"}}},
              {"text": "Copied."}]
    with FakeUpstream(script) as up, run_gateway(tmp_path, f"anthropic={up.url}") as base:
        up.fragment = 7  # placeholders arrive split across input_json_delta events
        out = _claude(claude_bin, proj, base, "copy .env to copy.env", "Read,Write", make_agent_env)
        seen = b"".join(p["raw"] for p in up.posts()).decode()
    assert out["is_error"] is False
    assert key not in seen and "STOCKADE_REDACTED_SECRET" in seen  # the vendor never saw it
    assert key in (proj / "copy.env").read_text()  # the agent wrote the real value back
    redacted = [e for e in read_ledger(tmp_path, "llm.request") if e["decision"] == "redact"]
    assert redacted and redacted[0]["details"]["findings"][0]["kind"] == "tool_result"
    assert key not in json.dumps(read_ledger(tmp_path))


def test_blocked_request_shows_the_stockade_reason(claude_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:  # type: ignore[no-untyped-def]
    proj = tmp_path / "proj"
    proj.mkdir()
    key = _aws_key()
    policy = "version: 1\ndlp:\n  actions: {secret: block}\n"
    with FakeUpstream([{"text": "never"}]) as up, \
            run_gateway(tmp_path, f"anthropic={up.url}", policy=policy) as base:
        out = _claude(claude_bin, proj, base, f"deploy with key {key}", "Bash", make_agent_env)
        main_posts = [p for p in up.posts() if key in p["raw"].decode()]
    assert main_posts == []
    assert out["is_error"] is True
    assert "stockade: request blocked by policy" in out["result"]
    assert "ledger event" in out["result"] and key not in out["result"]
    assert any(e["decision"] == "block" for e in read_ledger(tmp_path, "llm.request"))
