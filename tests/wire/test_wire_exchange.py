"""Request bodies -> segments with JSON paths; errors in each API's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade.wire.exchange import (
    MAX_DEPTH,
    WireError,
    apply_replacements,
    error_body,
    parse_request,
    path_str,
    protocol_for_path,
    safe_path_str,
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
    assert kinds == {"system", "tool_definition", "message", "tool_call_input", "tool_result",
                     "request_field"}  # model, metadata, output_config ...
    locs = {s.location for s in ex.segments}
    assert "$.system[2].text" in locs
    assert "$.messages[1].content" in locs  # the mid-conversation role:system message
    assert "$.messages[2].content[0].input.command" in locs
    assert "$.messages[3].content[0].content" in locs
    assert any(loc.startswith("$.tools[1].input_schema") for loc in locs)
    assert ex.stream and ex.model == "claude-opus-4-8"
    assert ex.uninspected == ()


def _string_leaves(node: object, path: tuple = ()) -> set:
    if isinstance(node, str):
        return {path} if node else set()
    if isinstance(node, list):
        return set().union(*(_string_leaves(v, (*path, i)) for i, v in enumerate(node)))
    if isinstance(node, dict):
        return set().union(*(_string_leaves(v, (*path, k)) for k, v in node.items()))
    return set()


@pytest.mark.parametrize("name,protocol", [
    ("claude_request_turn2.json", "anthropic"),
    ("claude_request_title_sidecall.json", "anthropic"),
    ("codex_request_turn1.json", "responses"),
])
def test_every_string_the_vendor_receives_is_a_segment(name: str, protocol: str) -> None:
    body = _captured(name)
    ex = parse_request(protocol, json.dumps(body).encode())  # type: ignore[arg-type]
    text_paths = {s.path for s in ex.segments if s.part == "text"}
    assert text_paths == _string_leaves(body)


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


def test_base64_images_are_counted_not_scanned() -> None:
    body = {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "text", "text": "what is this"}]}]}
    ex = parse_request("anthropic", json.dumps(body).encode())
    locs = [s.location for s in ex.segments]
    assert "$.messages[0].content[1].text" in locs
    assert "$.messages[0].content[0].source.data" not in locs
    assert ex.uninspected == ("image/png",)


def test_apply_replacements_writes_exact_leaf() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}]}]}
    ex = parse_request("anthropic", json.dumps(body).encode())
    [seg] = [s for s in ex.segments if s.location == "$.messages[0].content[0].text"]
    apply_replacements(ex.body, {seg.path: "b"})
    assert ex.body["messages"][0]["content"][0]["text"] == "b"
    assert path_str(seg.path) == "$.messages[0].content[0].text"


@pytest.mark.parametrize("raw,needle", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b"[1,2]", "must be a JSON object"),
    (b'{"n": ' + b"9" * 5000 + b"}", "number is too long"),
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


def test_free_form_keys_are_segments_and_masked_in_locations() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "tool_use", "id": "t", "name": "n", "input": {"a": 1, "odd key": {"content": "v"}}}]}]}
    ex = parse_request("anthropic", json.dumps(body).encode())
    keys = {s.path: s for s in ex.segments if s.part == "key"}
    inp = ("messages", 0, "content", 0, "input")
    assert set(keys) == {(*inp, "a"), (*inp, "odd key")}  # protocol key names are not
    assert keys[(*inp, "odd key")].kind == "tool_call_input"
    masks = ex.key_masks({(*inp, "odd key")})
    assert path_str((*inp, "odd key", "content"), masks) == "$.messages[0].content[0].input.<key#1>.content"
    assert path_str((*inp, "odd key")) == '$.messages[0].content[0].input["odd key"]'
    assert safe_path_str((*inp, "odd key")) == "$.messages[0].content[0].input.<key>"


def test_data_urls_are_decoded_skipped_or_kept() -> None:
    import base64
    text = base64.b64encode(b"hello there").decode()
    body = {"input": [{"role": "user", "content": [
        {"type": "input_file", "file_data": f"data:text/plain;base64,{text}"},
        {"type": "input_file", "file_data": "data:application/json,%7B%22a%22%3A1%7D"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x"}]}]}
    ex = parse_request("responses", json.dumps(body).encode())
    got = {(s.location, s.part): s.text for s in ex.segments if s.location.endswith(
        ("file_data", "image_url"))}
    assert got == {
        ("$.input[0].content[0].file_data", "decoded"): "hello there",
        ("$.input[0].content[1].file_data", "decoded"): '{"a":1}',
        ("$.input[0].content[3].file_data", "text"): "data:application/pdf;base64,JVBERi0x",
    }
    assert ex.uninspected == ("image/png",)


def test_large_integers_are_segments_settings_included() -> None:
    # a setting's number carries digits too (a card number as the seed); a
    # short one (max_tokens, n) makes no segment
    body = {"model": "m", "seed": 123456789, "max_tokens": 32000, "messages": [
        {"role": "user", "content": "x", "metadata": {"card": 4111111111111111, "n": 12}}]}
    ex = parse_request("chat", json.dumps(body).encode())
    nums = [(s.location, s.text) for s in ex.segments if s.part == "number"]
    assert nums == [("$.seed", "123456789"), ("$.messages[0].metadata.card", "4111111111111111")]


def test_duplicate_keys_are_refused_with_a_path_but_not_the_key() -> None:
    raw = b'{"messages":[{"role":"user","content":"a","extra":{"k9":1,"k9":2}}]}'
    with pytest.raises(WireError) as exc:
        parse_request("chat", raw)
    assert str(exc.value).startswith("duplicate key at $.messages[0].<key>")
    assert "k9" not in str(exc.value)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 5, 100_000])
def test_deep_nesting_is_a_wire_error(depth: int) -> None:
    raw = b'{"messages":' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(WireError, match="nests deeper"):
        parse_request("chat", raw)
