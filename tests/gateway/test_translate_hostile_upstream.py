"""Malformed or hostile Chat Completions output, translated for Claude Code and
Codex: every answer ends in a terminal event the client shows, nothing raises,
truncated tool arguments are never handed on as if complete, and ids stay
unique.  Pure (the translators), plus the gateway for whole non-streamed answers."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from gwsupport import FakeUpstream, make_config, start_gateway

from stockade.config.model import Route
from stockade.translate import TranslationError
from stockade.translate.anthropic_chat import chat_to_message
from stockade.translate.anthropic_stream import ChatToAnthropicStream
from stockade.translate.responses_chat import chat_to_response
from stockade.translate.responses_stream import ChatToResponsesStream

Stream = ChatToAnthropicStream | ChatToResponsesStream
TERMINAL = {"message_stop", "error", "response.completed", "response.incomplete",
            "response.failed"}


def _feed(tr: Stream, chunks: list[Any], *, done: bool = True) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for c in chunks:
        out += tr.feed(c if isinstance(c, str) else json.dumps(c))
    if done:
        out += tr.feed("[DONE]")
    out += tr.end()
    for name, obj in out:  # every event must be sendable as JSON
        json.dumps(obj)
    return [(n or "", o) for n, o in out]


def _both() -> list[Stream]:
    return [ChatToAnthropicStream(model="m", upstream="local"),
            ChatToResponsesStream(model="m", upstream="local")]


def _call(index: int, *, cid: str | None = None, name: str | None = None,
          args: str = "") -> dict[str, Any]:
    fn: dict[str, Any] = {"arguments": args}
    if name:
        fn["name"] = name
    tc: dict[str, Any] = {"index": index, "function": fn}
    if cid:
        tc["id"] = cid
    return {"choices": [{"index": 0, "delta": {"tool_calls": [tc]}}]}


def _error_text(events: list[tuple[str, Any]]) -> str:
    name, obj = events[-1]
    if name == "error":
        return str(obj["error"]["message"])
    assert name == "response.failed"
    return str(obj["response"]["error"]["message"])


@pytest.mark.parametrize("tr", _both(), ids=["anthropic", "responses"])
def test_translate_call_fragments_out_of_order_end_with_an_error(tr: Stream) -> None:
    # call 0 continues after call 1 began: its arguments would reach the agent cut
    events = _feed(tr, [_call(0, cid="a", name="Bash", args='{"command":"rm -rf /tmp/'),
                        _call(1, cid="b", name="Read", args='{"path":"x"}'),
                        _call(0, args='build"}'),
                        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}])
    assert "tool-call fragments out of order" in _error_text(events)
    assert not any(n in ("message_stop", "response.completed") for n, _ in events)


@pytest.mark.parametrize("tr", _both(), ids=["anthropic", "responses"])
def test_translate_whitespace_between_call_fragments_keeps_the_call_whole(tr: Stream) -> None:
    events = _feed(tr, [_call(0, cid="a", name="Bash", args='{"command":'),
                        {"choices": [{"index": 0, "delta": {"content": "\n"}}]},
                        _call(0, args='"ls"}'),
                        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}])
    names = [n for n, _ in events]
    assert names[-1] in ("message_stop", "response.completed")
    args = "".join(o["delta"].get("partial_json", "") if n == "content_block_delta"
                   else o.get("delta", "") if n == "response.function_call_arguments.delta"
                   else "" for n, o in events)
    assert json.loads(args) == {"command": "ls"}


@pytest.mark.parametrize("tr", _both(), ids=["anthropic", "responses"])
def test_translate_colliding_tool_call_ids_are_made_unique(tr: Stream) -> None:
    events = _feed(tr, [_call(0, cid="call_1", name="Bash", args="{}"),
                        _call(1, cid="call_1", name="Bash", args="{}"),
                        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}])
    ids = [o["content_block"]["id"] for n, o in events if n == "content_block_start"] or \
          [o["item"]["call_id"] for n, o in events if n == "response.output_item.added"]
    assert len(ids) == 2 and len(set(ids)) == 2 and ids[0] == "call_1"


def test_translate_colliding_ids_in_a_whole_answer_are_made_unique() -> None:
    calls = [{"id": "x", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}] * 2
    body = {"choices": [{"message": {"content": None, "tool_calls": calls},
                         "finish_reason": "tool_calls"}]}
    ids = [b["id"] for b in chat_to_message(body, model="m")["content"]]
    assert len(set(ids)) == 2
    ids = [i["call_id"] for i in chat_to_response(body, model="m")["output"]]
    assert len(set(ids)) == 2


@pytest.mark.parametrize("tr", _both(), ids=["anthropic", "responses"])
def test_translate_an_answer_past_the_size_cap_ends_with_an_error(tr: Stream) -> None:
    tr.max_chars = 1000
    chunks = [_call(0, cid="a", name="Bash", args='{"x":"')] + \
             [_call(0, args="A" * 100) for _ in range(50)]
    events = _feed(tr, chunks)
    assert "longer than 1000 characters" in _error_text(events)
    relayed = sum(len(o["delta"].get("partial_json", "")) if n == "content_block_delta"
                  else len(o.get("delta", "")) if n.endswith(".delta") else 0
                  for n, o in events)
    assert relayed <= 1200  # stopped at the cap, not after the whole stream


@pytest.mark.parametrize("tr", _both(), ids=["anthropic", "responses"])
def test_translate_error_null_in_every_chunk_is_not_an_error(tr: Stream) -> None:
    events = _feed(tr, [{"error": None, "choices": [{"index": 0, "delta": {"content": "hi"}}]},
                        {"error": None, "choices": [{"index": 0, "delta": {},
                                                     "finish_reason": "stop"}]}])
    assert events[-1][0] in ("message_stop", "response.completed")


@pytest.mark.parametrize("body", [{}, {"choices": []}, {"choices": [None]}, {"object": "x"}])
def test_translate_a_whole_answer_without_a_choice_is_an_error(body: dict[str, Any]) -> None:
    with pytest.raises(TranslationError, match="without a choice"):
        chat_to_message(body, model="m")
    with pytest.raises(TranslationError, match="without a choice"):
        chat_to_response(body, model="m")


def test_translate_content_filter_is_incomplete_for_codex() -> None:
    body = {"choices": [{"message": {"content": "partial"}, "finish_reason": "content_filter"}]}
    resp = chat_to_response(body, model="m")
    assert resp["status"] == "incomplete"
    assert resp["incomplete_details"] == {"reason": "content_filter"}
    assert chat_to_message(body, model="m")["stop_reason"] == "refusal"
    events = _feed(ChatToResponsesStream(model="m", upstream="local"),
                   [{"choices": [{"index": 0, "delta": {"content": "x"},
                                  "finish_reason": "content_filter"}]}])
    assert events[-1][0] == "response.incomplete"
    assert events[-1][1]["response"]["incomplete_details"]["reason"] == "content_filter"


def _hostile_chunk(rng: random.Random) -> Any:
    pick = rng.randrange(14)
    junk: list[Any] = [None, 7, "x", [], {}, {"a": 1}, -1, 10**30, True, "\ud800"]
    if pick == 0:
        return rng.choice(["{not json", "<html>", "null", "[]", '"s"', "", "   "])
    if pick == 1:
        return {"error": rng.choice([*junk, {"message": "boom"}])}
    if pick == 2:
        return {"choices": rng.choice(junk)}
    if pick == 3:
        return {"choices": [{"delta": rng.choice(junk)}]}
    if pick == 4:
        return {"choices": [{"delta": {"content": rng.choice([*junk, "t\ud83d", "\ude00"])}}]}
    if pick == 5:
        return {"choices": [{"delta": {"tool_calls": rng.choice(junk)}}]}
    if pick == 6:
        return {"choices": [{"delta": {"tool_calls": [rng.choice(junk)]}}]}
    if pick == 7:
        return {"choices": [{"delta": {"tool_calls": [{
            "index": rng.choice([*junk, 0, 1, 5]), "id": rng.choice([*junk, "c1"]),
            "function": rng.choice([*junk, {"name": rng.choice(junk), "arguments": rng.choice(
                [*junk, '{"a":', "1}"])}])}]}}]}
    if pick == 8:
        return {"choices": [{"delta": {}, "finish_reason": rng.choice([*junk, "weird", "stop",
                                                                        "length", "tool_calls"])}]}
    if pick == 9:
        return {"usage": rng.choice([*junk, {"prompt_tokens": "7", "completion_tokens": None}])}
    if pick == 10:
        return {"choices": [{"delta": {"content": "both", "tool_calls": [
            {"index": 0, "id": "c", "function": {"name": "B", "arguments": "{}"}}]}}]}
    if pick == 11:
        return "[DONE]"
    if pick == 12:
        return rng.choice(junk)
    return {"choices": [{"delta": {"content": "ok"}}]}


@pytest.mark.parametrize("seed", range(300))
def test_translate_hostile_streams_never_raise_and_always_end(seed: int) -> None:
    rng = random.Random(seed)
    chunks = [_hostile_chunk(rng) for _ in range(rng.randrange(1, 12))]
    for tr in _both():
        events = _feed(tr, chunks, done=rng.random() < 0.5)
        names = [n for n, _ in events]
        assert names and names[-1] in TERMINAL, names
        assert sum(n in TERMINAL for n in names) == 1  # exactly one end, nothing after it
        assert tr.feed('{"choices":[{"delta":{"content":"late"}}]}') == []


@pytest.mark.parametrize(("canned", "says"), [
    ((200, "text/html", b"<html><body>Gateway login</body></html>"), "not a JSON object"),
    ((200, "application/json", b'{"choices": []}'), "without a choice"),
])
@pytest.mark.parametrize("client", ["anthropic", "responses"])
def test_translate_unusable_whole_answers_become_api_shaped_errors(
        canned: tuple[int, str, bytes], says: str, client: str) -> None:
    with FakeUpstream() as vendor, FakeUpstream() as local:
        local.canned = canned
        g = start_gateway(make_config(anthropic=vendor.url, openai=vendor.url, local=local.url,
                                      routes=(Route(upstream="local"),)))
        try:
            if client == "anthropic":
                st, _, out = g.request("POST", "/v1/messages", {
                    "model": "claude-opus-4-8", "max_tokens": 9,
                    "messages": [{"role": "user", "content": "hi"}]})
                err = json.loads(out)
                assert err["type"] == "error"
                message = err["error"]["message"]
            else:
                st, _, out = g.request("POST", "/v1/responses", {"model": "m", "input": "hi"})
                message = json.loads(out)["error"]["message"]
            assert st == 502 and "upstream 'local'" in message and says in message
        finally:
            g.stop()


@pytest.mark.parametrize("client", ["anthropic", "responses"])
def test_translate_finished_says_when_the_rest_of_a_stream_can_be_dropped(client: str) -> None:
    from stockade.gateway.translate import MessagesOverChat, ResponsesOverChat
    from stockade.wire.sse import SSEEvent

    tr = MessagesOverChat("local") if client == "anthropic" else ResponsesOverChat("local")
    assert not tr.finished
    tr.stream_event(SSEEvent(event=None, data='{"choices":[{"delta":{"content":"a"}}]}',
                             raw=b""))
    assert not tr.finished
    tr.stream_event(SSEEvent(event=None, data="{broken", raw=b""))
    assert tr.finished  # the client already has its error event
