"""Bypass: only a fixed list of top-level keys was walked, so content in any other
request field (predictions, prompt variables, output schemas, metadata, MCP
server settings ...) reached the vendor unscanned."""

from __future__ import annotations

import pytest
from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream

_MSGS = [{"role": "user", "content": "hello"}]

CASES = [
    ("chat-prediction", "/v1/chat/completions",
     lambda v: {"model": "m", "messages": _MSGS,
                "prediction": {"type": "content", "content": f"token = {v}"}}),
    ("chat-stop", "/v1/chat/completions",
     lambda v: {"model": "m", "messages": _MSGS, "stop": ["\n\n", v]}),
    ("chat-user", "/v1/chat/completions",
     lambda v: {"model": "m", "messages": _MSGS, "user": v}),
    ("chat-response-format", "/v1/chat/completions",
     lambda v: {"model": "m", "messages": _MSGS, "response_format": {
         "type": "json_schema", "json_schema": {"name": "x", "schema": {"description": v}}}}),
    ("responses-prompt-variables", "/v1/responses",
     lambda v: {"model": "m", "input": "hi",
                "prompt": {"id": "pmpt_1", "variables": {"customer": v}}}),
    ("responses-text-format", "/v1/responses",
     lambda v: {"model": "m", "input": "hi", "text": {"format": {
         "type": "json_schema", "name": "x", "schema": {"type": "object", "description": v}}}}),
    ("responses-reasoning-item", "/v1/responses",
     lambda v: {"model": "m", "input": [{"type": "reasoning", "id": "rs_1", "summary": [],
                                         "encrypted_content": v}]}),
    ("anthropic-metadata", "/v1/messages",
     lambda v: {"model": "m", "max_tokens": 5, "messages": _MSGS, "metadata": {"user_id": v}}),
    ("anthropic-mcp-servers", "/v1/messages",
     lambda v: {"model": "m", "max_tokens": 5, "messages": _MSGS, "mcp_servers": [
         {"type": "url", "url": "https://mcp.example", "name": "m",
          "authorization_token": v}]}),
    ("anthropic-output-format", "/v1/messages",
     lambda v: {"model": "m", "max_tokens": 5, "messages": _MSGS, "output_format": {
         "type": "json_schema", "schema": {"type": "object", "description": v}}}),
    ("anthropic-model", "/v1/messages",
     lambda v: {"model": v, "max_tokens": 5, "messages": _MSGS}),
    ("unknown-future-field", "/v1/messages",
     lambda v: {"model": "m", "max_tokens": 5, "messages": _MSGS, "x_future": [{"a": v}]}),
]


@pytest.mark.parametrize("path,make", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_top_level_field_is_scanned(blocking: RunningGateway, fake: FakeUpstream,
                                          path: str, make) -> None:  # type: ignore[no-untyped-def]
    value = fake_secret()
    ev, _ = blocking.assert_blocked(fake, path, make(value), value=value)
    assert ev["decision"] == "block"


def test_large_numeric_settings_are_not_content(blocking: RunningGateway,
                                                fake: FakeUpstream) -> None:
    body = {"model": "m", "messages": _MSGS, "seed": 4111111111111111, "max_tokens": 10_000_000}
    st, _, _ = blocking.request("POST", "/v1/chat/completions", body)
    assert st == 200 and len(fake.posts()) == 1
