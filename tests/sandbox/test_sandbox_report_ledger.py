"""`stockade report` reads the ledger `stockade run` wrote to: the policy's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_report_follows_the_policy_ledger_url(stockade, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    db = tmp_path / "elsewhere" / "ledger.db"
    db.parent.mkdir()
    user_policy = stockade.home / ".config" / "stockade" / "policy.yaml"
    user_policy.parent.mkdir(parents=True)
    user_policy.write_text(f"version: 1\nledger:\n  url: sqlite:///{db}\n")
    r = stockade("run", "--", "true", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert db.exists()
    rep = stockade("report", "egress", "--json", cwd=ws)
    assert rep.returncode == 0, rep.stderr
    assert json.loads(rep.stdout)["mode"] == "enforce"
    # an explicit --ledger still wins (the state directory's has no session)
    other = stockade("report", "egress", "--ledger", f"sqlite:///{tmp_path / 'state' / 'ledger.db'}",
                     cwd=ws)
    assert other.returncode != 0
