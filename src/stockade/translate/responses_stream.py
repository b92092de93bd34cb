"""Streamed Chat Completions chunks -> OpenAI Responses SSE events (what Codex reads).

Order: ``response.created``, ``response.in_progress``; for text
``response.output_item.added`` (a ``message``), ``response.content_part.added``,
``response.output_text.delta`` ..., ``response.output_text.done``,
``response.content_part.done``, ``response.output_item.done``; for each tool
call ``response.output_item.added`` (a ``function_call``),
``response.function_call_arguments.delta`` ..., ``...arguments.done``,
``response.output_item.done``; finally ``response.completed`` (or
``response.incomplete`` when the model hit its token limit) with the whole
output and usage.  Every event carries ``sequence_number``.

As for Anthropic (see :mod:`.anthropic_stream`): chunk shapes of real servers
are accepted, a split surrogate pair is held back, and an unreadable chunk,
an in-stream ``error`` or a stream that ends early becomes ``response.failed``
naming the upstream; nothing raises.
"""

from __future__ import annotations

import json
import time
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
from stockade.translate.responses_chat import (
    call_item,
    message_item,
    response_envelope,
    responses_status,
    responses_usage,
)


@dataclass
class _Item:
    output_index: int
    item_id: str
    kind: str  # "message" | "function_call"
    call_id: str = ""
    name: str = ""
    parts: list[str] = field(default_factory=list)
    held: str = ""

    def final(self) -> dict[str, Any]:
        text = "".join(self.parts)
        if self.kind == "message":
            return message_item(self.item_id, text)
        return call_item(self.item_id, call_id=self.call_id, name=self.name, arguments=text)


@dataclass
class ChatToResponsesStream:
    model: str
    upstream: str
    response_id: str = field(default_factory=lambda: new_id("resp_"))
    created: int = field(default_factory=lambda: int(time.time()))
    _seq: int = 0
    _started: bool = False
    _done: bool = False
    _finish: str | None = None
    _usage: dict[str, Any] = field(default_factory=dict)
    _open: _Item | None = None
    _items: list[_Item] = field(default_factory=list)
    _calls: dict[Any, _Item] = field(default_factory=dict)
    _ids: set[str] = field(default_factory=set)  # call ids given out
    _chars: int = 0  # text and arguments kept so far (the final events repeat them)
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
        for ch in as_list(obj.get("choices"))[:1]:
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
                out += self._close()
        if self._chars > self.max_chars:
            return out + self._fail(f"sent an answer longer than {self.max_chars} characters")
        return out

    @property
    def finished(self) -> bool:
        """Ended (``[DONE]``, or an error event): later chunks are ignored."""
        return self._done

    def end(self) -> list[StreamOut]:
        if self._done:
            return []
        if self._finish is None:
            return self._fail("ended the stream before the answer was complete")
        return self._end()

    # -- steps ----------------------------------------------------------------------

    def _ev(self, etype: str, **fields: Any) -> StreamOut:
        self._seq += 1
        return (etype, {"type": etype, "sequence_number": self._seq, **fields})

    def _envelope(self, status: str) -> dict[str, Any]:
        done = status not in ("in_progress",)
        return response_envelope(
            rid=self.response_id, model=self.model, status=status, created=self.created,
            finish=self._finish,
            output=[it.final() for it in self._items] if done else [],
            usage=responses_usage(self._usage) if done else None)

    def _start(self) -> list[StreamOut]:
        if self._started:
            return []
        self._started = True
        return [self._ev("response.created", response=self._envelope("in_progress")),
                self._ev("response.in_progress", response=self._envelope("in_progress"))]

    def _open_item(self, item: _Item) -> list[StreamOut]:
        out = self._close()
        self._open = item
        self._items.append(item)
        added = dict(item.final(), status="in_progress")
        if item.kind == "message":
            added["content"] = []
        out.append(self._ev("response.output_item.added", output_index=item.output_index,
                            item=added))
        if item.kind == "message":
            out.append(self._ev("response.content_part.added", item_id=item.item_id,
                                output_index=item.output_index, content_index=0,
                                part={"type": "output_text", "text": "", "annotations": []}))
        return out

    def _close(self) -> list[StreamOut]:
        it, self._open = self._open, None
        if it is None:
            return []
        out: list[StreamOut] = []
        if it.held:
            out += self._delta(it, clean_text(it.held))
            it.held = ""
        whole = "".join(it.parts)
        if it.kind == "message":
            out.append(self._ev("response.output_text.done", item_id=it.item_id,
                                output_index=it.output_index, content_index=0, text=whole))
            out.append(self._ev("response.content_part.done", item_id=it.item_id,
                                output_index=it.output_index, content_index=0,
                                part={"type": "output_text", "text": whole, "annotations": []}))
        else:
            out.append(self._ev("response.function_call_arguments.done", item_id=it.item_id,
                                output_index=it.output_index, arguments=whole))
        out.append(self._ev("response.output_item.done", output_index=it.output_index,
                            item=it.final()))
        return out

    def _delta(self, it: _Item, frag: str) -> list[StreamOut]:
        it.parts.append(frag)
        if it.kind == "message":
            return [self._ev("response.output_text.delta", item_id=it.item_id,
                             output_index=it.output_index, content_index=0, delta=frag)]
        return [self._ev("response.function_call_arguments.delta", item_id=it.item_id,
                         output_index=it.output_index, delta=frag)]

    def _fragment(self, it: _Item, frag: str) -> list[StreamOut]:
        now, it.held = split_surrogate(it.held + frag)
        self._chars += len(now)
        return self._delta(it, clean_text(now)) if now else []

    def _text(self, text: str) -> list[StreamOut]:
        out: list[StreamOut] = []
        if self._open is not None and self._open.kind == "function_call" and not text.strip():
            return out  # whitespace between call fragments: see anthropic_stream
        if self._open is None or self._open.kind != "message":
            out += self._open_item(_Item(len(self._items), new_id("msg_"), "message"))
        assert self._open is not None
        return out + self._fragment(self._open, text)

    def _tool_call(self, tc: dict[str, Any]) -> list[StreamOut]:
        fn = as_dict(tc.get("function"))
        key = tc.get("index")
        if not isinstance(key, int):
            key = as_str(tc.get("id")) or 0
        out: list[StreamOut] = []
        it = self._calls.get(key)
        if it is None:
            it = _Item(len(self._items), new_id("fc_"), "function_call",
                       call_id=tool_id(tc.get("id"), "call_", self._ids),
                       name=as_str(fn.get("name")) or "")
            out += self._open_item(it)
            self._calls[key] = it
        elif it is not self._open:
            # a closed item cannot take more arguments, and dropping them would hand
            # Codex truncated arguments to act on
            return self._fail("sent tool-call fragments out of order (a call continued "
                              "after the next one began)")
        args = fn.get("arguments")
        if isinstance(args, dict):
            args = json.dumps(args, ensure_ascii=False)
        if isinstance(args, str) and args:
            out += self._fragment(it, args)
        return out

    def _end(self) -> list[StreamOut]:
        out = self._start() + self._close()
        self._done = True
        if responses_status(self._finish) == "incomplete":
            out.append(self._ev("response.incomplete", response=self._envelope("incomplete")))
        else:
            out.append(self._ev("response.completed", response=self._envelope("completed")))
        return out

    def _fail(self, what: str) -> list[StreamOut]:
        out = self._start() + self._close()
        self._done = True
        env = self._envelope("failed")
        message = f"stockade: upstream {self.upstream!r} {what}; the answer was cut here"
        env["error"] = {"code": "server_error", "message": message}
        out.append(self._ev("response.failed", response=env))
        return out
