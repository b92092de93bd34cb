"""Bypass: object keys were never scanned, so a value used as a key in free-form
tool input or a tool schema reached the vendor.  A finding in a key blocks
(a key cannot be redacted safely) and the key never appears in a location."""

from __future__ import annotations

import pytest
from gwsupport import RunningGateway, fake_secret, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream


def _anthropic_tool_input(v: str) -> dict:
    return {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Write",
                                           "input": {"env": {v: "1"}}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "ok"}]}]}


CASES = [
    ("tool-input", "/v1/messages", _anthropic_tool_input),
    ("input-schema-property", "/v1/messages",
     lambda v: {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
                "tools": [{"name": "t", "input_schema": {"type": "object",
                                                         "properties": {v: {"type": "string"}}}}]}),
    ("chat-function-parameters", "/v1/chat/completions",
     lambda v: {"model": "m", "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "function", "function": {
                    "name": "f", "parameters": {"type": "object", "properties": {v: {}}}}}]}),
    ("responses-metadata", "/v1/responses",
     lambda v: {"model": "m", "input": "hi", "metadata": {v: "x"}}),
]


@pytest.mark.parametrize("path,make", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_secret_in_an_object_key_blocks(blocking: RunningGateway, fake: FakeUpstream,
                                        path: str, make) -> None:  # type: ignore[no-untyped-def]
    value = fake_secret()
    ev, msg = blocking.assert_blocked(fake, path, make(value), value=value)
    [finding] = ev["details"]["findings"]
    assert "<key#" in finding["location"] and "<key#" in msg


def test_key_finding_blocks_even_when_the_policy_says_redact(fake: FakeUpstream) -> None:
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "redact"}),
                      scanner=real_scanner())
    try:
        value = fake_secret()
        ev, msg = g.assert_blocked(fake, "/v1/messages", _anthropic_tool_input(value),
                                   value=value)
        assert ev["decision"] == "block"
        assert "$.messages[1].content[0].input.env.<key#0>" in msg
    finally:
        g.stop()
