"""Verify a ledger: the chain, every signed checkpoint, and the checkpoint files.

The walk streams rows in chunks and, on the fast path, does per row only what
the check needs (one SHA-256, one compare).  When a segment does not check
out, it is walked again slowly to say exactly which sequence number is wrong
and how (:func:`_diagnose`).  Every failure raises LedgerTamperError with
``seq`` set; success returns a :class:`VerifyReport`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from stockade.errors import LedgerTamperError
from stockade.ledger import checkpoint as ckpt
from stockade.ledger.backend import LedgerBackend, Row
from stockade.ledger.chain import GENESIS, LEAF_PREFIX, leaf_hash
from stockade.ledger.checkpoint import Checkpoint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CHUNK = 4096


@dataclass(frozen=True, slots=True)
class VerifyReport:
    events: int
    head: str  # hex leaf hash of the last event
    checkpoints_checked: int
    last_checkpoint: Checkpoint | None
    key_fingerprint: str
    checkpoint_files: tuple[str, ...]
    notes: tuple[str, ...]
    # False only with allow_unsigned, for a ledger with events and no signed
    # checkpoint: the chain is consistent, but nothing proves it is the original.
    signed: bool = True

    @property
    def unsigned_events(self) -> int:
        """Events after the last signed checkpoint: chained, not yet signed."""
        return self.events - (self.last_checkpoint.seq if self.last_checkpoint else 0)


@dataclass(frozen=True, slots=True)
class _Anchor:
    seq: int
    head: bytes
    source: str
    checkpoint: Checkpoint


def verify(
    backend: LedgerBackend,
    *,
    public_key: Ed25519PublicKey,
    checkpoint_files: Sequence[Path] = (),
    require_files: bool = True,
    allow_unsigned: bool = False,
) -> VerifyReport:
    ledger_id = backend.ledger_id
    fp = ckpt.key_fingerprint(public_key)
    notes: list[str] = []
    # Files first, then the database snapshot: a file is written only after the
    # events it covers are committed, so whatever a file says now, the snapshot
    # taken after it must contain.
    from_files: list[_Anchor] = []
    missing: list[Path] = []
    for path in checkpoint_files:
        cp = ckpt.read_file(path)
        if cp is None:
            missing.append(path)
            continue
        ckpt.check(cp, public_key, ledger_id=ledger_id,
                   source=f"checkpoint file {path} (seq {cp.seq})")
        from_files.append(_Anchor(cp.seq, cp.head, f"checkpoint file {path}", cp))

    with backend.snapshot():
        anchors: dict[int, _Anchor] = {}
        stored = backend.checkpoints()
        for seq, body in stored:
            source = f"the stored checkpoint at seq {seq}"
            try:
                cp = Checkpoint.from_dict(json.loads(body))
            except ValueError:
                raise LedgerTamperError(f"{source} is not a valid checkpoint: it was altered",
                                        seq=seq) from None
            if cp.seq != seq:
                raise LedgerTamperError(f"{source} claims seq {cp.seq}: it was altered", seq=seq)
            ckpt.check(cp, public_key, ledger_id=ledger_id, source=source)
            anchors[seq] = _Anchor(seq, cp.head, source, cp)
        for path in missing:
            if stored and require_files:
                raise LedgerTamperError(
                    f"checkpoint file {path} is missing although the ledger holds signed "
                    "checkpoints: it was deleted",
                    seq=stored[-1][0],
                    hint="if it was lost by accident, `stockade ledger checkpoint` writes a new "
                         "one; verify against a witness copy first",
                )
            notes.append(f"no checkpoint file at {path}")
        for anchor in from_files:
            same = anchors.get(anchor.seq)
            if same is not None and same.head != anchor.head:
                raise LedgerTamperError(
                    f"{anchor.source} and {same.source} disagree on the chain head",
                    seq=anchor.seq)
            if same is None:
                anchors[anchor.seq] = anchor
        events = backend.head()[0]
        if not anchors and events:
            # Without an anchor, anyone who can write the database (and delete the
            # checkpoint file beside it) can replace every event and re-hash.
            if not allow_unsigned:
                raise LedgerTamperError(
                    f"no signed checkpoint covers this ledger: its {events} events could have "
                    "been rewritten wholesale (there are no checkpoint rows and no checkpoint "
                    "file)",
                    seq=1,
                    hint="every ledger stockade creates is signed from the start, so treat "
                         "this one as replaced; a ledger from before then can be checked with "
                         "`stockade ledger verify --allow-unsigned` and signed from now on with "
                         "`stockade ledger checkpoint`",
                )
            notes.append("no signed checkpoint covers this ledger: the chain is consistent, "
                         "but nothing proves these are the original events")
        elif not anchors:
            notes.append("no signed checkpoint yet: run `stockade ledger checkpoint`")

        below = backend.count_below(1)
        if below:
            raise LedgerTamperError(
                f"{below} row(s) with a sequence number below 1 were inserted", seq=0)

        prev, count = GENESIS, 0
        start = 1
        for anchor in sorted(anchors.values(), key=lambda a: a.seq):
            prev, count = walk_segment(backend, start, anchor.seq, prev, count)
            if count < anchor.seq:
                raise LedgerTamperError(
                    f"the ledger ends at seq {count} but {anchor.source}, signed "
                    f"{anchor.checkpoint.ts}, covers seq {anchor.seq}: events {count + 1}.."
                    f"{anchor.seq} were deleted (tail truncated below checkpoint {anchor.seq})",
                    seq=count + 1,
                )
            if prev != anchor.head:
                raise LedgerTamperError(
                    f"the chain head at seq {anchor.seq} does not match {anchor.source}: events "
                    f"{start}..{anchor.seq} were rewritten and re-hashed",
                    seq=anchor.seq,
                )
            start = anchor.seq + 1
        prev, count = walk_segment(backend, start, None, prev, count)

    last = max(anchors.values(), key=lambda a: a.seq).checkpoint if anchors else None
    if last is not None and count > last.seq:
        which = f"event {count} is" if count == last.seq + 1 else \
            f"events {last.seq + 1}..{count} are"
        notes.append(f"{which} chained but not yet covered by a signed checkpoint")
    return VerifyReport(
        events=count,
        head=prev.hex(),
        checkpoints_checked=len(anchors),
        last_checkpoint=last,
        key_fingerprint=fp,
        checkpoint_files=tuple(str(p) for p in checkpoint_files),
        notes=tuple(notes),
        signed=bool(anchors),
    )


def walk_segment(backend: LedgerBackend, first: int, last: int | None, prev: bytes,
                 count: int) -> tuple[bytes, int]:
    """Walk rows first..last from the leaf hash ``prev`` of event ``first - 1``;
    return (head, number of the last good event).  Raises LedgerTamperError,
    naming the seq, at the first row that does not chain."""
    start_prev = prev
    sha = hashlib.sha256
    zp = LEAF_PREFIX
    seen = 0
    last_seq = first - 1
    ok = True
    try:
        with closing(backend.rows(first, last, chunk=CHUNK)) as chunks:
            for chunk in chunks:
                for _seq, data, stored in chunk:
                    prev = sha(zp + prev + data).digest()
                    if prev != stored:
                        ok = False
                        break
                if not ok:
                    break
                seen += len(chunk)
                last_seq = chunk[-1][0]
    except TypeError:  # a tampered row holding a non-bytes value
        ok = False
    # Rows are unique and sorted, so the right count means no gap.
    if ok and last_seq == first - 1 + seen:
        return prev, count + seen
    _diagnose(backend, first, last, start_prev)


def _embedded_seq(data: object) -> int | None:
    try:
        obj = json.loads(data)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _chains(prev: bytes, row: Row | None, *, on: object) -> bool:
    """Does ``row``'s stored hash equal H(prev || row data)?"""
    if row is None or not isinstance(on, bytes):
        return False
    try:
        return leaf_hash(on, row[1]) == row[2]
    except TypeError:
        return False


def _diagnose(backend: LedgerBackend, first: int, last: int | None, prev: bytes) -> NoReturn:
    """Walk first..last with every check and raise at the first bad row."""
    prev2 = GENESIS if first <= 2 else _stored_hash(backend.row(first - 2))
    with closing(backend.rows(first, last, chunk=CHUNK)) as chunks:
        _diagnose_rows(backend, chunks, first=first, prev=prev, prev2=prev2)
    raise LedgerTamperError(f"events from seq {first} do not verify", seq=first)


def _diagnose_rows(backend: LedgerBackend, chunks: Iterable[Sequence[Row]], *, first: int,
                   prev: bytes, prev2: bytes) -> None:
    expected = first
    for chunk in chunks:
        for row in chunk:
            seq, data, stored = row
            if seq != expected:
                what = f"event {expected}" if seq == expected + 1 else \
                    f"events {expected}..{seq - 1}"
                raise LedgerTamperError(
                    f"{what} {'was' if seq == expected + 1 else 'were'} deleted: "
                    f"the ledger jumps from seq {expected - 1} to {seq}",
                    seq=expected,
                )
            try:
                computed = leaf_hash(prev, data)
            except TypeError:
                computed = None
            if computed is not None and computed == stored:
                prev2, prev, expected = prev, computed, expected + 1
                continue
            _explain(backend, row, prev=prev, prev2=prev2, computed=computed)


def _stored_hash(row: Row | None) -> bytes:
    return row[2] if row is not None and isinstance(row[2], bytes) else GENESIS


def _explain(backend: LedgerBackend, row: Row, *, prev: bytes, prev2: bytes,
             computed: bytes | None) -> None:
    seq, data, stored = row
    claimed = _embedded_seq(data)
    if claimed is not None and claimed != seq:
        if claimed == seq - 1 and _chains(prev2, row, on=prev2):
            raise LedgerTamperError(
                f"a forged event was inserted at seq {seq - 1}: the event now stored at seq "
                f"{seq} is the original event {seq - 1}",
                seq=seq - 1,
            )
        if claimed < seq:
            how = "events were reordered or an event was inserted before it"
        else:
            how = "events were reordered, or deleted and renumbered"
        raise LedgerTamperError(f"the event stored at seq {seq} is event {claimed}: {how}",
                                seq=seq)
    nxt = backend.row(seq + 1)
    if nxt is not None and _embedded_seq(nxt[1]) == seq and _chains(prev, nxt, on=prev):
        raise LedgerTamperError(
            f"a forged event was inserted at seq {seq}: the event after it is the original "
            f"event {seq}",
            seq=seq,
        )
    if nxt is not None and _chains(stored, nxt, on=stored):
        raise LedgerTamperError(
            f"event {seq} was modified: its stored bytes no longer match the hash that "
            f"event {seq + 1} chains to",
            seq=seq,
        )
    if nxt is not None and computed is not None and _chains(computed, nxt, on=computed):
        raise LedgerTamperError(
            f"the stored hash of event {seq} was altered (its content is intact)", seq=seq)
    raise LedgerTamperError(
        f"event {seq} does not match its hash: its stored bytes or its hash were modified",
        seq=seq,
    )
