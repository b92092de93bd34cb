"""Translation overhead: what routing Claude Code / Codex to a Chat Completions
model adds, against the gateway's identity path measured in the same run.

    .venv/bin/python bench/translate.py [--n 300]

1. Per request (pure): translating a ~90 KB Claude Code request (captured in
   ../shared/agents/examples when available, else synthesised with the same
   shape) to Chat Completions and serialising it, against the gateway's own
   per-request work on the identity path (parsing and indexing the same body).
2. Per streamed chunk: SSE parse + chunk -> Anthropic events + the client-side
   rewriter, against the identity relay (SSE parse + rewriter on Anthropic events).
3. End to end, through the real gateway on real sockets: p50/p99 of a
   non-streamed and a streamed (time to first byte) Claude Code request routed
   to the scripted upstream's Anthropic endpoint (identity) and to its Chat
   Completions endpoint (translated); the difference is translation's added latency.
Target: under 1 ms added per request.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "gateway"))
CAPTURED = REPO.parent / "shared" / "agents" / "examples" / "claude_request_turn2.json"


def claude_body() -> tuple[dict[str, Any], str]:
    if CAPTURED.exists():
        return json.loads(CAPTURED.read_text())["body"], "captured Claude Code request"
    from fakes.agent_requests import claude_code_request
    return claude_code_request(turns=1), "synthesised Claude Code-shaped request"


def timeit(fn: Callable[[], object], n: int) -> list[float]:
    for _ in range(min(20, n)):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def ms(x: float) -> str:
    return f"{x * 1000:7.3f} ms"


def us(x: float) -> str:
    return f"{x * 1e6:7.2f} us"


def bench_request(body: dict[str, Any], n: int) -> None:
    from fakes.agent_requests import codex_request

    from stockade.gateway.translate import MessagesOverChat, ResponsesOverChat, dump_translated
    from stockade.wire.exchange import parse_request

    raw = json.dumps(body).encode()
    tr = MessagesOverChat("local", _model="claude-opus-4-8")
    translate = timeit(lambda: dump_translated(tr.request("/v1/messages", body)[1]), n)
    identity = timeit(lambda: parse_request("anthropic", raw), n)
    cbody = codex_request(turns=3)
    craw = json.dumps(cbody).encode()
    rtr = ResponsesOverChat("local", _model="m")
    ctranslate = timeit(lambda: dump_translated(rtr.request("/v1/responses", cbody)[1]), n)
    cidentity = timeit(lambda: parse_request("responses", craw), n)
    print(f"\n1. per request ({len(raw) / 1024:.0f} KB Messages, {len(craw) / 1024:.0f} KB Responses)")
    print(f"   Messages -> Chat translate+serialise  p50 {ms(statistics.median(translate))}"
          f"  p99 {ms(pct(translate, 99))}")
    print(f"   identity path: parse+index same body  p50 {ms(statistics.median(identity))}"
          f"  ratio translate/identity {statistics.median(translate) / statistics.median(identity):.2f}x")
    print(f"   Responses -> Chat translate+serialise p50 {ms(statistics.median(ctranslate))}"
          f"  ratio vs its identity parse {statistics.median(ctranslate) / statistics.median(cidentity):.2f}x")


def bench_chunks(n: int) -> None:
    from fakes.agent_requests import chat_chunks

    from stockade.gateway.translate import MessagesOverChat
    from stockade.wire.sse import SSEParser
    from stockade.wire.stream import StreamRewriter

    text = "Here is the plan: read the file, edit it, run the tests — ✓. " * 20
    args = json.dumps({"command": "pytest -q tests/ && echo done", "description": "run"})
    chat = b"".join(f"data: {d}\n\n".encode()
                    for d in chat_chunks(text=text, calls=[("call_1", "Bash", args)], piece=4))
    # the same answer as an Anthropic upstream streams it, for the identity relay
    tr0 = MessagesOverChat("local", _model="m")
    anth = b"".join(ev.raw for e in SSEParser().feed(chat) for ev in tr0.stream_event(e))
    n_chat = chat.count(b"\n\n")
    n_anth = anth.count(b"\n\n")

    # as the network delivers them: one read per upstream event
    chat_reads = [e + b"\n\n" for e in chat.split(b"\n\n") if e]
    anth_reads = [e + b"\n\n" for e in anth.split(b"\n\n") if e]

    def translated() -> None:
        tr, p, rw = MessagesOverChat("local", _model="m"), SSEParser(), StreamRewriter("anthropic")
        for data in chat_reads:
            for ev in p.feed(data):
                for t in tr.stream_event(ev):
                    rw.feed(t)
        for t in tr.stream_end():
            rw.feed(t)

    def identity() -> None:
        p, rw = SSEParser(), StreamRewriter("anthropic")
        for data in anth_reads:
            for ev in p.feed(data):
                rw.feed(ev)

    reps = max(20, n // 5)
    t_tr = statistics.median(timeit(translated, reps)) / n_chat
    t_id = statistics.median(timeit(identity, reps)) / n_anth
    print(f"\n2. per streamed chunk ({n_chat} chat chunks -> {n_anth} Anthropic events)")
    print(f"   translated relay {us(t_tr)} per upstream chunk; identity relay {us(t_id)} per "
          f"event; ratio {t_tr / t_id:.2f}x")


@contextmanager
def _upstream_process(script: list[dict[str, Any]]) -> Iterator[str]:
    """The scripted upstream in a process of its own: in the gateway's process its
    threads would compete for the GIL with the gateway's work being measured."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(script, f)
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "fakes" / "upstream.py"),
                             "--script", f.name], stdout=subprocess.PIPE, text=True,
                            cwd=REPO / "tests")
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)
        os.unlink(f.name)


def bench_gateway(body: dict[str, Any], n: int) -> None:
    import http.client

    from gwsupport import make_config, rule_scanner, start_gateway

    from stockade.config.model import Route

    def run(g: Any, payload: bytes, stream: bool) -> list[float]:
        conn = http.client.HTTPConnection(g.host, g.port, timeout=30)
        out = []
        for i in range(n + 20):
            t = time.perf_counter()
            conn.request("POST", "/v1/messages?beta=true", body=payload,
                         headers={"content-type": "application/json"})
            resp = conn.getresponse()
            if stream:
                resp.read(1)
                dt = time.perf_counter() - t
                resp.read()
            else:
                resp.read()
                dt = time.perf_counter() - t
            assert resp.status == 200, resp.status
            if i >= 20:
                out.append(dt)
        conn.close()
        return out

    print(f"\n3. end to end through the gateway, n={n} (same scripted upstream, same DLP stand-in;"
          f" the upstream in its own process)")
    with _upstream_process([{"text": "Done: the tests pass."}]) as url:
        ident = start_gateway(make_config(anthropic=url), scanner=rule_scanner)
        trans = start_gateway(make_config(anthropic=url, local=url,
                                          routes=(Route(upstream="local"),)), scanner=rule_scanner)
        try:
            for stream in (False, True):
                payload = json.dumps(dict(body, stream=stream)).encode()
                ma, mb = ident.gateway.metrics, trans.gateway.metrics
                sa, ca, sb, cb = ma.overhead_sum, ma.overhead_count, mb.overhead_sum, \
                    mb.overhead_count
                a = run(ident, payload, stream)
                b = run(trans, payload, stream)
                # the gateway's own time before forwarding (parse, inspect, route, translate)
                oa = (ma.overhead_sum - sa) / (ma.overhead_count - ca)
                ob = (mb.overhead_sum - sb) / (mb.overhead_count - cb)
                print(f"   {'in-gateway, pre-forward':22s} identity mean {ms(oa)} | translated "
                      f"mean {ms(ob)} | added {ms(ob - oa)}, ratio {ob / oa:.2f}x")
                a50, b50 = statistics.median(a), statistics.median(b)
                label = "streamed, first byte" if stream else "non-streamed, total"
                print(f"   {label:22s} identity p50 {ms(a50)} p99 {ms(pct(a, 99))} | translated "
                      f"p50 {ms(b50)} p99 {ms(pct(b, 99))} | added p50 {ms(b50 - a50)}, "
                      f"ratio {b50 / a50:.2f}x")
        finally:
            ident.stop()
            trans.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()
    body, what = claude_body()
    print(f"bench/translate.py: {what}, {len(json.dumps(body)) / 1024:.0f} KB; target: "
          f"< 1 ms added per request")
    bench_request(body, a.n)
    bench_chunks(a.n)
    bench_gateway(body, a.n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
