"""Fixtures for the ledger tests: every test gets its own STOCKADE_HOME."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.ledger import Ledger, open_ledger
from stockade.state import StateDir


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateDir:
    root = tmp_path / "home"
    monkeypatch.setenv("STOCKADE_HOME", str(root))
    monkeypatch.delenv("STOCKADE_LEDGER", raising=False)
    return StateDir(root).ensure()


@pytest.fixture()
def ledger(home: StateDir) -> Iterator[Ledger]:
    with open_ledger(state=home, checkpoint_every=10) as led:
        yield led
