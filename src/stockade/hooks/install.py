"""Writing stockade's hooks into Claude Code's and Codex's settings, and
taking exactly them out again.

The merge is pure (:func:`add_hooks`, :func:`remove_hooks` work on parsed
JSON); the I/O around it reads, writes atomically and keeps a manifest of
what was added in the state directory, so ``uninstall`` removes what
``install`` wrote and nothing the user added, even in the same group.

The hook command names the running interpreter by absolute path
(``/abs/python -m stockade hook claude-code``): a ``stockade`` found on
``PATH`` could be anything the agent put there.  For the events whose
refusal matters before anything happens (PreToolUse, UserPromptSubmit) it
ends in ``|| exit 2``: if the interpreter cannot even start (moved, broken
install) the client sees exit 2, a refusal, instead of an error it would
ignore while running the tool.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockade.errors import EnvironmentProblem, UsageError

CLAUDE_EVENTS = ("PreToolUse", "PostToolUse", "UserPromptSubmit", "SessionStart", "SessionEnd",
                 "Stop")
CODEX_EVENTS = ("PreToolUse", "PostToolUse", "UserPromptSubmit", "SessionStart", "Stop")
TOOL_EVENTS = ("PreToolUse", "PostToolUse")
# Events where any failure must refuse.  Not Stop: exit 2 there keeps the
# agent from stopping, a loop when the hook cannot start at all.
BLOCKING_EVENTS = ("PreToolUse", "UserPromptSubmit")
FAIL_CLOSED_SUFFIX = " || exit 2"
HOOK_TIMEOUT_S = 30
MANIFEST = "hook-installs.json"
SCOPES = ("user", "project", "managed")


@dataclass(frozen=True, slots=True)
class Target:
    client: str  # claude-code | codex
    scope: str  # user | project | managed
    path: Path

    def describe(self) -> str:
        return f"{self.client} ({self.scope}): {self.path}"


def target_for(client: str, scope: str, *, env: Mapping[str, str] | None = None,
               project: str | None = None) -> Target:
    # the same rules as the paths the hooks protect (stockade.hooks.deps)
    from stockade.hooks.deps import claude_config_dir, claude_managed_settings

    e = os.environ if env is None else env
    home = Path(e.get("HOME") or Path.home())
    if client == "claude-code":
        if scope == "user":
            return Target(client, scope, Path(claude_config_dir(e)) / "settings.json")
        if scope == "project":
            return Target(client, scope, Path(project or os.getcwd()).absolute() / ".claude" /
                          "settings.json")
        if scope == "managed":
            return Target(client, scope, Path(claude_managed_settings(e)))
    elif client == "codex":
        if scope != "user":
            raise UsageError(f"codex hooks are installed per user, not at scope {scope!r}",
                             hint="run `stockade install codex` without --scope")
        return Target(client, "user", Path(e.get("CODEX_HOME") or home / ".codex") / "hooks.json")
    raise UsageError(f"unknown client {client!r}", hint="use claude-code or codex")


def hook_command(client: str, *, event: str | None = None, python: str | None = None) -> str:
    """The command for ``event`` (the base command when ``event`` is None)."""
    exe = os.path.abspath(python or sys.executable)
    # -P: the hook runs with the project as its current directory, and a
    # `stockade/` package planted there must not be what `-m` imports
    cmd = f"{shlex.quote(exe)} -P -m stockade hook {client}"
    return cmd + FAIL_CLOSED_SUFFIX if event in BLOCKING_EVENTS else cmd


def base_command(cmd: str) -> str:
    """``cmd`` without the ``|| exit 2`` that :func:`hook_command` adds."""
    return cmd.removesuffix(FAIL_CLOSED_SUFFIX)


def hook_argv(cmd: str) -> list[str]:
    """The argv a hook command runs (for running it without a shell)."""
    return shlex.split(base_command(cmd))


# -- pure merge ---------------------------------------------------------------

def add_hooks(settings: Mapping[str, Any], *, client: str, command: str) -> tuple[dict[str, Any],
                                                                                  list[str]]:
    """``settings`` with stockade's hook added for each event; returns the
    new settings and the events that were added or brought up to date
    (already present: skipped).  ``command`` is the base command; blocking
    events get ``|| exit 2``, also where an earlier install wrote it bare."""
    out = json.loads(json.dumps(settings))  # deep copy, JSON types only
    hooks = out.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise UsageError("the settings' `hooks` value is not an object",
                         hint="fix the file by hand, then run install again")
    events = CLAUDE_EVENTS if client == "claude-code" else CODEX_EVENTS
    added: list[str] = []
    for event in events:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise UsageError(f"the settings' hooks.{event} is not a list",
                             hint="fix the file by hand, then run install again")
        cmd = command + FAIL_CLOSED_SUFFIX if event in BLOCKING_EVENTS else command
        if any(_has_command(g, cmd) for g in groups):
            continue
        if _upgrade(groups, command, cmd):
            added.append(event)
            continue
        entry: dict[str, Any] = {"type": "command", "command": cmd,
                                 "timeout": HOOK_TIMEOUT_S}
        group: dict[str, Any] = {"hooks": [entry]}
        if client == "claude-code" and event in TOOL_EVENTS:
            group = {"matcher": "*", **group}
        # stockade first: a deny is final whatever the other hooks say
        groups.insert(0, group)
        added.append(event)
    return out, added


def _upgrade(groups: list[Any], base: str, cmd: str) -> bool:
    """Rewrite an entry of ``base`` in another form to ``cmd``, in place."""
    for g in groups:
        if not isinstance(g, dict) or not isinstance(g.get("hooks"), list):
            continue
        for h in g["hooks"]:
            if isinstance(h, dict) and isinstance(h.get("command"), str) and \
                    base_command(h["command"]) == base:
                h["command"] = cmd
                return True
    return False


def remove_hooks(settings: Mapping[str, Any], *, commands: set[str]) -> tuple[dict[str, Any], int]:
    """``settings`` without hook entries whose command is one of
    ``commands`` (with or without ``|| exit 2``); groups and events left
    empty are dropped."""
    out = json.loads(json.dumps(settings))
    hooks = out.get("hooks")
    removed = 0
    if not isinstance(hooks, dict):
        return out, 0
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for g in groups:
            if not isinstance(g, dict) or not isinstance(g.get("hooks"), list):
                kept_groups.append(g)
                continue
            entries = [h for h in g["hooks"]
                       if not (isinstance(h, dict) and isinstance(h.get("command"), str)
                               and base_command(h["command"]) in commands)]
            removed += len(g["hooks"]) - len(entries)
            if entries:
                kept_groups.append({**g, "hooks": entries})
            elif not g["hooks"]:
                kept_groups.append(g)
        if kept_groups:
            hooks[event] = kept_groups
        else:
            del hooks[event]
    if not hooks:
        del out["hooks"]
    return out, removed


def installed_events(settings: Mapping[str, Any], *, command: str | None = None) -> list[str]:
    """Events that run a stockade hook (``command``, or any ``-m stockade hook``)."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return []
    out = []
    for event, groups in hooks.items():
        if isinstance(groups, list) and any(_has_command(g, command) for g in groups):
            out.append(event)
    return out


def _has_command(group: Any, command: str | None) -> bool:
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return False
    for h in group["hooks"]:
        if not isinstance(h, dict) or not isinstance(h.get("command"), str):
            continue
        if command is not None and h["command"] == command:
            return True
        if command is None and is_stockade_command(h["command"]):
            return True
    return False


def is_stockade_command(cmd: str) -> bool:
    try:
        words = hook_argv(cmd)
    except ValueError:
        return False
    if words[1:2] == ["-P"]:
        words = words[:1] + words[2:]
    return words[1:4] == ["-m", "stockade", "hook"] or words[:2] == ["stockade", "hook"]


# -- I/O ------------------------------------------------------------------------

def read_settings(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {path}: {exc.strerror}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})",
                         hint="fix the file by hand; stockade will not overwrite it") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} does not hold a JSON object",
                         hint="fix the file by hand; stockade will not overwrite it")
    return data


def write_settings(path: Path, data: Mapping[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        tmp = path.with_name(f".{path.name}.stockade-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except PermissionError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror}",
                                 hint="the managed scope needs root (sudo)") from None
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror}") from None


def _manifest_path(env: Mapping[str, str] | None) -> Path:
    from stockade.hooks.deps import state_root

    return Path(state_root(env)) / MANIFEST


def read_manifest(env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    try:
        data = json.loads(_manifest_path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _write_manifest(entries: list[dict[str, Any]], env: Mapping[str, str] | None) -> None:
    path = _manifest_path(env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def install(target: Target, *, env: Mapping[str, str] | None = None,
            command: str | None = None) -> list[str]:
    cmd = command or hook_command(target.client)
    current = read_settings(target.path)
    existed = target.path.exists()
    new, added = add_hooks(current, client=target.client, command=cmd)
    if added:
        write_settings(target.path, new)
    entries = [m for m in read_manifest(env)
               if not (m.get("file") == str(target.path) and m.get("command") == cmd)]
    prior = next((m for m in read_manifest(env)
                  if m.get("file") == str(target.path) and m.get("command") == cmd), None)
    events = sorted(set(added) | set(prior.get("events", []) if prior else []))
    # whether install brought the file into being: uninstall then removes it
    # once nothing is left in it, instead of leaving a `{}` behind
    created = bool(prior.get("created")) if prior else (added != [] and not existed)
    entries.append({"client": target.client, "scope": target.scope, "file": str(target.path),
                    "command": cmd, "events": events, "created": created})
    _write_manifest(entries, env)
    return added


def uninstall(target: Target, *, env: Mapping[str, str] | None = None) -> int:
    manifest = read_manifest(env)
    mine = [m for m in manifest if m.get("file") == str(target.path)]
    commands = {str(m.get("command")) for m in mine}
    if not commands:
        # no record (state directory wiped): remove this interpreter's command only
        commands = {hook_command(target.client)}
    current = read_settings(target.path)
    new, removed = remove_hooks(current, commands=commands)
    created = any(m.get("created") is True for m in mine)
    if created and not new and target.path.exists():
        # install created this file and nothing else was put in it since
        _remove_empty(target.path)
    elif removed:
        write_settings(target.path, new)
    _write_manifest([m for m in manifest if m.get("file") != str(target.path)], env)
    return removed


def _remove_empty(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise EnvironmentProblem(f"cannot remove {path}: {exc.strerror}") from None


__all__ = ["BLOCKING_EVENTS", "CLAUDE_EVENTS", "CODEX_EVENTS", "SCOPES", "Target", "add_hooks",
           "base_command", "hook_argv", "hook_command",
           "install", "installed_events", "is_stockade_command", "read_manifest",
           "read_settings", "remove_hooks", "target_for", "uninstall", "write_settings"]
