"""Real agent CLIs for end-to-end tests.

They are installed by ``tests/e2e/install_agents.sh`` into ``<repo>/.e2e/``
(or ``$STOCKADE_E2E_DIR``).  Absent, the tests that need them are skipped with
the reason; under CI (``$CI`` set) absence is a failure, so a broken install
cannot pass silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))  # the scripted upstream: tests/fakes
E2E_DIR = Path(os.environ.get("STOCKADE_E2E_DIR", REPO / ".e2e"))

AGENTS = {
    "claude": E2E_DIR / "node_modules" / ".bin" / "claude",
    "codex": E2E_DIR / "node_modules" / ".bin" / "codex",
    "aider": E2E_DIR / "aider-venv" / "bin" / "aider",
}


def agent_path(name: str) -> Path:
    """The installed CLI, or skip (fail under CI) saying how to install it."""
    path = AGENTS[name]
    if path.exists():
        return path
    reason = (f"{name} is not installed at {path}; run tests/e2e/install_agents.sh")
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set: e2e agents must be installed)")
    pytest.skip(reason)


@pytest.fixture
def claude_bin() -> Path:
    return agent_path("claude")


@pytest.fixture
def codex_bin() -> Path:
    return agent_path("codex")


@pytest.fixture
def aider_bin() -> Path:
    return agent_path("aider")


# -- the gateway, as users start it ---------------------------------------------------


RUN_CLI = ("import sys; from stockade import cli; "
           "cli.COMMANDS.setdefault('gateway', ('stockade.commands.gateway', 'gateway')); "
           "cli.COMMANDS.setdefault('ledger', ('stockade.commands.ledger', 'ledger')); "
           "sys.exit(cli.main(sys.argv[1:]))")


@contextmanager
def gateway(tmp: Path, *upstreams: str, policy: str | None = None) -> Iterator[str]:
    """Yields the gateway's base URL; the state (ledger) lives in ``tmp/state``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "STOCKADE_POLICY",
                        "STOCKADE_MANAGED_POLICY")}
    env["STOCKADE_HOME"] = str(tmp / "state")
    env["XDG_CONFIG_HOME"] = str(tmp / "xdg")
    argv = [sys.executable, "-c", RUN_CLI, "gateway", "--listen", "127.0.0.1:0",
            "--workspace", str(tmp)]
    for up in upstreams:
        argv += ["--upstream", up]
    if policy is not None:
        pf = tmp / "policy.yaml"
        pf.write_text(policy)
        argv += ["--policy", str(pf)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        url = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            proc.kill()
            raise AssertionError("gateway did not start: " + (proc.stderr.read() if proc.stderr else ""))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def agent_env(home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment: nothing of the developer's leaks into the agent."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def ledger_events(tmp: Path, kind: str | None = None) -> list[dict]:  # type: ignore[type-arg]
    """Events the gateway recorded in the ledger under ``tmp/state``."""
    from stockade.ledger import open_ledger
    from stockade.state import StateDir

    with open_ledger(state=StateDir(tmp / "state"), create=False) as led:
        return [e.to_dict() for e in led.query(kind=kind)]


@pytest.fixture
def run_gateway():  # type: ignore[no-untyped-def]
    """``with run_gateway(tmp_path, "anthropic=URL", policy=...) as base_url:``"""
    return gateway


@pytest.fixture
def read_ledger():  # type: ignore[no-untyped-def]
    """``read_ledger(tmp_path, kind=None) -> [event dicts]``"""
    return ledger_events


@pytest.fixture
def make_agent_env():  # type: ignore[no-untyped-def]
    """``make_agent_env(home, VAR=value...) -> env``"""
    return agent_env
