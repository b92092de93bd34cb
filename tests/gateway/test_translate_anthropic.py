"""Anthropic Messages <-> Chat Completions: requests and whole answers (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakes.agent_requests import claude_code_request, claude_title_request

from stockade.translate import TranslationError
from stockade.translate.anthropic_chat import (
    DOCUMENT_NOTE,
    chat_to_message,
    error_to_anthropic,
    estimate_tokens,
    messages_to_chat,
)


def _walk_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _walk_keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _walk_keys(v)}
    return set()


def test_claude_code_request_becomes_a_chat_request() -> None:
    body = claude_code_request(turns=2)
    req = messages_to_chat(body)
    msgs = req["messages"]
    # system blocks: one system message first, in order, cache_control gone
    assert msgs[0]["role"] == "system"
    assert msgs[0]["content"].startswith("x-anthropic-billing-header")
    assert "You are a Claude agent." in msgs[0]["content"]
    assert not {"cache_control", "thinking", "signature"} & _walk_keys(req)
    # the mid-conversation system message stays where it was
    assert msgs[1]["role"] == "user" and msgs[2]["role"] == "system"
    assert msgs[2]["content"].startswith("Available agent types")
    # each tool_use -> tool_calls, each tool_result -> a tool message right after it
    roles = [m["role"] for m in msgs[3:]]
    assert roles == ["assistant", "tool", "assistant", "tool"]
    for a, t in ((msgs[3], msgs[4]), (msgs[5], msgs[6])):
        (call,) = a["tool_calls"]
        assert call["id"] == t["tool_call_id"] and call["function"]["name"] == "Bash"
        assert json.loads(call["function"]["arguments"])["description"] == "write"
        assert a["content"].startswith("Step ")
    # tools: all 25 client tools, schema carried as parameters
    assert len(req["tools"]) == 25
    src = body["tools"][1]
    fn = req["tools"][1]["function"]
    assert fn == {"name": src["name"], "description": src["description"],
                  "parameters": src["input_schema"]}
    assert req["max_tokens"] == 64000 and req["stream"] is True
    assert req["stream_options"] == {"include_usage": True}
    for dropped in ("thinking", "context_management", "metadata", "output_config", "system"):
        assert dropped not in req


def test_tool_results_come_before_the_rest_of_the_user_turn() -> None:
    body = {"model": "m", "messages": [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "Read", "input": {"p": 1}},
            {"type": "tool_use", "id": "t2", "name": "Read", "input": {"p": 2}}]},
        {"role": "user", "content": [
            {"type": "text", "text": "and also this"},
            {"type": "tool_result", "tool_use_id": "t2", "content": [
                {"type": "text", "text": "two"}]},
            {"type": "tool_result", "tool_use_id": "t1", "content": "one", "is_error": True}]}]}
    msgs = messages_to_chat(body)["messages"]
    assert [m["role"] for m in msgs] == ["assistant", "tool", "tool", "user"]
    # "" beside tool_calls, not null: llama-cpp-python's server refuses null
    assert msgs[0]["content"] == "" and len(msgs[0]["tool_calls"]) == 2
    assert (msgs[1]["tool_call_id"], msgs[1]["content"]) == ("t2", "two")
    assert (msgs[2]["tool_call_id"], msgs[2]["content"]) == ("t1", "Error: one")
    assert msgs[3]["content"] == "and also this"


def test_images_become_data_urls_and_documents_a_note() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.test/a.png"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": "JVBERi0="}}]}]}
    (msg,) = messages_to_chat(body)["messages"]
    assert msg["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}},
        {"type": "text", "text": DOCUMENT_NOTE}]


def test_an_image_in_a_tool_result_follows_in_a_user_message() -> None:
    body = {"model": "m", "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Read",
                                           "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                         "data": "/9j/"}}]}]}]}
    msgs = messages_to_chat(body)["messages"]
    assert [m["role"] for m in msgs] == ["assistant", "tool", "user"]
    assert "image follows" in msgs[1]["content"]
    assert msgs[2]["content"][0]["image_url"]["url"] == "data:image/jpeg;base64,/9j/"


@pytest.mark.parametrize(("choice", "expected", "parallel"), [
    ({"type": "auto"}, "auto", None),
    ({"type": "any"}, "required", None),
    ({"type": "tool", "name": "Bash"}, {"type": "function", "function": {"name": "Bash"}}, None),
    ({"type": "none"}, "none", None),
    ({"type": "auto", "disable_parallel_tool_use": True}, "auto", False),
])
def test_tool_choice(choice: dict[str, Any], expected: Any, parallel: bool | None) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tool_choice": choice,
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}]}
    req = messages_to_chat(body)
    assert req["tool_choice"] == expected
    assert req.get("parallel_tool_calls") == parallel


def test_server_tools_are_dropped_and_sampling_carried() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                      {"name": "Bash", "input_schema": {"type": "object"}}],
            "temperature": 0.2, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END"]}
    req = messages_to_chat(body)
    assert [t["function"]["name"] for t in req["tools"]] == ["Bash"]
    assert (req["temperature"], req["top_p"], req["stop"]) == (0.2, 0.9, ["END"])
    assert "top_k" not in req and "stream" not in req


def test_title_side_call_asks_for_json_schema() -> None:
    req = messages_to_chat(claude_title_request())
    fmt = req["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"]["required"] == ["title"]
    assert "tools" not in req


@pytest.mark.parametrize("body", [
    {"model": "m"},
    {"model": "m", "messages": ["x"]},
    {"model": "m", "messages": [{"role": "wizard", "content": "x"}]},
])
def test_unreadable_requests_raise(body: dict[str, Any]) -> None:
    with pytest.raises(TranslationError):
        messages_to_chat(body)


# -- answers ---------------------------------------------------------------------------


def _chat_answer(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {"id": "chatcmpl-9", "object": "chat.completion", "model": "qwen",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107,
                      "prompt_tokens_details": {"cached_tokens": 40}}}


def test_answer_with_text_and_tool_calls() -> None:
    msg = chat_to_message(_chat_answer({"role": "assistant", "content": "Let me look.",
                                        "tool_calls": [{"id": "call_1", "type": "function",
                                                        "function": {"name": "Read",
                                                                     "arguments": '{"p":"ä"}'}}]},
                                       "tool_calls"), model="claude-opus-4-8")
    assert msg["type"] == "message" and msg["role"] == "assistant"
    assert msg["model"] == "claude-opus-4-8"
    assert msg["content"] == [{"type": "text", "text": "Let me look."},
                              {"type": "tool_use", "id": "call_1", "name": "Read",
                               "input": {"p": "ä"}}]
    assert msg["stop_reason"] == "tool_use"
    assert msg["usage"]["input_tokens"] == 60 and msg["usage"]["cache_read_input_tokens"] == 40
    assert msg["usage"]["output_tokens"] == 7


@pytest.mark.parametrize(("finish", "tools", "stop"), [
    ("stop", False, "end_turn"), ("length", False, "max_tokens"),
    ("content_filter", False, "refusal"), ("tool_calls", True, "tool_use"),
    ("stop", True, "tool_use"),  # llama.cpp / Ollama say "stop" after a call
])
def test_stop_reasons(finish: str, tools: bool, stop: str) -> None:
    message: dict[str, Any] = {"role": "assistant", "content": "x"}
    if tools:
        message["tool_calls"] = [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]
    assert chat_to_message(_chat_answer(message, finish), model="m")["stop_reason"] == stop


def test_invalid_tool_arguments_are_kept_not_lost() -> None:
    msg = chat_to_message(_chat_answer({"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "function": {"name": "Bash", "arguments": '{"command": "ls'}}]}, "tool_calls"),
        model="m")
    assert msg["content"][0]["input"] == {"_raw_arguments": '{"command": "ls'}


def test_upstream_error_becomes_an_anthropic_error_naming_the_upstream() -> None:
    err = error_to_anthropic(400, {"error": {"message": "context too long", "type": "x"}},
                             upstream="local")
    assert err == {"type": "error", "error": {"type": "invalid_request_error",
                                              "message": "upstream 'local': context too long"}}
    assert error_to_anthropic(503, None, upstream="local")["error"]["type"] == "api_error"


def test_token_estimate_grows_with_the_prompt() -> None:
    small = estimate_tokens({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    big = claude_code_request(turns=1)
    n = estimate_tokens(big)
    assert 0 < small < n
    assert n >= len(json.dumps(big["tools"])) // 5  # on the generous side, never far below


def test_upstream_tool_ids_are_made_safe_for_the_vendor_later() -> None:
    msg = chat_to_message(_chat_answer({"role": "assistant", "content": None, "tool_calls": [
        {"id": "call:0/x y", "function": {"name": "f", "arguments": "{}"}},
        {"function": {"name": "g", "arguments": "{}"}}]}, "tool_calls"), model="m")
    ids = [b["id"] for b in msg["content"]]
    assert ids[0] == "call_0_x_y" and ids[1].startswith("toolu_")
