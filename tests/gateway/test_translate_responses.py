"""OpenAI Responses (Codex) <-> Chat Completions, requests, answers and streams (pure)."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest
from fakes.agent_requests import chat_chunks, codex_request

from stockade.gateway.translate import ResponsesOverChat
from stockade.translate import TranslationError
from stockade.translate.responses_chat import chat_to_response, responses_to_chat
from stockade.wire.sse import SSEParser


def test_codex_request_becomes_a_chat_request() -> None:
    body = codex_request(turns=2)
    req = responses_to_chat(body)
    msgs = req["messages"]
    assert msgs[0] == {"role": "system", "content": body["instructions"]}
    assert msgs[1]["role"] == "system" and msgs[1]["content"].startswith("<permissions")
    assert [m["role"] for m in msgs[2:]] == ["user", "user", "assistant", "tool",
                                             "assistant", "tool"]
    for a, t in ((msgs[4], msgs[5]), (msgs[6], msgs[7])):
        (call,) = a["tool_calls"]
        assert call["id"] == t["tool_call_id"] and call["function"]["name"] == "exec_command"
        assert "cmd" in json.loads(call["function"]["arguments"])
        assert t["content"].startswith("Process exited")
    # function tools only; the built-in web_search tool cannot run on a local model
    assert [t["function"]["name"] for t in req["tools"]] == [
        "exec_command", "write_stdin", "view_image", "update_plan"]
    assert req["tool_choice"] == "auto" and req["parallel_tool_calls"] is True
    assert req["stream"] is True and req["stream_options"] == {"include_usage": True}
    text = json.dumps(req)
    assert "encrypted_content" not in text and "reasoning" not in req
    for dropped in ("include", "store", "prompt_cache_key", "client_metadata", "input"):
        assert dropped not in req


def test_string_input_images_and_text_format() -> None:
    req = responses_to_chat({
        "model": "m", "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "what is this"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]}],
        "max_output_tokens": 300, "temperature": 0.1,
        "text": {"format": {"type": "json_schema", "name": "answer",
                            "schema": {"type": "object"}, "strict": True}}})
    assert req["messages"][0]["content"][1] == {
        "type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    assert req["max_tokens"] == 300 and req["temperature"] == 0.1
    assert req["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "answer", "schema": {"type": "object"}, "strict": True}}
    assert responses_to_chat({"model": "m", "input": "hi"})["messages"] == [
        {"role": "user", "content": "hi"}]


def test_assistant_text_and_its_calls_share_one_message() -> None:
    req = responses_to_chat({"model": "m", "input": [
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Looking."}]},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "g", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"type": "function_call_output", "call_id": "b", "output": [
            {"type": "input_text", "text": "2"}]}]})
    msgs = req["messages"]
    assert [m["role"] for m in msgs] == ["assistant", "tool", "tool"]
    assert msgs[0]["content"] == "Looking." and [c["id"] for c in msgs[0]["tool_calls"]] == ["a", "b"]
    assert [m["content"] for m in msgs[1:]] == ["1", "2"]


@pytest.mark.parametrize("body", [
    {"model": "m", "input": "x", "previous_response_id": "resp_1"},
    {"model": "m", "input": 7},
    {"model": "m", "input": [{"type": "message", "role": "wizard", "content": "x"}]},
])
def test_untranslatable_requests_raise(body: dict[str, Any]) -> None:
    with pytest.raises(TranslationError):
        responses_to_chat(body)


def test_whole_answer() -> None:
    resp = chat_to_response({"id": "c1", "choices": [{"index": 0, "finish_reason": "tool_calls",
                                                      "message": {"role": "assistant",
                                                                  "content": "Running.",
                                                                  "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}},
        model="gpt-5-codex")
    assert resp["object"] == "response" and resp["status"] == "completed"
    assert resp["model"] == "gpt-5-codex"
    msg, call = resp["output"]
    assert msg["content"][0] == {"type": "output_text", "text": "Running.", "annotations": []}
    assert (call["type"], call["call_id"], call["name"], call["arguments"]) == (
        "function_call", "call_1", "exec_command", '{"cmd":"ls"}')
    assert resp["usage"]["input_tokens"] == 10 and resp["usage"]["total_tokens"] == 15
    cut = chat_to_response({"choices": [{"message": {"content": "x"}, "finish_reason": "length"}]},
                           model="m")
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}


# -- streams ---------------------------------------------------------------------------


def _run(datas: list[str], cuts: int = 0, seed: int = 0) -> list[dict[str, Any]]:
    raw = b"".join(f"data: {d}\n\n".encode() for d in datas)
    rng = random.Random(seed)
    bounds = [0, *sorted(rng.sample(range(1, len(raw)), cuts)), len(raw)]
    tr = ResponsesOverChat("local", _model="gpt-5-codex")
    parser = SSEParser()
    out = []
    for a, b in itertools.pairwise(bounds):
        for ev in parser.feed(raw[a:b]):
            out += tr.stream_event(ev)
    out += [t for e in parser.flush() for t in tr.stream_event(e)] + tr.stream_end()
    events = []
    for ev in out:
        obj = json.loads(ev.raw.decode("utf-8").split("data: ", 1)[1])
        assert obj["type"] == ev.event
        events.append(obj)
    return events


def _check(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The ordering Codex relies on; returns the final response."""
    assert [e["sequence_number"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "response.created" and events[1]["type"] == "response.in_progress"
    items: dict[int, str] = {}
    deltas: dict[int, str] = {}
    for e in events:
        t = e["type"]
        if t == "response.output_item.added":
            assert not any(v == "open" for v in items.values())
            items[e["output_index"]] = "open"
            deltas[e["output_index"]] = ""
        elif t in ("response.output_text.delta", "response.function_call_arguments.delta"):
            assert items[e["output_index"]] == "open"
            deltas[e["output_index"]] += e["delta"]
        elif t == "response.output_item.done":
            items[e["output_index"]] = "done"
            item = e["item"]
            whole = item["arguments"] if item["type"] == "function_call" else \
                item["content"][0]["text"]
            assert whole == deltas[e["output_index"]]
    assert all(v == "done" for v in items.values())
    final = events[-1]
    assert final["type"] in ("response.completed", "response.incomplete")
    return final["response"]


def test_streamed_text_and_calls() -> None:
    args = json.dumps({"cmd": "printf 'grüße 😀'"}, ensure_ascii=False)
    datas = chat_chunks(text="Ich schaue nach — ✓", calls=[("call_1", "exec_command", args)],
                        piece=3)
    whole = _check(_run(datas))
    msg, call = whole["output"]
    assert msg["content"][0]["text"] == "Ich schaue nach — ✓"
    assert call["call_id"] == "call_1" and json.loads(call["arguments"]) == json.loads(args)
    assert whole["usage"]["input_tokens"] == 1200 and whole["model"] == "gpt-5-codex"
    def no_ids(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in it.items() if k != "id"} for it in out]

    for seed in range(25):  # any TCP split gives the same response
        assert no_ids(_check(_run(datas, cuts=40, seed=seed))["output"]) == no_ids(whole["output"])


def test_length_finish_is_incomplete() -> None:
    events = _run(chat_chunks(text="abc", finish="length"))
    assert events[-1]["type"] == "response.incomplete"


@pytest.mark.parametrize("bad", ["{oops", '{"error":{"message":"out of memory"}}'])
def test_bad_chunk_fails_the_response_cleanly(bad: str) -> None:
    events = _run(['{"choices":[{"index":0,"delta":{"content":"par"}}]}', bad,
                   '{"choices":[{"index":0,"delta":{"content":"tial"}}]}'])
    last = events[-1]
    assert last["type"] == "response.failed"
    assert last["response"]["error"]["message"].startswith("stockade: upstream 'local'")
    # the open message item was closed before, with what had arrived
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert done and done[0]["item"]["content"][0]["text"] == "par"
