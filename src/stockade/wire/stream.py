"""Response side, pure: restore redacted values in bodies and SSE streams,
and observe usage / stop reason / output text for the ledger.

Streamed text arrives in fragments and a placeholder may be split across two
of them, so each stream slot (an Anthropic content block, an OpenAI choice's
content or one tool call's arguments, a Responses output item) gets its own
incremental restorer; what it holds back is flushed, as one extra delta,
right before the event that ends the slot.  Tool-call arguments are JSON
text, so their restorer works in JSON-string mode (the real value is escaped).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol as TypingProtocol

from stockade.wire.exchange import Protocol
from stockade.wire.sse import SSEEvent, serialise_event

MAX_OBSERVED_TEXT = 16_384
_JSON_FIELDS = frozenset({"arguments", "partial_json"})


class FragmentRestorer(TypingProtocol):
    def feed(self, text: str) -> str: ...
    def flush(self) -> str: ...


RestorerFactory = Callable[[bool], FragmentRestorer]  # json_string -> restorer
RestoreText = Callable[[str, bool], str]  # (text, json_string) -> restored


# The upstream's JSON is read defensively: a field of an unexpected shape is treated
# as absent (and relayed untouched), never allowed to crash the relay.
def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def _slot(x: Any) -> str | int | None:
    """A hashable stand-in for an index / id used to key a stream slot."""
    if x is None or isinstance(x, (str, int)):
        return x
    return json.dumps(x, sort_keys=True, default=str)


@dataclass
class Observation:
    """What the ledger records about a response (vendor's text, before restoring)."""

    usage: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    text: list[str] = field(default_factory=list)
    text_len: int = 0
    events: int = 0

    def add_text(self, s: str) -> None:
        if self.text_len < MAX_OBSERVED_TEXT and s:
            s = s[: MAX_OBSERVED_TEXT - self.text_len]
            self.text.append(s)
            self.text_len += len(s)

    @property
    def output_text(self) -> str:
        return "".join(self.text)


def restore_tree(node: Any, restore: RestoreText, *, json_mode: bool = False) -> Any:
    """Restore every string leaf of a decoded JSON value (returns a new value)."""
    if isinstance(node, str):
        return restore(node, json_mode)
    if isinstance(node, list):
        return [restore_tree(v, restore, json_mode=json_mode) for v in node]
    if isinstance(node, dict):
        return {k: restore_tree(v, restore, json_mode=k in _JSON_FIELDS) for k, v in node.items()}
    return node


def observe_body(protocol: Protocol, body: Any, obs: Observation) -> None:
    if not isinstance(body, dict):
        return
    if isinstance(body.get("usage"), dict):
        obs.usage = dict(body["usage"])
    if protocol == "anthropic":
        obs.stop_reason = _str(body.get("stop_reason"))
        for block in _list(body.get("content")):
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                obs.add_text(block["text"])
    elif protocol == "chat":
        for ch in _list(body.get("choices")):
            if isinstance(ch, dict):
                obs.stop_reason = _str(ch.get("finish_reason")) or obs.stop_reason
                content = _dict(ch.get("message")).get("content")
                if isinstance(content, str):
                    obs.add_text(content)
    else:
        obs.stop_reason = _str(body.get("status"))
        for item in _list(body.get("output")):
            for part in _list(_dict(item).get("content")):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    obs.add_text(part["text"])


class StreamRewriter:
    """Feed upstream SSE events, get the bytes to send to the client.

    With ``restore=None`` every event is relayed byte for byte (only observed).
    """

    def __init__(
        self,
        protocol: Protocol,
        *,
        new_restorer: RestorerFactory | None = None,
        restore: RestoreText | None = None,
    ) -> None:
        self.protocol = protocol
        self.obs = Observation()
        self._new = new_restorer
        self._restore = restore
        self._slots: dict[Any, tuple[FragmentRestorer, dict[str, Any]]] = {}

    @property
    def restoring(self) -> bool:
        return self._restore is not None

    def feed(self, ev: SSEEvent) -> list[bytes]:
        self.obs.events += 1
        if not ev.data or ev.data == "[DONE]":
            out = self._flush_all() if ev.data == "[DONE]" else []
            return [*out, ev.raw or serialise_event(data=ev.data, event=ev.event)]
        try:
            obj = json.loads(ev.data)
        except ValueError:
            return [ev.raw]  # not JSON: nothing we could restore or observe
        if not isinstance(obj, dict):
            return [ev.raw]
        handler = {"anthropic": self._anthropic, "chat": self._chat, "responses": self._responses}
        return handler[self.protocol](ev, obj)

    def finish(self) -> list[bytes]:
        """The upstream stream ended: release anything still held back."""
        return self._flush_all()

    # -- helpers ---------------------------------------------------------------------

    def _emit(self, ev: SSEEvent, obj: dict[str, Any]) -> bytes:
        return serialise_event(data=json.dumps(obj, ensure_ascii=False), event=ev.event, id=ev.id)

    def _fragment(self, key: Any, text: str, *, json_mode: bool, template: dict[str, Any]) -> str:
        assert self._new is not None
        slot = self._slots.get(key)
        if slot is None:
            slot = (self._new(json_mode), template)
            self._slots[key] = slot
        return slot[0].feed(text)

    def _flush_slot(self, key: Any) -> tuple[str, dict[str, Any]] | None:
        slot = self._slots.pop(key, None)
        if slot is None:
            return None
        rest = slot[0].flush()
        return (rest, slot[1]) if rest else None

    def _flush_all(self) -> list[bytes]:
        out: list[bytes] = []
        for key in list(self._slots):
            got = self._flush_slot(key)
            if got is not None:
                out.append(self._synthetic(key, got[0], got[1]))
        return out

    def _synthetic(self, key: Any, text: str, template: dict[str, Any]) -> bytes:
        """An extra delta event carrying text a restorer held back."""
        obj = json.loads(json.dumps(template))
        path = obj.pop("__path__")
        event = obj.pop("__event__", None)
        node = obj
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = text
        return serialise_event(data=json.dumps(obj, ensure_ascii=False), event=event)

    def _full(self, ev: SSEEvent, obj: dict[str, Any]) -> bytes:
        if self._restore is None:
            return ev.raw
        new = restore_tree(obj, self._restore)
        return ev.raw if new == obj else self._emit(ev, new)

    # -- Anthropic Messages --------------------------------------------------------------

    def _anthropic(self, ev: SSEEvent, obj: dict[str, Any]) -> list[bytes]:
        t = obj.get("type")
        if t == "message_start":
            msg = _dict(obj.get("message"))
            if isinstance(msg.get("usage"), dict):
                self.obs.usage.update(msg["usage"])
        elif t == "message_delta":
            if isinstance(obj.get("usage"), dict):
                self.obs.usage.update(obj["usage"])
            self.obs.stop_reason = _str(_dict(obj.get("delta")).get("stop_reason"))
        elif t == "content_block_delta":
            delta = _dict(obj.get("delta"))
            for fld in ("text", "partial_json"):
                frag = delta.get(fld)
                if isinstance(frag, str):
                    if fld == "text":
                        self.obs.add_text(frag)
                    if self._restore is None:
                        return [ev.raw]
                    template = {"type": "content_block_delta", "index": obj.get("index"),
                                "delta": {"type": delta.get("type"), fld: ""},
                                "__path__": ["delta", fld], "__event__": ev.event}
                    out = self._fragment(("b", _slot(obj.get("index"))), frag,
                                         json_mode=fld == "partial_json", template=template)
                    if not out:
                        return []
                    delta[fld] = out
                    return [self._emit(ev, obj)]
        elif t == "content_block_stop" and self._restore is not None:
            got = self._flush_slot(("b", _slot(obj.get("index"))))
            pre = [self._synthetic(None, got[0], got[1])] if got else []
            return [*pre, ev.raw]
        return [self._full(ev, obj)]

    # -- OpenAI Chat Completions -----------------------------------------------------------

    def _chat(self, ev: SSEEvent, obj: dict[str, Any]) -> list[bytes]:
        if isinstance(obj.get("usage"), dict):
            self.obs.usage = dict(obj["usage"])
        changed = False
        pre: list[bytes] = []
        base: dict[str, Any] = {k: obj[k] for k in ("id", "object", "created", "model")
                                if k in obj}
        for ch in _list(obj.get("choices")):
            if not isinstance(ch, dict):
                continue
            i = _slot(ch.get("index", 0))
            delta = _dict(ch.get("delta"))
            content = delta.get("content")
            if isinstance(content, str):
                self.obs.add_text(content)
                if self._restore is not None:
                    tpl: dict[str, Any] = dict(base, choices=[{"index": i, "delta": {"content": ""},
                                               "finish_reason": None}],
                               __path__=["choices", 0, "delta", "content"], __event__=ev.event)
                    delta["content"] = self._fragment((i, "c"), content, json_mode=False,
                                                      template=tpl)
                    changed = True
            for tc in _list(delta.get("tool_calls")):
                fn = tc.get("function") if isinstance(tc, dict) else None
                if self._restore is not None and isinstance(fn, dict) and isinstance(
                        fn.get("arguments"), str):
                    j = _slot(tc.get("index", 0))
                    tpl = dict(base, choices=[{"index": i, "delta": {"tool_calls": [
                        {"index": j, "function": {"arguments": ""}}]}, "finish_reason": None}],
                        __path__=["choices", 0, "delta", "tool_calls", 0, "function",
                                  "arguments"], __event__=ev.event)
                    fn["arguments"] = self._fragment((i, "t", j), fn["arguments"],
                                                     json_mode=True, template=tpl)
                    changed = True
            if ch.get("finish_reason"):
                self.obs.stop_reason = _str(ch["finish_reason"])
                for key in [k for k in self._slots if k[0] == i]:
                    got = self._flush_slot(key)
                    if got:
                        pre.append(self._synthetic(key, got[0], got[1]))
        if not changed:
            return [*pre, ev.raw]
        return [*pre, self._emit(ev, obj)]

    # -- OpenAI Responses --------------------------------------------------------------------

    def _responses(self, ev: SSEEvent, obj: dict[str, Any]) -> list[bytes]:
        t = obj.get("type")
        if t in ("response.completed", "response.incomplete", "response.failed"):
            resp = _dict(obj.get("response"))
            if isinstance(resp.get("usage"), dict):
                self.obs.usage = dict(resp["usage"])
            self.obs.stop_reason = _str(resp.get("status"))
        if t in ("response.output_text.delta", "response.function_call_arguments.delta"):
            frag = obj.get("delta")
            if isinstance(frag, str):
                is_text = t == "response.output_text.delta"
                if is_text:
                    self.obs.add_text(frag)
                if self._restore is None:
                    return [ev.raw]
                key = _responses_slot(obj)
                tpl = {k: v for k, v in obj.items() if k not in ("delta", "obfuscation",
                                                                  "sequence_number")}
                tpl.update(delta="", __path__=["delta"], __event__=ev.event)
                out = self._fragment(key, frag, json_mode=not is_text, template=tpl)
                if not out:
                    return []
                obj["delta"] = out
                return [self._emit(ev, obj)]
        if self._restore is None:
            return [ev.raw]
        pre: list[bytes] = []
        if t in ("response.output_text.done", "response.function_call_arguments.done"):
            key = _responses_slot(obj)
            got = self._flush_slot(key)
            if got:
                pre.append(self._synthetic(key, got[0], got[1]))
        return [*pre, self._full(ev, obj)]


def _responses_slot(obj: dict[str, Any]) -> tuple[Any, ...]:
    return ("r", _slot(obj.get("item_id")), _slot(obj.get("output_index")),
            _slot(obj.get("content_index")))
