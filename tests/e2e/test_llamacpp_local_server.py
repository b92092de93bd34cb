"""Optional: the gateway's translation against a real OpenAI-compatible server
(llama-cpp-python's server) running a tiny random-weights model made here.

Skipped unless ``STOCKADE_LLAMACPP_PYTHON`` names a Python that has
``llama-cpp-python[server]``, ``gguf`` and ``numpy`` (a separate venv: none of
them is a stockade dependency).  The model's words are noise; what is checked
is the protocol: how a real server streams, reports usage and finishes, and
whether it accepts what the translator sends.  Run it with::

    python3 -m venv /tmp/llama && /tmp/llama/bin/pip install 'llama-cpp-python[server]' gguf numpy
    STOCKADE_LLAMACPP_PYTHON=/tmp/llama/bin/python pytest tests/e2e/test_llamacpp_local_server.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# optional: skipped unless STOCKADE_LLAMACPP_PYTHON is set (see above); CI never sets it
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PY = os.environ.get("STOCKADE_LLAMACPP_PYTHON")

MAKE_GGUF = r'''
import sys
import numpy as np
import gguf

def byte_chars():
    # GPT-2's byte -> printable character table: a byte-level vocabulary with no merges
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]

path = sys.argv[1]
rng = np.random.default_rng(0)
n_embd, n_ff, n_head, n_layer, n_ctx = 64, 128, 4, 2, 4096
# one merge: llama.cpp refuses a BPE vocabulary without any
tokens = byte_chars() + ["ab", "<|im_start|>", "<|im_end|>", "<s>", "</s>"]
n_vocab = len(tokens)
w = gguf.GGUFWriter(path, "llama")
w.add_name("stockade-random-tiny")
w.add_context_length(n_ctx)
w.add_embedding_length(n_embd)
w.add_block_count(n_layer)
w.add_feed_forward_length(n_ff)
w.add_head_count(n_head)
w.add_head_count_kv(n_head)
w.add_rope_dimension_count(n_embd // n_head)
w.add_layer_norm_rms_eps(1e-5)
w.add_vocab_size(n_vocab)
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("default")
w.add_token_list(tokens)
w.add_token_types([1] * 257 + [3] * 4)
w.add_token_merges(["a b"])
w.add_bos_token_id(259)
w.add_eos_token_id(258)
w.add_add_bos_token(False)
w.add_chat_template(
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{{ m['content'] if m['content'] is string else '' }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

def t(*shape):
    return (rng.standard_normal(shape) * 0.02).astype(np.float32)

w.add_tensor("token_embd.weight", t(n_vocab, n_embd))
w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
w.add_tensor("output.weight", t(n_vocab, n_embd))
for i in range(n_layer):
    p = f"blk.{i}."
    w.add_tensor(p + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(p + name + ".weight", t(n_embd, n_embd))
    w.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor(p + "ffn_gate.weight", t(n_ff, n_embd))
    w.add_tensor(p + "ffn_up.weight", t(n_ff, n_embd))
    w.add_tensor(p + "ffn_down.weight", t(n_embd, n_ff))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
'''


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PY:
        pytest.skip("optional: set STOCKADE_LLAMACPP_PYTHON to a Python with "
                    "llama-cpp-python[server], gguf and numpy")
    tmp = tmp_path_factory.mktemp("llama")
    model = tmp / "tiny.gguf"
    subprocess.run([PY, "-c", MAKE_GGUF, str(model)], check=True, timeout=120)
    port = _free_port()
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([PY, "-m", "llama_cpp.server", "--model", str(model), "--host",
                             "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
                             "--model_alias", "tiny"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError((tmp / "server.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


def _request(url: str, path: str, body: dict, *, stream: bool) -> tuple[int, bytes]:  # type: ignore[type-arg]
    import http.client

    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request("POST", path, body=json.dumps(dict(body, stream=stream)),
                 headers={"content-type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


MESSAGES = {"model": "claude-opus-4-8", "max_tokens": 12,
            "system": [{"type": "text", "text": "You are terse.",
                        "cache_control": {"type": "ephemeral"}}],
            "tools": [{"name": "Bash", "description": "Run a command",
                       "input_schema": {"type": "object",
                                        "properties": {"command": {"type": "string"}}}}],
            "messages": [{"role": "user", "content": "hello"},
                         {"role": "assistant", "content": [
                             {"type": "tool_use", "id": "toolu_1", "name": "Bash",
                              "input": {"command": "ls"}}]},
                         {"role": "user", "content": [
                             {"type": "tool_result", "tool_use_id": "toolu_1",
                              "content": "a.txt"}]},
                         {"role": "system", "content": "Mid-conversation reminder."}]}


def test_messages_and_responses_through_a_real_server(  # type: ignore[no-untyped-def]
        llama_server: str, tmp_path: Path, run_gateway) -> None:
    policy = tmp_path / "xdg" / "stockade" / "policy.yaml"
    policy.parent.mkdir(parents=True)
    policy.write_text("version: 1\nmodels:\n  upstreams:\n"
                      f"    local: {{url: {llama_server}/v1, models: {{'*': tiny}}}}\n"
                      "  routes:\n    - {upstream: local}\n")
    with run_gateway(tmp_path, "anthropic=http://127.0.0.1:9") as base:
        # streamed Messages: a complete Anthropic event sequence
        st, raw = _request(base, "/v1/messages", MESSAGES, stream=True)
        assert st == 200, raw[:500]
        events = _sse(raw)
        names = [e for e, _ in events]
        assert names[:2] == ["message_start", "ping"], names
        assert names[-2:] == ["message_delta", "message_stop"], events[-3:]
        stop = events[-2][1]["delta"]["stop_reason"]
        assert stop in ("max_tokens", "end_turn", "tool_use")
        assert "error" not in names
        # the same, not streamed
        st, raw = _request(base, "/v1/messages", MESSAGES, stream=False)
        assert st == 200, raw[:500]
        msg = json.loads(raw)
        assert msg["type"] == "message" and msg["stop_reason"] in ("max_tokens", "end_turn",
                                                                   "tool_use")
        assert msg["usage"]["input_tokens"] > 0
        # Codex's API, streamed
        body = {"model": "gpt-5-codex", "instructions": "Be terse.", "max_output_tokens": 12,
                "input": [{"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "hi"}]}]}
        st, raw = _request(base, "/v1/responses", body, stream=True)
        assert st == 200, raw[:500]
        rev = _sse(raw)
        assert rev[0][0] == "response.created"
        assert rev[-1][0] in ("response.completed", "response.incomplete"), rev[-1]


def _sse(raw: bytes) -> list[tuple[str | None, dict]]:  # type: ignore[type-arg]
    out = []
    for block in raw.decode().split("\n\n"):
        ev, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                ev = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data and data != ["[DONE]"]:
            out.append((ev, json.loads("\n".join(data))))
    return out



def test_the_upstreams_token_cap_and_a_repaired_conversation_on_a_real_server(
        llama_server: str, tmp_path: Path, run_gateway: Callable[..., Any]) -> None:
    """Claude Code asks for 64000 output tokens; the upstream's ``max_tokens: 6`` is
    what the real server is asked for (its answer stops there).  The conversation
    holds an interrupted turn (two calls, one result), which the translation
    repairs for stricter servers; this one must accept the repaired form too."""
    policy = tmp_path / "xdg" / "stockade" / "policy.yaml"
    policy.parent.mkdir(parents=True)
    policy.write_text("version: 1\nmodels:\n  upstreams:\n"
                      f"    local: {{url: {llama_server}/v1, models: {{'*': tiny}}, "
                      "max_tokens: 6}\n  routes:\n    - {upstream: local}\n")
    body = dict(MESSAGES, max_tokens=64000, messages=[
        {"role": "user", "content": "check both"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_a", "name": "Bash", "input": {"command": "ls"}},
            {"type": "tool_use", "id": "toolu_b", "name": "Bash", "input": {"command": "pwd"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "/w"},
            {"type": "text", "text": "never mind the first one"}]}])
    with run_gateway(tmp_path, "anthropic=http://127.0.0.1:9") as base:
        for stream in (False, True):
            st, raw = _request(base, "/v1/messages", body, stream=stream)
            assert st == 200, raw[:500]
            if not stream:
                msg = json.loads(raw)
                assert 0 < msg["usage"]["output_tokens"] <= 6
                assert msg["stop_reason"] in ("max_tokens", "end_turn", "tool_use")
            else:
                names = [e for e, _ in _sse(raw)]
                assert names[-2:] == ["message_delta", "message_stop"], names
