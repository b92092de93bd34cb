"""The demo's scripted model: a tiny Anthropic-Messages server on loopback.

It stands in for a model vendor so that the demonstration runs offline.  It
writes every request body it receives to a JSON-lines file, so the demo can
show exactly what "the vendor" saw.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HELLO = 'def hello(name: str) -> str:\n    return f"hello, {name}"\n'


def _reply_text(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    last = messages[-1] if messages else {}
    content = last.get("content", "")
    if isinstance(content, list):
        content = " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    if "hello" in str(content).lower():
        return "Here is hello.py:\n```python\n" + HELLO + "```\n"
    return "I have read the configuration you sent."


class _Handler(BaseHTTPRequestHandler):
    server_version = "demo-model/1"
    log_file: Path

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        with self.log_file.open("ab") as f:
            f.write(raw.replace(b"\n", b" ") + b"\n")
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        text = _reply_text(body)
        reply = {
            "id": "msg_demo",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "demo"),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": len(raw) // 4, "output_tokens": len(text) // 4},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(log_file: Path, port: int = 0) -> ThreadingHTTPServer:
    """Start the scripted model in a background thread; returns the server."""
    handler = type("Handler", (_Handler,), {"log_file": log_file})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":  # pragma: no cover - manual use
    srv = serve(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("received.jsonl"))
    print(f"http://127.0.0.1:{srv.server_address[1]}", flush=True)
    threading.Event().wait()
