"""Request headers are inspected with the real DLP engine: the headers Claude
Code, Codex and Aider (the OpenAI Python SDK) really send must not look like
secrets or PII, whatever random ids they carry (session and request UUIDs,
W3C trace context, Codex's turn metadata JSON, organisation/project ids,
idempotency keys), or every session of those agents would be blocked; while a
real secret in any header is still found, and a header name that holds one is
reported by position, never by its text."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from gwsupport import fake_secret, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.inspect import ScanCache, active, inspect
from stockade.wire.exchange import parse_request

_BODY = b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'


def _agent_headers(rng: random.Random) -> list[tuple[str, str]]:
    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    def hexs(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    def ident(n: int) -> str:
        return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                       for _ in range(n))

    sid = uid()
    turn = {"installation_id": uid(), "session_id": sid, "thread_id": sid, "agent_name": "/root",
            "turn_id": uid(), "window_id": f"{sid}:0", "window_number": 0,
            "context_window_id": uid(), "request_kind": "turn", "sandbox": "seccomp",
            "turn_started_at_unix_ms": rng.randrange(1_700_000_000_000, 1_900_000_000_000),
            "model": "gpt-5-codex"}
    return [
        # Claude Code (Anthropic TypeScript SDK)
        ("User-Agent", f"claude-cli/2.{rng.randrange(9)}.{rng.randrange(300)} (external, sdk-cli)"),
        ("X-Claude-Code-Session-Id", uid()), ("X-Stainless-Arch", "x64"),
        ("X-Stainless-Lang", "js"), ("X-Stainless-OS", "Linux"),
        ("X-Stainless-Package-Version", f"0.{rng.randrange(99)}.{rng.randrange(9)}"),
        ("X-Stainless-Retry-Count", str(rng.randrange(3))), ("X-Stainless-Runtime", "node"),
        ("X-Stainless-Runtime-Version", f"v{rng.randrange(18, 27)}.{rng.randrange(20)}.0"),
        ("X-Stainless-Timeout", "600"), ("anthropic-version", "2023-06-01"), ("x-app", "cli"),
        ("anthropic-beta", "claude-code-20250219,context-1m-2025-08-07,oauth-2025-04-20,"
                           "interleaved-thinking-2025-05-14,effort-2025-11-24"),
        ("anthropic-dangerous-direct-browser-access", "true"),
        ("traceparent", f"00-{hexs(32)}-{hexs(16)}-01"),
        ("tracestate", f"congo={ident(11)},rojo={hexs(16)}"),
        ("sentry-trace", f"{hexs(32)}-{hexs(16)}-1"), ("x-request-id", hexs(32)),
        # Codex CLI (Responses)
        ("x-codex-window-id", f"{sid}:0"),
        ("x-codex-turn-metadata", json.dumps(turn, separators=(",", ":"))),
        ("x-codex-beta-features", "remote_compaction_v2"), ("x-client-request-id", uid()),
        ("session-id", sid), ("thread-id", sid), ("originator", "codex_exec"),
        ("user-agent", f"codex_exec/0.{rng.randrange(200)}.0 (Debian 12.0.0; x86_64) dumb"),
        # Aider (OpenAI Python SDK via LiteLLM)
        ("X-Stainless-Lang", "python"), ("X-Stainless-Runtime", "CPython"),
        ("X-Stainless-Runtime-Version", "3.12.3"), ("X-Stainless-Async", "false"),
        ("X-Stainless-Read-Timeout", "600.0"), ("x-stainless-raw-response", "true"),
        ("HTTP-Referer", "https://aider.chat"), ("X-Title", "Aider"),
        ("OpenAI-Organization", "org-" + ident(24)), ("OpenAI-Project", "proj_" + ident(24)),
        ("Idempotency-Key", f"stainless-python-retry-{uid()}"),
    ]


def test_agent_headers_hold_no_findings() -> None:
    cache = ScanCache(real_scanner())
    rng = random.Random(4)
    found: dict[tuple[str, str], int] = {}
    for _ in range(300):
        ex = parse_request("anthropic", _BODY, headers=_agent_headers(rng), query="beta=true")
        for sf in active(inspect(ex, cache)):
            key = (sf.finding.rule_id, sf.location)
            found[key] = found.get(key, 0) + 1
    assert found == {}


def test_through_the_gateway_they_pass_and_a_secret_in_any_header_is_caught(
        fake: FakeUpstream) -> None:
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "block", "pii": "block"}),
                      scanner=real_scanner())
    try:
        headers: dict[str, Any] = dict(_agent_headers(random.Random(9)))
        st, _, out = g.request("POST", "/v1/messages?beta=true", raw=_BODY, headers=headers)
        assert st == 200, out[:300]
        value = fake_secret()
        with fake.lock:
            fake.requests.clear()
        _, msg = g.assert_blocked(fake, "/v1/messages", raw=_BODY,
                                  headers={**headers, "x-codex-turn-metadata": value},
                                  value=value)
        assert "request header x-codex-turn-metadata" in msg
        with fake.lock:
            fake.requests.clear()
        _, msg = g.assert_blocked(fake, "/v1/messages", raw=_BODY,
                                  headers={**headers, f"x-{value}": "1"}, value=value)
        assert "request header #" in msg
    finally:
        g.stop()
