"""Every kind of tampering is detected, at the right sequence number.

The ledger has 35 events and signed checkpoints at 10, 20 and 30.  Each test
changes the database (or the checkpoint file) the way an attacker with write
access would, with plain SQL, then expects LedgerTamperError naming the seq.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ledger_helpers import fill, raw_db

from stockade.errors import LedgerTamperError
from stockade.ledger import Ledger, canonical_json, open_ledger
from stockade.ledger import checkpoint as ckpt
from stockade.state import StateDir


@pytest.fixture()
def led(home: StateDir) -> Iterator[Ledger]:
    with open_ledger(state=home, checkpoint_every=10) as ledger:
        fill(ledger, 35)
        assert ledger.verify().events == 35
        yield ledger


@pytest.fixture()
def db(home: StateDir) -> Iterator[sqlite3.Connection]:
    conn = raw_db(home)
    yield conn
    conn.close()


def tamper_error(led: Ledger, **kwargs: object) -> LedgerTamperError:
    with pytest.raises(LedgerTamperError) as info:
        led.verify(**kwargs)  # type: ignore[arg-type]
    return info.value


def data_of(db: sqlite3.Connection, seq: int) -> bytes:
    return bytes(db.execute("SELECT CAST(data AS BLOB) FROM events WHERE seq = ?",
                            (seq,)).fetchone()[0])


def hash_of(db: sqlite3.Connection, seq: int) -> bytes:
    return bytes(db.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()[0])


def set_data(db: sqlite3.Connection, seq: int, data: bytes) -> None:
    db.execute("UPDATE events SET data = ? WHERE seq = ?", (data.decode(), seq))


def flip(b: bytes, at: int) -> bytes:
    return b[:at] + bytes([b[at] ^ 1]) + b[at + 1:]


def shift_up(db: sqlite3.Connection, from_seq: int) -> None:
    db.execute("UPDATE events SET seq = -seq WHERE seq >= ?", (from_seq,))
    db.execute("UPDATE events SET seq = 1 - seq WHERE seq < 0")


def test_one_modified_byte_in_details(led: Ledger, db: sqlite3.Connection) -> None:
    data = data_of(db, 17)
    set_data(db, 17, data.replace(b'"note":"abcdef"', b'"note":"abcdeg"'))
    err = tamper_error(led)
    assert err.seq == 17 and "event 17 was modified" in err.message


def test_one_modified_byte_in_the_last_event(led: Ledger, db: sqlite3.Connection) -> None:
    set_data(db, 35, data_of(db, 35).replace(b"Bash", b"Bask"))
    err = tamper_error(led)
    assert err.seq == 35 and "event 35" in err.message


def test_modified_hash(led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("UPDATE events SET hash = ? WHERE seq = 17", (flip(hash_of(db, 17), 0),))
    err = tamper_error(led)
    assert err.seq == 17 and "stored hash of event 17 was altered" in err.message


def test_hash_stored_as_another_type(led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("UPDATE events SET hash = 'x' WHERE seq = 4")
    assert tamper_error(led).seq == 4


def test_deleted_middle_event(led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM events WHERE seq = 17")
    err = tamper_error(led)
    assert err.seq == 17 and "event 17 was deleted" in err.message


def test_deleted_first_events(led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM events WHERE seq <= 2")
    err = tamper_error(led)
    assert err.seq == 1 and "events 1..2 were deleted" in err.message


def test_inserted_forged_event_with_a_valid_hash(led: Ledger, db: sqlite3.Connection) -> None:
    shift_up(db, 17)
    forged = canonical_json({"actor": {}, "decision": "allow", "details": {"forged": True},
                             "kind": "tool.call", "seq": 17, "session": "s1",
                             "ts": "2026-01-01T00:00:00.000000Z"})
    h = hashlib.sha256(b"\x00" + hash_of(db, 16) + forged).digest()
    db.execute("INSERT INTO events (seq, data, hash) VALUES (17, ?, ?)", (forged.decode(), h))
    err = tamper_error(led)
    assert err.seq == 17 and "forged event was inserted at seq 17" in err.message


def test_inserted_forged_event_with_a_wrong_hash(led: Ledger, db: sqlite3.Connection) -> None:
    shift_up(db, 17)
    forged = data_of(db, 18).replace(b'"n":16', b'"n":99')
    db.execute("INSERT INTO events (seq, data, hash) VALUES (17, ?, ?)",
               (forged.decode(), bytes(32)))
    err = tamper_error(led)
    assert err.seq == 17 and "inserted" in err.message


def test_inserted_row_below_seq_1(led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO events (seq, data, hash) VALUES (0, ?, ?)",
               (data_of(db, 1).decode(), hash_of(db, 1)))
    err = tamper_error(led)
    assert err.seq == 0 and "below 1" in err.message


def test_swapped_rows(led: Ledger, db: sqlite3.Connection) -> None:
    a, b = (data_of(db, 12), hash_of(db, 12)), (data_of(db, 15), hash_of(db, 15))
    for seq, (data, h) in ((12, b), (15, a)):
        db.execute("UPDATE events SET data = ?, hash = ? WHERE seq = ?", (data.decode(), h, seq))
    err = tamper_error(led)
    assert err.seq == 12 and "the event stored at seq 12 is event 15" in err.message
    assert "reordered" in err.message


def test_deleted_and_renumbered(led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM events WHERE seq = 17")
    db.execute("UPDATE events SET seq = seq - 1 WHERE seq > 17")
    err = tamper_error(led)
    assert err.seq == 17 and "is event 18" in err.message


def test_rewritten_and_rehashed_chain_fails_at_the_signed_checkpoint(
        led: Ledger, db: sqlite3.Connection) -> None:
    set_data(db, 13, data_of(db, 13).replace(b"abcdef", b"ABCDEF"))
    prev = hash_of(db, 12)
    for seq in range(13, 36):  # the attacker re-hashes everything after the change
        prev = hashlib.sha256(b"\x00" + prev + data_of(db, seq)).digest()
        db.execute("UPDATE events SET hash = ? WHERE seq = ?", (prev, seq))
    err = tamper_error(led)
    assert err.seq == 20 and "does not match" in err.message and "11..20" in err.message


def test_tail_truncated_below_the_last_checkpoint(led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM events WHERE seq > 25")
    err = tamper_error(led)
    assert err.seq == 26 and "truncated below checkpoint 30" in err.message


def test_tail_and_checkpoint_rows_deleted_the_file_catches_it(
        led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM events WHERE seq > 25")
    db.execute("DELETE FROM checkpoints")
    err = tamper_error(led)
    assert err.seq == 26 and "truncated below checkpoint 30" in err.message
    assert "checkpoint file" in err.message


def test_truncated_ledger_refuses_to_overwrite_the_checkpoint_file(
        led: Ledger, db: sqlite3.Connection, home: StateDir) -> None:
    db.execute("DELETE FROM events WHERE seq > 25")
    db.execute("DELETE FROM checkpoints")
    with pytest.raises(LedgerTamperError, match="refusing to overwrite"):
        led.checkpoint()
    assert ckpt.read_file(led.checkpoint_path or Path()).seq == 30  # type: ignore[union-attr]


def test_rewritten_ledger_refuses_to_overwrite_the_checkpoint_file(
        led: Ledger, db: sqlite3.Connection) -> None:
    db.execute("UPDATE events SET hash = ? WHERE seq = 30", (bytes(32),))
    led.append("a.b", details={})
    with pytest.raises(LedgerTamperError, match="refusing to overwrite") as info:
        led.checkpoint()
    assert info.value.seq == 30


def test_forged_checkpoint_signature(led: Ledger, db: sqlite3.Connection) -> None:
    body = json.loads(db.execute("SELECT body FROM checkpoints WHERE seq = 20").fetchone()[0])
    body["signature"] = body["signature"][:-4] + ("AAA=" if body["signature"][-4:] != "AAA="
                                                  else "BBB=")
    db.execute("UPDATE checkpoints SET body = ? WHERE seq = 20", (json.dumps(body),))
    err = tamper_error(led)
    assert err.seq == 20 and "bad signature" in err.message


def test_checkpoint_signed_by_another_key(led: Ledger, db: sqlite3.Connection) -> None:
    cp = ckpt.sign(Ed25519PrivateKey.generate(), ledger_id=led.backend.ledger_id, seq=33,
                   head=hash_of(db, 33), ts="2026-01-01T00:00:00.000000Z")
    db.execute("INSERT INTO checkpoints (seq, body) VALUES (33, ?)",
               (json.dumps(cp.to_dict()),))
    err = tamper_error(led)
    assert err.seq == 33 and "not the trusted key" in err.message


def test_checkpoint_file_tampered(led: Ledger) -> None:
    path = led.checkpoint_path
    assert path is not None
    body = json.loads(path.read_text())
    body["seq"] = 31
    path.write_text(json.dumps(body))
    err = tamper_error(led)
    assert err.seq == 31 and "bad signature" in err.message and str(path) in err.message


def test_checkpoint_file_garbled(led: Ledger) -> None:
    assert led.checkpoint_path is not None
    led.checkpoint_path.write_text("{not json")
    assert "not a valid checkpoint" in tamper_error(led).message


def test_checkpoint_file_deleted(led: Ledger) -> None:
    assert led.checkpoint_path is not None
    led.checkpoint_path.unlink()
    err = tamper_error(led)
    assert "missing" in err.message and err.seq == 30


def test_ledger_deleted_while_its_checkpoint_file_remains(led: Ledger, home: StateDir) -> None:
    led.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(home.ledger_path) + suffix).unlink(missing_ok=True)
    with pytest.raises(LedgerTamperError, match="was deleted"):
        open_ledger(state=home, create=False)
    with pytest.raises(LedgerTamperError, match="was deleted"):
        open_ledger(state=home)  # and a writer does not start a fresh one over it


def test_replayed_old_checkpoint_file_is_caught_by_a_witness(
        led: Ledger, db: sqlite3.Connection, tmp_path: Path) -> None:
    assert led.checkpoint_path is not None
    witness = tmp_path / "witness.json"
    shutil.copy(led.checkpoint_path, witness)  # seq 30, kept on another machine
    db.execute("DELETE FROM events WHERE seq > 25")
    db.execute("DELETE FROM checkpoints WHERE seq > 20")
    old = ckpt.Checkpoint.from_dict(json.loads(
        db.execute("SELECT body FROM checkpoints WHERE seq = 20").fetchone()[0]))
    ckpt.write_file(led.checkpoint_path, old, fsync=False)  # the attacker's older copy
    led.verify()  # locally consistent: only a witness can tell
    err = tamper_error(led, checkpoint_file=witness)
    assert err.seq == 26 and "truncated below checkpoint 30" in err.message
