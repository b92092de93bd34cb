"""Sessions of `stockade run` create and revoke their per-session keys at the
same time.  Regression: the key file was read, changed and rewritten without
a lock, so a concurrent create could write back a file from before a revoke
and leave a revoked key valid."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from stockade.gateway.keys import create_key, list_keys, revoke_key
from stockade.state import StateDir


def _churn(root: str, n: int) -> None:
    state = StateDir(Path(root))
    for i in range(n):
        _, rec = create_key(state, user=f"u{i}", team=None)
        revoke_key(state, rec.id)


def test_no_revoke_is_lost_when_sessions_race(tmp_path: Path) -> None:
    root = tmp_path / "state"
    StateDir(root).ensure()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_churn, args=(str(root), 15)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    keys = list_keys(StateDir(root))
    assert len(keys) == 6 * 15
    assert [k.id for k in keys if k.revoked is None] == []
