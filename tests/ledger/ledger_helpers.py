"""Helpers shared by the ledger tests (a unique name: conftest.py is not importable)."""

from __future__ import annotations

import sqlite3

from stockade.ledger import Ledger
from stockade.state import StateDir


def fill(led: Ledger, n: int, *, session: str = "s1") -> None:
    for i in range(n):
        led.append("tool.call", details={"tool": "Bash", "n": i, "note": "abcdef"},
                   session=session, decision="allow")


def raw_db(home: StateDir) -> sqlite3.Connection:
    """A plain connection, as an attacker with write access to the file would use."""
    return sqlite3.connect(home.ledger_path, isolation_level=None)
