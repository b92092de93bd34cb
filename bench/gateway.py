"""Gateway overhead: added latency over a direct call, and against LiteLLM's proxy.

    .venv/bin/python bench/gateway.py [--rounds 5] [--n 100] [--no-litellm] [--no-floor]
                                      [--compare-src OLD/src]

Everything runs on this machine against the same scripted upstream
(tests/fakes/upstream.py, a separate process): direct, through
`stockade gateway` (DLP on, real sqlite ledger), and through LiteLLM's proxy
(`litellm[proxy]` in its own venv under bench/.cache/, configured as a plain
pass-through to the same upstream; skipped, saying why, if it cannot be
installed or started).  Requests are a ~90 KB Claude Code request (captured in
../shared/agents/examples when available, else synthesised) as Anthropic
Messages, and the same content as an OpenAI chat request for the LiteLLM
comparison.

Measured: added latency (non-streaming: total time; streaming: time to the
first body byte, i.e. the first event) at concurrency 1 and 64, and requests/s.
The targets are measured in interleaved rounds (the order rotates each round)
so that background load hits them alike; each figure is the median over the
rounds of (via p50 - direct p50) of that round, p99 is over all samples
pooled.  The machine's load is printed with the results: on a shared machine,
compare ratios from one run, not absolute figures from different runs.
Bodies are sent compact and in raw UTF-8, as Claude Code's JSON.stringify and
the OpenAI SDKs send them.  The scripted upstream ends each stream with the
connection (close-delimited): a direct client then opens a new connection
for its next request, and that connect is counted in the request's time, as
the gateway's own connect to the upstream is counted in its.

Issue 4's targets (p50 added <= 2 ms, p99 <= 10 ms, stated where LiteLLM
publishes 12 ms p50 / 29 ms p95 of overhead) are then read as shares of
LiteLLM's overhead measured in the same run (its p95 for the p99 target),
since absolute figures differ from machine to machine.

Two more columns read the figures.  The floor peer (``floor``, unless
--no-floor) is a bare asyncio pass-through proxy written here: no inspection,
no ledger, no header handling; what any Python proxy costs on this machine, in
the same run.  ``cpu`` is the CPU time (user + system) the target's processes
spent per request: at concurrency 64 on a small machine the client, the
upstream and the proxy share the cores, so each ms of proxy CPU per request
comes back as queueing for all 64 requests in flight.

The upstream is started with TCP_NODELAY on its sockets: http.server writes
the head and the body of a JSON answer in two sends, and with Nagle's
algorithm the second waits ~40 ms for the client's delayed ACK, on the direct
path and the gateway's alike, which buries the difference measured here.  It
also keeps only its last 16 requests (the tests read them; kept for ever, the
parsed 90 KB bodies make its garbage collections pause it for up to ~100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / ".cache"
CAPTURED = REPO.parent / "shared" / "agents" / "examples" / "claude_request_turn2.json"
LITELLM_START_S = 240  # first start imports a lot (and compiles bytecode)

_FAKE = """
import collections, sys
from http.server import BaseHTTPRequestHandler
BaseHTTPRequestHandler.disable_nagle_algorithm = True
sys.path.insert(0, {repo!r})
from tests.fakes import upstream
_init = upstream.FakeUpstream.__init__
def _bounded(self, *a, **k):
    _init(self, *a, **k)
    self.requests = collections.deque(maxlen=16)
upstream.FakeUpstream.__init__ = _bounded
upstream.main()
"""

_FLOOR = r'''
"""What any Python proxy costs here: an asyncio HTTP/1.1 pass-through with no
inspection, no ledger, no header handling (written for the benchmark only)."""
import asyncio, re, sys
UP_HOST, UP_PORT = sys.argv[1], int(sys.argv[2])
_CL = re.compile(rb"\r\ncontent-length: *(\d+)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding: *chunked", re.I)
idle = []

async def upstream():
    while idle:
        r, w = idle.pop()
        if not w.is_closing() and not r.at_eof():
            return r, w
    return await asyncio.open_connection(UP_HOST, UP_PORT, limit=1 << 22)

async def serve(reader, writer):
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            m = _CL.search(head)
            body = await reader.readexactly(int(m.group(1))) if m else b""
            ur, uw = await upstream()
            uw.write(head + body)
            rhead = await ur.readuntil(b"\r\n\r\n")
            m = _CL.search(rhead)
            if m:
                data = await ur.readexactly(int(m.group(1)))
                writer.write(rhead + data)
                idle.append((ur, uw))
            elif _CHUNKED.search(rhead):
                writer.write(rhead)
                while True:
                    line = await ur.readuntil(b"\r\n")
                    n = int(line.split(b";")[0], 16)
                    data = await ur.readexactly(n + 2)
                    writer.write(line + data)
                    if n == 0:
                        break
                idle.append((ur, uw))
            else:  # delimited by the end of the connection: relay it chunked
                lines = [l for l in rhead[:-4].split(b"\r\n")
                         if not l.lower().startswith(b"connection:")]
                writer.write(b"\r\n".join(lines) + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
                while data := await ur.read(65536):
                    writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                uw.close()
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()

async def main():
    srv = await asyncio.start_server(serve, "127.0.0.1", 0, limit=1 << 22)
    print(f"floor listening on http://127.0.0.1:{srv.sockets[0].getsockname()[1]}", flush=True)
    await srv.serve_forever()

asyncio.run(main())
'''


def claude_body() -> dict[str, Any]:
    if CAPTURED.exists():
        body: dict[str, Any] = json.loads(CAPTURED.read_text())["body"]
        return body
    tools = [{"name": f"Tool{i}", "description": "Does a thing. " * 200,
              "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}}
             for i in range(25)]
    return {"model": "claude-x", "max_tokens": 1000, "system": "You are helpful. " * 500,
            "tools": tools, "messages": [{"role": "user", "content": "hello"}], "stream": True}


def _compact(body: dict[str, Any]) -> bytes:
    """As the clients send it: Claude Code's JSON.stringify, the OpenAI SDKs' httpx
    write no whitespace between tokens."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def chat_body(cb: dict[str, Any], stream: bool) -> dict[str, Any]:
    sys_text = json.dumps(cb.get("system"))
    tools = [{"type": "function", "function": {"name": t["name"], "description": t.get(
        "description", ""), "parameters": t.get("input_schema", {})}} for t in cb.get("tools", [])]
    return {"model": "fake-model", "stream": stream, "tools": tools, "messages": [
        {"role": "system", "content": sys_text}, {"role": "user", "content": "hello"}]}


# -- a tiny HTTP/1.1 client (keep-alive): total time and time to the first body byte --

async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
               path: str, payload: bytes, headers: str) -> tuple[float, float, bool]:
    t0 = time.perf_counter()
    writer.write((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  f"{headers}Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
    head = await reader.readuntil(b"\r\n\r\n")
    h = head.decode("latin-1").lower()
    if not h.startswith(("http/1.1 200", "http/1.0 200")):
        raise RuntimeError("non-200: " + h.split("\r\n")[0])
    ttfb: float | None = None
    close = "connection: close" in h
    if "transfer-encoding: chunked" in h:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            await reader.readexactly(size + 2)
            if ttfb is None:
                ttfb = time.perf_counter() - t0
    elif (m := re.search(r"content-length: (\d+)", h)) is not None:
        await reader.readexactly(int(m.group(1)))
    else:  # delimited by the end of the connection (the upstream's streams)
        while await reader.read(65536):
            if ttfb is None:
                ttfb = time.perf_counter() - t0
        close = True
    total = time.perf_counter() - t0
    return total, (ttfb if ttfb is not None else total), close


@dataclass
class Sample:
    totals: list[float]
    ttfbs: list[float]
    rps: float
    retried: int = 0  # requests resent on a new connection (the server closed a kept one)
    cpu_ms: float | None = None  # CPU time of the target's processes per request


async def _load(url: str, path: str, payload: bytes, *, n: int, conc: int,
                headers: str) -> Sample:
    host_port = url.split("//")[1].split("/")[0]
    host, port = host_port.rsplit(":", 1)
    totals: list[float] = []
    ttfbs: list[float] = []
    left = [n]
    retried = [0]

    async def worker() -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        closed_by_server = False
        while left[0] > 0:
            left[0] -= 1
            fresh = conn is None
            connect = 0.0
            if conn is None:
                t = time.perf_counter()
                conn = await asyncio.open_connection(host, int(port), limit=1 << 22)
                # the server closed the last one (a streaming upstream that ends
                # each response with the connection): this request's client waits
                # for the new connection too, as a gateway's upstream request does
                connect = time.perf_counter() - t if closed_by_server else 0.0
            try:
                total, ttfb, close = await _one(*conn, host_port, path, payload, headers)
                total, ttfb = total + connect, ttfb + connect
            except (asyncio.IncompleteReadError, ConnectionError):
                if fresh:
                    raise
                # a kept-alive connection the server had closed: retry on a new one, as
                # HTTP clients do, and say so in the results
                conn[1].close()
                retried[0] += 1
                conn = await asyncio.open_connection(host, int(port), limit=1 << 22)
                total, ttfb, close = await _one(*conn, host_port, path, payload, headers)
            totals.append(total)
            ttfbs.append(ttfb)
            closed_by_server = close
            if close:
                conn[1].close()
                conn = None
        if conn:
            conn[1].close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return Sample(totals, ttfbs, n / (time.perf_counter() - t0), retried[0])


def measure(url: str, path: str, payload: bytes, *, n: int, conc: int, headers: str) -> Sample:
    return asyncio.run(_load(url, path, payload, n=n, conc=conc, headers=headers))


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its living descendants
    (a gateway's worker processes)."""
    total = 0.0
    todo = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue  # gone, or no /proc: the figure is then a lower bound
    return total


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


# -- processes --------------------------------------------------------------------------

def start(argv: list[str], env: dict[str, str], pattern: str,
          timeout: float = 60) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def litellm_exe() -> tuple[Path | None, str]:
    venv = CACHE / "litellm-venv"
    exe = venv / "bin" / "litellm"
    if not exe.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                            "litellm[proxy]"], check=True, timeout=900)
        except (subprocess.SubprocessError, OSError) as exc:
            return None, f"cannot install litellm[proxy] ({type(exc).__name__})"
    return exe, ""


def start_litellm(exe: Path, tmp: Path, env: dict[str, str],
                  upstream: str) -> tuple[subprocess.Popen[bytes], str, str]:
    """LiteLLM's proxy as a pass-through to ``upstream``.  It logs nothing we could wait
    for at LITELLM_LOG=ERROR (the old cause of a hang here), so wait on its health
    endpoint; no database (no DATABASE_URL), no telemetry, the bundled cost map."""
    cfg = tmp / "litellm.yaml"
    cfg.write_text(
        "model_list:\n  - model_name: fake-model\n    litellm_params:\n"
        f"      model: openai/fake-model\n      api_base: {upstream}/v1\n"
        "      api_key: sk-dummy\n"
        "litellm_settings:\n  telemetry: false\n  drop_params: true\n"
        "general_settings:\n  disable_spend_logs: true\n")
    master = "sk-bench-" + os.urandom(16).hex()  # the proxy refuses to start without one
    lenv = dict(env, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR",
                LITELLM_MASTER_KEY=master, LITELLM_TELEMETRY="False",
                DISABLE_ADMIN_UI="True", NO_DOCS="True", NO_REDOC="True")
    lenv.pop("DATABASE_URL", None)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp / "litellm.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([str(exe), "--config", str(cfg), "--host", "127.0.0.1",
                             "--port", str(port), "--num_workers", "1"],
                            env=lenv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + LITELLM_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}; see {tmp / 'litellm.log'}")
        try:
            with urllib.request.urlopen(url + "/health/liveliness", timeout=2) as r:
                if r.status == 200:
                    return proc, url, master
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"not up after {LITELLM_START_S} s; see {tmp / 'litellm.log'}")


# -- the measurement --------------------------------------------------------------------

@dataclass
class Case:
    name: str
    path: str
    body: bytes
    headers: str
    stream: bool
    targets: dict[str, str]  # target name -> base URL
    pids: dict[str, int] = field(default_factory=dict)  # target name -> its process
    results: dict[tuple[int, str], list[Sample]] = field(default_factory=dict)


def run_rounds(cases: list[Case], *, rounds: int, n: int, loads: list[float]) -> None:
    for r in range(rounds):
        for case in cases:
            for conc, count in ((1, n), (64, n * 4)):
                names = list(case.targets)
                names = names[r % len(names):] + names[:r % len(names)]  # rotate the order
                for name in names:
                    pid = case.pids.get(name)
                    cpu0 = proc_cpu(pid) if pid else 0.0
                    s = measure(case.targets[name], case.path, case.body, n=count, conc=conc,
                                headers=case.headers)
                    if pid:
                        s.cpu_ms = (proc_cpu(pid) - cpu0) * 1000 / count
                    case.results.setdefault((conc, name), []).append(s)
        loads.append(os.getloadavg()[0])
        print(f"  round {r + 1}/{rounds} done (load {loads[-1]:.2f})", flush=True)


TARGET_P50, TARGET_P99 = 2.0, 10.0  # issue 4, ms added
LITELLM_P50, LITELLM_P95 = 12.0, 29.0  # LiteLLM's published proxy overhead, ms


def pooled_added(case: Case, conc: int, name: str, q: float) -> float:
    """The q-th percentile over all rounds' samples, less direct's."""
    def pick(s: Sample) -> list[float]:
        return s.ttfbs if case.stream else s.totals

    via = [x for s in case.results[(conc, name)] for x in pick(s)]
    direct = [x for s in case.results[(conc, "direct")] for x in pick(s)]
    return pct(via, q) - pct(direct, q)


def report(case: Case) -> dict[tuple[int, str], float]:
    """Prints one line per (target, concurrency); returns the median added p50s."""
    added: dict[tuple[int, str], float] = {}
    metric = "TTFT" if case.stream else "total"
    for conc in (1, 64):
        direct = case.results[(conc, "direct")]
        def pick(s: Sample) -> list[float]:
            return s.ttfbs if case.stream else s.totals

        d_all = [x for s in direct for x in pick(s)]
        for name in case.targets:
            if name == "direct":
                continue
            via = case.results[(conc, name)]
            p50s = [pct(pick(v), 50) - pct(pick(d), 50) for v, d in zip(via, direct)]
            v_all = [x for s in via for x in pick(s)]
            a50 = statistics.median(p50s)
            added[(conc, name)] = a50
            rps = statistics.median(s.rps for s in via)
            cpus = [s.cpu_ms for s in via if s.cpu_ms is not None]
            d_rps = statistics.median(s.rps for s in direct)
            print(f"  {case.name:<16} {name:<8} c={conc:<3} {metric:<5} added p50 {a50:+7.2f} ms "
                  f"(rounds {min(p50s):+.2f}..{max(p50s):+.2f})  p99 "
                  f"{pct(v_all, 99) - pct(d_all, 99):+7.2f} ms  | direct p50 "
                  f"{pct(d_all, 50):6.2f} p99 {pct(d_all, 99):6.2f} ms | req/s {rps:7.1f} vs "
                  f"direct {d_rps:7.1f} ({rps / d_rps:.2f}x)"
                  + (f" | cpu {statistics.median(cpus):.2f} ms/req" if cpus else "")
                  + (f" [{sum(s.retried for s in via)} resent on a new connection]"
                     if any(s.retried for s in via) else ""))
    return added


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=100, help="requests per round at c=1 (4x at c=64)")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--compare-src", metavar="DIR", type=Path,
                    help="also measure a gateway run from another source tree (its src/ "
                         "directory, e.g. an exported older commit) as target 'before'")
    ap.add_argument("--no-floor", action="store_true",
                    help="do not measure the floor peer (a bare asyncio pass-through proxy)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stockade-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    env["STOCKADE_HOME"] = str(tmp / "state")
    procs: list[subprocess.Popen[Any]] = []
    load0 = os.getloadavg()
    try:
        fake, fake_url = start([sys.executable, "-c", _FAKE.format(repo=str(REPO))], env,
                               r"(http://\S+)")
        procs.append(fake)
        gw, gw_url = start([sys.executable, "-m", "stockade", "gateway", "--listen",
                            "127.0.0.1:0", "--upstream", f"anthropic={fake_url}",
                            "--upstream", f"openai={fake_url}/v1"], env,
                           r"listening on (http://\S+)")
        procs.append(gw)
        gateways = {"stockade": gw_url}
        pids = {"stockade": gw.pid}
        if not a.no_floor:
            up_host, up_port = fake_url.split("//")[1].rsplit(":", 1)
            floor, floor_url = start([sys.executable, "-c", _FLOOR, up_host, up_port], env,
                                     r"floor listening on (http://\S+)")
            procs.append(floor)
            gateways["floor"] = floor_url
            pids["floor"] = floor.pid
        if a.compare_src is not None:
            old_env = dict(env, PYTHONPATH=str(a.compare_src.resolve()),
                           STOCKADE_HOME=str(tmp / "state-before"))
            before, before_url = start([sys.executable, "-m", "stockade", "gateway", "--listen",
                                        "127.0.0.1:0", "--upstream", f"anthropic={fake_url}",
                                        "--upstream", f"openai={fake_url}/v1"], old_env,
                                       r"listening on (http://\S+)")
            procs.append(before)
            gateways["before"] = before_url
            pids["before"] = before.pid
        cb = claude_body()
        hdr = ("x-api-key: sk-ant-dummy\r\nanthropic-version: 2023-06-01\r\n"
               "X-Claude-Code-Session-Id: c5ae883e-7e1f-4073-82ab-cd98f626cfd5\r\n")
        cases = [Case(f"anthropic {'stream' if s else 'json'}", "/v1/messages",
                      _compact(dict(cb, stream=s)), hdr, s,
                      {"direct": fake_url, **gateways}, pids) for s in (False, True)]
        litellm_note = "LiteLLM: not measured (--no-litellm)"
        if not a.no_litellm:
            exe, why = litellm_exe()
            if exe is None:
                litellm_note = f"LiteLLM: skipped, {why}"
            else:
                try:
                    t0 = time.monotonic()
                    ll, ll_url, master = start_litellm(exe, tmp, env, fake_url)
                    procs.append(ll)
                    litellm_note = f"LiteLLM: proxy up in {time.monotonic() - t0:.0f} s"
                    auth = f"Authorization: Bearer {master}\r\n"
                    cases += [Case(f"chat {'stream' if s else 'json'}", "/v1/chat/completions",
                                   _compact(chat_body(cb, s)), auth, s,
                                   {"direct": fake_url, **gateways, "litellm": ll_url},
                                   {**pids, "litellm": ll.pid})
                              for s in (False, True)]
                except RuntimeError as exc:
                    litellm_note = f"LiteLLM: skipped, the proxy {exc}"
        print(f"request: {len(json.dumps(cb)) // 1024} KB Claude Code request "
              f"({'captured' if CAPTURED.exists() else 'synthetic'}); {a.rounds} rounds of "
              f"{a.n} requests at c=1 and {a.n * 4} at c=64 per target; DLP on, sqlite ledger")
        print(litellm_note)
        for case in cases:  # warm up every path (connections, caches, LiteLLM's imports)
            for url in case.targets.values():
                measure(url, case.path, case.body, n=20, conc=4, headers=case.headers)
        loads: list[float] = []
        run_rounds(cases, rounds=a.rounds, n=a.n, loads=loads)
        print(f"\nmachine: {os.cpu_count()} CPUs; load average before {load0[0]:.2f}, "
              f"during rounds {min(loads):.2f}..{max(loads):.2f}, after "
              f"{os.getloadavg()[0]:.2f}\n")
        added: dict[str, dict[tuple[int, str], float]] = {}
        for case in cases:
            added[case.name] = report(case)
        if "floor" in gateways:
            print("\nAgainst the floor peer (a bare asyncio pass-through proxy: what any Python "
                  "proxy costs on this machine; same run):")
            for case in cases:
                for conc in (1, 64):
                    for name in (n for n in case.targets if n not in ("direct", "floor")):
                        s50 = added[case.name][(conc, name)]
                        f50 = added[case.name][(conc, "floor")]
                        cpu = {t: statistics.median(c for s in case.results[(conc, t)]
                                                    if (c := s.cpu_ms) is not None)
                               for t in (name, "floor") if case.pids.get(t)}
                        print(f"  {case.name:<16} c={conc:<3} {name:<8} added p50 {s50:+7.2f} ms, "
                              f"floor {f50:+7.2f} ms: {s50 - f50:+7.2f} ms over the floor"
                              + (f"; cpu/req {cpu[name]:.2f} vs {cpu['floor']:.2f} ms"
                                 if len(cpu) == 2 else ""))
        chat = [c for c in cases if c.name.startswith("chat")]
        if chat:
            print("\nLiteLLM added p50 / stockade added p50 (same run, same requests; "
                  "LiteLLM does no inspection, stockade runs DLP and the ledger):")
            for case in chat:
                for conc in (1, 64):
                    s50 = added[case.name][(conc, "stockade")]
                    l50 = added[case.name][(conc, "litellm")]
                    ratio = f"{l50 / s50:.1f}x" if s50 > 0.05 else "stockade adds ~nothing"
                    print(f"  {case.name:<12} c={conc:<3} LiteLLM {l50:+8.2f} ms, stockade "
                          f"{s50:+6.2f} ms: {ratio}")
            # Issue 4: "LiteLLM publishes 12 ms p50 / 29 ms p95 proxy overhead.
            # Targets: p50 added <= 2 ms and p99 <= 10 ms with DLP on."  Absolute
            # figures differ from machine to machine; read as a share of LiteLLM's
            # overhead measured here, in the same rounds.
            print(f"\nIssue 4's targets (p50 added <= {TARGET_P50:g} ms, p99 <= {TARGET_P99:g} ms) "
                  f"where LiteLLM publishes {LITELLM_P50:g} ms p50 / {LITELLM_P95:g} ms p95, read "
                  "as shares of LiteLLM's overhead measured in this run:")
            for case in chat:
                for conc in (1, 64):
                    s50 = added[case.name][(conc, "stockade")]
                    l50 = added[case.name][(conc, "litellm")]
                    s99 = pooled_added(case, conc, "stockade", 99)
                    l95 = pooled_added(case, conc, "litellm", 95)
                    want50, want99 = l50 * TARGET_P50 / LITELLM_P50, l95 * TARGET_P99 / LITELLM_P95
                    print(f"  {case.name:<12} c={conc:<3} p50 {s50:+7.2f} ms, target here "
                          f"<= {want50:6.2f} ms {'met' if s50 <= want50 else 'NOT met'};  p99 "
                          f"{s99:+7.2f} ms, target here <= {want99:6.2f} ms "
                          f"{'met' if s99 <= want99 else 'NOT met'}")
            print("  (at c=64 on a small machine LiteLLM saturates and its overhead is queueing: "
                  "read c=64 against the floor peer above, not as a share of LiteLLM's)")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
