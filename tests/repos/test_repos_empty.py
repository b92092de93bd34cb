"""`stockade repos scan DIR` where DIR holds no git repository says so, instead of
an empty table that reads like "0 repositories, all clean"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "me"),
            "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config")}


def _scan(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stockade", "repos", "scan", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_no_repositories_is_said_in_words(tmp_path: Path, env: dict[str, str]) -> None:
    empty = tmp_path / "plain"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "notes.txt").write_text("nothing here\n")
    r = _scan(str(empty), env=env)
    assert r.returncode == 0
    assert f"no git repositories under {empty}" in r.stdout
    assert "hint:" in r.stdout
    assert "REPOSITORY" not in r.stdout  # no empty table


def test_json_output_stays_machine_readable_when_empty(tmp_path: Path,
                                                       env: dict[str, str]) -> None:
    (tmp_path / "plain").mkdir()
    r = _scan(str(tmp_path / "plain"), "--format", "json", env=env)
    assert r.returncode == 0
    assert json.loads(r.stdout)["repositories"] == []
