"""A scripted model API over a real socket: Anthropic Messages, OpenAI Chat
Completions and Responses, streaming and not.  The one thing the gateway's
tests fake is the vendor; this is it.

Script: a list of turns.  Anthropic turn N answers a request that already
holds N assistant messages; OpenAI turn N answers a request holding N tool
results (Aider sends few-shot assistant messages, so those are not counted).
A turn is one of::

    {"text": "..."}
    {"tool_use": {"name": "Bash", "input": {...}}, "text": "optional preamble"}
    {"tool_call": {"name": "exec_command", "arguments": {...}}}     (OpenAI)
    {"error": {"status": 403, "type": "permission_error", "message": "..."}}

In any string of a turn, ``$LAST`` becomes the text of the newest tool result
(or, if none, the newest user text) the upstream received: that is how a test
sees a redacted value come back as a placeholder and get restored.

Modes (attributes, changeable between requests): ``delay_s`` before the
response head, ``fragment`` (split streamed text / JSON into pieces of that
many characters), ``stall_after_start`` (send the first event, then go
silent), ``drop_after_start`` (send the first event, then close), ``canned``
(``(status, content_type, body_bytes)``: answer every POST with exactly that, to
test how the gateway copes with odd upstream output), ``chat_side_calls``
(answer Chat Completions requests without tools like Claude Code side calls).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOOL_OUT = {"function_call_output", "custom_tool_call_output", "local_shell_call_output"}


def _uid(p: str) -> str:
    return p + uuid.uuid4().hex[:24]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, dict):
                if isinstance(b.get("text"), str):
                    parts.append(b["text"])
                elif "content" in b:
                    parts.append(_text_of(b["content"]))
                elif isinstance(b.get("output"), str):
                    parts.append(b["output"])
        return "\n".join(parts)
    return ""


def last_text(req: dict[str, Any]) -> str:
    """Newest tool result, else newest user text, of any of the three APIs."""
    msgs = req.get("messages")
    if isinstance(msgs, list):
        for m in reversed(msgs):
            c = m.get("content")
            if isinstance(c, list):
                for b in c:
                    if isinstance(b, dict) and b.get("type") == "tool_result":
                        return _text_of(b.get("content"))
            if m.get("role") == "tool":
                return _text_of(c)
        for m in reversed(msgs):
            if m.get("role") == "user":
                return _text_of(m.get("content"))
    items = req.get("input")
    if isinstance(items, str):
        return items
    if isinstance(items, list):
        for it in reversed(items):
            if isinstance(it, dict) and it.get("type") in TOOL_OUT:
                return _text_of(it.get("output"))
        for it in reversed(items):
            if isinstance(it, dict) and it.get("role") == "user":
                return _text_of(it.get("content"))
    return ""


def _subst(node: Any, last: str) -> Any:
    if isinstance(node, str):
        return node.replace("$LAST", last)
    if isinstance(node, list):
        return [_subst(v, last) for v in node]
    if isinstance(node, dict):
        return {k: _subst(v, last) for k, v in node.items()}
    return node


def _pieces(s: str, n: int) -> list[str]:
    if n <= 0 or len(s) <= n:
        return [s]
    return [s[i:i + n] for i in range(0, len(s), n)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *a: Any) -> None:
        pass

    # -- plumbing -------------------------------------------------------------------
    def _json(self, code: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _sse_start(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _ev(self, obj: Any, event: str | None = None) -> None:
        head = f"event: {event}\n" if event else ""
        data = obj if isinstance(obj, str) else json.dumps(obj)
        self.wfile.write(f"{head}data: {data}\n\n".encode())
        self.wfile.flush()
        fake = self.server.fake
        if fake._sent_first is False:
            fake._sent_first = True
            if fake.drop_after_start:
                self.connection.shutdown(socket.SHUT_RDWR)
                raise ConnectionAbortedError
            if fake.stall_after_start:
                time.sleep(fake.stall_after_start)
                raise ConnectionAbortedError
        if fake.event_gap_s:
            time.sleep(fake.event_gap_s)

    def _canned(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if "event-stream" in ctype:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _turn(self, n: int, req: dict[str, Any]) -> dict[str, Any]:
        s = self.server.fake.script
        return _subst(s[min(n, len(s) - 1)], last_text(req))

    def do_HEAD(self) -> None:
        self._record(None, b"")
        self._json(200, {})

    def do_GET(self) -> None:
        self._record(None, b"")
        if self.path.split("?")[0].endswith("/models"):
            return self._json(200, {"object": "list", "data": [
                {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]})
        self._json(200, {})

    def _record(self, body: Any, raw: bytes) -> None:
        fake = self.server.fake
        with fake.lock:
            fake.requests.append({"method": self.command, "path": self.path,
                                  "headers": {k.lower(): v for k, v in self.headers.items()},
                                  "raw_headers": list(self.headers.items()),
                                  "body": body, "raw": raw})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            req = {"_unparsable": True}
        self._record(req, raw)
        fake = self.server.fake
        fake._sent_first = False
        if fake.delay_s:
            time.sleep(fake.delay_s)
        if fake.canned is not None:
            return self._canned(*fake.canned)
        path = self.path.split("?")[0]
        try:
            if path.endswith("/v1/messages/count_tokens"):
                return self._json(200, {"input_tokens": len(raw) // 4})
            if path.endswith("/v1/messages"):
                return self._anthropic(req, len(raw))
            if path.endswith("/responses"):
                return self._responses(req)
            if path.endswith("/chat/completions"):
                return self._chat(req, len(raw))
        except (ConnectionAbortedError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        self._json(404, {"error": {"message": "no route " + path, "type": "not_found"}})

    # -- Anthropic Messages -----------------------------------------------------------
    def _anthropic(self, req: dict[str, Any], size: int) -> None:
        if not req.get("tools"):  # Claude Code side calls (title...)
            fmt = (req.get("output_config") or {}).get("format") or {}
            props = (fmt.get("schema") or {}).get("properties")
            turn: dict[str, Any] = {"text": json.dumps({k: "Fake " + k for k in props})
                                    if props else "OK"}
        else:
            n = sum(1 for m in req.get("messages", []) if m.get("role") == "assistant")
            turn = self._turn(n, req)
        if "error" in turn:
            e = turn["error"]
            return self._json(e.get("status", 400), {"type": "error", "error": {
                "type": e.get("type", "invalid_request_error"), "message": e.get("message", "")}})
        blocks: list[dict[str, Any]] = []
        if turn.get("text"):
            blocks.append({"type": "text", "text": turn["text"]})
        stop = "end_turn"
        if "tool_use" in turn:
            tu = turn["tool_use"]
            blocks.append({"type": "tool_use", "id": _uid("toolu_"), "name": tu["name"],
                           "input": tu.get("input", {})})
            stop = "tool_use"
        usage = {"input_tokens": size // 4, "output_tokens": 20,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        msg = {"id": _uid("msg_"), "type": "message", "role": "assistant",
               "model": req.get("model", "fake"), "content": blocks, "stop_reason": stop,
               "stop_sequence": None, "usage": usage}
        if not req.get("stream"):
            return self._json(200, msg)
        frag = self.server.fake.fragment
        self._sse_start()
        self._ev({"type": "message_start", "message": dict(
            msg, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))},
            "message_start")
        self._ev({"type": "ping"}, "ping")
        for i, b in enumerate(blocks):
            if b["type"] == "text":
                self._ev({"type": "content_block_start", "index": i,
                          "content_block": {"type": "text", "text": ""}}, "content_block_start")
                for p in _pieces(b["text"], frag):
                    self._ev({"type": "content_block_delta", "index": i,
                              "delta": {"type": "text_delta", "text": p}}, "content_block_delta")
            else:
                self._ev({"type": "content_block_start", "index": i,
                          "content_block": dict(b, input={})}, "content_block_start")
                for p in _pieces(json.dumps(b["input"]), frag):
                    self._ev({"type": "content_block_delta", "index": i, "delta": {
                        "type": "input_json_delta", "partial_json": p}}, "content_block_delta")
            self._ev({"type": "content_block_stop", "index": i}, "content_block_stop")
        self._ev({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                  "usage": {"output_tokens": 20}}, "message_delta")
        self._ev({"type": "message_stop"}, "message_stop")

    # -- OpenAI Responses -------------------------------------------------------------
    def _responses(self, req: dict[str, Any]) -> None:
        items = req.get("input") or []
        n = sum(1 for i in items if isinstance(i, dict) and i.get("type") in TOOL_OUT) \
            if isinstance(items, list) else 0
        t = self._turn(n, req)
        if "error" in t:
            e = t["error"]
            return self._json(e.get("status", 400), {"error": {
                "message": e.get("message", ""), "type": e.get("type", "invalid_request_error")}})
        if "tool_call" in t:
            tc = t["tool_call"]
            item: dict[str, Any] = {"type": "function_call", "id": _uid("fc_"),
                                    "call_id": _uid("call_"), "name": tc["name"],
                                    "arguments": json.dumps(tc.get("arguments", {})),
                                    "status": "completed"}
        else:
            item = {"type": "message", "id": _uid("msg_"), "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": t["text"], "annotations": []}]}
        size = len(json.dumps(req)) // 4
        usage = {"input_tokens": size, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": size + 20}
        resp = {"id": _uid("resp_"), "object": "response", "created_at": int(time.time()),
                "status": "completed", "model": req.get("model"), "output": [item],
                "usage": usage}
        if not req.get("stream"):
            return self._json(200, resp)
        frag = self.server.fake.fragment
        self._sse_start()
        self._ev({"type": "response.created",
                  "response": dict(resp, status="in_progress", output=[])}, "response.created")
        self._ev({"type": "response.output_item.added", "output_index": 0,
                  "item": dict(item, status="in_progress")}, "response.output_item.added")
        if item["type"] == "message":
            for p in _pieces(t["text"], frag):
                self._ev({"type": "response.output_text.delta", "item_id": item["id"],
                          "output_index": 0, "content_index": 0, "delta": p},
                         "response.output_text.delta")
            self._ev({"type": "response.output_text.done", "item_id": item["id"],
                      "output_index": 0, "content_index": 0, "text": t["text"]},
                     "response.output_text.done")
        else:
            for p in _pieces(item["arguments"], frag):
                self._ev({"type": "response.function_call_arguments.delta",
                          "item_id": item["id"], "output_index": 0, "delta": p},
                         "response.function_call_arguments.delta")
            self._ev({"type": "response.function_call_arguments.done", "item_id": item["id"],
                      "output_index": 0, "arguments": item["arguments"]},
                     "response.function_call_arguments.done")
        self._ev({"type": "response.output_item.done", "output_index": 0, "item": item},
                 "response.output_item.done")
        self._ev({"type": "response.completed", "response": resp}, "response.completed")

    # -- OpenAI Chat Completions --------------------------------------------------------
    def _chat(self, req: dict[str, Any], raw_size: int = 0) -> None:
        n = sum(1 for m in req.get("messages", []) if m.get("role") == "tool")
        if self.server.fake.chat_side_calls and not req.get("tools"):
            # a translated Claude Code side call (title, topic ...): answer its schema
            schema = ((req.get("response_format") or {}).get("json_schema") or {})
            props = (schema.get("schema") or {}).get("properties")
            t: dict[str, Any] = {"text": json.dumps({k: "Fake " + k for k in props})
                                 if props else "OK"}
        else:
            t = self._turn(n, req)
        if "error" in t:
            e = t["error"]
            return self._json(e.get("status", 400), {"error": {
                "message": e.get("message", ""), "type": e.get("type", "invalid_request_error")}})
        msg: dict[str, Any] = {"role": "assistant", "content": t.get("text")}
        finish = "stop"
        if "tool_call" in t:
            tc = t["tool_call"]
            msg["tool_calls"] = [{"id": _uid("call_"), "type": "function", "function": {
                "name": tc["name"], "arguments": json.dumps(tc.get("arguments", {}))}}]
            finish = "tool_calls"
        cid, created, model = _uid("chatcmpl-"), int(time.time()), req.get("model")
        size = raw_size // 4  # as for Anthropic: re-serialising 90 KB would skew benchmarks
        usage = {"prompt_tokens": size, "completion_tokens": 20, "total_tokens": size + 20}
        if not req.get("stream"):
            return self._json(200, {"id": cid, "object": "chat.completion", "created": created,
                                    "model": model, "usage": usage, "choices": [
                                        {"index": 0, "message": msg, "finish_reason": finish}]})
        frag = self.server.fake.fragment
        self._sse_start()
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        self._ev(dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                      "finish_reason": None}]))
        for p in _pieces(msg["content"] or "", frag):
            if p:
                self._ev(dict(base, choices=[{"index": 0, "delta": {"content": p},
                                              "finish_reason": None}]))
        for tc in msg.get("tool_calls", []):
            args = tc["function"]["arguments"]
            self._ev(dict(base, choices=[{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": tc["id"], "type": "function",
                 "function": {"name": tc["function"]["name"], "arguments": ""}}]},
                "finish_reason": None}]))
            for p in _pieces(args, frag):
                self._ev(dict(base, choices=[{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": p}}]}, "finish_reason": None}]))
        self._ev(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": finish}],
                      usage=usage))
        self._ev("[DONE]")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the benchmark opens 64 connections at once
    fake: FakeUpstream


class FakeUpstream:
    """``with FakeUpstream(script) as up: ... up.url ... up.requests``"""

    def __init__(self, script: list[dict[str, Any]] | None = None, *, port: int = 0) -> None:
        self.script = script or [{"text": "OK"}]
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.delay_s = 0.0
        self.fragment = 0
        self.stall_after_start = 0.0
        self.drop_after_start = False
        self.event_gap_s = 0.0
        self.canned: tuple[int, str, bytes] | None = None
        # Chat Completions requests without tools are side calls, not script turns
        # (Claude Code's title requests, once translated); Aider needs this off.
        self.chat_side_calls = False
        self._sent_first: bool | None = None
        self._srv = _Server(("127.0.0.1", port), _Handler)
        self._srv.fake = self
        self._thread = threading.Thread(target=self._srv.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return int(self._srv.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._srv.shutdown()
        self._srv.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def last_body(self) -> dict[str, Any]:
        with self.lock:
            return self.requests[-1]["body"]

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST"]


def main() -> None:  # pragma: no cover - manual use and the benchmark
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--script")
    a = ap.parse_args()
    script = json.load(open(a.script)) if a.script else None
    up = FakeUpstream(script, port=a.port).start()
    print(up.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        up.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
