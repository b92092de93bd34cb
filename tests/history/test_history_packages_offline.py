"""`stockade history` judges the installs of past sessions offline unless
`--online` is given, says which in its output, and records the verdicts in
its own `history.run` event: never through the hook spool as "stockade hook"."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deps"))

from fake_registry import FakeRegistry, serve  # noqa: E402
from fakehome import ClaudeSession, Clock  # noqa: E402


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with serve() as reg:
        reg.add_pypi("tidy-widgets", days_old=900)
        yield reg


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "alice"
    s = ClaudeSession(h, "/work/alice/proj", clock=Clock(datetime.now(UTC)),
                      rng=random.Random(3))
    s.prompt("add the widgets package")
    s.tool("Bash", {"command": "pip install tidy-widgets"}, "Successfully installed")
    s.tool("Bash", {"command": "pip install flsk"}, "Successfully installed")
    s.write()
    return h


def _history(home: Path, env: dict[str, str], *extra: str) -> dict[str, Any]:
    r = subprocess.run([sys.executable, "-m", "stockade", "history", "--home", str(home),
                        "--format", "json", *extra], env=env, capture_output=True, text=True,
                       timeout=120, check=False)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def _verdicts(data: dict[str, Any]) -> dict[str, str]:
    return {a["packages"][0]: a["verdict"] for a in data["actions"] if a["kind"] == "package"}


def _events(env: dict[str, str]) -> list[dict[str, Any]]:
    r = subprocess.run([sys.executable, "-m", "stockade", "ledger", "query", "--format", "jsonl"],
                       env=env, capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]


@pytest.fixture
def env(cli_env: dict[str, str], registry: FakeRegistry) -> dict[str, str]:
    e = {**cli_env, **registry.env(), "STOCKADE_DEPS_TIMEOUT": "2"}
    e.pop("STOCKADE_DEPS_OFFLINE")  # the default must be offline on its own
    return e


def test_offline_by_default_and_said_so(home: Path, env: dict[str, str],
                                        registry: FakeRegistry) -> None:
    data = _history(home, env)
    assert registry.requests == []  # no package name left the machine
    verdicts = _verdicts(data)
    assert verdicts["flsk"] == "block"  # the bundled typosquat list works offline
    assert verdicts["tidy-widgets"] == "ask"  # never looked up: unverifiable
    assert data["stats"]["packages_online"] is False
    table = subprocess.run([sys.executable, "-m", "stockade", "history", "--home", str(home)],
                           env=env, capture_output=True, text=True, timeout=120, check=False)
    assert "verdicts offline" in table.stdout and "--online" in table.stdout


def test_online_asks_the_registry(home: Path, env: dict[str, str],
                                  registry: FakeRegistry) -> None:
    data = _history(home, env, "--online")
    assert any("tidy-widgets" in p for p in registry.requests)
    assert _verdicts(data)["tidy-widgets"] == "allow"
    assert data["stats"]["packages_online"] is True


def test_verdicts_go_into_the_history_run_event_not_the_hook_spool(
        home: Path, env: dict[str, str]) -> None:
    _history(home, env)
    state = Path(env["STOCKADE_HOME"])
    spool = state / "hook-spool"
    assert not spool.exists() or not any(spool.iterdir())
    events = _events(env)
    kinds = [e["kind"] for e in events]
    assert "deps.check" not in kinds
    run = next(e for e in events if e["kind"] == "history.run")
    pk = run["details"]["packages"]
    assert pk["online"] is False and pk["checked"] == 2
    assert pk["by_verdict"] == {"ask": 1, "block": 1}
    assert all("stockade hook" not in json.dumps(e["actor"]) for e in events)
