"""Streamed chat.completion.chunk events -> Anthropic Messages SSE (pure, byte level).

The translator is fed through the gateway's own SSE parser, so a TCP read that
ends in the middle of an event, of a tool call's JSON, or of a UTF-8 character
is covered, as are servers' own quirks (everything in one delta, "stop" after a
tool call, no usage, a split surrogate pair, garbage)."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest
from fakes.agent_requests import chat_chunks

from stockade.gateway.translate import MessagesOverChat
from stockade.translate.anthropic_stream import ChatToAnthropicStream
from stockade.wire.sse import SSEParser

TEXT = "Grüße aus Köln — 日本語 ✓ 😀 done."
ARGS = json.dumps({"command": "echo 'naïve 😀' > out.txt", "description": "write"},
                  ensure_ascii=False)


def _sse(datas: list[str]) -> bytes:
    return b"".join(f"data: {d}\n\n".encode() for d in datas)


def _run(raw: bytes, cuts: list[int]) -> list[tuple[str, dict[str, Any]]]:
    """Feed ``raw`` cut at ``cuts`` through parser + translator; the client's events."""
    tr = MessagesOverChat("local", _model="claude-opus-4-8")
    parser = SSEParser()
    out: list[tuple[str, dict[str, Any]]] = []
    bounds = [0, *sorted(cuts), len(raw)]
    for a, b in itertools.pairwise(bounds):
        for ev in parser.feed(raw[a:b]):
            for t in tr.stream_event(ev):
                t.raw.decode("utf-8")  # every event must be sendable
                out.append((t.event or "", json.loads(t.data)))
    for ev in [*(t for e in parser.flush() for t in tr.stream_event(e)), *tr.stream_end()]:
        out.append((ev.event or "", json.loads(ev.data)))
    return out


def _assemble(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """What an Anthropic SDK builds from the events (and checks the order rules)."""
    names = [n for n, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    blocks: dict[int, dict[str, Any]] = {}
    open_idx: int | None = None
    for name, ev in events:
        assert ev["type"] == name
        if name == "content_block_start":
            assert open_idx is None, "a block started before the previous one stopped"
            open_idx = ev["index"]
            blocks[open_idx] = dict(ev["content_block"], _json="")
        elif name == "content_block_delta":
            assert ev["index"] == open_idx
            d = ev["delta"]
            if d["type"] == "text_delta":
                blocks[open_idx]["text"] += d["text"]
            else:
                blocks[open_idx]["_json"] += d["partial_json"]
        elif name == "content_block_stop":
            assert ev["index"] == open_idx
            open_idx = None
    assert open_idx is None
    content = []
    for i in sorted(blocks):
        b = blocks[i]
        raw = b.pop("_json")
        if b["type"] == "tool_use":
            b["input"] = json.loads(raw)
        content.append(b)
    delta = events[-2][1]
    return {"content": content, "stop_reason": delta["delta"]["stop_reason"],
            "usage": delta["usage"], "model": events[0][1]["message"]["model"]}


def test_text_then_tool_call_in_fragments() -> None:
    raw = _sse(chat_chunks(text=TEXT, calls=[("call_1", "Bash", ARGS)], piece=3))
    msg = _assemble(_run(raw, []))
    assert msg["content"] == [
        {"type": "text", "text": TEXT},
        {"type": "tool_use", "id": "call_1", "name": "Bash", "input": json.loads(ARGS)}]
    assert msg["stop_reason"] == "tool_use"
    assert msg["usage"]["input_tokens"] == 1200 and msg["usage"]["output_tokens"] == 34
    assert msg["model"] == "claude-opus-4-8"


@pytest.mark.parametrize("seed", range(40))
def test_any_byte_split_gives_the_same_answer(seed: int) -> None:
    """TCP reads cut anywhere: inside an event, a JSON string, a UTF-8 sequence."""
    raw = _sse(chat_chunks(text=TEXT, calls=[("call_1", "Bash", ARGS), ("call_2", "Read",
                                                                     '{"file_path":"/ä"}')],
                           piece=2))
    rng = random.Random(seed)
    cuts = rng.sample(range(1, len(raw)), 60)
    whole = _assemble(_run(raw, []))
    assert _assemble(_run(raw, cuts)) == whole
    assert [b["type"] for b in whole["content"]] == ["text", "tool_use", "tool_use"]


def test_every_single_byte_split_of_a_multibyte_character() -> None:
    raw = _sse(chat_chunks(text="😀é", piece=1))
    for cut in range(len(raw)):
        assert _assemble(_run(raw, [cut]))["content"] == [{"type": "text", "text": "😀é"}]


def test_surrogate_pair_split_across_chunks_is_rejoined() -> None:
    # a server escaping non-ASCII can cut between the halves of a surrogate pair
    base = '{"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}'
    datas = [base % "a\\ud83d", base % "\\ude00b",
             '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}', "[DONE]"]
    msg = _assemble(_run(_sse(datas), []))
    assert msg["content"] == [{"type": "text", "text": "a😀b"}]


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    datas = ['{"choices":[{"index":0,"delta":{"content":"x\\ud83d"},"finish_reason":"stop"}]}',
             "[DONE]"]
    assert _assemble(_run(_sse(datas), []))["content"] == [{"type": "text", "text": "x\ufffd"}]


def test_whole_tool_call_in_one_delta_and_stop_finish() -> None:
    """Ollama / llama.cpp: id, name and arguments at once; finish_reason "stop"."""
    datas = [json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
        {"id": "call_x", "type": "function",
         "function": {"name": "Bash", "arguments": ARGS}}]}, "finish_reason": None}]}),
        json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})]
    msg = _assemble(_run(_sse(datas), []))  # and no [DONE], no usage
    assert msg["content"][0]["input"] == json.loads(ARGS)
    assert msg["stop_reason"] == "tool_use"
    assert msg["usage"]["output_tokens"] == 0


def test_reasoning_content_is_dropped() -> None:
    datas = [json.dumps({"choices": [{"index": 0, "delta": {"reasoning_content": "hmm"},
                                      "finish_reason": None}]}),
             *chat_chunks(text="hi")]
    msg = _assemble(_run(_sse(datas), []))
    assert msg["content"] == [{"type": "text", "text": "hi"}]


@pytest.mark.parametrize(("finish", "stop"), [("length", "max_tokens"), ("stop", "end_turn")])
def test_finish_reasons(finish: str, stop: str) -> None:
    assert _assemble(_run(_sse(chat_chunks(text="x", finish=finish)), []))["stop_reason"] == stop


MORE = '{"choices":[{"index":0,"delta":{"content":"more"}}]}'


@pytest.mark.parametrize(("datas", "says"), [
    (['{"choices":[{"index":0,"delta":{"content":"hal"}}]}', "{not json", MORE], "not JSON"),
    (['{"choices":[{"index":0,"delta":{"content":"hal"}}]}', "[1,2]", MORE],
     "not a JSON object"),
    (['{"error":{"message":"model crashed","code":500}}', MORE], "model crashed"),
    (['{"choices":[{"index":0,"delta":{"content":"hal"}}]}'], "before the answer was complete"),
])
def test_bad_streams_end_in_an_error_event_not_an_exception(datas: list[str], says: str) -> None:
    events = _run(_sse(datas), [])
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-1] == "error"
    err = events[-1][1]["error"]
    assert err["type"] == "api_error" and says in err["message"]
    assert err["message"].startswith("stockade: upstream 'local'")
    # the open block was closed first, and nothing came after the error
    assert "content_block_stop" in names or "content_block_start" not in names
    assert all(ev.get("delta", {}).get("text") != "more" for _, ev in events)


def test_empty_answer_is_still_a_complete_message() -> None:
    st = ChatToAnthropicStream(model="m", upstream="local")
    names = [n for n, _ in st.feed('{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}')]
    names += [n for n, _ in st.feed("[DONE]")]
    assert names == ["message_start", "ping", "message_delta", "message_stop"]
    assert st.feed("{}") == [] and st.end() == []
