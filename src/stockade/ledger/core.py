"""The ledger: append events, checkpoint, verify, read.

One :class:`Ledger` wraps one backend connection; it may be shared between
threads (calls are serialised) but not across ``fork``.  Any number of
processes may open the same ledger and append at once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from stockade.errors import EXIT_USAGE, LedgerError, LedgerTamperError
from stockade.ledger import checkpoint as ckpt
from stockade.ledger.backend import LedgerBackend
from stockade.ledger.checkpoint import Checkpoint
from stockade.ledger.event import (
    Event,
    PendingEvent,
    actor_json,
    default_actor,
    format_ts,
    now_ts,
    parse_ts,
    prepare,
)
from stockade.ledger.verify import VerifyReport, verify
from stockade.model import Actor
from stockade.state import StateDir

_PAGE = 1000

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append with :meth:`Ledger.append_many`."""

    kind: str
    details: Mapping[str, Any] = field(default_factory=dict)
    session: str | None = None
    decision: str | None = None
    actor: Actor | None = None


class Batch:
    """Events collected by :meth:`Ledger.batch`, appended in one transaction.

    After the block, ``seqs`` holds their sequence numbers; ``events`` builds
    the stored events on first use (the batch path is for throughput)."""

    def __init__(self, ledger: Ledger):
        self._ledger = ledger
        self._pending: list[PendingEvent] = []
        self._sealed: list[tuple[int, str, bytes]] = []
        self._events: list[Event] | None = None

    def append(self, kind: str, *, details: Mapping[str, Any], session: str | None = None,
               decision: str | None = None, actor: Actor | None = None) -> None:
        self._pending.append(self._ledger._prepare(kind, details=details, session=session,
                                                   decision=decision, actor=actor))

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def seqs(self) -> list[int]:
        return [seq for seq, _, _ in self._sealed]

    @property
    def events(self) -> list[Event]:
        if self._events is None:
            self._events = _events(self._pending, self._sealed)
        return self._events


def _events(pending: list[PendingEvent], sealed: list[tuple[int, str, bytes]]) -> list[Event]:
    return [p.stored(seq, ts, raw) for p, (seq, ts, raw) in zip(pending, sealed, strict=True)]


class Ledger:
    def __init__(self, backend: LedgerBackend, *, state: StateDir,
                 checkpoint_every: int = 1000, actor: Actor | None = None):
        if checkpoint_every < 0:
            raise LedgerError("checkpoint_every must be 0 (off) or a positive number",
                              exit_code=EXIT_USAGE)
        self.backend = backend
        self.state = state
        self.checkpoint_every = checkpoint_every
        self.actor = actor or default_actor()
        self._actor_text = actor_json(self.actor)
        self._lock = threading.RLock()
        self._key: Ed25519PrivateKey | None = None

    # -- writing ----------------------------------------------------------

    def _prepare(self, kind: str, *, details: Mapping[str, Any], session: str | None,
                 decision: str | None, actor: Actor | None) -> PendingEvent:
        if actor is None:
            return prepare(kind, details=details, session=session, decision=decision,
                           actor=self.actor, actor_text=self._actor_text)
        return prepare(kind, details=details, session=session, decision=decision, actor=actor)

    def append(self, kind: str, *, details: Mapping[str, Any], session: str | None = None,
               decision: str | None = None, actor: Actor | None = None) -> Event:
        """Record one event; when this returns, the event is durable.

        If this append crosses a checkpoint boundary and the checkpoint finds
        the ledger truncated, LedgerTamperError is raised (the event is stored)."""
        pending = self._prepare(kind, details=details, session=session, decision=decision,
                                actor=actor)
        return self._append([pending])[0]

    def append_many(self, events: Iterable[NewEvent]) -> list[Event]:
        """Record several events in one transaction: all or none."""
        pending = [self._prepare(e.kind, details=e.details, session=e.session,
                                 decision=e.decision, actor=e.actor) for e in events]
        return self._append(pending)

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """``with ledger.batch() as b: b.append(...)``: one transaction at the end.
        Nothing is recorded if the block raises."""
        b = Batch(self)
        yield b
        b._sealed = self._seal(b._pending)

    def _append(self, pending: list[PendingEvent]) -> list[Event]:
        return _events(pending, self._seal(pending))

    def _seal(self, pending: list[PendingEvent]) -> list[tuple[int, str, bytes]]:
        if not pending:
            return []
        with self._lock:
            sealed = self.backend.append(pending)
        every = self.checkpoint_every
        if every:
            first, last = sealed[0][0], sealed[-1][0]
            if (first - 1) // every != last // every:
                # Exactly one transaction crosses each boundary, whoever wrote it.
                self.checkpoint()
        return sealed

    # -- checkpoints ------------------------------------------------------

    def _signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = ckpt.signing_key(self.state)
        return self._key

    @property
    def checkpoint_path(self) -> Path | None:
        return self.backend.checkpoint_path

    def checkpoint(self) -> Checkpoint:
        """Sign the current head, store it, and write the checkpoint file.

        If the head is already checkpointed, returns that checkpoint (and makes
        sure the file has it)."""
        key = self._signing_key()
        with self._lock, self.backend.exclusive():
            seq, head = self.backend.head()
            if seq == 0:
                raise LedgerError("the ledger is empty: there is nothing to checkpoint",
                                  exit_code=EXIT_USAGE)
            cp = self._latest_stored()
            if cp is not None and cp.seq == seq and cp.head != head:
                raise LedgerTamperError(
                    f"the event at seq {seq} no longer matches the stored checkpoint for it: "
                    "the ledger was rewritten", seq=seq, hint="run `stockade ledger verify`")
            if cp is None or cp.seq != seq:
                cp = ckpt.sign(key, ledger_id=self.backend.ledger_id, seq=seq, head=head,
                               ts=now_ts())
                self.backend.insert_checkpoint(cp)
            # Written under the write lock, so files only ever move forward.
            self._write_file(cp)
        return cp

    def _latest_stored(self) -> Checkpoint | None:
        stored = self.backend.last_checkpoint()
        if stored is None:
            return None
        try:
            return Checkpoint.from_dict(json.loads(stored[1]))
        except ValueError:
            return None

    def _write_file(self, cp: Checkpoint) -> None:
        path = self.backend.checkpoint_path
        if path is None:
            return
        old = ckpt.read_file(path)
        if old is not None and old.ledger_id != cp.ledger_id:
            raise LedgerTamperError(
                f"checkpoint file {path} belongs to another ledger (id {old.ledger_id}): "
                "the ledger database was replaced; refusing to overwrite the evidence",
                seq=old.seq,
                hint="run `stockade ledger verify`; if you replaced the ledger on purpose, "
                     "move the old checkpoint file away",
            )
        if old is not None and old.seq > cp.seq:
            raise LedgerTamperError(
                f"checkpoint file {path} covers seq {old.seq} but the ledger ends at seq "
                f"{cp.seq}: the tail was truncated; refusing to overwrite the evidence",
                seq=cp.seq + 1,
                hint="run `stockade ledger verify`",
            )
        if old == cp:
            return
        if old is not None:
            # One lookup: the event the old file signed must still be there, unchanged.
            row = self.backend.row(old.seq)
            if row is None or row[2] != old.head:
                raise LedgerTamperError(
                    f"checkpoint file {path} signed seq {old.seq}, but that event was changed "
                    "or removed; refusing to overwrite the evidence",
                    seq=old.seq,
                    hint="run `stockade ledger verify`",
                )
        ckpt.write_file(path, cp, fsync=self.backend.durability == "power-loss")

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint, from the database or the checkpoint file (unverified)."""
        with self._lock:
            found = [c for c in (self._latest_stored(),) if c is not None]
        path = self.backend.checkpoint_path
        if path is not None:
            from_file = ckpt.read_file(path)
            if from_file is not None:
                found.append(from_file)
        return max(found, key=lambda c: c.seq) if found else None

    def public_key_pem(self) -> bytes:
        return self.state.public_key_pem()

    # -- verifying --------------------------------------------------------

    def verify(self, *, public_key_pem: bytes | None = None,
               checkpoint_file: Path | None = None) -> VerifyReport:
        """Check the whole ledger; raise LedgerTamperError at the first problem.

        ``public_key_pem``: the trusted key (default: this machine's).
        ``checkpoint_file``: a witness copy of a checkpoint (`checkpoint --export`),
        checked as well as the file beside the ledger."""
        pem = public_key_pem if public_key_pem is not None else self.state.public_key_pem()
        public_key = ckpt.load_public_key(pem)
        files: list[Path] = []
        if self.backend.checkpoint_path is not None:
            files.append(self.backend.checkpoint_path)
        if checkpoint_file is not None:
            if not checkpoint_file.is_file():
                raise LedgerError(f"no checkpoint file at {checkpoint_file}",
                                  exit_code=EXIT_USAGE)
            files.append(checkpoint_file)
        with self._lock:
            return verify(self.backend, public_key=public_key, checkpoint_files=files,
                          require_files=checkpoint_file is None)

    # -- reading ----------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(seq, hex leaf hash) of the newest event; (0, zeros) when empty."""
        with self._lock:
            seq, h = self.backend.head()
        return seq, h.hex()

    def __len__(self) -> int:
        return self.head()[0]

    def query(self, *, session: str | None = None, kind: str | None = None,
              since: datetime | str | None = None, limit: int | None = None) -> Iterator[Event]:
        """Matching events, oldest first.  Reads stored data: verify to trust it."""
        yield from self._select(session=session, kind=kind, since=since, limit=limit,
                                newest_first=False)

    def tail(self, n: int = 20) -> list[Event]:
        """The newest ``n`` events, oldest first."""
        newest = list(self._select(session=None, kind=None, since=None, limit=n,
                                   newest_first=True))
        return newest[::-1]

    def _select(self, *, session: str | None, kind: str | None, since: datetime | str | None,
                limit: int | None, newest_first: bool) -> Iterator[Event]:
        if isinstance(since, str):
            since = parse_ts(since)  # "...:59Z" must compare as "...:59.000000Z"
        since_text = format_ts(since) if since is not None else None
        remaining = limit
        after: int | None = None
        # Keyset pages: nothing stays open in the backend while the caller iterates.
        while remaining is None or remaining > 0:
            size = _PAGE if remaining is None else min(_PAGE, remaining)
            with self._lock:
                page = self.backend.select(session=session, kind=kind, since=since_text,
                                           after=after, limit=size, newest_first=newest_first)
            for _, raw in page:
                yield Event.from_bytes(raw)
            if len(page) < size:
                return
            after = page[-1][0]
            if remaining is not None:
                remaining -= len(page)

    def export_jsonl(self, out: IO[bytes]) -> int:
        """Write every event's stored bytes, one per line.  Returns the count.

        The lines are the exact bytes the chain hashes, so a receiver can
        recompute the chain from the file alone."""
        n = 0
        with self._lock, self.backend.snapshot():
            for chunk in self.backend.rows(1, None, chunk=4096):
                out.write(b"".join(bytes(r[1]) + b"\n" for r in chunk))
                n += len(chunk)
        return n

    # -- lifetime ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self.backend.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_ledger(
    url: str | None = None,
    *,
    state: StateDir | None = None,
    durability: str = "process",
    checkpoint_every: int = 1000,
    actor: Actor | None = None,
    create: bool = True,
) -> Ledger:
    """Open (and with ``create``, make) the ledger at ``url``.

    ``url`` defaults to the state directory's ledger.  With ``create`` the
    state directory and its keys are made too; without it a missing ledger is
    a LedgerError (or LedgerTamperError if a checkpoint file says it existed).
    """
    from stockade.ledger.sqlite import SqliteBackend, path_from_url

    state = state or StateDir.default()
    if url is None:
        url = state.ledger_url
    path = path_from_url(url)
    if create:
        state.ensure()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"cannot create the ledger's directory {path.parent}: "
                              f"{exc.strerror}") from exc
    elif not path.exists():
        old = ckpt.read_file(path.with_name(path.name + ".checkpoint"))
        if old is not None:
            raise LedgerTamperError(
                f"there is no ledger at {path}, but its checkpoint file says it held {old.seq} "
                "events: the ledger was deleted",
                seq=1,
            )
    backend = SqliteBackend(path, durability=durability, create=create)
    return Ledger(backend, state=state, checkpoint_every=checkpoint_every, actor=actor)
