"""Streamed Chat Completions chunks -> Anthropic Messages SSE events.

The output is the order Claude Code expects: ``message_start``, ``ping``, per
content block ``content_block_start`` / ``content_block_delta`` (``text_delta``
or ``input_json_delta``) / ``content_block_stop``, then ``message_delta``
(stop reason, usage) and ``message_stop``.

Chunks are taken as servers really send them: a tool call's ``id`` and name in
a first delta and its arguments in fragments (OpenAI, vLLM), or everything in
one delta (Ollama, llama.cpp); several tool calls told apart by ``index``;
usage in a last chunk with no choices (``stream_options.include_usage``) or
missing; ``finish_reason: "stop"`` after a tool call; ``reasoning_content``
(dropped: Anthropic thinking blocks need a signature the model cannot make).
A text fragment ending in half a surrogate pair is held until the next one.

Nothing raises: a chunk that is not JSON, an ``error`` object in the stream,
or a stream that ends before finishing closes the message with an Anthropic
``error`` event naming the upstream, after which further chunks are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stockade.translate._common import (
    MAX_ANSWER_CHARS,
    StreamOut,
    as_dict,
    as_list,
    as_str,
    clean_text,
    new_id,
    read_chunk,
    split_surrogate,
    tool_id,
)
from stockade.translate.anthropic_chat import anthropic_usage, stop_fields


@dataclass
class _Block:
    index: int
    kind: str  # "text" | "tool_use"
    call_key: Any = None


@dataclass
class ChatToAnthropicStream:
    """Feed the ``data`` of each upstream SSE event; get Anthropic events."""

    model: str
    upstream: str
    message_id: str = field(default_factory=lambda: new_id("msg_"))
    _started: bool = False
    _done: bool = False  # message_stop (or an error) was sent
    _finish: str | None = None
    _stop_sequence: str | None = None  # vLLM / SGLang: the stop string that ended it
    _usage: dict[str, Any] = field(default_factory=dict)
    _open: _Block | None = None
    _next_index: int = 0
    _calls: dict[Any, _Block] = field(default_factory=dict)
    _held: str = ""  # a high surrogate waiting for its pair
    _ids: set[str] = field(default_factory=set)  # tool_use ids given out
    _chars: int = 0  # text and arguments relayed so far
    max_chars: int = MAX_ANSWER_CHARS

    def feed(self, data: str) -> list[StreamOut]:
        if self._done:
            return []
        if data == "[DONE]":
            return self._end()
        if not data.strip():
            return []
        obj = read_chunk(data)
        if isinstance(obj, str):
            return self._fail(obj)
        out = self._start()
        if isinstance(obj.get("usage"), dict):
            self._usage = obj["usage"]
        for ch in as_list(obj.get("choices"))[:1]:  # n > 1 is never asked for
            if not isinstance(ch, dict):
                continue
            delta = as_dict(ch.get("delta"))
            text = delta.get("content")
            if isinstance(text, str) and text:
                out += self._text(text)
            for tc in as_list(delta.get("tool_calls")):
                if isinstance(tc, dict):
                    out += self._tool_call(tc)
                if self._done:
                    return out
            finish = as_str(ch.get("finish_reason"))
            if finish:
                self._finish = finish
                seq = ch.get("stop_reason")
                self._stop_sequence = seq if isinstance(seq, str) and seq else None
                out += self._close()
        if self._chars > self.max_chars:
            return out + self._fail(f"sent an answer longer than {self.max_chars} characters")
        return out

    @property
    def finished(self) -> bool:
        """Ended (``[DONE]``, or an error event): later chunks are ignored."""
        return self._done

    def end(self) -> list[StreamOut]:
        """The upstream stream ended (with or without ``[DONE]``)."""
        if self._done:
            return []
        if self._finish is None:
            return self._fail("ended the stream before the answer was complete")
        return self._end()

    # -- steps ----------------------------------------------------------------------

    def _start(self) -> list[StreamOut]:
        if self._started:
            return []
        self._started = True
        return [("message_start", {"type": "message_start", "message": {
            "id": self.message_id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
                ("ping", {"type": "ping"})]

    def _open_block(self, kind: str, start: dict[str, Any],
                    call_key: Any = None) -> list[StreamOut]:
        out = self._close()
        blk = _Block(self._next_index, kind, call_key)
        self._next_index += 1
        self._open = blk
        return [*out, ("content_block_start", {"type": "content_block_start",
                                               "index": blk.index, "content_block": start})]

    def _close(self) -> list[StreamOut]:
        blk, self._open = self._open, None
        if blk is None:
            return []
        out: list[StreamOut] = []
        if self._held:
            out.append(self._delta(blk, clean_text(self._held)))
            self._held = ""
        out.append(("content_block_stop", {"type": "content_block_stop", "index": blk.index}))
        return out

    def _delta(self, blk: _Block, frag: str) -> StreamOut:
        delta = ({"type": "text_delta", "text": frag} if blk.kind == "text"
                 else {"type": "input_json_delta", "partial_json": frag})
        return ("content_block_delta", {"type": "content_block_delta", "index": blk.index,
                                        "delta": delta})

    def _text(self, text: str) -> list[StreamOut]:
        out: list[StreamOut] = []
        if self._open is not None and self._open.kind == "tool_use" and not text.strip():
            # whitespace between tool-call fragments (small models emit it): a text
            # block here would close the call before its arguments are complete
            return out
        if self._open is None or self._open.kind != "text":
            out += self._open_block("text", {"type": "text", "text": ""})
        return out + self._fragment(text)

    def _fragment(self, frag: str) -> list[StreamOut]:
        assert self._open is not None
        now, self._held = split_surrogate(self._held + frag)
        if not now:
            return []
        self._chars += len(now)
        return [self._delta(self._open, clean_text(now))]

    def _tool_call(self, tc: dict[str, Any]) -> list[StreamOut]:
        fn = as_dict(tc.get("function"))
        key = tc.get("index")
        if not isinstance(key, int):
            key = as_str(tc.get("id")) or (self._open.call_key if self._open else 0)
        out: list[StreamOut] = []
        blk = self._calls.get(key)
        if blk is None:
            name = as_str(fn.get("name")) or ""
            out += self._open_block("tool_use", {
                "type": "tool_use", "id": tool_id(tc.get("id"), "toolu_", self._ids),
                "name": name, "input": {}}, call_key=key)
            assert self._open is not None
            self._calls[key] = blk = self._open
        elif blk is not self._open:
            # Fragments of an earlier call after another block started: Anthropic
            # blocks cannot be reopened, and dropping them would hand the agent
            # truncated arguments to act on.  The answer ends with an error.
            return self._fail("sent tool-call fragments out of order (a call continued "
                              "after the next one began)")
        args = fn.get("arguments")
        if isinstance(args, dict):  # a few servers send an object, not JSON text
            args = json.dumps(args, ensure_ascii=False)
        if isinstance(args, str) and args:
            out += self._fragment(args)
        return out

    def _end(self) -> list[StreamOut]:
        out = self._start() + self._close()
        self._done = True
        usage = anthropic_usage(self._usage)
        delta = stop_fields({"finish_reason": self._finish, "stop_reason": self._stop_sequence},
                            saw_tool=bool(self._calls))
        out.append(("message_delta", {"type": "message_delta", "delta": delta,
                                      "usage": usage}))
        out.append(("message_stop", {"type": "message_stop"}))
        return out

    def _fail(self, what: str) -> list[StreamOut]:
        out = self._start() + self._close()
        self._done = True
        out.append(("error", {"type": "error", "error": {
            "type": "api_error",
            "message": f"stockade: upstream {self.upstream!r} {what}; the answer was cut here"}}))
        return out
