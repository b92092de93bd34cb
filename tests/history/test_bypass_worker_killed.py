"""A pool worker killed by the kernel (out of memory) must end the audit
with a clear error, not hang it forever (multiprocessing.Pool's imap does)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from historyworld import build_world

from stockade.dlp import Engine
from stockade.errors import EnvironmentProblem
from stockade.history import audit as audit_mod
from stockade.history.discover import discover


def _killed(src: object) -> object:  # runs in the forked worker
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def test_a_killed_worker_is_an_error_not_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(tmp_path / "w", seed=5)
    sources = discover([str(world.alice), str(world.bob)], own_home=False,
                       agents=frozenset({"claude-code", "codex", "aider"}), since=None, env={}, skips=[])
    monkeypatch.setattr(audit_mod, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(audit_mod, "_work", _killed)
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            audit_mod.audit(sources, engine=Engine(), jobs=2)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(60)
    assert not t.is_alive(), "the audit hung after a worker was killed"
    [exc] = outcome
    assert isinstance(exc, EnvironmentProblem) and "--jobs 1" in (exc.hint or "")
