"""The shared red-team harness against `stockade run`: every attack contained,
every benign task working.  The harness lives beside the repository
(``../shared/redteam``, or ``$STOCKADE_REDTEAM_DIR``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("curl", "wget", "nc", "nslookup", "crontab", "git")


def harness() -> Path:
    d = Path(os.environ.get("STOCKADE_REDTEAM_DIR", REPO.parent / "shared" / "redteam"))
    h = d / "harness.py"
    if not h.is_file():
        pytest.skip(f"red-team harness not found at {h} (set STOCKADE_REDTEAM_DIR)")
    return h


def test_every_attack_contained_every_benign_task_works(tmp_path: Path, stockade_wrapper: Path) -> None:
    h = harness()
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        msg = f"tools the cases use are missing: {missing} (apt-get install curl wget " \
              "netcat-openbsd bind9-dnsutils cron git)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    wrapper = stockade_wrapper
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n")
    state = tmp_path / "state"
    wrap = (f"env STOCKADE_HOME={state} XDG_CACHE_HOME={state}/cache {wrapper} run "
            "--policy {policy} --")
    out = tmp_path / "result.json"
    base = tmp_path / "runs"
    r = subprocess.run([sys.executable, str(h), "--wrap", wrap, "--policy-template", str(policy),
                        "--base", str(base), "--json", str(out)],
                       capture_output=True, text=True, timeout=900, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    escaped = [f"{x['name']}: {x['evidence']}" for x in results if x["verdict"] == "escaped"]
    broken = [f"{x['name']}: {x['evidence']} {x['stderr_tail'][-300:]}"
              for x in results if x["verdict"] == "broken"]
    assert not escaped, escaped
    assert not broken, broken
    assert sum(x["verdict"] == "contained" for x in results) >= 24
