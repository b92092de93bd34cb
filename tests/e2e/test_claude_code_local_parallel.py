"""Parallel tool calls from a Chat Completions model, translated for the real
Claude Code and Codex CLIs: one streamed answer with text and two tool calls
told apart by ``index``, each call's id/name in a first delta and its arguments
in small fragments, the text and the first call's start in the same chunk (as
vLLM and OpenAI send them), usage in a last chunk without choices.  Both calls
must run and both results must come back, paired, on the next turn."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from test_codex_local_model import CODEX_CONFIG

pytestmark = pytest.mark.e2e


class _ParallelModel(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.calls = calls
        self.posts: list[dict[str, Any]] = []
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ParallelModel

    def log_message(self, *a: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._send(200, "application/json", b'{"object":"list","data":[]}')

    def _send(self, code: int, ctype: str, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        with self.server.lock:
            self.server.posts.append({"path": self.path, "body": req})
        results = [m for m in req.get("messages", []) if m.get("role") == "tool"]
        if not req.get("tools"):  # a side call (title ...): a JSON object or plain text
            fmt = ((req.get("response_format") or {}).get("json_schema") or {}).get("schema")
            props = (fmt or {}).get("properties") or {}
            text = json.dumps({k: "Fake " + k for k in props}) if props else "OK"
            chunks = [{"delta": {"content": text}, "finish_reason": "stop"}]
        elif not results:
            chunks = self._parallel_calls()
        else:
            text = "Both done: " + " | ".join(str(m["content"]).strip() for m in results)
            chunks = [{"delta": {"role": "assistant", "content": ""}},
                      {"delta": {"content": text}}, {"delta": {}, "finish_reason": "stop"}]
        if not req.get("stream"):
            content = "".join(c["delta"].get("content", "") for c in chunks)
            body = {"id": "chatcmpl-p", "object": "chat.completion", "model": req.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}
            return self._send(200, "application/json", json.dumps(body).encode())
        out = b"".join(b"data: " + json.dumps({
            "id": "chatcmpl-p", "object": "chat.completion.chunk", "model": req.get("model"),
            "choices": [{"index": 0, "finish_reason": None, **c}]}).encode() + b"\n\n"
            for c in chunks)
        out += b"data: " + json.dumps({"id": "chatcmpl-p", "object": "chat.completion.chunk",
                                       "choices": [], "usage": {
                                           "prompt_tokens": 11, "completion_tokens": 7,
                                           "total_tokens": 18}}).encode() + b"\n\n"
        self._send(200, "text/event-stream", out + b"data: [DONE]\n\n")

    def _parallel_calls(self) -> list[dict[str, Any]]:
        chunks: list[dict[str, Any]] = []
        for i, (name, args) in enumerate(self.server.calls):
            start = {"index": i, "id": f"call_{i}_{name}", "type": "function",
                     "function": {"name": name, "arguments": ""}}
            delta: dict[str, Any] = {"tool_calls": [start]}
            if i == 0:
                delta.update(role="assistant", content="Doing both at once.")
            chunks.append({"delta": delta})
            text = json.dumps(args, ensure_ascii=False)
            chunks += [{"delta": {"tool_calls": [{"index": i, "function": {
                "arguments": text[k:k + 4]}}]}} for k in range(0, len(text), 4)]
        return [*chunks, {"delta": {}, "finish_reason": "tool_calls"}]


@contextmanager
def _model(calls: list[tuple[str, dict[str, Any]]]) -> Iterator[_ParallelModel]:
    srv = _ParallelModel(calls)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _policy(tmp: Path, url: str, vendor: str) -> None:
    f = tmp / "xdg" / "stockade" / "policy.yaml"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("version: 1\nmodels:\n  upstreams:\n"
                 f"    anthropic: {{url: '{vendor}'}}\n    openai: {{url: '{vendor}/v1'}}\n"
                 f"    local: {{url: '{url}/v1', max_tokens: 4096}}\n"
                 "  routes:\n    - {upstream: local}\n")


def _paired(post: dict[str, Any]) -> tuple[list[str], list[str]]:
    msgs = post["body"]["messages"]
    calls = [c["id"] for m in msgs if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    return calls, [m["tool_call_id"] for m in msgs if m["role"] == "tool"]


def test_claude_code_runs_two_parallel_calls_of_a_chat_model(  # type: ignore[no-untyped-def]
        claude_bin: Path, tmp_path: Path, run_gateway, read_ledger, make_agent_env) -> None:
    proj, home = tmp_path / "proj", tmp_path / "home"
    proj.mkdir()
    home.mkdir()
    calls = [("Write", {"file_path": str(proj / "a.txt"), "content": "alpha ✓\n"}),
             ("Write", {"file_path": str(proj / "b.txt"), "content": "beta 😀\n"})]
    with _model(calls) as model:
        _policy(tmp_path, f"http://127.0.0.1:{model.server_address[1]}", "http://127.0.0.1:9")
        with run_gateway(tmp_path) as base:
            env = make_agent_env(home, ANTHROPIC_BASE_URL=base, ANTHROPIC_API_KEY="sk-dummy",
                                 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
            r = subprocess.run([str(claude_bin), "-p", "write a.txt and b.txt",
                                "--allowedTools", "Write", "--output-format", "json"],
                               cwd=proj, env=env, capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL, check=False)
        posts = [p for p in model.posts if p["body"].get("tools")]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["is_error"] is False, (out, r.stderr[-2000:])
    assert (proj / "a.txt").read_text() == "alpha ✓\n"
    assert (proj / "b.txt").read_text() == "beta 😀\n"
    assert out["result"].startswith("Both done: ")
    calls_sent, results = _paired(posts[-1])
    assert calls_sent == ["call_0_Write", "call_1_Write"] and sorted(results) == calls_sent
    assert all(p["body"]["max_tokens"] <= 4096 for p in posts)  # the upstream's cap
    resp = [e for e in read_ledger(tmp_path, "llm.response") if e["details"]["status"] == 200]
    assert any(e["details"]["usage"].get("output_tokens") == 7 for e in resp)


def test_codex_runs_two_parallel_calls_of_a_chat_model(  # type: ignore[no-untyped-def]
        codex_bin: Path, tmp_path: Path, run_gateway, make_agent_env) -> None:
    proj, home, tmpdir = tmp_path / "proj", tmp_path / "home", tmp_path / "t"
    for d in (proj, home / ".codex", tmpdir):
        d.mkdir(parents=True)
    calls = [("exec_command", {"cmd": "printf 'alpha\\n' > a.txt"}),
             ("exec_command", {"cmd": "printf 'beta\\n' > b.txt"})]
    with _model(calls) as model:
        _policy(tmp_path, f"http://127.0.0.1:{model.server_address[1]}", "http://127.0.0.1:9")
        with run_gateway(tmp_path) as base:
            (home / ".codex" / "config.toml").write_text(CODEX_CONFIG.format(base=base))
            env = make_agent_env(home, STOCKADE_TEST_KEY="sk-dummy", TMPDIR=str(tmpdir))
            r = subprocess.run([str(codex_bin), "exec", "--skip-git-repo-check", "--sandbox",
                                "workspace-write", "write a.txt and b.txt"],
                               cwd=proj, env=env, capture_output=True, text=True, timeout=180,
                               stdin=subprocess.DEVNULL, check=False)
        posts = [p for p in model.posts if p["body"].get("tools")]
    assert r.returncode == 0, r.stderr[-3000:]
    assert (proj / "a.txt").read_text() == "alpha\n" and (proj / "b.txt").read_text() == "beta\n"
    assert "Both done: " in r.stdout + r.stderr
    calls_sent, results = _paired(posts[-1])
    assert calls_sent == ["call_0_exec_command", "call_1_exec_command"]
    assert sorted(results) == calls_sent
