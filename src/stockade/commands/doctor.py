"""`stockade doctor`: what is installed where, and does the hook work.

Lists stockade's hooks in every Claude Code and Codex settings file, loads
the policy, drains the ledger spool, and runs the installed hook command on
two made-up tool calls (one it must refuse, one it must let through).
Exit 0 when everything works, 1 when something does not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from typing import Any

_PASS = "ok  "
_FAIL = "FAIL"
_NOTE = "note"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="DIR", default=None,
                        help="project to check (default: current directory)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    project = os.path.abspath(args.project or os.getcwd())
    checks: list[dict[str, Any]] = []

    def add(status: str, what: str, detail: str = "") -> None:
        checks.append({"status": status.strip(), "check": what, "detail": detail})

    commands = _installed(project, add)
    _policy(project, add)
    _ledger(project, add)
    if not commands:
        from stockade.hooks.install import hook_command

        commands = {hook_command("claude-code"): "claude-code"}
        add(_NOTE, "self-test", "no hooks installed; testing this interpreter's hook command")
    for cmd, client in commands.items():
        _self_test(cmd, client, project, add)
    failed = any(c["status"] == _FAIL for c in checks)
    if args.json:
        print(json.dumps({"ok": not failed, "checks": checks}, indent=2))
    else:
        for c in checks:
            line = f"{c['status']:<4}  {c['check']}"
            if c["detail"]:
                line += f": {c['detail']}"
            print(line)
        print("stockade doctor: " + ("everything works" if not failed else "problems found"))
    return 1 if failed else 0


def _installed(project: str, add: Any) -> dict[str, str]:
    from stockade.errors import StockadeError
    from stockade.hooks import install as inst

    found: dict[str, str] = {}
    targets = [inst.target_for("claude-code", s, project=project) for s in inst.SCOPES]
    targets.append(inst.target_for("codex", "user"))
    for t in targets:
        try:
            settings = inst.read_settings(t.path)
        except StockadeError as exc:
            add(_FAIL, t.describe(), exc.message)
            continue
        events = inst.installed_events(settings)
        if not events:
            add(_NOTE, t.describe(), "no stockade hooks" if t.path.exists() else "no file")
            continue
        wanted = inst.CLAUDE_EVENTS if t.client == "claude-code" else inst.CODEX_EVENTS
        missing = [e for e in wanted if e not in events]
        for group_list in settings["hooks"].values():
            for g in group_list if isinstance(group_list, list) else []:
                for h in g.get("hooks", []) if isinstance(g, dict) else []:
                    cmd = h.get("command") if isinstance(h, dict) else None
                    if isinstance(cmd, str) and inst.is_stockade_command(cmd):
                        found[inst.base_command(cmd)] = t.client
                        exe = inst.hook_argv(cmd)[0]
                        if not os.access(exe, os.X_OK):
                            add(_FAIL, t.describe(), f"hook interpreter {exe} is missing")
        status = _PASS if not missing else _FAIL
        detail = f"hooks for {', '.join(events)}"
        if missing:
            detail += f"; missing {', '.join(missing)} (run `stockade install {t.client}` again)"
        add(status, t.describe(), detail)
        if t.client == "codex":
            add(_NOTE, "codex hook trust", "Codex skips hooks you have not trusted: review them "
                "in `codex` with /hooks")
    return found


def _policy(project: str, add: Any) -> None:
    from stockade.errors import StockadeError
    from stockade.hooks import deps

    try:
        policy = deps.full_policy(workspace=project)
    except StockadeError as exc:
        add(_FAIL, "policy", exc.message)
        return
    layers = ", ".join(str(layer) for layer in policy.layers) or "built-in default"
    add(_PASS, "policy", f"{layers}; {policy.digest}")


def _ledger(project: str, add: Any) -> None:
    from stockade.errors import StockadeError
    from stockade.hooks import deps, journal

    try:
        loaded = deps.load(workspace=project, use_cache=False)
        n = journal.drain(loaded.ledger)
        add(_PASS, "ledger", f"writable; {n} spooled hook event(s) moved into it")
    except StockadeError as exc:
        add(_FAIL, "ledger", exc.message)
    except OSError as exc:
        add(_FAIL, "ledger", f"{exc.strerror}")
    left = journal.pending()
    if left:
        add(_FAIL, "ledger spool", f"{left} hook event(s) still waiting in {journal.spool_dir()}")


def _self_test(cmd: str, client: str, project: str, add: Any) -> None:
    home = os.path.expanduser("~")
    cases = [
        ("refuses reading ~/.ssh", f"cat {home}/.ssh/id_rsa", True),
        ("lets `ls` through", "ls", False),
    ]
    for label, command, must_deny in cases:
        payload = {"session_id": "stockade-doctor", "cwd": project,
                   "hook_event_name": "PreToolUse", "tool_name": "Bash",
                   "tool_input": {"command": command}, "tool_use_id": "doctor-self-test",
                   "transcript_path": ""}
        t0 = time.perf_counter()
        try:
            from stockade.hooks.install import hook_argv

            proc = subprocess.run(hook_argv(cmd), input=json.dumps(payload).encode(),
                                  capture_output=True, timeout=60, cwd=project, check=False,
                                  env={**os.environ, "STOCKADE_HOOK_SYNC": "1"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            add(_FAIL, f"self-test {client}: {label}", f"could not run the hook ({exc})")
            continue
        ms = (time.perf_counter() - t0) * 1000
        out = proc.stdout.decode("utf-8", "replace")
        denied = proc.returncode == 2 or '"deny"' in out
        ok = denied == must_deny and proc.returncode in (0, 2)
        detail = f"{'denied' if denied else 'allowed'} in {ms:.0f} ms"
        if not ok:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            detail += f" (exit {proc.returncode}{'; ' + err[-1][:200] if err else ''})"
        add(_PASS if ok else _FAIL, f"self-test {client}: {label}", detail)
