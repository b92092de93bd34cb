"""The chain, checkpoints and reading, on an intact ledger."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ledger_helpers import fill, raw_db

from stockade.errors import LedgerError
from stockade.ledger import Ledger, NewEvent, load_public_key, open_ledger
from stockade.ledger.checkpoint import read_file
from stockade.state import StateDir


def test_chain_is_sha256_over_prefix_previous_hash_and_stored_bytes(
        ledger: Ledger, home: StateDir) -> None:
    fill(ledger, 5)
    prev = bytes(32)
    rows = raw_db(home).execute("SELECT seq, CAST(data AS BLOB), hash FROM events ORDER BY seq")
    for expected_seq, (seq, data, stored) in enumerate(rows, start=1):
        assert seq == expected_seq and json.loads(data)["seq"] == seq
        prev = hashlib.sha256(b"\x00" + prev + data).digest()
        assert stored == prev
    assert ledger.head() == (5, prev.hex())


def test_append_returns_the_stored_event(ledger: Ledger) -> None:
    ev = ledger.append("llm.request", details={"model": "m", "rule_ids": ["aws-key"]},
                       session="s9", decision="redact")
    assert ev.seq == 1 and ev.kind == "llm.request" and ev.decision == "redact"
    assert ev.details == {"model": "m", "rule_ids": ["aws-key"]}
    assert ledger.tail(1)[0].raw == ev.raw
    assert ev.actor.pid is not None and ev.actor.host


def test_batch_and_append_many_are_one_linear_chain(ledger: Ledger) -> None:
    with ledger.batch() as b:
        for i in range(25):
            b.append("net.connect", details={"i": i}, session="b")
    assert b.seqs == list(range(1, 26))
    more = ledger.append_many([NewEvent("fs.deny", {"path": "~/.ssh"}), NewEvent("fs.deny")])
    assert [e.seq for e in more] == [26, 27]
    report = ledger.verify()
    assert report.events == 27
    # Checkpoints every 10 events: one per transaction that crossed a boundary.
    assert report.last_checkpoint is not None and report.last_checkpoint.seq == 25


def test_a_failed_batch_records_nothing(ledger: Ledger) -> None:
    with pytest.raises(RuntimeError), ledger.batch() as b:
        b.append("a.b", details={})
        raise RuntimeError("caller failed")
    assert len(ledger) == 0


def test_checkpoint_is_signed_and_written_beside_the_ledger(ledger: Ledger,
                                                             home: StateDir) -> None:
    fill(ledger, 3)
    cp = ledger.checkpoint()
    assert cp.seq == 3 and cp.head.hex() == ledger.head()[1]
    key = load_public_key(home.public_key_pem())
    assert isinstance(key, Ed25519PublicKey)
    key.verify(cp.signature, cp.signed_message())
    assert cp.signed_message()[:1] == b"\x01"  # leaves use \x00
    assert read_file(home.root / "ledger.db.checkpoint") == cp
    assert ledger.checkpoint() == cp  # nothing new: the same checkpoint


def test_checkpoint_of_an_empty_ledger_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError, match="empty"):
        ledger.checkpoint()


def test_verify_reports_counts_and_unsigned_tail(ledger: Ledger) -> None:
    fill(ledger, 23)
    report = ledger.verify()
    # seq 0 (signed when the ledger was created), 10 and 20
    assert report.events == 23 and report.checkpoints_checked == 3
    assert report.unsigned_events == 3
    assert any("21..23" in n for n in report.notes)


def test_empty_ledger_verifies_and_is_signed_from_the_start(ledger: Ledger) -> None:
    report = ledger.verify()
    assert report.events == 0 and report.signed
    assert report.last_checkpoint is not None and report.last_checkpoint.seq == 0
    assert report.last_checkpoint.head == bytes(32)


def test_query_filters_by_session_kind_and_time(ledger: Ledger) -> None:
    fill(ledger, 4, session="a")
    fill(ledger, 3, session="b")
    ledger.append("llm.request", details={}, session="b")
    assert [e.seq for e in ledger.query(session="b")] == [5, 6, 7, 8]
    assert [e.seq for e in ledger.query(session="b", kind="llm.request")] == [8]
    assert [e.seq for e in ledger.query(session="a", limit=2)] == [1, 2]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert list(ledger.query(since=future)) == []
    assert len(list(ledger.query(since=datetime.now(UTC) - timedelta(hours=1)))) == 8
    assert [e.seq for e in ledger.tail(3)] == [6, 7, 8]


def test_query_pages_through_large_results(ledger: Ledger) -> None:
    ledger.checkpoint_every = 0
    ledger.append_many(NewEvent("a.b", {"i": i}, session="x") for i in range(2500))
    assert [e.seq for e in ledger.query(session="x")] == list(range(1, 2501))
    assert len(ledger.tail(1500)) == 1500


def test_export_jsonl_lines_are_the_hashed_bytes(ledger: Ledger) -> None:
    fill(ledger, 12)
    out = io.BytesIO()
    assert ledger.export_jsonl(out) == 12
    prev = bytes(32)
    for line in out.getvalue().splitlines():
        prev = hashlib.sha256(b"\x00" + prev + line).digest()
    assert prev.hex() == ledger.head()[1]


def test_reopening_continues_the_chain(home: StateDir) -> None:
    with open_ledger(state=home) as led:
        fill(led, 3)
    with open_ledger(state=home) as led:
        assert led.append("a.b", details={}).seq == 4
        assert led.verify().events == 4


def test_power_loss_durability_is_accepted_and_unknown_refused(home: StateDir) -> None:
    with open_ledger(state=home, durability="power-loss") as led:
        fill(led, 2)
        assert led.verify().events == 2
    with pytest.raises(LedgerError, match="durability"):
        open_ledger(state=home, durability="sometimes")


@pytest.mark.parametrize("url", ["postgresql://db/ledger", "ledger.db", "sqlite://rel.db",
                                 "sqlite:///"])
def test_unsupported_urls_are_refused_with_a_hint(home: StateDir, url: str) -> None:
    with pytest.raises(LedgerError) as info:
        open_ledger(url, state=home)
    assert info.value.hint and "sqlite:///" in info.value.hint


def test_missing_ledger_is_not_created_by_readers(home: StateDir) -> None:
    with pytest.raises(LedgerError, match="no ledger"):
        open_ledger(state=home, create=False)
    assert not home.ledger_path.exists()


def test_time_never_goes_backwards_along_the_chain(ledger: Ledger,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import stockade.ledger.sqlite as backend

    first = ledger.append("a.b", details={})
    monkeypatch.setattr(backend, "now_ts", lambda: "2001-01-01T00:00:00.000000Z")
    second = ledger.append("a.b", details={})  # the clock stepped back
    assert second.ts == first.ts and ledger.tail(1)[0].ts == first.ts


def test_since_finds_the_exact_first_event(ledger: Ledger,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import stockade.ledger.sqlite as backend

    ledger.checkpoint_every = 0
    times = iter(f"2026-01-01T00:{m:02d}:00.000000Z" for m in range(60))
    monkeypatch.setattr(backend, "now_ts", lambda: next(times))
    for i in range(57):
        ledger.append("a.b", details={"i": i}, session="s" if i % 2 else "t")
    assert [e.seq for e in ledger.query(since="2026-01-01T00:40:00.000000Z")] == \
        list(range(41, 58))
    assert [e.seq for e in ledger.query(since="2026-01-01T00:39:59Z", session="s")] == \
        list(range(42, 58, 2))
    assert list(ledger.query(since="2026-01-01T00:57:00.000000Z")) == []
    assert [e.seq for e in ledger.query(since="2026-01-01T00:56:00Z")] == [57]
    assert len(list(ledger.query(since="2000-01-01T00:00:00Z"))) == 57
