"""Bypass class: no DLP engine, no inspection, but the agent still starts.

The launcher treated an engine that failed to import as "no verdict", so
environment values only the engine recognises (a card number, a custom
secret format) reached the agent.  Now ``stockade run`` refuses to start;
with ``--unsafe-no-sandbox`` it drops every value the engine would have had
to judge and records ``env_dlp: unavailable``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.errors import EXIT_ENVIRONMENT

pytestmark = pytest.mark.e2e

# The CLI with the engine module made unimportable, as in a broken install.
NO_ENGINE = ("import sys; sys.modules['stockade.dlp.engine'] = None; "
             "from stockade.cli import main; sys.exit(main(sys.argv[1:]))")


def card_number() -> str:
    """A Luhn-valid card number, made up here: only the DLP engine flags it."""
    digits = [4, 5, 3, 9] + [random.randint(0, 9) for _ in range(11)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def run_without_engine(tmp_path: Path, home: Path, *args: str, card: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "STOCKADE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "BILLING_REF": card}
    ws = tmp_path / "ws"
    ws.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-c", NO_ENGINE, *args], cwd=ws, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_sandbox_refuses_to_start_without_the_engine(stockade, tmp_path: Path) -> None:
    card = card_number()
    r = run_without_engine(tmp_path, stockade.home, "run", "--", "sh", "-c",
                           'echo "ran BILLING_REF=$BILLING_REF"', card=card)
    assert r.returncode == EXIT_ENVIRONMENT, r.stdout + r.stderr
    assert "DLP engine" in r.stderr
    assert "ran" not in r.stdout and card not in r.stdout + r.stderr


def test_unsafe_mode_drops_what_the_engine_would_judge_and_says_so(stockade, tmp_path: Path) -> None:
    card = card_number()
    r = run_without_engine(tmp_path, stockade.home, "run", "--unsafe-no-sandbox", "--", "sh", "-c",
                           'echo "ran BILLING_REF=$BILLING_REF"', card=card)
    assert r.returncode == 0, r.stderr
    assert "ran BILLING_REF=" in r.stdout and card not in r.stdout
    export = stockade("ledger", "export", cwd=tmp_path / "ws")
    start = next(json.loads(x) for x in export.stdout.splitlines() if '"session.start"' in x)
    assert start["details"]["env_dlp"] == "unavailable"
    assert "BILLING_REF" in start["details"]["env_dropped"]
