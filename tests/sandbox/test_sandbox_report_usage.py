"""A bare `stockade report` says what to run, instead of argparse's
"the following arguments are required: what"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_bare_report_names_the_command_to_run(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "STOCKADE_HOME": str(tmp_path / "s")}
    r = subprocess.run([sys.executable, "-m", "stockade", "report"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "hint: stockade report egress [SESSION]" in r.stderr
    assert "arguments are required" not in r.stderr
    assert not (tmp_path / "s").exists()  # no ledger opened (or created) to say so
