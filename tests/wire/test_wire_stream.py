"""Placeholders are restored in streamed text and tool-call JSON, whatever the
chunk boundaries; relayed events stay valid for each SDK."""

from __future__ import annotations

import json

import pytest

from stockade.dlp.redact import Vault, restore
from stockade.model import Finding
from stockade.wire.sse import SSEParser, serialise_event
from stockade.wire.stream import StreamRewriter


def _vault_with(value: str) -> tuple[Vault, str]:
    v = Vault()
    f = Finding(rule_id="aws-access-key-id", label="secret", start=0, end=len(value), line=1,
                column=1, end_line=1, end_column=len(value) + 1, confidence=1, preview="x")
    from stockade.dlp.redact import redact
    red, _ = redact(value, [f], vault=v)
    return v, red


def _rewriter(protocol: str, vault: Vault) -> StreamRewriter:
    return StreamRewriter(protocol, new_restorer=lambda js: vault.restorer(json_string=js),  # type: ignore[arg-type]
                          restore=lambda t, js: restore(t, vault, json_string=js))


def _run(rw: StreamRewriter, events: list[tuple[str | None, dict | str]]) -> list:
    out = b""
    for name, obj in events:
        data = obj if isinstance(obj, str) else json.dumps(obj)
        for ev in SSEParser().feed(serialise_event(data=data, event=name)):
            out += b"".join(rw.feed(ev))
    out += b"".join(rw.finish())
    return [(e.event, e.data if e.data == "[DONE]" else json.loads(e.data))
            for e in SSEParser().feed(out)]


def _pieces(s: str, n: int) -> list[str]:
    return [s[i:i + n] for i in range(0, len(s), n)]


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_anthropic_text_and_tool_input(size: int) -> None:
    secret = 'pa"ss\\word-' + "Z" * 10  # needs JSON escaping inside tool input
    vault, ph = _vault_with(secret)
    text = f"the key is {ph}."
    args = json.dumps({"content": f"KEY={ph}\n"})
    evs: list = [("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 5}}})]
    evs += [("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}})]
    evs += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": p}})
            for p in _pieces(text, size)]
    evs += [("content_block_stop", {"type": "content_block_stop", "index": 0})]
    evs += [("content_block_delta", {"type": "content_block_delta", "index": 1,
                                     "delta": {"type": "input_json_delta", "partial_json": p}})
            for p in _pieces(args, size)]
    evs += [("content_block_stop", {"type": "content_block_stop", "index": 1}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                               "usage": {"output_tokens": 9}})]
    rw = _rewriter("anthropic", vault)
    got = _run(rw, evs)
    texts = "".join(o["delta"]["text"] for _, o in got
                    if o.get("type") == "content_block_delta" and o["index"] == 0)
    assert texts == f"the key is {secret}."
    pj = "".join(o["delta"]["partial_json"] for _, o in got
                 if o.get("type") == "content_block_delta" and o["index"] == 1)
    assert json.loads(pj) == {"content": f"KEY={secret}\n"}
    # deltas of a block all come before its stop event
    order = [(o["type"], o.get("index")) for _, o in got]
    assert order.index(("content_block_stop", 0)) > max(
        i for i, t in enumerate(order) if t == ("content_block_delta", 0))
    assert rw.obs.usage == {"input_tokens": 5, "output_tokens": 9}
    assert ph in rw.obs.output_text and secret not in rw.obs.output_text


@pytest.mark.parametrize("size", [2, 5])
def test_chat_content_and_tool_call_arguments(size: int) -> None:
    secret = "AKIA" + "Q" * 16
    vault, ph = _vault_with(secret)
    base = {"id": "c", "object": "chat.completion.chunk", "model": "m"}
    evs: list = [(None, dict(base, choices=[{"index": 0, "delta": {"content": p},
                                              "finish_reason": None}]))
                 for p in _pieces(f"use {ph}", size)]
    evs += [(None, dict(base, choices=[{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "function": {"arguments": p}}]}, "finish_reason": None}]))
        for p in _pieces(json.dumps({"cmd": f"echo {ph}"}), size)]
    evs += [(None, dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
                        usage={"prompt_tokens": 3})), (None, "[DONE]")]
    got = _run(_rewriter("chat", vault), evs)
    assert got[-1] == (None, "[DONE]")
    content = "".join(o["choices"][0]["delta"].get("content") or "" for _, o in got[:-1])
    args = "".join(tc["function"]["arguments"] for _, o in got[:-1]
                   for tc in o["choices"][0]["delta"].get("tool_calls", []))
    assert content == f"use {secret}"
    assert json.loads(args) == {"cmd": f"echo {secret}"}
    finish_at = next(i for i, (_, o) in enumerate(got) if o != "[DONE]"
                     and o["choices"][0].get("finish_reason"))
    assert finish_at == len(got) - 2  # flushed fragments precede finish_reason


def test_responses_deltas_and_done_events() -> None:
    secret = "AKIA" + "R" * 16
    vault, ph = _vault_with(secret)
    evs: list = [("response.output_text.delta", {"type": "response.output_text.delta",
                                                 "item_id": "m1", "output_index": 0,
                                                 "content_index": 0, "delta": p})
                 for p in _pieces(f"x {ph} y", 4)]
    evs += [("response.output_text.done", {"type": "response.output_text.done", "item_id": "m1",
                                           "output_index": 0, "content_index": 0,
                                           "text": f"x {ph} y"}),
            ("response.completed", {"type": "response.completed", "response": {
                "status": "completed", "usage": {"input_tokens": 1}, "output": [
                    {"type": "function_call", "arguments": json.dumps({"cmd": ph})}]}})]
    rw = _rewriter("responses", vault)
    got = _run(rw, evs)
    deltas = "".join(o["delta"] for n, o in got if n == "response.output_text.delta")
    assert deltas == f"x {secret} y"
    done = next(o for n, o in got if n == "response.output_text.done")
    assert done["text"] == f"x {secret} y"
    comp = next(o for n, o in got if n == "response.completed")
    assert json.loads(comp["response"]["output"][0]["arguments"]) == {"cmd": secret}
    assert rw.obs.stop_reason == "completed"


def test_without_vault_events_are_relayed_byte_for_byte() -> None:
    raw = serialise_event(data='{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}', event="content_block_delta")
    rw = StreamRewriter("anthropic")
    [ev] = SSEParser().feed(raw)
    assert rw.feed(ev) == [raw]
    assert rw.obs.output_text == "hi"


_ODD = {
    "anthropic": [{"type": "message_start", "message": []},
                  {"type": "message_delta", "delta": "x", "usage": [1]},
                  {"type": "content_block_delta", "index": {"a": 1}, "delta": {"text": "hi "}},
                  {"type": "content_block_stop", "index": {"a": 1}}],
    "chat": [{"choices": {"not": "a list"}}, {"choices": [7, {"index": [], "delta": []}]},
             {"choices": [{"index": {}, "delta": {"content": "hi ", "tool_calls": 5}}]},
             {"choices": [{"index": {}, "delta": {}, "finish_reason": ["stop"]}]}],
    "responses": [{"type": "response.output_text.delta", "item_id": [1], "delta": "hi "},
                  {"type": "response.output_text.done", "item_id": [1]},
                  {"type": "response.completed", "response": "done"}],
}


@pytest.mark.parametrize("protocol", sorted(_ODD))
@pytest.mark.parametrize("restoring", [False, True])
def test_odd_shapes_are_relayed_not_fatal(protocol: str, restoring: bool) -> None:
    secret = "S" * 20
    vault, ph = _vault_with(secret)
    rw = _rewriter(protocol, vault) if restoring else StreamRewriter(protocol)  # type: ignore[arg-type]
    got = _run(rw, [(None, o) for o in _ODD[protocol]])
    assert len(got) == len(_ODD[protocol])
    assert rw.obs.output_text == "hi "
    assert rw.obs.stop_reason is None or isinstance(rw.obs.stop_reason, str)


def test_responses_text_held_back_is_flushed_before_done() -> None:
    secret = "T" * 20
    vault, ph = _vault_with(secret)
    rw = _rewriter("responses", vault)
    evs: list = [("response.output_text.delta", {"type": "response.output_text.delta",
                                                  "item_id": "m1", "output_index": 0,
                                                  "content_index": 0, "delta": "x " + ph[:9]}),
                 ("response.output_text.done", {"type": "response.output_text.done",
                                                 "item_id": "m1", "output_index": 0,
                                                 "content_index": 0, "text": "x " + ph[:9]})]
    got = _run(rw, evs)
    assert [n for n, _ in got] == ["response.output_text.delta", "response.output_text.delta",
                                   "response.output_text.done"]
    assert "".join(o["delta"] for n, o in got if n.endswith("delta")) == "x " + ph[:9]
