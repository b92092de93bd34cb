"""A translated stream whose upstream keeps the connection open after the
answer is over for the client (an error event sent for a garbled chunk): the
client's answer is finished there, and the gateway stops reading the upstream
instead of holding the client until the upstream's idle timeout."""

from __future__ import annotations

import json
import socket
import threading

from gwsupport import FakeUpstream, make_config, sse_events, start_gateway

from stockade.config.model import Route
from stockade.gateway.config import Limits


def _stalling_server(first: bytes) -> tuple[socket.socket, threading.Event]:
    """Answers one request with an SSE head and ``first``, then stays silent."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    done = threading.Event()

    def serve() -> None:
        conn, _ = srv.accept()
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(65536)
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        conn.sendall(b"%x\r\n%s\r\n" % (len(first), first))
        done.wait(30)  # silent, connection open
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, done


def test_translate_stream_ends_for_the_client_when_the_translation_is_over() -> None:
    first = (b'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n'
             b"data: {garbled\n\n")
    srv, done = _stalling_server(first)
    try:
        with FakeUpstream() as vendor:
            local = f"http://127.0.0.1:{srv.getsockname()[1]}"
            cfg = make_config(anthropic=vendor.url, local=local,
                              routes=(Route(upstream="local"),),
                              limits=Limits(first_byte_timeout_s=30, idle_timeout_s=60))
            g = start_gateway(cfg)
            try:
                # without stopping there, this read waits for the upstream's 60 s idle
                # timeout and the client's own 10 s timeout fails the test
                st, _, out = g.request("POST", "/v1/messages", {
                    "model": "claude-opus-4-8", "max_tokens": 9, "stream": True,
                    "messages": [{"role": "user", "content": "hi"}]}, timeout=10)
                events = sse_events(out)
                assert st == 200 and events[-1][0] == "error"
                assert "not JSON" in json.dumps(events[-1][1])
            finally:
                g.stop()
    finally:
        done.set()
        srv.close()
