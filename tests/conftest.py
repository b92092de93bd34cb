"""Shared set-up for tests that run the real `stockade run` under bubblewrap
(tests/sandbox and tests/redteam)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

WRAPPER = """import sys
from stockade.cli import main
sys.exit(main())
"""


def need_bwrap() -> str:
    """bubblewrap's path; skips (fails in CI) when it is missing or cannot run."""
    path = shutil.which("bwrap") or ("/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("bubblewrap is required in CI: apt-get install bubblewrap")
        pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    probe = subprocess.run([path, "--unshare-user", "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"bubblewrap cannot create a user namespace here: {probe.stderr.strip()}")
        pytest.skip(f"bubblewrap cannot create a user namespace here: {probe.stderr.strip()}")
    return path


Stockade = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def stockade(tmp_path: Path) -> Stockade:
    """``stockade(*args, cwd=, env=)`` runs the CLI in a fresh HOME and state dir."""
    need_bwrap()
    home = tmp_path / "home"
    home.mkdir()
    base_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
        "STOCKADE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full = dict(base_env, **(env or {}))
        return subprocess.run([sys.executable, "-m", "stockade", *args], cwd=cwd, env=full,
                              capture_output=True, text=True, timeout=timeout)

    run.home = home  # type: ignore[attr-defined]
    return run


@pytest.fixture
def stockade_wrapper(tmp_path: Path) -> Path:
    """An executable `stockade` for tools (the red-team harness) that take a command line."""
    need_bwrap()
    wrapper = tmp_path / "stockade"
    wrapper.write_text(f"#!{sys.executable}\n" + WRAPPER)
    wrapper.chmod(0o755)
    return wrapper


def fake_agent(ws: Path, script: str, name: str = "claude") -> str:
    """An executable shell ``script`` in ``ws`` named like an agent (the
    preset is chosen by the command's name); returns the command to run."""
    agent = ws / name
    agent.write_text("#!/bin/sh\n" + script)
    agent.chmod(0o755)
    return f"./{name}"


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded once ``code`` has run: no
    site (-S), so nothing but ``code`` and the interpreter's own start-up
    counts; this process's sys.path, so the same stockade is found."""
    import ast

    script = code + "\nimport sys\nprint(repr(sorted(sys.modules)))\n"
    r = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True,
                       check=False, timeout=60,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert r.returncode == 0, r.stderr
    return set(ast.literal_eval(r.stdout.strip().splitlines()[-1]))
