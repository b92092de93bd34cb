"""The hooks' dependency seam with the real checks: the policy's actions,
reasons that name package and check, ledger events, fail-closed answers and
a cheap import.  The registry is a fake over a real socket."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deps"))

from fake_registry import FakeRegistry, serve

from stockade.hooks.depcheck import InstallVerdict, check_install


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRegistry]:
    home = tmp_path / "home"
    home.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.chdir(ws)
    with serve() as reg:
        env = {"HOME": str(home), "STOCKADE_HOME": str(tmp_path / "state"),
               "XDG_CONFIG_HOME": str(home / ".config"), "STOCKADE_DEPS_TIMEOUT": "1",
               **reg.env()}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        for k in ("STOCKADE_DEPS_OFFLINE", "STOCKADE_POLICY", "STOCKADE_MANAGED_POLICY",
                  "STOCKADE_LEDGER"):
            monkeypatch.delenv(k, raising=False)
        reg.add_pypi("seasoned-pkg", days_old=900)
        reg.add_pypi("fresh-pkg", days_old=2)
        reg.add_npm("hooky", scripts={"postinstall": "node x.js"})
        reg.add_npm("@types/node")
        yield reg


@pytest.mark.parametrize(("eco", "pkgs", "action", "rule", "named"), [
    ("pypi", ("requests==2.32",), "allow", "deps.allowed", "requests"),
    ("pypi", ("seasoned-pkg",), "allow", "deps.allowed", "seasoned-pkg"),
    ("pypi", ("reqeusts",), "deny", "deps.typosquat", "reqeusts"),
    ("pypi", ("no-such-pkg-zz",), "deny", "deps.nonexistent", "no-such-pkg-zz"),
    ("pypi", ("fresh-pkg",), "warn", "deps.new", "fresh-pkg"),
    ("npm", ("hooky",), "warn", "deps.install_scripts", "hooky"),
    ("npm", ("@types/node", "@typ3s/node"), "deny", "deps.typosquat", "@typ3s/node"),
    ("rubygems", ("rails",), "ask", "deps.unverifiable", "rails"),
    ("pypi", (), "allow", "deps.unchecked", "manifest"),
])
def test_the_policy_decides_installs(registry: FakeRegistry, eco: str, pkgs: tuple[str, ...],
                                     action: str, rule: str, named: str) -> None:
    v = check_install(eco, pkgs)
    assert (v.action, v.rule_id) == (action, rule)
    assert named in v.reason
    if action != "allow":
        assert rule in v.reason


def test_the_worst_package_decides_and_every_one_is_named(registry: FakeRegistry) -> None:
    v = check_install("pypi", ("requests", "colourama", "jeIlyfish"))
    assert v.action == "deny"
    assert "colourama" in v.reason and "jeIlyfish" in v.reason and "requests`" not in v.reason


def test_offline_an_unknown_package_needs_approval(registry: FakeRegistry,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKADE_DEPS_OFFLINE", "1")
    v = check_install("pypi", ("seasoned-pkg",))
    assert (v.action, v.rule_id) == ("ask", "deps.unverifiable")
    assert check_install("pypi", ("requests",)).action == "allow"
    assert registry.requests == []


def test_a_broken_registry_is_never_an_allow(registry: FakeRegistry) -> None:
    registry.add_pypi("flappy-zz")
    registry.broken.add("flappy-zz")
    v = check_install("pypi", ("flappy-zz",))
    assert (v.action, v.rule_id) == ("ask", "deps.unverifiable")


def test_verdicts_are_spooled_for_the_ledger(registry: FakeRegistry, tmp_path: Path) -> None:
    check_install("pypi", ("reqeusts==1.0", "requests"))
    spool = tmp_path / "state" / "hook-spool"
    events = [json.loads(p.read_text()) for p in sorted(spool.iterdir())]
    assert [(e["kind"], e["decision"], e["details"]["package"]) for e in events] == \
        [("deps.check", "deny", "reqeusts"), ("deps.check", "allow", "requests")]
    d = events[0]["details"]
    assert (d["ecosystem"], d["version"], d["via"]) == ("pypi", "1.0", "hook")
    assert d["reason_codes"] == ["deps.typosquat", "deps.nonexistent"]
    from stockade.hooks import deps, journal

    settings = deps.LedgerSettings(None, "none", "process", 1000)
    assert journal.drain(settings) == 2


def test_a_bash_install_is_refused_through_the_hook(registry: FakeRegistry,
                                                    tmp_path: Path) -> None:
    from hooks_fixtures import make_policy

    from stockade.hooks.protocol import HookInput
    from stockade.hooks.rules import pre_tool_use

    policy = make_policy(tmp_path / "home", tmp_path / "ws")
    inp = HookInput("claude-code", "PreToolUse", "s", "t", "Bash",
                    {"command": "pip install --quiet colourama && echo ok"}, None, None,
                    str(tmp_path / "ws"), None)
    verdict = pre_tool_use(inp, policy, env={})
    assert verdict.action == "deny"
    assert "deps.typosquat" in verdict.rule_ids and "colourama" in verdict.reason


def test_the_hook_imports_the_guard_only_for_installs() -> None:
    code = ("import sys; import stockade.hooks.rules; from stockade.hooks.depcheck import "
            "check_install; print('stockade.deps' in sys.modules, 'yaml' in sys.modules, "
            "'sqlite3' in sys.modules, 'urllib.request' in sys.modules); "
            "print(check_install('pypi', ()).rule_id, 'stockade.deps' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert proc.stdout.split() == ["False", "False", "False", "False", "deps.unchecked", "False"]


def test_an_install_verdict_keeps_its_fields() -> None:
    # rules.py, shellrules.py and `stockade history` build and read these
    assert InstallVerdict._fields == ("action", "reason", "rule_id")
    assert InstallVerdict("allow").rule_id == "deps.allowed"


def test_check_packages_names_its_caller_or_records_nothing(registry: FakeRegistry,
                                                            tmp_path: Path) -> None:
    from stockade.hooks.depcheck import check_packages

    spool = tmp_path / "state" / "hook-spool"
    v = check_packages("pypi", ("colourama",), record=False)
    assert v.action == "deny" and not spool.exists()
    check_packages("pypi", ("colourama",), via="history")
    (event,) = [json.loads(p.read_text()) for p in spool.iterdir()]
    assert event["details"]["via"] == "history"


def test_the_hook_process_refuses_a_typosquat(registry: FakeRegistry, tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k.startswith(("STOCKADE_", "XDG_"))}
    env.update(PATH="/usr/bin:/bin", HOME=str(tmp_path / "home"), STOCKADE_HOOK_SYNC="1")
    ws = tmp_path / "ws"
    code = ("import sys; from stockade.commands.hook import main_fast; "
            "sys.exit(main_fast(['claude-code', '--workspace', sys.argv[1]]))")

    def hook(command: str) -> dict[str, str]:
        payload = {"session_id": "s", "cwd": str(ws), "hook_event_name": "PreToolUse",
                   "tool_name": "Bash", "tool_input": {"command": command},
                   "tool_use_id": "toolu_x"}
        proc = subprocess.run([sys.executable, "-c", code, str(ws)], env=env, cwd=ws, timeout=60,
                              input=json.dumps(payload).encode(), capture_output=True,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        out: dict[str, str] = json.loads(proc.stdout or b"{}").get("hookSpecificOutput") or {}
        return out

    refused = hook("pip install colourama")
    assert refused["permissionDecision"] == "deny"
    assert "colourama" in refused["permissionDecisionReason"]
    assert "deps.typosquat" in refused["permissionDecisionReason"]
    allowed = hook("pip install seasoned-pkg")
    assert allowed.get("permissionDecision", "allow") == "allow"
    # the verdicts reach the ledger with the hook's own events
    q = subprocess.run([sys.executable, "-m", "stockade", "ledger", "query", "--kind",
                        "deps.check", "--format", "jsonl"], env=env, cwd=ws, timeout=60,
                       capture_output=True, text=True, check=False)
    assert q.returncode == 0, q.stderr
    got = [json.loads(x) for x in q.stdout.splitlines() if x.strip()]
    assert [(e["details"]["package"], e["decision"], e["details"]["via"]) for e in got] == \
        [("colourama", "deny", "hook"), ("seasoned-pkg", "allow", "hook")]
