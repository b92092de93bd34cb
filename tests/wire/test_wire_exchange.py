"""Request bodies -> segments with JSON paths; errors in each API's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.wire.exchange import (
    WireError,
    apply_replacements,
    error_body,
    parse_request,
    path_str,
    protocol_for_path,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "agents" / "examples"


def _captured(name: str) -> dict:
    p = EXAMPLES / name
    if not p.exists():
        pytest.skip(f"captured request {p} not available")
    return json.loads(p.read_text())["body"]


def test_claude_code_request_every_part_is_a_segment() -> None:
    body = _captured("claude_request_turn2.json")
    ex = parse_request("anthropic", json.dumps(body).encode())
    kinds = {s.kind for s in ex.segments}
    assert kinds == {"system", "tool_definition", "message", "tool_call_input", "tool_result"}
    locs = {s.location for s in ex.segments}
    assert "$.system[2].text" in locs
    assert "$.messages[1].content" in locs  # the mid-conversation role:system message
    assert "$.messages[2].content[0].input.command" in locs
    assert "$.messages[3].content[0].content" in locs
    assert any(loc.startswith("$.tools[1].input_schema") for loc in locs)
    assert ex.stream and ex.model == "claude-opus-4-8"
    # identifiers are not content
    assert not any(loc.endswith((".type", ".id", ".tool_use_id")) for loc in locs)


def test_codex_responses_request_segments() -> None:
    body = _captured("codex_request_turn1.json")
    ex = parse_request("responses", json.dumps(body).encode())
    kinds = {s.kind for s in ex.segments}
    assert {"system", "tool_definition", "message"} <= kinds
    assert "$.input[3].content[0].text" in {s.location for s in ex.segments}


def test_chat_tool_calls_and_results_are_classified() -> None:
    body = {"model": "m", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "sh", "arguments": "{\"a\":1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "file text"}]}
    ex = parse_request("chat", json.dumps(body).encode())
    by_loc = {s.location: s.kind for s in ex.segments}
    assert by_loc["$.messages[0].content"] == "system"
    assert by_loc["$.messages[1].tool_calls[0].function.arguments"] == "tool_call_input"
    assert by_loc["$.messages[2].content"] == "tool_result"


def test_base64_images_are_not_scanned() -> None:
    body = {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "text", "text": "what is this"}]}]}
    ex = parse_request("anthropic", json.dumps(body).encode())
    assert [s.location for s in ex.segments] == ["$.messages[0].content[1].text"]


def test_apply_replacements_writes_exact_leaf() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}]}
    ex = parse_request("anthropic", json.dumps(body).encode())
    seg = ex.segments[0]
    apply_replacements(ex.body, {seg.path: "b"})
    assert ex.body["messages"][0]["content"][0]["text"] == "b"
    assert path_str(seg.path) == "$.messages[0].content[0].text"


@pytest.mark.parametrize("raw,needle", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b"[1,2]", "must be a JSON object"),
])
def test_bad_bodies_raise_wire_error(raw: bytes, needle: str) -> None:
    with pytest.raises(WireError, match=needle):
        parse_request("chat", raw)


def test_error_shapes_match_each_sdk() -> None:
    a = json.loads(error_body("anthropic", status=403, message="stockade: x"))
    assert a == {"type": "error", "error": {"type": "permission_error", "message": "stockade: x"}}
    o = json.loads(error_body("chat", status=500, message="stockade: y"))
    assert o["error"]["message"] == "stockade: y" and o["error"]["type"] == "server_error"


def test_protocol_for_path() -> None:
    assert protocol_for_path("/v1/messages") == "anthropic"
    assert protocol_for_path("/v1/messages/count_tokens") == "anthropic"
    assert protocol_for_path("/v1/chat/completions") == "chat"
    assert protocol_for_path("/v1/responses") == "responses"
    assert protocol_for_path("/v2/other") is None
