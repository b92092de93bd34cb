"""First-use output of ledger/keys/policy/cli (UX review items 5, 20, 21, 22, 23)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade import cli
from stockade.errors import EXIT_USAGE


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.delenv("STOCKADE_LEDGER", raising=False)
    monkeypatch.chdir(tmp_path)


def _append(capsys: pytest.CaptureFixture[str], n: int) -> None:
    for i in range(n):
        assert cli.main(["ledger", "append", "--kind", "test.event", "--json",
                         json.dumps({"i": i})]) == 0
    capsys.readouterr()


def test_unknown_top_level_option_says_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--bogus"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown option '--bogus'" in err and "unknown command" not in err


def test_verify_says_what_the_checkpoint_covers(capsys: pytest.CaptureFixture[str]) -> None:
    _append(capsys, 1)
    assert cli.main(["ledger", "checkpoint"]) == 0
    _append(capsys, 3)
    assert cli.main(["ledger", "verify"]) == 0
    out = capsys.readouterr().out
    assert "signed checkpoint covers events 1-1" in out
    assert "not yet anchored: 3 later events (2-4)" in out
    assert cli.main(["ledger", "checkpoint"]) == 0
    assert cli.main(["ledger", "verify"]) == 0
    out = capsys.readouterr().out
    assert "covers events 1-4" in out and "not yet anchored" not in out


def test_tail_and_query_table_has_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    _append(capsys, 2)
    for argv in (["ledger", "tail"], ["ledger", "query", "--kind", "test.event"]):
        assert cli.main(argv) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split()[:3] == ["SEQ", "TIME", "SESSION"]
        assert len(lines) == 3


def test_empty_query_says_no_events_match(capsys: pytest.CaptureFixture[str]) -> None:
    _append(capsys, 1)
    assert cli.main(["ledger", "query", "--kind", "nosuch"]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "no events match" in out.err


@pytest.mark.parametrize("argv", [["--format", "json"], ["--json"]])
def test_tail_and_query_accept_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _append(capsys, 2)
    assert cli.main(["ledger", "tail", *argv]) == 0
    assert [e["details"]["i"] for e in json.loads(capsys.readouterr().out)] == [0, 1]
    assert cli.main(["ledger", "query", "--kind", "nosuch", *argv]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_jsonl_still_works(capsys: pytest.CaptureFixture[str]) -> None:
    _append(capsys, 2)
    assert cli.main(["ledger", "query", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["details"]["i"] for x in lines] == [0, 1]


def test_keys_list_has_a_header_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["keys", "list"]) == 0
    assert "no keys" in capsys.readouterr().err
    assert cli.main(["keys", "create", "--user", "ana", "--team", "red"]) == 0
    capsys.readouterr()
    assert cli.main(["keys", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "USER", "TEAM", "CREATED", "STATUS"]
    assert "ana" in lines[1]
    for argv in (["--json"], ["--format", "json"]):
        assert cli.main(["keys", "list", *argv]) == 0
        assert json.loads(capsys.readouterr().out)[0]["user"] == "ana"


@pytest.mark.parametrize(("argv", "needle"), [
    (["ledger", "verify"], "signed checkpoint covers"),
    (["ledger", "append"], "refused"),
    (["ledger", "tail"], "oldest first"),
    (["ledger", "query"], "must match"),
    (["ledger", "export"], "JSON lines"),
    (["keys", "create"], "the user's team"),
    (["policy", "show"], "--workspace DIR"),
    (["policy", "check"], "--workspace DIR"),
])
def test_subcommands_have_help(argv: list[str], needle: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main([*argv, "--help"])
    assert needle in " ".join(capsys.readouterr().out.split())


def test_init_next_steps_name_an_explicit_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """UX item 11: the next-step lines must read the ledger init just made."""
    url = f"sqlite:///{tmp_path / 'x' / 'l.db'}"
    (tmp_path / "x").mkdir()
    assert cli.main(["init", "--ledger", url]) == 0
    out = capsys.readouterr().out
    assert f"stockade ledger tail --ledger {url}" in out
    assert f"stockade ledger verify --ledger {url}" in out
    assert cli.main(["init"]) == 0
    assert "--ledger" not in capsys.readouterr().out
