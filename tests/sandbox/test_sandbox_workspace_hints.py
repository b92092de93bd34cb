"""`stockade run` from the wrong place says what is wrong and what to do: from
`/` it names the workspace (not the built-in policy's filesystem.write), a
missing --workspace gets a hint.  Real bubblewrap on the path."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

Stockade = Callable[..., subprocess.CompletedProcess[str]]


def test_run_from_the_root_directory_blames_the_workspace(stockade: Stockade) -> None:
    r = stockade("run", "--", "true", cwd=Path("/"))
    assert r.returncode == 2
    assert "refusing to use / as the workspace: it is the root directory" in r.stderr
    assert "hint: cd to the project directory first" in r.stderr
    assert "built-in default" not in r.stderr and "filesystem.write" not in r.stderr


def test_a_missing_workspace_gets_a_hint(stockade: Stockade, tmp_path: Path) -> None:
    r = stockade("run", "--workspace", str(tmp_path / "nope"), "--", "true", cwd=tmp_path)
    assert r.returncode == 2
    assert f"workspace {tmp_path / 'nope'} is not a directory" in r.stderr
    assert "hint: pass --workspace an existing project directory" in r.stderr
