"""A broken or hostile upstream that sends a whole answer, or one stream event,
larger than the configured limit: the client gets an API-shaped error naming
the upstream, and the gateway does not keep buffering (regression: whole
answers were read with no limit, and an event without its blank line grew the
parser's buffer without end)."""

from __future__ import annotations

import json
import socket
import threading

from gwsupport import make_config, sse_events, start_gateway

from stockade.gateway.config import Limits


def _server(head: bytes, body_chunks: int, piece: bytes) -> tuple[socket.socket, threading.Event]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    done = threading.Event()

    def serve() -> None:
        conn, _ = srv.accept()
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(65536)
        h, _, rest = buf.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in h.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += conn.recv(65536)
        try:
            conn.sendall(head)
            for _ in range(body_chunks):
                if done.is_set():
                    break
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the gateway hung up on us: what the test wants
        done.wait(10)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, done


def _limits() -> Limits:
    return Limits(first_byte_timeout_s=5, idle_timeout_s=5,
                  max_response_bytes=1024 * 1024, max_event_bytes=1024 * 1024)


def test_a_whole_answer_over_the_limit_is_a_502_naming_the_upstream() -> None:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    srv, done = _server(head, 64, b"x" * 65536)  # 4 MiB, limit 1 MiB
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        g = start_gateway(make_config(anthropic=url, limits=_limits()))
        try:
            st, _, out = g.request("POST", "/v1/messages", {
                "model": "m", "max_tokens": 5,
                "messages": [{"role": "user", "content": "hi"}]}, timeout=20)
            err = json.loads(out)
            assert st == 502 and err["type"] == "error"
            assert "'anthropic'" in err["error"]["message"]
            assert "larger than 1 MiB" in err["error"]["message"]
        finally:
            g.stop()
    finally:
        done.set()
        srv.close()


def test_a_stream_event_that_never_ends_is_cut_with_an_error_event() -> None:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    # one `data:` line growing past the limit, never closed by a blank line
    srv, done = _server(head + b"b\r\ndata: {\"a\":\r\n", 64, b"y" * 65536)
    try:
        url = f"http://127.0.0.1:{srv.getsockname()[1]}"
        g = start_gateway(make_config(anthropic=url, limits=_limits()))
        try:
            st, _, out = g.request("POST", "/v1/messages", {
                "model": "m", "max_tokens": 5, "stream": True,
                "messages": [{"role": "user", "content": "hi"}]}, timeout=20)
            # the relayed part of the endless event is garbage the client drops;
            # the error event after it stands on its own
            at = out.rindex(b"event: error")
            events = sse_events(out[at:])
            assert st == 200 and out[:at].endswith(b"\n\n") and events[-1][0] == "error"
            assert "larger than 1 MiB" in json.dumps(events[-1][1])
        finally:
            g.stop()
    finally:
        done.set()
        srv.close()
