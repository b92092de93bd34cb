"""Bypass class: secrets on the command line reach the ledger.

``session.start`` records the command.  The old filter knew a few substrings
(``password=``, ``bearer ``) and long random tokens, so ``https://bob:pw@host``,
``--password pw``, ``curl -u admin:pw`` and ``postgres://app:pw@db`` were
stored as typed.  An argument is now redacted when the DLP engine flags it or
flags it together with the option before it, when it is a URL with a password,
or when it is the value of an option named like a credential.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from stockade.dlp import Engine
from stockade.sandbox.verdicts import REDACTED, redact_argv


def dlp(value: str) -> bool:
    return bool(Engine.default().scan(value))


def weak() -> str:
    """A short password: too plain for the DLP engine, still a credential."""
    return "pw" + secrets.token_hex(2)


def test_each_reported_form_is_redacted() -> None:
    pws = [weak() for _ in range(6)]
    argv = ["tool", f"https://bob:{pws[0]}@host", "--password", pws[1], "-u", f"admin:{pws[2]}",
            f"postgres://app:{pws[3]}@db", f"--db-password={pws[4]}", f"API_TOKEN={pws[5]}",
            "--verbose", "https://example.com/x", "-u", "admin"]
    out = redact_argv(argv, looks_secret=dlp)
    for pw in pws:
        assert pw not in " ".join(out), pw
    assert out[0] == "tool" and out[2] == "--password" and out[4] == "-u"
    assert out[-4:] == ["--verbose", "https://example.com/x", "-u", "admin"]


def test_dlp_engine_judges_an_argument_together_with_its_option() -> None:
    pw = secrets.token_urlsafe(12)
    out = redact_argv(["redis-server", "--requirepass", pw], looks_secret=dlp)
    assert out == ["redis-server", "--requirepass", REDACTED]


def test_an_argument_that_cannot_be_judged_is_not_recorded() -> None:
    def broken(value: str) -> bool:
        raise RuntimeError("engine failed")

    assert redact_argv(["git", "status"], looks_secret=broken) == ["git", REDACTED]


@pytest.mark.e2e
def test_ledger_and_debug_output_never_hold_command_line_secrets(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    pws = [weak() for _ in range(4)]
    r = stockade("run", "--", "true", f"https://bob:{pws[0]}@host", "--password", pws[1],
                 "-u", f"admin:{pws[2]}", f"postgres://app:{pws[3]}@db", cwd=ws,
                 env={"STOCKADE_DEBUG": "1"})
    assert r.returncode == 0, r.stderr
    export = stockade("ledger", "export", cwd=ws)
    assert export.returncode == 0, export.stderr
    assert '"--password"' in export.stdout  # the command is recorded, its secrets are not
    for pw in pws:
        assert pw not in export.stdout
        assert pw not in r.stderr  # STOCKADE_DEBUG prints the recorded form
