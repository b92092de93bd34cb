"""Gateway overhead: added latency over a direct call, and against LiteLLM's proxy.

    .venv/bin/python bench/gateway.py [--n 300] [--no-litellm]

Everything runs on this machine against the same scripted upstream
(tests/fakes/upstream.py, a separate process): direct, through
`stockade gateway` (DLP on, real sqlite ledger), and through LiteLLM's proxy
(`litellm[proxy]` in its own venv under bench/.cache/, configured as a plain
pass-through; skipped if it cannot be installed).  Requests are a ~90 KB
Claude Code request (captured in ../shared/agents/examples when available,
else synthesised) and the same content as an OpenAI chat request for the
LiteLLM comparison.  Reports p50/p99 of added latency (non-streaming total
time, streaming time to first byte) at concurrency 1 and 64, and requests/s.
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / ".cache"
CAPTURED = REPO.parent / "shared" / "agents" / "examples" / "claude_request_turn2.json"


def claude_body() -> dict:  # type: ignore[type-arg]
    if CAPTURED.exists():
        return json.loads(CAPTURED.read_text())["body"]
    tools = [{"name": f"Tool{i}", "description": "Does a thing. " * 200,
              "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}}
             for i in range(25)]
    return {"model": "claude-x", "max_tokens": 1000, "system": "You are helpful. " * 500,
            "tools": tools, "messages": [{"role": "user", "content": "hello"}], "stream": True}


def chat_body(cb: dict, stream: bool) -> dict:  # type: ignore[type-arg]
    sys_text = json.dumps(cb.get("system"))
    tools = [{"type": "function", "function": {"name": t["name"], "description": t.get(
        "description", ""), "parameters": t.get("input_schema", {})}} for t in cb.get("tools", [])]
    return {"model": "fake-model", "stream": stream, "tools": tools, "messages": [
        {"role": "system", "content": sys_text}, {"role": "user", "content": "hello"}]}


# -- a tiny HTTP/1.1 client (keep-alive), measuring total time and time to first body byte --

async def _one(reader, writer, host: str, path: str, payload: bytes,  # type: ignore[no-untyped-def]
               headers: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    writer.write((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  f"{headers}Content-Length: {len(payload)}\r\n\r\n").encode() + payload)
    head = await reader.readuntil(b"\r\n\r\n")
    h = head.decode("latin-1").lower()
    ttfb = None
    if "transfer-encoding: chunked" in h:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if ttfb is None:
                ttfb = time.perf_counter() - t0
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            await reader.readexactly(size + 2)
        close = False
    else:
        m = re.search(r"content-length: (\d+)", h)
        if m:
            await reader.readexactly(int(m.group(1)))
            close = "connection: close" in h
        else:
            ttfb = time.perf_counter() - t0
            await reader.read()
            close = True
    total = time.perf_counter() - t0
    if not h.startswith("http/1.1 200") and not h.startswith("http/1.0 200"):
        raise RuntimeError("non-200: " + h.split("\r\n")[0])
    return total, (ttfb if ttfb is not None else total), close  # type: ignore[return-value]


async def load(url: str, path: str, payload: bytes, *, n: int, conc: int,
               headers: str = "") -> tuple[list[float], list[float], float]:
    host_port = url.split("//")[1].split("/")[0]
    host, port = host_port.split(":")
    prefix = "/" + url.split("//")[1].split("/", 1)[1] if url.count("/") > 2 else ""
    full_path = prefix.rstrip("/") + path
    totals: list[float] = []
    ttfbs: list[float] = []
    left = [n]

    async def worker() -> None:
        conn = None
        while left[0] > 0:
            left[0] -= 1
            if conn is None:
                conn = await asyncio.open_connection(host, int(port), limit=1 << 22)
            total, ttfb, close = await _one(*conn, host_port, full_path, payload, headers)  # type: ignore[misc]
            totals.append(total)
            ttfbs.append(ttfb)
            if close:
                conn[1].close()
                conn = None
        if conn:
            conn[1].close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return totals, ttfbs, n / (time.perf_counter() - t0)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000


def start(argv: list[str], env: dict[str, str], pattern: str) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(pattern, line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not start")


def litellm_python() -> Path | None:
    venv = CACHE / "litellm-venv"
    py = venv / "bin" / "python"
    if not (venv / "bin" / "litellm").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(py), "-m", "pip", "install", "--quiet", "litellm[proxy]"],
                           check=True, timeout=900)
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"LiteLLM: skipped, cannot install ({type(exc).__name__})")
            return None
    return venv / "bin" / "litellm"


def run_case(name: str, url: str, path: str, body: bytes, n: int, headers: str = "") -> dict:  # type: ignore[type-arg]
    out = {}
    for conc in (1, 64):
        asyncio.run(load(url, path, body, n=min(20, n), conc=min(conc, 8), headers=headers))
        totals, ttfbs, rps = asyncio.run(load(url, path, body, n=n if conc == 1 else n * 2,
                                              conc=conc, headers=headers))
        out[conc] = (totals, ttfbs, rps)
    return out


def report(label: str, direct: dict, via: dict, stream: bool) -> None:  # type: ignore[type-arg]
    for conc in (1, 64):
        d_tot, d_ttfb, d_rps = direct[conc]
        v_tot, v_ttfb, v_rps = via[conc]
        d, v = (d_ttfb, v_ttfb) if stream else (d_tot, v_tot)
        metric = "TTFT" if stream else "total"
        print(f"  {label:<22} c={conc:<3} {metric:<5} p50 +{pct(v, 50) - pct(d, 50):6.2f} ms "
              f"p99 +{pct(v, 99) - pct(d, 99):6.2f} ms  (direct p50 {pct(d, 50):.2f} ms)  "
              f"req/s {v_rps:7.1f} vs direct {d_rps:7.1f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--no-litellm", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stockade-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    env["STOCKADE_HOME"] = str(tmp / "state")
    procs = []
    try:
        fake, fake_url = start([sys.executable, str(REPO / "tests" / "fakes" / "upstream.py")],
                               env, r"(http://\S+)")
        procs.append(fake)
        run_cli = ("import sys; from stockade import cli; cli.COMMANDS.setdefault('gateway', "
                   "('stockade.commands.gateway', 'gateway')); sys.exit(cli.main(sys.argv[1:]))")
        gw, gw_url = start([sys.executable, "-c", run_cli, "gateway", "--listen", "127.0.0.1:0",
                            "--upstream", f"anthropic={fake_url}",
                            "--upstream", f"openai={fake_url}/v1"], env, r"listening on (http://\S+)")
        procs.append(gw)
        cb = claude_body()
        hdr = "x-api-key: sk-ant-dummy\r\nanthropic-version: 2023-06-01\r\n"
        print(f"request: {len(json.dumps(cb)) // 1024} KB Claude Code request "
              f"({'captured' if CAPTURED.exists() else 'synthetic'}); n={a.n}; "
              f"DLP on, sqlite ledger\n")
        results = {}
        for stream in (False, True):
            body = json.dumps(dict(cb, stream=stream)).encode()
            direct = run_case("direct", fake_url, "/v1/messages", body, a.n, hdr)
            via = run_case("stockade", gw_url, "/v1/messages", body, a.n, hdr)
            results[("anthropic", stream)] = (direct, via)
            report(f"stockade anthropic {'stream' if stream else 'json'}", direct, via, stream)
        if not a.no_litellm:
            exe = litellm_python()
            if exe is not None:
                cfg = tmp / "litellm.yaml"
                cfg.write_text(
                    "model_list:\n  - model_name: fake-model\n    litellm_params:\n"
                    f"      model: openai/fake-model\n      api_base: {fake_url}/v1\n"
                    "      api_key: sk-dummy\n"
                    "litellm_settings:\n  telemetry: false\n  drop_params: true\n")
                master = "sk-bench-" + os.urandom(16).hex()  # LiteLLM refuses to start without one
                lenv = dict(env, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR",
                            LITELLM_MASTER_KEY=master)
                port = 18000 + os.getpid() % 1000
                try:
                    ll, _ = start([str(exe), "--config", str(cfg), "--port", str(port),
                                   "--num_workers", "1"], lenv, r"(Uvicorn running|Application startup complete)")
                    procs.append(ll)
                    ll_url = f"http://127.0.0.1:{port}"
                    print()
                    for stream in (False, True):
                        body = json.dumps(chat_body(cb, stream)).encode()
                        auth = f"Authorization: Bearer {master}\r\n"
                        direct = run_case("direct", fake_url, "/v1/chat/completions", body, a.n, auth)
                        via = run_case("stockade", gw_url, "/v1/chat/completions", body, a.n, auth)
                        lvia = run_case("litellm", ll_url, "/v1/chat/completions", body, a.n, auth)
                        kind = "stream" if stream else "json"
                        report(f"stockade chat {kind}", direct, via, stream)
                        report(f"litellm chat {kind}", direct, lvia, stream)
                        for conc in (1, 64):
                            i = 1 if stream else 0
                            s50 = pct(via[conc][i], 50) - pct(direct[conc][i], 50)
                            l50 = pct(lvia[conc][i], 50) - pct(direct[conc][i], 50)
                            print(f"    c={conc}: LiteLLM added p50 / stockade added p50 = "
                                  f"{l50 / max(s50, 0.01):.1f}x")
                except RuntimeError as exc:
                    print(f"LiteLLM: skipped ({exc})")
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
