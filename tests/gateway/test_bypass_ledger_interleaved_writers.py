"""Many concurrent requests (events stored on the loop or by the ledger thread)
while another process appends to the same ledger: one unbroken chain, every
checkpoint boundary signed, nothing lost or duplicated, and `stockade ledger
verify` passes.

The no-wait path writes on a second SQLite connection and refuses an append
that would make a checkpoint due; a mistake there shows as a fork in the
chain, a missing checkpoint or an event without its pair.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from gwsupport import make_config, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.deps import LedgerSink
from stockade.ledger import open_ledger
from stockade.state import StateDir

EVERY = 25
CLIENTS, EACH, OTHER = 16, 20, 300
WRITER = Path(__file__).resolve().parents[1] / "ledger" / "ledger_writer.py"


class _Sink:
    def __init__(self, state: StateDir, *, grouped: bool) -> None:
        self.ledger = open_ledger(None, state=state, checkpoint_every=EVERY)
        self.grouped = grouped

    def sink(self) -> LedgerSink:
        # grouped: as `stockade gateway` opens it (one transaction per batch of events)
        return LedgerSink(append=self.ledger.append, close=self.ledger.close,
                          batch=self.ledger.batch if self.grouped else None)


@pytest.mark.parametrize("grouped", [True, False], ids=["batches", "one-by-one"])
def test_interleaved_loop_thread_and_process_writers_keep_one_signed_chain(
        tmp_path: Path, grouped: bool) -> None:
    root = tmp_path / "state"
    state = StateDir(root).ensure()
    env = {**os.environ, "STOCKADE_HOME": str(root), "XDG_CONFIG_HOME": str(tmp_path / "x")}
    sink = _Sink(state, grouped=grouped)
    with FakeUpstream([{"text": "ok"}] * (CLIENTS * EACH + 10)) as fake:
        g = start_gateway(make_config(anthropic=fake.url), ledger=sink)  # type: ignore[arg-type]
        other = subprocess.Popen([sys.executable, str(WRITER), str(OTHER), "other", str(EVERY)],
                                 env=env, stdout=subprocess.PIPE, text=True)
        statuses: list[int] = []
        lock = threading.Lock()

        def client(c: int) -> None:
            for n in range(EACH):
                st = g.request("POST", "/v1/messages", {"model": "m", "messages": [
                    {"role": "user", "content": f"client {c} turn {n}"}]})[0]
                with lock:
                    statuses.append(st)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        out, _ = other.communicate(timeout=120)
        g.stop()  # waits for the response events still being written
    assert statuses == [200] * (CLIENTS * EACH)
    assert other.returncode == 0 and len(out.split()) == OTHER + 1  # "ready" + one per seq

    led = sink.ledger
    events = list(led.query())
    kinds = [e.kind for e in events]
    assert kinds.count("test.write") == OTHER
    assert kinds.count("llm.request") == kinds.count("llm.response") == CLIENTS * EACH
    requests = {str(e.seq): e.details["request_id"] for e in events if e.kind == "llm.request"}
    paired = sorted(requests[e.details["request_event"]] for e in events
                    if e.kind == "llm.response")
    assert paired == sorted(requests.values())  # each response names its own request
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    report = led.verify()
    total = len(events)
    assert report.last_checkpoint is not None
    # none skipped at the end: the newest covers the last boundary (a batch that crosses
    # one is signed at its own last event, so the seq need not be a multiple of EVERY)
    assert total - total % EVERY <= report.last_checkpoint.seq <= total
    assert report.checkpoints_checked >= total // EVERY  # and none skipped on the way
    led.close()

    r = subprocess.run([sys.executable, "-m", "stockade", "ledger", "verify"], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
