"""Regressions from the ledger security review: every ledger has a signed
anchor, a ledger that cannot sign does not grow, a missed checkpoint is made
by the next append, and nothing is signed over a chain that does not hold."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from ledger_helpers import fill, raw_db

from stockade.errors import EnvironmentProblem, LedgerError, LedgerTamperError
from stockade.ledger import Ledger, open_ledger
from stockade.ledger import checkpoint as ckpt
from stockade.state import SIGNING_KEY_FILE, StateDir


def stored_seqs(home: StateDir) -> list[int]:
    db = raw_db(home)
    try:
        return [s for (s,) in db.execute("SELECT seq FROM checkpoints ORDER BY seq")]
    finally:
        db.close()


# -- 5. no ledger with events and no signed anchor verifies ---------------------
def test_a_new_ledger_is_signed_before_it_holds_anything(home: StateDir) -> None:
    with open_ledger(state=home, checkpoint_every=0) as led:
        assert led.checkpoint_path is not None
        cp = ckpt.read_file(led.checkpoint_path)
        assert cp is not None and cp.seq == 0 and cp.head == bytes(32)
        assert cp.ledger_id == led.backend.ledger_id
    assert stored_seqs(home) == [0]


def _replace_wholesale(home: StateDir, led: Ledger) -> None:
    """What an attacker with write access does: drop every signed anchor."""
    db = raw_db(home)
    db.execute("DELETE FROM checkpoints")
    db.close()
    assert led.checkpoint_path is not None
    led.checkpoint_path.unlink(missing_ok=True)


def test_a_ledger_with_events_and_no_signed_anchor_fails(ledger: Ledger,
                                                          home: StateDir) -> None:
    fill(ledger, 5)
    _replace_wholesale(home, ledger)
    with pytest.raises(LedgerTamperError) as info:
        ledger.verify()
    assert "no signed checkpoint covers this ledger" in info.value.message
    assert info.value.seq == 1 and "--allow-unsigned" in (info.value.hint or "")
    report = ledger.verify(allow_unsigned=True)
    assert report.events == 5 and not report.signed
    assert any("nothing proves" in n for n in report.notes)


def test_cli_verify_fails_unsigned_and_warns_with_allow_unsigned(
        ledger: Ledger, home: StateDir, capsys: pytest.CaptureFixture[str]) -> None:
    from stockade.cli import main

    fill(ledger, 3)
    _replace_wholesale(home, ledger)
    assert main(["ledger", "verify"]) == 1
    err = capsys.readouterr().err
    assert "no signed checkpoint covers this ledger" in err
    assert main(["ledger", "verify", "--allow-unsigned"]) == 0
    out, err = capsys.readouterr()
    assert "UNSIGNED" in out and "3 events" in out and "ledger intact" not in out
    assert "warning: no signed checkpoint covers this ledger" in err


def test_an_unsigned_ledger_is_signed_again_by_its_next_append(ledger: Ledger,
                                                                home: StateDir) -> None:
    fill(ledger, 3)
    _replace_wholesale(home, ledger)
    with open_ledger(state=home, checkpoint_every=10) as writer:  # e.g. the next hook call
        writer.append("a.b", details={})  # re-hashed from the start, then signed
        report = writer.verify()
    assert report.signed and report.last_checkpoint is not None
    assert report.last_checkpoint.seq == 4


# -- 6. a ledger that cannot sign does not grow; missed checkpoints are made --
def test_append_without_a_usable_signing_key_stores_nothing(ledger: Ledger,
                                                            home: StateDir) -> None:
    fill(ledger, 2)
    fresh = open_ledger(state=home, checkpoint_every=10)
    (home.keys_dir / SIGNING_KEY_FILE).unlink()
    try:
        with pytest.raises(EnvironmentProblem, match="signing key"):
            fresh.append("a.b", details={})
    finally:
        fresh.close()
    assert len(ledger) == 2


def test_a_garbled_signing_key_stops_appends_and_is_not_echoed(ledger: Ledger,
                                                              home: StateDir) -> None:
    key_file = home.keys_dir / SIGNING_KEY_FILE
    garbage = b"-----BEGIN PRIVATE KEY-----\nnot a key at all\n-----END PRIVATE KEY-----\n"
    key_file.write_bytes(garbage)
    fresh = open_ledger(state=home, checkpoint_every=10)
    try:
        with pytest.raises(EnvironmentProblem) as info:
            fresh.append("a.b", details={})
    finally:
        fresh.close()
    assert "not an Ed25519 private key" in info.value.message
    assert "not a key at all" not in info.value.diagnostic()
    assert len(ledger) == 0


def test_stockades_own_key_file_is_read_without_cryptography_and_matches(
        home: StateDir) -> None:
    from cryptography.hazmat.primitives import serialization

    raw = home.signing_key().private_bytes(serialization.Encoding.Raw,
                                           serialization.PrivateFormat.Raw,
                                           serialization.NoEncryption())
    assert ckpt.signing_seed(home) == raw


def test_a_failed_checkpoint_is_made_by_the_next_append(
        ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(ledger, 9)
    real_sign = ckpt.sign

    def failing(*args: object, **kwargs: object) -> None:
        raise LedgerError("simulated: the checkpoint could not be signed")

    monkeypatch.setattr(ckpt, "sign", failing)
    with pytest.raises(LedgerError, match="simulated"):
        ledger.append("a.b", details={})  # seq 10: the boundary; the event is stored
    monkeypatch.setattr(ckpt, "sign", real_sign)
    assert len(ledger) == 10
    ledger.append("a.b", details={})  # seq 11 crosses nothing, but 10 is owed
    latest = ledger.latest_checkpoint()
    assert latest is not None and latest.seq == 11


def test_a_writer_killed_before_its_checkpoint_is_made_up_for(home: StateDir) -> None:
    with open_ledger(state=home, checkpoint_every=0) as led:
        fill(led, 12)  # as if the writer that crossed seq 10 died before signing
    assert max(stored_seqs(home), default=0) < 10
    with open_ledger(state=home, checkpoint_every=10) as led:
        led.append("a.b", details={})  # seq 13: same block of 10 as 12
        assert led.verify().last_checkpoint.seq == 13  # type: ignore[union-attr]


def test_checkpoint_refuses_to_sign_a_head_that_does_not_chain(ledger: Ledger,
                                                               home: StateDir) -> None:
    fill(ledger, 15)  # checkpoints at 0 and 10; 11..15 not yet signed
    db = raw_db(home)
    data = bytes(db.execute("SELECT CAST(data AS BLOB) FROM events WHERE seq = 13")
                 .fetchone()[0])
    db.execute("UPDATE events SET data = ? WHERE seq = 13",
               (data.replace(b"abcdef", b"abcdeX").decode(),))
    db.close()
    assert ledger.checkpoint_path is not None
    before = ckpt.read_file(ledger.checkpoint_path)
    with pytest.raises(LedgerTamperError) as info:
        ledger.checkpoint()
    assert info.value.seq == 13 and "refusing to sign" in info.value.message
    assert stored_seqs(home) == [0, 10]
    assert ckpt.read_file(ledger.checkpoint_path) == before


def test_a_corrupt_checkpoint_row_is_tampering_not_absence(ledger: Ledger,
                                                           home: StateDir) -> None:
    fill(ledger, 12)
    db = raw_db(home)
    db.execute("UPDATE checkpoints SET body = '{\"version\": 1}' WHERE seq = 10")
    db.close()
    with pytest.raises(LedgerTamperError, match="stored checkpoint at seq 10"):
        ledger.checkpoint()
    with pytest.raises(LedgerTamperError, match="stored checkpoint at seq 10"):
        ledger.latest_checkpoint()
    assert stored_seqs(home) == [0, 10]


def test_a_forged_checkpoint_row_is_not_an_anchor_for_signing(ledger: Ledger,
                                                               home: StateDir) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    fill(ledger, 12)
    db = raw_db(home)
    head = bytes(db.execute("SELECT hash FROM events WHERE seq = 12").fetchone()[0])
    forged = ckpt.sign(Ed25519PrivateKey.generate(), ledger_id=ledger.backend.ledger_id,
                       seq=12, head=head, ts="2026-01-01T00:00:00.000000Z")
    db.execute("INSERT INTO checkpoints (seq, body) VALUES (12, ?)",
               (json.dumps(forged.to_dict()),))
    db.close()
    with pytest.raises(LedgerTamperError, match="not the trusted key"):
        ledger.checkpoint()


def test_deleting_a_new_empty_ledger_is_detected(home: StateDir) -> None:
    with open_ledger(state=home):
        pass
    for suffix in ("", "-wal", "-shm"):
        Path(str(home.ledger_path) + suffix).unlink(missing_ok=True)
    with pytest.raises(LedgerTamperError, match="was deleted"):
        open_ledger(state=home)


def test_stored_checkpoints_are_plain_rows_an_attacker_can_see(home: StateDir) -> None:
    # The seq-0 checkpoint is an ordinary signed row: verify checks it like any other.
    with open_ledger(state=home) as led:
        fill(led, 1)
    db = sqlite3.connect(home.ledger_path)
    body = json.loads(db.execute("SELECT body FROM checkpoints WHERE seq = 0").fetchone()[0])
    db.close()
    body["head"] = "11" * 32
    db = raw_db(home)
    db.execute("UPDATE checkpoints SET body = ? WHERE seq = 0", (json.dumps(body),))
    db.close()
    with open_ledger(state=home, create=False) as led, \
            pytest.raises(LedgerTamperError, match="bad signature"):
        led.verify()


def test_the_next_append_after_a_cut_tail_reports_it(ledger: Ledger, home: StateDir) -> None:
    fill(ledger, 25)  # checkpoints at 0, 10 and 20
    db = raw_db(home)
    db.execute("DELETE FROM events WHERE seq > 15")
    db.close()
    with open_ledger(state=home, checkpoint_every=10) as writer, \
            pytest.raises(LedgerTamperError, match="tail was truncated"):
        writer.append("a.b", details={})  # seq 16, inside an already signed block
    assert ledger.checkpoint_path is not None
    assert ckpt.read_file(ledger.checkpoint_path).seq == 20  # type: ignore[union-attr]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_a_witness_file_saved_in_another_encoding_still_reads(home: StateDir, tmp_path: Path,
                                                              encoding: str) -> None:
    """Checkpoint files are read without json first; what that reader refuses
    but json reads (an editor's byte-order mark, PowerShell's UTF-16) is read
    by json, not called altered."""
    with open_ledger(state=home, checkpoint_every=0) as led:
        assert led.checkpoint_path is not None
        original = ckpt.read_file(led.checkpoint_path)
        text = led.checkpoint_path.read_text(encoding="utf-8")
    copy = tmp_path / "witness.json"
    copy.write_bytes(text.encode(encoding))
    assert ckpt.read_file(copy) == original
    copy.write_bytes(text.encode(encoding).replace(b"\x00", b"", 1)[:-4])  # truncated: altered
    with pytest.raises(LedgerTamperError, match="altered"):
        ckpt.read_file(copy)
