"""The storage interface the ledger needs.  SQLite implements it now
(``sqlite.py``); a PostgreSQL backend for teams can implement it later.

A backend stores rows ``(seq, stored_bytes, leaf_hash)`` and signed
checkpoints.  It owns locking: ``append`` must read the head and insert in one
write transaction, so concurrent writers keep one linear chain, and must not
return before the rows are as durable as ``durability`` promises.  It knows
nothing of what the bytes mean; the chain and checks live above it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from collections.abc import Generator, Sequence
    from contextlib import AbstractContextManager
    from typing import Protocol
else:
    Protocol = object

if TYPE_CHECKING:  # types only: this module is loaded by every appending process
    from pathlib import Path

    from stockade.ledger.checkpoint import Checkpoint
    from stockade.ledger.event import PendingEvent

# (seq, stored bytes, stored leaf hash).  Tampered rows may hold other types;
# the verifier copes.
Row = tuple[int, bytes, bytes]

DURABILITIES = ("process", "power-loss")


class LedgerBackend(Protocol):
    @property
    def ledger_id(self) -> str:
        """A random id fixed when the ledger is created; checkpoints name it."""

    @property
    def location(self) -> str:
        """Where the ledger is, for messages (never holds a password)."""

    @property
    def durability(self) -> str:
        """One of DURABILITIES; ``power-loss`` also fsyncs the checkpoint file."""

    @property
    def checkpoint_path(self) -> Path | None:
        """The checkpoint file kept beside the ledger, if this backend has one."""

    @property
    def created(self) -> bool:
        """True when this connection created the ledger (it is new and empty):
        :func:`stockade.ledger.open_ledger` then signs its seq-0 checkpoint."""

    def append(self, pending: Sequence[PendingEvent]) -> list[tuple[int, str, bytes]]:
        """Seal and store ``pending`` in one transaction; return (seq, ts, stored bytes).

        ``ts`` is taken inside the transaction and is never earlier than the
        previous event's, so time queries can search on seq."""

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the write lock (no appends by anyone) for the duration."""

    def snapshot(self) -> AbstractContextManager[None]:
        """One consistent read view for the duration."""

    def head(self) -> tuple[int, bytes]:
        """(seq, leaf hash) of the last row; (0, GENESIS) when empty."""

    def insert_checkpoint(self, cp: Checkpoint) -> None:
        """Store ``cp``; only called inside ``exclusive()``."""

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """(seq, stored checkpoint JSON) of every stored checkpoint, by seq."""

    def last_checkpoint(self) -> tuple[int, bytes] | None:
        """(seq, stored checkpoint JSON) of the newest stored checkpoint."""

    def rows(self, first: int, last: int | None, *,
             chunk: int) -> Generator[Sequence[Row], None, None]:
        """Rows with first <= seq <= last (no upper bound when None), by seq, in chunks."""

    def row(self, seq: int) -> Row | None: ...

    def count_below(self, seq: int) -> int:
        """How many rows have a sequence number below ``seq`` (should be none below 1)."""

    def select(self, *, session: str | None, kind: str | None, since: str | None,
               after: int | None, limit: int, newest_first: bool) -> list[tuple[int, bytes]]:
        """One page of (seq, stored bytes) of matching events, ordered by seq, starting
        after seq ``after`` (before it when ``newest_first``)."""

    def close(self) -> None: ...

