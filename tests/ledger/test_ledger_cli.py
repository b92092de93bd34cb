"""`stockade init` and `stockade ledger ...` as a user runs them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from ledger_helpers import raw_db

from stockade.cli import main
from stockade.state import StateDir


@pytest.fixture()
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateDir:
    root = tmp_path / "home"
    monkeypatch.setenv("STOCKADE_HOME", str(root))
    monkeypatch.delenv("STOCKADE_LEDGER", raising=False)
    return StateDir(root)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_init_creates_state_and_says_how_to_read_the_ledger(
        fresh_home: StateDir, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "init")
    assert code == 0
    assert fresh_home.ledger_path.exists()
    assert (fresh_home.keys_dir / "ledger-signing.key").stat().st_mode & 0o077 == 0
    assert str(fresh_home.root) in out and "stockade ledger tail" in out
    assert "stockade ledger verify" in out
    code, out, _ = run(capsys, "init")  # again: nothing is replaced
    assert code == 0 and "(1 events)" in out


def test_append_prints_the_seq_and_verify_passes(
        fresh_home: StateDir, capsys: pytest.CaptureFixture[str]) -> None:
    # No init first: the first command that needs state creates it.
    code, out, _ = run(capsys, "ledger", "append", "--kind", "deploy.start",
                       "--json", '{"target": "prod"}', "--session", "s1", "--decision", "allow")
    assert (code, out) == (0, "1\n")
    code, out, _ = run(capsys, "ledger", "append", "--kind", "deploy.done", "--json", "{}",
                       "--agent", "ci-bot")
    assert (code, out) == (0, "2\n")
    code, out, _ = run(capsys, "ledger", "verify")
    assert code == 0 and "ledger intact: 2 events" in out
    code, out, _ = run(capsys, "ledger", "tail", "-n", "1", "--format", "jsonl")
    event = json.loads(out)
    assert event["seq"] == 2 and event["actor"]["agent"] == "ci-bot"


@pytest.mark.parametrize("argv, needle", [
    (["--kind", "Deploy", "--json", "{}"], "dotted lowercase"),
    (["--kind", "a.b", "--json", "{nope"], "not valid JSON"),
    (["--kind", "a.b", "--json", "[1]"], "JSON object"),
])
def test_append_refuses_bad_input_with_exit_2(
        fresh_home: StateDir, capsys: pytest.CaptureFixture[str], argv: list[str],
        needle: str) -> None:
    code, _, err = run(capsys, "ledger", "append", *argv)
    assert code == 2 and needle in err and "hint:" in err


def test_verify_names_the_tampered_seq_and_exits_1(
        fresh_home: StateDir, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init")
    for i in range(5):
        run(capsys, "ledger", "append", "--kind", "tool.call", "--json", json.dumps({"i": i}))
    db = raw_db(fresh_home)
    db.execute("UPDATE events SET data = replace(data, '\"i\":2', '\"i\":7') WHERE seq = 4")
    db.close()
    code, out, err = run(capsys, "ledger", "verify")
    assert code == 1 and "event 4 was modified" in err and "ledger intact" not in out


def test_witness_verifies_a_copy_on_another_machine(
        fresh_home: StateDir, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, "init")
    for i in range(3):
        run(capsys, "ledger", "append", "--kind", "tool.call", "--json", json.dumps({"i": i}))
    code, out, _ = run(capsys, "ledger", "checkpoint", "--export")
    assert code == 0
    exported = json.loads(out)
    assert exported["seq"] == 4 and "BEGIN PUBLIC KEY" in exported["public_key_pem"]
    witness = tmp_path / "witness.json"
    witness.write_text(out)
    copy = tmp_path / "elsewhere" / "copy.db"
    copy.parent.mkdir()
    with sqlite3.connect(fresh_home.ledger_path) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    # "Another machine": a state directory without any keys.
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "other-home"))
    url = f"sqlite:///{copy}"
    code, out, _ = run(capsys, "ledger", "verify", "--ledger", url, "--public-key", str(witness),
                       "--checkpoint-file", str(witness))
    assert code == 0 and "4 events" in out
    assert not (tmp_path / "other-home").exists()
    db = sqlite3.connect(copy, isolation_level=None)
    db.execute("DELETE FROM events WHERE seq > 2")
    db.execute("DELETE FROM checkpoints")
    db.close()
    code, _, err = run(capsys, "ledger", "verify", "--ledger", url, "--public-key", str(witness),
                       "--checkpoint-file", str(witness))
    assert code == 1 and "truncated below checkpoint 4" in err


def test_query_and_export(fresh_home: StateDir, capsys: pytest.CaptureFixture[str],
                          tmp_path: Path) -> None:
    for session, kind in (("a", "llm.request"), ("b", "llm.request"), ("a", "tool.call")):
        run(capsys, "ledger", "append", "--kind", kind, "--json", "{}", "--session", session)
    code, out, _ = run(capsys, "ledger", "query", "--session", "a", "--format", "jsonl")
    assert code == 0 and [json.loads(x)["seq"] for x in out.splitlines()] == [1, 3]
    code, out, _ = run(capsys, "ledger", "query", "--kind", "llm.request", "--since", "1h")
    assert code == 0 and len(out.splitlines()) == 3 and "llm.request" in out
    assert out.splitlines()[0].split()[:2] == ["SEQ", "TIME"]
    code, out, _ = run(capsys, "ledger", "query", "--since", "2999-01-01T00:00:00Z")
    assert (code, out) == (0, "")
    code, _, err = run(capsys, "ledger", "query", "--since", "yesterday-ish")
    assert code == 2 and "not a time" in err
    dest = tmp_path / "siem.jsonl"
    code, _, _ = run(capsys, "ledger", "export", "--format", "jsonl", "--out", str(dest))
    assert code == 0 and len(dest.read_text().splitlines()) == 3


def test_ledger_url_option_and_env(fresh_home: StateDir, capsys: pytest.CaptureFixture[str],
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'team' / 'ledger.db'}"
    assert run(capsys, "ledger", "append", "--ledger", url, "--kind", "a.b", "--json", "{}")[0] == 0
    assert (tmp_path / "team" / "ledger.db").exists()
    monkeypatch.setenv("STOCKADE_LEDGER", url)
    code, out, _ = run(capsys, "ledger", "tail")
    assert code == 0 and "a.b" in out
    assert not fresh_home.ledger_path.exists()


def test_bad_url_and_missing_ledger(fresh_home: StateDir,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ledger", "verify", "--ledger", "postgresql://db/x")
    assert code == 2 and "not supported" in err and "sqlite:///" in err
    code, _, err = run(capsys, "ledger", "tail")
    assert code == 3 and "no ledger" in err and "stockade init" in err
