"""The ledger: append events, checkpoint, verify, read.

One :class:`Ledger` wraps one backend connection; it may be shared between
threads (calls are serialised) but not across ``fork``.  Any number of
processes may open the same ledger and append at once.
"""

from __future__ import annotations

import _thread
import os
from types import MappingProxyType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: the recorder's start
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from types import TracebackType
    from typing import IO, Any, NamedTuple
else:
    from stockade.lite import NamedTuple

from stockade import pathtext
from stockade.actor import Actor
from stockade.canonical import loads  # json.loads without importing json
from stockade.errors import EXIT_USAGE, LedgerError, LedgerTamperError
from stockade.ledger import checkpoint as ckpt
from stockade.ledger.backend import LedgerBackend
from stockade.ledger.chain import GENESIS
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

# contextlib's, without contextlib (functools and collections under it)
from stockade.lite import contextmanager
from stockade.state import StateDir

_PAGE = 1000


class LedgerBusy(LedgerError):
    """An append under :func:`nowait` would have had to wait."""


class NoWait:
    """Set by :func:`nowait`; ``busy`` tells the caller an append gave up."""

    __slots__ = ("busy",)

    def __init__(self, busy: bool = False) -> None:
        self.busy = busy

    def __repr__(self) -> str:
        return f"NoWait(busy={self.busy!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__ or not isinstance(other, NoWait):
            return NotImplemented
        return self.busy == other.busy

    __hash__ = None  # type: ignore[assignment]  # mutable


_local = _thread._local()  # threading.local, without importing threading


@contextmanager
def nowait() -> Iterator[NoWait]:
    """Appends in this block (on this thread) complete without waiting, or store
    nothing and raise :class:`LedgerBusy` (and set ``busy``): for a caller on an
    event loop, which must not stall every connection while another thread or
    process holds the write lock, and which then hands the append to a thread.

    Waiting is: another writer holding the lock (this object's or the
    database's), or ``power-loss`` durability (an fsync per commit)."""
    state = NoWait()
    old = getattr(_local, "nowait", None)
    _local.nowait = state
    try:
        yield state
    finally:
        _local.nowait = old

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from stockade.ledger.verify import VerifyReport

# No dataclasses, datetime or pathlib at run time: processes that only append
# (the sandbox's recorder, each hook call) would spend ~15 ms importing them.


class NewEvent(NamedTuple):
    """An event to append with :meth:`Ledger.append_many`; immutable."""

    kind: str
    details: Mapping[str, Any] = MappingProxyType({})  # shared, so read-only
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
        self._lock = _thread.RLock()
        self._seed: bytes | None = None
        self._key: Ed25519PrivateKey | None = None
        # Seq of the newest stored checkpoint this object knows of: None until
        # read, -1 when there is none.
        self._checkpointed: int | None = None

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

        Nothing is stored if the signing key cannot be loaded.  If a checkpoint
        is due and fails (the ledger was truncated or rewritten, the checkpoint
        file cannot be written), the error is raised after the event is stored,
        and the next append tries the checkpoint again."""
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
        every = self.checkpoint_every
        if every:
            # Before anything is stored: a ledger that cannot sign must not grow.
            self._load_key()
        nw: NoWait | None = getattr(_local, "nowait", None)
        if nw is None:
            with self._lock:
                sealed = self.backend.append(pending)
        else:
            sealed = self._append_nowait(pending, nw)
        if every and self._checkpoint_due(sealed[-1][0], every):
            self.checkpoint()
        return sealed

    def _append_nowait(self, pending: list[PendingEvent],
                       nw: NoWait) -> list[tuple[int, str, bytes]]:
        append_nowait = getattr(self.backend, "append_nowait", None)
        if append_nowait is None or self.backend.durability != "process" \
                or not self._lock.acquire(blocking=False):
            nw.busy = True
            raise LedgerBusy("the ledger is busy", hint="append from a thread that may wait")
        every = self.checkpoint_every
        try:
            # a checkpoint due after this append would be made here: leave it (and the
            # append) to a caller that may wait
            sealed: list[tuple[int, str, bytes]] | None = append_nowait(
                pending, refuse=lambda last: bool(every) and self._checkpoint_due(last, every))
        finally:
            self._lock.release()
        if sealed is None:
            nw.busy = True
            raise LedgerBusy("the ledger is busy", hint="append from a thread that may wait")
        return sealed

    def _checkpoint_due(self, last: int, every: int) -> bool:
        """Is a boundary at or below ``last`` not covered by a stored checkpoint?

        Compared with the newest checkpoint rather than with this append's own
        range, so that a checkpoint that failed (or a writer killed before it)
        is made by the next append, whoever makes it.  A stored checkpoint
        beyond the head means the tail was cut: checkpoint() then says so."""
        known = self._checkpointed
        if known is not None and last // every <= known // every and known <= last:
            return False
        with self._lock:
            stored = self.backend.last_checkpoint()
        known = self._checkpointed = -1 if stored is None else stored[0]
        return last // every > known // every or known > last

    # -- checkpoints ------------------------------------------------------

    def _load_key(self) -> bytes:
        if self._seed is None:
            self._seed = ckpt.signing_seed(self.state)
        return self._seed

    def _signing_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = ckpt.key_from_seed(self._load_key())
        return self._key

    @property
    def checkpoint_path(self) -> Path | None:
        return self.backend.checkpoint_path

    def checkpoint(self) -> Checkpoint:
        """Sign the current head, store it, and write the checkpoint file.

        The events since the newest signed checkpoint are hashed again first:
        a head that does not chain from it is never signed.  If the head is
        already checkpointed, returns that checkpoint (and makes sure the file
        has it)."""
        return self._checkpoint(allow_empty=False)

    def precheck_checkpoint(self) -> None:
        """Raise the LedgerTamperError :meth:`checkpoint` would raise for a cut
        tail, a rewritten signed event or a replaced database, without
        signing (nor loading `cryptography` or pathlib): a caller that signs
        later (the session recorder) can still say so while someone reads."""
        with self._lock:
            seq, head = self.backend.head()
            stored = self._latest_stored()
            path = self._checkpoint_file()
            old = ckpt.read_file(path) if path is not None else None
            for cp, where in ((stored, "the stored checkpoint"), (old, f"checkpoint file {path}")):
                if cp is None:
                    continue
                if cp.ledger_id != self.backend.ledger_id:
                    raise LedgerTamperError(
                        f"{where} belongs to another ledger (id {cp.ledger_id}): the ledger "
                        "database was replaced; refusing to overwrite the evidence",
                        seq=cp.seq, hint="run `stockade ledger verify`")
                if cp.seq > seq:
                    raise LedgerTamperError(
                        f"{where} covers seq {cp.seq} but the ledger ends at seq {seq}: the "
                        "tail was truncated; refusing to overwrite the evidence",
                        seq=seq + 1, hint="run `stockade ledger verify`")
                if cp.seq > 0:
                    row = self.backend.row(cp.seq)
                    if row is None or row[2] != cp.head:
                        raise LedgerTamperError(
                            f"{where} signed seq {cp.seq}, but that event was changed or "
                            "removed; refusing to overwrite the evidence",
                            seq=cp.seq, hint="run `stockade ledger verify`")

    def hold_checkpoint(self) -> Callable[[], None] | None:
        """Say "a checkpoint is coming": an exclusive lock on the checkpoint
        file's ``.pending`` companion, which :meth:`verify` waits for.  The
        session recorder takes it before the launcher exits and signs
        afterwards, so ``stockade run`` does not wait for the signature and a
        ``ledger verify`` run right after it still sees the checkpoint.
        Returns the release function; None when this ledger keeps no
        checkpoint file (sign at once instead)."""
        path = self._checkpoint_file()
        if path is None:
            return None
        import fcntl

        fd = os.open(f"{path}.pending", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            os.close(fd)
            raise

        def release() -> None:
            os.close(fd)  # closing drops the lock

        return release

    pending_wait = 10.0  # seconds verify waits for a held checkpoint

    def _checkpoint_file(self) -> str | None:
        """The checkpoint file's path as text (the sqlite backend gives it
        without loading pathlib: the session recorder asks at its end)."""
        text = getattr(self.backend, "checkpoint_file", None)
        if isinstance(text, str):
            return text
        path = self.backend.checkpoint_path
        return None if path is None else str(path)

    def _await_pending_checkpoint(self) -> None:
        """Wait (bounded) until no :meth:`hold_checkpoint` holder is signing."""
        timeout = self.pending_wait
        path = self._checkpoint_file()
        if path is None:
            return
        import fcntl

        from stockade.filelock import flock_within

        try:
            fd = os.open(f"{path}.pending", os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return  # never held: nothing pending
        try:
            # not held in time: verify then reports the unanchored tail itself
            flock_within(fd, fcntl.LOCK_SH, within=timeout)
        finally:
            os.close(fd)

    def warm_checkpoint(self) -> None:
        """Load what :meth:`checkpoint` needs (the key, `cryptography`, the
        verifier) without signing anything: the session recorder does this
        while the agent runs, so the checkpoint at its end is quick.  Errors
        are left to the real checkpoint."""
        key = self._signing_key()
        with self._lock:
            self._anchor(key)
        from stockade.ledger.verify import walk_segment  # noqa: F401 - loaded for _rehash

    def _checkpoint(self, *, allow_empty: bool) -> Checkpoint:
        key = self._signing_key()
        with self._lock, self.backend.exclusive():
            seq, head = self.backend.head()
            if seq == 0 and not allow_empty:
                raise LedgerError("the ledger is empty: there is nothing to checkpoint",
                                  exit_code=EXIT_USAGE)
            cp = self._anchor(key)
            if cp is not None and cp.seq > seq:
                raise LedgerTamperError(
                    f"the stored checkpoint covers seq {cp.seq} but the ledger ends at seq "
                    f"{seq}: the tail was truncated; refusing to overwrite the evidence",
                    seq=seq + 1, hint="run `stockade ledger verify`")
            if cp is not None and cp.seq == seq and cp.head != head:
                raise LedgerTamperError(
                    f"the event at seq {seq} no longer matches the stored checkpoint for it: "
                    "the ledger was rewritten", seq=seq, hint="run `stockade ledger verify`")
            if cp is None or cp.seq != seq:
                self._rehash(cp, seq, head)
                cp = ckpt.sign(key, ledger_id=self.backend.ledger_id, seq=seq, head=head,
                               ts=now_ts())
                self.backend.insert_checkpoint(cp)
            # Written under the write lock, so files only ever move forward.
            self._write_file(cp)
        known = self._checkpointed
        self._checkpointed = cp.seq if known is None else max(known, cp.seq)
        return cp

    def _anchor(self, key: Ed25519PrivateKey) -> Checkpoint | None:
        """The newest stored checkpoint, its signature checked; None if there is none."""
        cp = self._latest_stored()
        if cp is not None:
            ckpt.check(cp, key.public_key(), ledger_id=self.backend.ledger_id,
                       source=f"the stored checkpoint at seq {cp.seq}")
        return cp

    def _rehash(self, anchor: Checkpoint | None, seq: int, head: bytes) -> None:
        """Raise LedgerTamperError unless the events after ``anchor`` chain to ``head``."""
        start, prev = (0, GENESIS) if anchor is None else (anchor.seq, anchor.head)
        if start:
            row = self.backend.row(start)
            if row is None or row[2] != prev:
                raise LedgerTamperError(
                    f"the event at seq {start} no longer matches the signed checkpoint for it: "
                    "the ledger was rewritten; refusing to overwrite the evidence with a new "
                    "checkpoint", seq=start, hint="run `stockade ledger verify`")
        from stockade.ledger.verify import walk_segment  # not loaded by processes that only append

        try:
            got, count = walk_segment(self.backend, start + 1, seq, prev, start)
        except LedgerTamperError as exc:
            raise LedgerTamperError(f"{exc.message}; refusing to sign a checkpoint over it",
                                    seq=exc.seq, hint="run `stockade ledger verify`") from None
        if count != seq or got != head:
            # The head was read in this transaction, so only a bug gets here.
            raise LedgerTamperError(f"events {start + 1}..{seq} do not chain to the head",
                                    seq=start + 1, hint="run `stockade ledger verify`")

    def _latest_stored(self) -> Checkpoint | None:
        """The newest stored checkpoint (signature unchecked); a row that is not
        a checkpoint is tampering, never "no checkpoint"."""
        stored = self.backend.last_checkpoint()
        if stored is None:
            return None
        source = f"the stored checkpoint at seq {stored[0]}"
        try:
            cp = Checkpoint.from_dict(loads(stored[1]))
        except ValueError:
            raise LedgerTamperError(f"{source} is not a valid checkpoint: it was altered",
                                    seq=stored[0], hint="run `stockade ledger verify`") from None
        if cp.seq != stored[0]:
            raise LedgerTamperError(f"{source} claims seq {cp.seq}: it was altered",
                                    seq=stored[0], hint="run `stockade ledger verify`")
        return cp

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
        if old is not None and old.seq > 0:
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
               checkpoint_file: Path | None = None,
               allow_unsigned: bool = False) -> VerifyReport:
        """Check the whole ledger; raise LedgerTamperError at the first problem.

        ``public_key_pem``: the trusted key (default: this machine's).
        ``checkpoint_file``: a witness copy of a checkpoint (`checkpoint --export`),
        checked as well as the file beside the ledger.
        ``allow_unsigned``: accept a ledger that holds events but no signed
        checkpoint (``report.signed`` is then False) instead of raising."""
        self._await_pending_checkpoint()  # a session's end-of-run signature
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
        from stockade.ledger.verify import verify

        with self._lock:
            return verify(self.backend, public_key=public_key, checkpoint_files=files,
                          require_files=checkpoint_file is None, allow_unsigned=allow_unsigned)

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
    state directory and its keys are made too, and a new ledger gets a signed
    checkpoint at seq 0 before it is handed out; without ``create`` a missing
    ledger is a LedgerError (or LedgerTamperError if a checkpoint file says it
    existed).
    """
    from stockade.ledger.sqlite import SqliteBackend, file_from_url

    state = state or StateDir.default()
    if url is None:
        url = state.ledger_url
    file = file_from_url(url)  # text, not a Path: see the top of the module
    if create:
        state.ensure()
        parent = os.path.dirname(file)
        try:
            pathtext.mkdir(parent, parents=True)
        except OSError as exc:
            raise LedgerError(f"cannot create the ledger's directory {parent}: "
                              f"{exc.strerror}") from exc
    elif not pathtext.exists(file):
        from pathlib import Path

        path = Path(file)
        old = ckpt.read_file(path.with_name(path.name + ".checkpoint"))
        if old is not None:
            raise LedgerTamperError(
                f"there is no ledger at {path}, but its checkpoint file says it existed "
                f"(signed at {old.seq} events): the ledger was deleted",
                seq=1,
            )
    backend = SqliteBackend(file, durability=durability, create=create)
    try:
        ledger = Ledger(backend, state=state, checkpoint_every=checkpoint_every, actor=actor)
        if backend.created:
            # Sign the empty ledger at once (seq 0): from its first moment, a
            # ledger with events and no signed anchor is one that was replaced.
            ledger._checkpoint(allow_empty=True)
    except BaseException:
        backend.close()
        raise
    return ledger
