"""`stockade doctor`: what is installed where, and does the hook work.

Checks that `stockade run` can sandbox (bubblewrap, unprivileged user
namespaces), which agent CLIs it can find, lists stockade's hooks in every
Claude Code and Codex settings file, loads the policy, moves spooled hook
events into the ledger (and says how many), and runs the installed hook
command on two made-up tool calls (one it must refuse, one it must let
through).  The self-test runs against a throwaway state directory and
ledger, so it never adds events to the real one.
Exit 0 when everything works, 1 when something does not, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

# Agent CLIs `stockade run` has presets for, and others users run under it.
AGENT_CLIS = ("claude", "codex", "aider", "gemini")

_PASS = "ok  "
_FAIL = "FAIL"
_NOTE = "note"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="DIR", default=None,
                        help="project to check (default: current directory)")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="table (default) or json")
    parser.add_argument("--json", dest="format", action="store_const", const="json",
                        help="same as --format json")


def run(args: argparse.Namespace) -> int:
    from stockade.errors import UsageError

    project = os.path.abspath(args.project or os.getcwd())
    if not os.path.isdir(project):
        raise UsageError(f"--project {args.project}: no such directory",
                         hint="pass the project directory, or run from it without --project")
    checks: list[dict[str, Any]] = []

    def add(status: str, what: str, detail: str = "") -> None:
        checks.append({"status": status.strip(), "check": what, "detail": detail})

    _sandbox(project, add)
    _agents(add)
    commands = _installed(project, add)
    _policy(project, add)
    _ledger(project, add)
    if not commands:
        from stockade.hooks.install import hook_command

        commands = {hook_command("claude-code"): "claude-code"}
        add(_NOTE, "self-test", "no hooks installed; testing this interpreter's hook command")
    # A throwaway state and ledger: the made-up tool calls must not become
    # events in the real ledger (nor fill its spool).
    with tempfile.TemporaryDirectory(prefix="stockade-doctor-") as scratch:
        for cmd, client in commands.items():
            _self_test(cmd, client, project, add, scratch=scratch)
    failed = any(c["status"] == _FAIL for c in checks)
    if args.format == "json":
        print(json.dumps({"ok": not failed, "checks": checks}, indent=2))
    else:
        for c in checks:
            line = f"{c['status']:<4}  {c['check']}"
            if c["detail"]:
                line += f": {c['detail']}"
            print(line)
        print("stockade doctor: " + ("everything works" if not failed else "problems found"))
    return 1 if failed else 0


def _sandbox(project: str, add: Any) -> None:
    """Can `stockade run` start a sandbox here?  The same lookup and probe
    the launcher uses, so doctor and run agree."""
    from stockade.errors import StockadeError
    from stockade.sandbox.launcher import diagnose_bwrap, find_bwrap

    try:
        bwrap = find_bwrap(None, os.environ, workspace=project)
    except StockadeError as exc:
        add(_FAIL, "bubblewrap", f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
        return
    try:
        probe = subprocess.run([bwrap, "--unshare-user", "--ro-bind", "/", "/", "true"],
                               capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        add(_FAIL, "bubblewrap", f"{bwrap} could not run ({exc})")
        return
    if probe.returncode != 0:
        why = diagnose_bwrap(bwrap)
        add(_FAIL, "user namespaces", f"{why.message}; {why.hint}" if why.hint else why.message)
        return
    add(_PASS, "bubblewrap", f"{bwrap}; user namespaces work (stockade run can sandbox)")


def _agents(add: Any) -> None:
    found = {name: shutil.which(name) for name in AGENT_CLIS}
    present = [f"{n} ({p})" for n, p in found.items() if p]
    if present:
        add(_PASS, "agent CLIs", ", ".join(present))
    else:
        add(_NOTE, "agent CLIs", f"none of {', '.join(AGENT_CLIS)} is on $PATH")


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
        # Said out loud: draining changes the ledger, which a user may not expect.
        moved = (f"; moved {n} hook event(s) waiting in {journal.spool_dir()} into it"
                 if n else "; no hook events were waiting in the spool")
        add(_PASS, "ledger", f"writable{moved}")
    except StockadeError as exc:
        add(_FAIL, "ledger", exc.message)
    except OSError as exc:
        add(_FAIL, "ledger", f"{exc.strerror}")
    left = journal.pending()
    if left:
        add(_FAIL, "ledger spool", f"{left} hook event(s) still waiting in {journal.spool_dir()}")


def _self_test(cmd: str, client: str, project: str, add: Any, *, scratch: str) -> None:
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
                                  env={**os.environ, "STOCKADE_HOOK_SYNC": "1",
                                       "STOCKADE_HOME": os.path.join(scratch, "state"),
                                       "STOCKADE_LEDGER":
                                           f"sqlite:///{os.path.join(scratch, 'ledger.db')}"})
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
