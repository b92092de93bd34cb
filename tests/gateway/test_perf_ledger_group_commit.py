"""Group commit: the events submitted during one turn of the event loop are
stored in one ledger transaction, each waiter still learns its own event id,
an event that cannot be stored fails only its own request, and a ledger that
cannot commit fails every request of the batch closed (nothing forwarded).

Under load one commit then serves many requests; a request still goes
upstream only after its own event is stored (see test_perf_ledger_handoff.py
and test_bypass_ledger_killed_gateway.py for that guarantee end to end).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from gwsupport import MemoryLedger, make_config, start_gateway

from fakes.upstream import FakeUpstream
from stockade.errors import LedgerError
from stockade.gateway.deps import LedgerSink
from stockade.gateway.recorder import Recorder
from stockade.ledger import Ledger, open_ledger
from stockade.state import StateDir


class CountingSink:
    """The real ledger, as `stockade gateway` opens it, counting its transactions."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.transactions = 0

    @contextmanager
    def _batch(self) -> Iterator[Any]:
        with self.ledger.batch() as b:
            yield b
        self.transactions += 1

    def sink(self) -> LedgerSink:
        return LedgerSink(append=self.ledger.append, close=self.ledger.close, batch=self._batch)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _record_all(rec: Recorder, details: list[dict[str, Any]]) -> list[Any]:
    return await asyncio.gather(*(rec.record("llm.request", details=d, session="s1",
                                             decision="allow", actor=None) for d in details),
                                return_exceptions=True)


def test_events_of_one_loop_turn_are_stored_in_one_transaction(state: StateDir) -> None:
    led = open_ledger(None, state=state)
    counting = CountingSink(led)
    rec = Recorder(counting.sink())
    ids = _run(_record_all(rec, [{"n": i} for i in range(40)]))
    rec.close()
    assert counting.transactions == 1 and rec.batches == 1
    # each waiter got its own event: the one that holds its details
    by_seq = {e.seq: e for e in led.query()}
    assert [by_seq[int(i)].details["n"] for i in ids] == list(range(40))
    assert sorted(int(i) for i in ids) == list(range(1, 41))
    led.verify()


def test_a_request_alone_is_stored_at_once_and_a_busy_ledger_still_waits(
        state: StateDir) -> None:
    """``alone`` (no other request in flight): stored before ``record`` returns, with
    no loop turn in between; when the ledger is busy it takes the thread's way and
    the caller waits for it, as any other."""
    led = open_ledger(None, state=state)
    path = Path(state.ledger_url[len("sqlite://"):])
    rec = Recorder(CountingSink(led).sink())

    async def alone(n: int) -> str:
        coro = rec.record("llm.request", details={"n": n}, session=None, decision="allow",
                          actor=None, alone=True)
        try:
            coro.send(None)  # runs to its first suspension: none when stored at once
        except StopIteration as done:
            return str(done.value)
        raise AssertionError("an event alone waited for a loop turn")

    first = _run(alone(0))
    assert [e.seq for e in led.query()] == [int(first)]
    release, held = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_write_lock, args=(path, release, held))
    t.start()
    held.wait(5)

    async def busy() -> str:
        task = asyncio.ensure_future(rec.record("llm.request", details={"n": 1}, session=None,
                                                decision="allow", actor=None, alone=True))
        await asyncio.sleep(0.2)
        assert not task.done()
        release.set()
        return await task

    try:
        second = _run(busy())
    finally:
        release.set()
        t.join()
    rec.close()
    assert int(second) == int(first) + 1
    led.verify()


def test_an_event_that_cannot_be_stored_fails_only_itself(state: StateDir) -> None:
    led = open_ledger(None, state=state)
    rec = Recorder(CountingSink(led).sink())
    details: list[dict[str, Any]] = [{"n": 0}, {"n": 1, "bad": object()}, {"n": 2}]
    got = _run(_record_all(rec, details))
    rec.close()
    assert isinstance(got[1], LedgerError) and "object at" not in str(got[1])
    assert all(isinstance(got[i], str) for i in (0, 2))
    assert [e.details["n"] for e in led.query()] == [0, 2]
    led.verify()


def _hold_write_lock(path: Path, until: threading.Event, held: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process appending, or a slow one
    held.set()
    until.wait(10)
    other.execute("COMMIT")
    other.close()


def test_a_busy_ledger_takes_the_batch_to_the_thread_and_the_loop_runs_on(
        state: StateDir) -> None:
    led = open_ledger(None, state=state)
    path = Path(state.ledger_url[len("sqlite://"):])
    counting = CountingSink(led)
    rec = Recorder(counting.sink())
    release, held = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_write_lock, args=(path, release, held))

    async def scenario() -> tuple[list[Any], list[Any], int]:
        first = asyncio.ensure_future(_record_all(rec, [{"n": i} for i in range(5)]))
        await asyncio.sleep(0.2)
        assert not first.done()  # not stored while the lock is held elsewhere ...
        ticks = 0
        for _ in range(10):  # ... and the loop is not stalled meanwhile
            await asyncio.sleep(0.01)
            ticks += 1
        later = asyncio.ensure_future(_record_all(rec, [{"n": 5 + i} for i in range(5)]))
        await asyncio.sleep(0.05)
        release.set()
        return await first, await later, ticks

    t.start()
    held.wait(5)
    try:
        first, later, ticks = _run(scenario())
    finally:
        release.set()
        t.join()
    rec.close()
    assert ticks == 10
    assert all(isinstance(i, str) for i in first + later)
    # what waited for the thread was stored first, in submission order
    assert [e.details["n"] for e in led.query()] == list(range(10))
    # the five submitted while the thread waited went in one transaction, not five
    assert counting.transactions <= 3
    led.verify()


def test_a_ledger_that_cannot_commit_fails_every_request_closed(fake: FakeUpstream) -> None:
    def broken(*a: object, **k: object) -> None:
        raise OSError("disk full")

    @contextmanager
    def broken_batch() -> Iterator[Any]:
        yield SimpleNamespace(append=lambda *a, **k: None, seqs=[])
        raise OSError("disk full")  # the commit

    led = MemoryLedger()
    led.sink = lambda: LedgerSink(append=broken, close=lambda: None,  # type: ignore[method-assign]
                                  batch=broken_batch)
    g = start_gateway(make_config(anthropic=fake.url), ledger=led)
    try:
        results: list[tuple[int, bytes]] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            st, _, out = g.request("POST", "/v1/messages", {"model": "m", "messages": [
                {"role": "user", "content": f"hello {n}"}]})
            with lock:
                results.append((st, out))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(results) == 8
        for st, out in results:
            assert st == 500 and "could not record" in json.loads(out)["error"]["message"]
        assert fake.posts() == []  # nothing went upstream unrecorded
    finally:
        g.stop()


@pytest.mark.parametrize("durability", ["process", "power-loss"])
def test_concurrent_requests_are_each_recorded_once_in_one_chain(
        tmp_path: Path, durability: str) -> None:
    """Through the gateway, many clients at once: every request and response event
    stored once, each response naming its own request, the chain whole.  With
    ``power-loss`` (an fsync per commit) every batch is written by the thread."""
    state = StateDir(tmp_path / "state").ensure()
    led = open_ledger(None, state=state, durability=durability, checkpoint_every=50)
    counting = CountingSink(led)
    clients, each = 16, 8
    with FakeUpstream([{"text": "ok"}] * (clients * each + 5)) as fake:
        g = start_gateway(make_config(anthropic=fake.url), ledger=counting)  # type: ignore[arg-type]
        statuses: list[int] = []
        lock = threading.Lock()

        def client(c: int) -> None:
            for n in range(each):
                st = g.request("POST", "/v1/messages", {"model": "m", "messages": [
                    {"role": "user", "content": f"client {c} turn {n}"}]})[0]
                with lock:
                    statuses.append(st)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert time.monotonic() - t0 < 60
        g.stop()  # waits for the response events still to be stored
    assert statuses == [200] * (clients * each)
    events = list(led.query())
    requests = {str(e.seq): e.details["request_id"] for e in events if e.kind == "llm.request"}
    responses = [requests[e.details["request_event"]] for e in events
                 if e.kind == "llm.response"]
    assert len(requests) == len(responses) == clients * each
    assert sorted(responses) == sorted(requests.values())
    assert counting.transactions <= len(events)
    led.verify()
    led.close()


def test_a_busy_batch_after_shutdown_fails_its_waiters_instead_of_hanging(
        state: StateDir) -> None:
    # the ledger thread is gone (the gateway is stopping) while the ledger is
    # busy: each waiter gets an error, and later requests are not stuck behind
    led = open_ledger(None, state=state)
    path = Path(state.ledger_url[len("sqlite://"):])
    rec = Recorder(CountingSink(led).sink())
    rec.close()  # the thread pool refuses new work from now on
    release, held = threading.Event(), threading.Event()
    t = threading.Thread(target=_hold_write_lock, args=(path, release, held))

    async def scenario() -> list[Any]:
        return await asyncio.wait_for(_record_all(rec, [{"n": i} for i in range(3)]), 5)

    t.start()
    held.wait(5)
    try:
        got = _run(scenario())
    finally:
        release.set()
        t.join()
    assert len(got) == 3 and all(isinstance(g, LedgerError) for g in got)
    assert rec.idle
    led.close()
