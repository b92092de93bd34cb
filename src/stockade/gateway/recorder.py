"""Ledger appends from the event loop, grouped (group commit).

Every event submitted during one turn of the loop is stored in one
transaction: under load one commit (write lock, head lookup, insert, commit)
serves many requests instead of one each, and no thread is involved while the
ledger is free.  A request still waits for its own event before it goes
upstream; only the response event is left to be stored after the client has
its answer (see docs/gateway.md, "Ledger").

The batch is written on the loop when that needs no waiting
(:func:`stockade.ledger.nowait`); otherwise (another writer holds the lock, a
checkpoint is due, the WAL is due to be copied back) the whole batch goes to
the ledger thread, and what is submitted meanwhile waits for the next batch.
So at most one transaction is in flight, and a busy ledger makes batches
larger rather than queues longer.  A caller that knows of no other request in
flight (``alone``) has its event stored at once, without waiting a loop turn
for a batch no other event would join.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stockade.errors import LedgerError
from stockade.gateway.deps import LedgerBusy, LedgerSink, Record, ledger_nowait
from stockade.model import Actor

log = logging.getLogger("stockade.gateway")

# What one submitted event is waiting for: a future (a request that must not go
# upstream before its event is stored), or a callback (a response event).
_Done = Callable[[str | None], None]


class Recorder:
    """``await record(...)``: stored, with its event id.  ``submit(..., done=cb)``:
    stored later, ``cb(event id or None)`` afterwards; a failure is logged."""

    def __init__(self, sink: LedgerSink) -> None:
        self._sink = sink
        self._queue: list[tuple[Record, asyncio.Future[str] | _Done | None]] = []
        self._scheduled = False
        self._writing = False  # a batch is with the ledger thread
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        self.batches = 0  # transactions attempted on the loop or written by the thread (tests)

    async def record(self, kind: str, *, details: Mapping[str, Any], session: str | None,
                     decision: str | None, actor: Actor | None, alone: bool = False) -> str:
        """``alone``: the caller knows of no other request in flight, so nothing would
        join this event's batch; it is then stored at once, without the loop turn a
        batch waits for (when the ledger is free)."""
        rec = Record(kind, details, session, decision, actor)
        if alone and self.idle:
            res = self._now(rec)
            if not isinstance(res, LedgerBusy):
                if isinstance(res, Exception):
                    raise res
                return res
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._put(rec, fut)
        return await fut

    def submit(self, kind: str, *, details: Mapping[str, Any], session: str | None,
               decision: str | None, actor: Actor | None, done: _Done | None = None,
               alone: bool = False) -> None:
        rec = Record(kind, details, session, decision, actor)
        if alone and self.idle:
            res = self._now(rec)
            if not isinstance(res, LedgerBusy):
                _settle(done, res)
                return
        self._put(rec, done)

    @property
    def idle(self) -> bool:
        return not (self._queue or self._scheduled or self._writing)

    async def drain(self) -> None:
        """Until everything submitted is stored (or failed)."""
        while not self.idle:
            await asyncio.sleep(0.005)

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    # -- the batches ------------------------------------------------------------------

    def _now(self, rec: Record) -> str | Exception:
        """One event, on the loop, at once: its id, an error, or LedgerBusy (nothing
        stored: it goes the batch way, to the thread)."""
        try:
            with ledger_nowait():
                results = self._sink.record_many([rec])
            if len(results) != 1:
                raise LedgerError("the ledger answered for a different number of events")
        except Exception as exc:  # noqa: BLE001 - the caller fails closed on it
            return LedgerError(f"ledger append failed: {type(exc).__name__}")
        self.batches += 1
        return results[0]

    def _put(self, rec: Record, waiter: asyncio.Future[str] | _Done | None) -> None:
        self._queue.append((rec, waiter))
        if not self._scheduled and not self._writing:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._queue = self._queue, []
        if not batch:
            return
        try:
            with ledger_nowait():
                results = self._sink.record_many([rec for rec, _ in batch])
            if len(results) != len(batch):
                raise LedgerError("the ledger answered for a different number of events")
        except Exception as exc:  # noqa: BLE001 - no waiter may hang: each fails closed
            results = [LedgerError(f"ledger append failed: {type(exc).__name__}")] * len(batch)
        self.batches += 1
        busy = [item for item, res in zip(batch, results, strict=True)
                if isinstance(res, LedgerBusy)]
        for (_, waiter), res in zip(batch, results, strict=True):
            if not isinstance(res, LedgerBusy):
                _settle(waiter, res)
        if busy:
            self._writing = True
            try:
                fut = asyncio.get_running_loop().run_in_executor(
                    self._thread, self._sink.record_many, [rec for rec, _ in busy])
            except BaseException as exc:  # noqa: BLE001 - e.g. the executor is shut down
                self._writing = False
                failed = LedgerError(f"ledger append failed: {type(exc).__name__}")
                for _, waiter in busy:
                    _settle(waiter, failed)
                return
            fut.add_done_callback(lambda f: self._written(busy, f))

    def _written(self, batch: list[tuple[Record, asyncio.Future[str] | _Done | None]],
                 fut: asyncio.Future[list[str | Exception]]) -> None:
        self._writing = False
        self.batches += 1
        try:
            results: list[str | Exception] = fut.result()
            if len(results) != len(batch):
                raise LedgerError("the ledger answered for a different number of events")
        except BaseException as exc:  # noqa: BLE001 - cancelled too: every waiter fails closed
            results = [LedgerError(f"ledger append failed: {type(exc).__name__}")] * len(batch)
        for (_, waiter), res in zip(batch, results, strict=True):
            _settle(waiter, res)
        if self._queue and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)


def _settle(waiter: asyncio.Future[str] | _Done | None, res: str | Exception) -> None:
    if isinstance(waiter, asyncio.Future):
        if waiter.done():  # the request was cancelled (client gone): nothing to tell
            return
        if isinstance(res, Exception):
            waiter.set_exception(res)
        else:
            waiter.set_result(res)
        return
    if isinstance(res, Exception):
        log.error("ledger append for a response failed: %s", type(res).__name__)
    if waiter is not None:
        waiter(None if isinstance(res, Exception) else res)
