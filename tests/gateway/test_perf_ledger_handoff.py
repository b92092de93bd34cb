"""The request event is written on the event loop when that needs no waiting
(a hand-off to a thread costs two wake-ups per request), and by the ledger
thread otherwise.  ``nowait`` must never store half of an append, never wait
for another writer, and a request must still be recorded before it is
forwarded when another process holds the ledger."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from gwsupport import make_config, start_gateway

from fakes.upstream import FakeUpstream
from stockade.gateway.deps import LedgerSink
from stockade.ledger import LedgerBusy, nowait, open_ledger
from stockade.state import StateDir


class SqliteLedger:
    """The real ledger behind the gateway, with the ``events`` view the helpers use."""

    def __init__(self, state: StateDir) -> None:
        self.ledger = open_ledger(None, state=state)
        self.path = Path(state.ledger_url[len("sqlite://"):])

    def sink(self) -> LedgerSink:
        # as `stockade gateway` opens it: events of one loop turn in one transaction
        return LedgerSink(append=self.ledger.append, close=self.ledger.close,
                          batch=self.ledger.batch)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.ledger.query()]


def _hold_write_lock(path: Path, until: threading.Event, held: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process appending, or a slow one
    held.set()
    until.wait(10)
    other.execute("COMMIT")
    other.close()


def test_nowait_gives_up_at_once_and_stores_nothing(state: StateDir) -> None:
    led = SqliteLedger(state)
    led.ledger.append("test.event", details={"n": 1})
    before = len(led.ledger)
    release, held = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_write_lock, args=(led.path, release, held))
    t.start()
    held.wait(5)
    try:
        with nowait() as nw, pytest.raises(LedgerBusy):
            led.ledger.append("test.event", details={"n": 2})
        assert nw.busy
    finally:
        release.set()
        t.join()
    assert len(led.ledger) == before
    with nowait() as nw:
        led.ledger.append("test.event", details={"n": 3})
    assert not nw.busy and len(led.ledger) == before + 1
    led.ledger.verify()  # raises if the chain is broken


def test_checkpoints_are_left_to_a_writer_that_may_wait(tmp_path: Path) -> None:
    """Signing a checkpoint rehashes every event since the last one (tens of ms):
    the no-wait path refuses the append that would make one due."""
    st = StateDir(tmp_path / "s").ensure()
    led = open_ledger(None, state=st, checkpoint_every=5)
    stored = 0
    with nowait() as nw:
        for _ in range(10):
            try:
                led.append("test.event", details={})
            except LedgerBusy:
                break
            stored += 1
    assert nw.busy and stored == 4 and len(led) == 4
    assert led.latest_checkpoint() is None or led.latest_checkpoint().seq == 0
    led.append("test.event", details={})  # the waiting path appends and checkpoints
    assert len(led) == 5 and led.latest_checkpoint().seq == 5
    led.verify()


def test_nowait_does_not_apply_to_power_loss_durability(tmp_path: Path) -> None:
    st = StateDir(tmp_path / "s").ensure()
    led = open_ledger(None, state=st, durability="power-loss")
    with nowait() as nw, pytest.raises(LedgerBusy):
        led.append("test.event", details={})
    assert nw.busy and len(led) == 0
    led.append("test.event", details={})  # outside nowait: waits (fsyncs) as promised
    assert len(led) == 1


def test_a_request_waits_for_a_busy_ledger_then_is_recorded_and_forwarded(
        fake: FakeUpstream, state: StateDir) -> None:
    led = SqliteLedger(state)
    g = start_gateway(make_config(anthropic=fake.url), ledger=led)  # type: ignore[arg-type]
    release, held = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_write_lock, args=(led.path, release, held))
    try:
        assert g.request("POST", "/v1/messages", {"model": "m", "messages": [
            {"role": "user", "content": "first"}]})[0] == 200
        t.start()
        held.wait(5)
        result: list[Any] = []
        req = threading.Thread(target=lambda: result.append(g.request(
            "POST", "/v1/messages", {"model": "m", "messages": [
                {"role": "user", "content": "second"}]})))
        req.start()
        time.sleep(0.3)
        assert len(fake.posts()) == 1  # not forwarded while its event cannot be written
        assert g.request("GET", "/healthz")[0] == 200  # and the loop is not stalled
        release.set()
        req.join(10)
        assert result and result[0][0] == 200
        assert len(fake.posts()) == 2
        kinds = [e["kind"] for e in g.events()]
        assert kinds.count("llm.request") == 2 and kinds.count("llm.response") == 2
        led.ledger.verify()  # raises if the chain is broken
    finally:
        release.set()
        if t.is_alive():
            t.join()
        g.stop()
