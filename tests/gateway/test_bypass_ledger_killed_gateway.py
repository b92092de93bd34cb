"""A gateway killed (SIGKILL) while a request is upstream: the request event was
durable before anything was forwarded, and the ledger still verifies.

Request events are stored on the event loop when the ledger is free (no
thread hop) and response events after the client has its answer; neither may
cost the ledger the record of what was sent to a vendor.  What a SIGKILL may
lose is the response event of an exchange that had just finished (status,
usage, latency), never its request event, and never a half-written row.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gwsupport import FakeUpstream

from stockade.ledger import open_ledger
from stockade.state import StateDir


@contextmanager
def _gateway(tmp: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`stockade gateway` as a real process (so that it can be killed)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "STOCKADE_POLICY",
                        "STOCKADE_MANAGED_POLICY")}
    env.update(STOCKADE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "xdg"))
    proc = subprocess.Popen([sys.executable, "-m", "stockade", "gateway", "--listen",
                             "127.0.0.1:0", "--workspace", str(tmp), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        deadline, url = time.monotonic() + 30, None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://\S+)", line)
            url = m.group(1) if m else None
        if url is None:
            proc.kill()
            raise AssertionError("gateway did not start: " + (proc.stderr.read() or ""))
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(10)


def _post(url: str, path: str, body: object) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", path, body=json.dumps(body),
                 headers={"content-type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp.read()


def _request(n: int) -> dict[str, object]:
    return {"model": "claude-x", "max_tokens": 10,
            "messages": [{"role": "user", "content": f"question {n}"}]}


def test_request_event_survives_a_killed_gateway(tmp_path: Path) -> None:
    with FakeUpstream([{"text": "answer"}] * 40) as vendor, \
            _gateway(tmp_path, "--upstream", f"anthropic={vendor.url}") as (url, proc):
        answered = [_post(url, "/v1/messages", _request(n))[0] for n in range(20)]
        assert answered == [200] * 20
        vendor.delay_s = 3.0  # the next request stays upstream until the kill
        threading.Thread(target=lambda: _try_post(url), daemon=True).start()
        deadline = time.monotonic() + 10
        while len(vendor.posts()) < 21 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(vendor.posts()) == 21, "the last request never reached the upstream"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    state = tmp_path / "state"
    with open_ledger(state=StateDir(state)) as ledger:
        events = list(ledger.query())
        ledger.verify()
    requests = [e for e in events if e.kind == "llm.request"]
    responses = [e for e in events if e.kind == "llm.response"]
    # every request that reached the vendor is in the ledger, the last one included
    assert len(requests) == 21
    assert {e.details["request_id"] for e in requests} >= {
        e.details["request_id"] for e in responses}
    # response events were written after the answers: all but at most the last
    # few may be there, each pointing at a stored request event
    ids = {str(e.seq) for e in requests}
    assert len(responses) >= 19
    assert all(e.details.get("request_event") in ids for e in responses)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) == list(range(seqs[0], seqs[0] + len(seqs)))

    env = {**os.environ, "STOCKADE_HOME": str(state), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    r = subprocess.run([sys.executable, "-m", "stockade", "ledger", "verify"], env=env,
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def _try_post(url: str) -> None:
    try:
        _post(url, "/v1/messages", _request(99))
    except (OSError, json.JSONDecodeError):
        pass  # the gateway is killed under it
