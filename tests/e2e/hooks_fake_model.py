"""A scripted model for the hook end-to-end tests, served over real HTTP on
127.0.0.1: the Anthropic Messages API (Claude Code) and the OpenAI Responses
API (Codex), both streamed.

A script is a list of turns; each turn is a shell command the model asks to
run, or ``None`` for the final text answer.  The turn is the number of tool
results already in the request, so a refused call (its result is the hook's
reason) moves the script on like any other.  Every request body is kept in
``requests`` so a test can read what the model was shown.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FINAL_TEXT = "All done."


class FakeModel:
    def __init__(self, script: list[str | None]):
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> FakeModel:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def turn(self, n: int) -> str | None:
        return self.script[min(n, len(self.script) - 1)]

    def tool_results(self) -> list[str]:
        """Every tool result text the model was sent (last request wins)."""
        out: list[str] = []
        for req in self.requests[-1:]:
            for m in req.get("messages", []):
                content = m.get("content")
                if isinstance(content, list):
                    for block in content:
                        if isinstance(block, dict) and block.get("type") == "tool_result":
                            out.append(_text(block.get("content")))
            for item in req.get("input", []) or []:
                if isinstance(item, dict) and item.get("type") == "function_call_output":
                    out.append(_text(item.get("output")))
        return out


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text(c.get("text", c) if isinstance(c, dict) else c) for c in content)
    if isinstance(content, dict):
        return _text(content.get("text") or content.get("content") or json.dumps(content))
    return "" if content is None else str(content)


def _handler(model: FakeModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, code: int, obj: Any) -> None:
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_HEAD(self) -> None:
            self._json(200, {})

        def do_GET(self) -> None:
            if self.path.split("?")[0].endswith("/models"):
                return self._json(200, {"object": "list", "data": [
                    {"id": "fake-model", "object": "model", "created": 0, "owned_by": "x"}]})
            self._json(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                req = json.loads(raw or b"{}")
            except ValueError:
                req = {}
            path = self.path.split("?")[0]
            if path.endswith("/v1/messages/count_tokens"):
                return self._json(200, {"input_tokens": 10})
            if path.endswith("/v1/messages"):
                if req.get("tools"):
                    with model.lock:
                        model.requests.append(req)
                return self._anthropic(req)
            if path.endswith("/responses"):
                with model.lock:
                    model.requests.append(req)
                return self._responses(req)
            self._json(404, {"error": {"message": "no route " + path}})

        def _sse_start(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

        def _event(self, name: str | None, data: Any) -> None:
            head = f"event: {name}\n" if name else ""
            self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        # -- Anthropic Messages (Claude Code) ---------------------------------
        def _anthropic(self, req: dict[str, Any]) -> None:
            if not req.get("tools"):  # title / summary side calls
                fmt = ((req.get("output_config") or {}).get("format") or {}).get("schema") or {}
                props = fmt.get("properties")
                text = json.dumps({k: "x" for k in props}) if props else "OK"
                blocks: list[dict[str, Any]] = [{"type": "text", "text": text}]
                stop = "end_turn"
            else:
                n = sum(1 for m in req.get("messages", []) if m.get("role") == "assistant")
                cmd = model.turn(n)
                if cmd is None:
                    blocks, stop = [{"type": "text", "text": FINAL_TEXT}], "end_turn"
                else:
                    blocks = [{"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:24],
                               "name": "Bash", "input": {"command": cmd,
                                                         "description": "scripted"}}]
                    stop = "tool_use"
            msg = {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
                   "model": req.get("model", "fake"), "content": [], "stop_reason": None,
                   "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}
            if not req.get("stream"):
                return self._json(200, dict(msg, content=blocks, stop_reason=stop))
            self._sse_start()
            self._event("message_start", {"type": "message_start", "message": msg})
            for i, b in enumerate(blocks):
                if b["type"] == "text":
                    self._event("content_block_start", {"type": "content_block_start",
                                                        "index": i, "content_block":
                                                        {"type": "text", "text": ""}})
                    delta = {"type": "text_delta", "text": b["text"]}
                else:
                    self._event("content_block_start", {"type": "content_block_start",
                                                        "index": i,
                                                        "content_block": dict(b, input={})})
                    delta = {"type": "input_json_delta", "partial_json": json.dumps(b["input"])}
                self._event("content_block_delta", {"type": "content_block_delta", "index": i,
                                                    "delta": delta})
                self._event("content_block_stop", {"type": "content_block_stop", "index": i})
            self._event("message_delta", {"type": "message_delta",
                                          "delta": {"stop_reason": stop, "stop_sequence": None},
                                          "usage": {"output_tokens": 20}})
            self._event("message_stop", {"type": "message_stop"})

        # -- OpenAI Responses (Codex) -------------------------------------------
        def _responses(self, req: dict[str, Any]) -> None:
            items = req.get("input") or []
            n = sum(1 for i in items if isinstance(i, dict) and i.get("type") in (
                "function_call_output", "custom_tool_call_output", "local_shell_call_output"))
            cmd = model.turn(n)
            if cmd is None:
                item: dict[str, Any] = {"type": "message", "id": "msg_" + uuid.uuid4().hex[:20],
                                        "role": "assistant", "status": "completed",
                                        "content": [{"type": "output_text", "text": FINAL_TEXT,
                                                     "annotations": []}]}
            else:
                item = {"type": "function_call", "id": "fc_" + uuid.uuid4().hex[:20],
                        "call_id": "call_" + uuid.uuid4().hex[:20], "name": "exec_command",
                        "arguments": json.dumps({"cmd": cmd}), "status": "completed"}
            usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                     "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 0},
                     "total_tokens": 30}
            resp = {"id": "resp_" + uuid.uuid4().hex[:20], "object": "response",
                    "created_at": 0, "status": "completed", "model": req.get("model"),
                    "output": [item], "usage": usage}
            if not req.get("stream"):
                return self._json(200, resp)
            self._sse_start()
            self._event("response.created", {"type": "response.created",
                                             "response": dict(resp, status="in_progress",
                                                              output=[])})
            self._event("response.output_item.added", {"type": "response.output_item.added",
                                                       "output_index": 0,
                                                       "item": dict(item, status="in_progress")})
            if cmd is None:
                self._event("response.output_text.delta", {
                    "type": "response.output_text.delta", "item_id": item["id"],
                    "output_index": 0, "content_index": 0, "delta": FINAL_TEXT})
            self._event("response.output_item.done", {"type": "response.output_item.done",
                                                      "output_index": 0, "item": item})
            self._event("response.completed", {"type": "response.completed", "response": resp})

    return Handler


__all__ = ["FINAL_TEXT", "FakeModel"]
