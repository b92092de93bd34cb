"""Bypass class: the session's gateway imports code the agent wrote.

The per-session gateway runs outside the sandbox with the user's whole
environment (the vendor keys).  It was started as ``python -m stockade
gateway`` with the workspace as its current directory, and ``-m`` puts the
current directory first on ``sys.path``: a ``stockade/`` package the agent
writes into the workspace, then one connection to 127.0.0.1:3129, and the
agent's code ran on the host (verified: it wrote outside the sandbox and saw
``ANTHROPIC_API_KEY``).  Now the gateway runs with ``-P`` from its own
private folder.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_a_stockade_package_in_the_workspace_never_runs_outside(tmp_path: Path,
                                                                stockade_wrapper: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    marker = tmp_path / "ESCAPED"  # outside the workspace: only the host can write it
    payload = (f"import os\nopen({str(marker)!r}, 'w').write(str('ANTHROPIC_API_KEY' in "
               "os.environ))\n")
    agent = ("mkdir -p stockade && cat > stockade/__init__.py && cp stockade/__init__.py "
             "stockade/__main__.py && curl -s -m 20 -o /dev/null http://127.0.0.1:3129/v1/models;"
             " echo done")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "STOCKADE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "c"),
           "ANTHROPIC_API_KEY": "vendor-" + secrets.token_hex(12)}
    # the console script, as a user runs it (`python -m stockade` from the
    # workspace would import the planted package into the launcher itself)
    r = subprocess.run([str(stockade_wrapper), "run", "--", "sh", "-c", agent], cwd=ws, env=env,
                       input=payload, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "done" in r.stdout
    assert (ws / "stockade" / "__init__.py").exists()  # the agent did plant it
    assert not marker.exists(), "the agent's code ran outside the sandbox"
    assert "did not start" not in r.stderr  # the real gateway started
