"""Fixtures for tests/history: the fake homes and a clean CLI environment
(helpers live in historyworld.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from historyworld import World, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("history"))


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment for the real CLI: own state dir and ledger, no registry."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "me"),
            "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "STOCKADE_DEPS_OFFLINE": "1"}
