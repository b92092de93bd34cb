"""Bypass: values under "identifier" keys (type, id, signature, cache_control, base64
``data`` ...) were dropped at any depth, free-form tool input and schemas included."""

from __future__ import annotations

import base64

import pytest
from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream


def _tool_turn(tool_input: dict) -> dict:
    return {"model": "claude-x", "max_tokens": 10, "tools": [
        {"name": "Write", "description": "write", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "go"},
                     {"role": "assistant", "content": [
                         {"type": "tool_use", "id": "toolu_01", "name": "Write",
                          "input": tool_input}]},
                     {"role": "user", "content": [
                         {"type": "tool_result", "tool_use_id": "toolu_01", "content": "ok"}]}]}


@pytest.mark.parametrize("field", ["type", "id", "status", "format", "media_type",
                                   "signature", "encrypted_content", "call_id"])
def test_identifier_named_fields_in_tool_input_are_scanned(
        blocking: RunningGateway, fake: FakeUpstream, field: str) -> None:
    value = fake_secret()
    _, msg = blocking.assert_blocked(fake, "/v1/messages", _tool_turn({field: value}),
                                     value=value)
    assert f"$.messages[1].content[0].input.{field}" in msg


def test_cache_control_subtree_is_scanned(blocking: RunningGateway, fake: FakeUpstream) -> None:
    value = fake_secret()
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "note": value}}]}]}
    blocking.assert_blocked(fake, "/v1/messages", body, value=value)


def test_schema_format_and_type_values_are_scanned(blocking: RunningGateway,
                                                   fake: FakeUpstream) -> None:
    value = fake_secret()
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"name": "t", "input_schema": {"type": "object", "properties": {
                "x": {"type": "string", "format": value}}}}]}
    blocking.assert_blocked(fake, "/v1/messages", body, value=value)


def test_thinking_signature_is_scanned(blocking: RunningGateway, fake: FakeUpstream) -> None:
    value = fake_secret()
    body = {"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm",
                                           "signature": value}]},
        {"role": "user", "content": "go on"}]}
    blocking.assert_blocked(fake, "/v1/messages", body, value=value)


@pytest.mark.parametrize("media,data", [
    pytest.param("text/plain", lambda v: base64.b64encode(v.encode()).decode(), id="text-b64"),
    pytest.param("application/pdf", lambda v: v, id="pdf-not-base64"),
    pytest.param("image/png", lambda v: v, id="image-not-base64"),
    pytest.param("application/x-other", lambda v: v, id="other-media"),
])
def test_base64_source_data_is_dropped_only_for_real_images_and_pdfs(
        blocking: RunningGateway, fake: FakeUpstream, media: str, data) -> None:  # type: ignore[no-untyped-def]
    value = fake_secret()
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": media,
                                        "data": data(value)}},
        {"type": "text", "text": "summarise"}]}]}
    blocking.assert_blocked(fake, "/v1/messages", body, value=value)


def test_base64_shaped_dict_inside_tool_input_is_scanned(blocking: RunningGateway,
                                                         fake: FakeUpstream) -> None:
    value = fake_secret()
    blocking.assert_blocked(fake, "/v1/messages", _tool_turn(
        {"type": "base64", "media_type": "image/png", "data": value}), value=value)


def test_real_pdf_is_forwarded_and_counted_as_uninspected(blocking: RunningGateway,
                                                          fake: FakeUpstream) -> None:
    pdf = base64.b64encode(b"%PDF-1.4\n" + bytes(range(256))).decode()
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": pdf}},
        {"type": "text", "text": "summarise"}]}]}
    st, _, _ = blocking.request("POST", "/v1/messages", body)
    assert st == 200
    ev = blocking.events("llm.request")[-1]
    assert ev["details"]["uninspected_parts"] == 1
    assert ev["details"]["uninspected_media_types"] == ["application/pdf"]
