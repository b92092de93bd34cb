"""`ledger append` refuses details the DLP engine flags (UX review item 1).

The ledger is append-only and exported to SIEMs: a secret recorded there can
never be taken back, so the command refuses with the rule, the JSON path and
a masked preview, and the value appears nowhere."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from stockade import cli
from stockade.dlp.fakes import sample
from stockade.errors import EXIT_FOUND


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.delenv("STOCKADE_LEDGER", raising=False)
    monkeypatch.chdir(tmp_path)


def _export(capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["ledger", "export"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("rule_id", "where", "build"), [
    ("anthropic_api_key", "$.token", lambda v: {"token": v}),
    ("aws_access_key_id", "$.deploy.keys[1]", lambda v: {"deploy": {"keys": ["x", v]}}),
    ("github_pat_classic", "$.note", lambda v: {"note": f"pushed with {v} today"}),
])
def test_append_refuses_a_secret_in_details(
    rule_id: str, where: str, build: object, capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["ledger", "append", "--kind", "test.ok", "--json", "{}"]) == 0
    capsys.readouterr()
    value = sample(rule_id, random.Random(rule_id)).value
    details = build(value)  # type: ignore[operator]
    rc = cli.main(["ledger", "append", "--kind", "test.event", "--json", json.dumps(details)])
    out = capsys.readouterr()
    assert rc == EXIT_FOUND
    assert f"{rule_id} at {where}" in out.err
    assert value not in out.out + out.err
    exported = _export(capsys)
    assert value not in exported and "test.event" not in exported


def test_append_refuses_a_secret_in_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    value = sample("anthropic_api_key", random.Random(3)).value
    rc = cli.main(["ledger", "append", "--kind", "test.event", "--session", value,
                   "--json", "{}"])
    out = capsys.readouterr()
    assert rc == EXIT_FOUND and "at --session" in out.err
    assert value not in out.out + out.err


def test_a_secret_key_name_is_masked_in_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    value = sample("aws_access_key_id", random.Random(5)).value
    rc = cli.main(["ledger", "append", "--kind", "test.event", "--json",
                   json.dumps({value: "x"})])
    out = capsys.readouterr()
    assert rc == EXIT_FOUND
    assert value not in out.out + out.err


def test_clean_details_are_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["ledger", "append", "--kind", "deploy.start", "--json",
                   '{"target": "prod", "count": 3}'])
    assert rc == 0
    assert '"target":"prod"' in _export(capsys).replace(" ", "")
