"""Fixtures for the dependency guard: a fake registry over a real socket,
an isolated state directory, and the environment that points stockade at
both."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_registry import FakeRegistry, serve


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with serve() as reg:
        yield reg


@pytest.fixture
def deps_env(tmp_path: Path, registry: FakeRegistry,
             monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """os.environ (patched) and a dict for subprocesses: state in tmp, the
    fake registry, no policy but the built-in one."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "STOCKADE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(home / ".config"), "STOCKADE_DEPS_TIMEOUT": "1",
           **registry.env()}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in ("STOCKADE_DEPS_OFFLINE", "STOCKADE_POLICY", "STOCKADE_LEDGER",
              "STOCKADE_MANAGED_POLICY"):
        monkeypatch.delenv(k, raising=False)
    full = {k: v for k, v in os.environ.items() if not k.startswith("STOCKADE_")}
    full.update(env)
    return full
