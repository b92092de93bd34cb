"""After a session: git repositories the agent made or changed in the
workspace whose config or hooks would run a program.

The workspace's own ``.git`` and its submodules are guarded (layout.py), but
the agent may still create a repository anywhere in the workspace
(``git init tools/x``, or a ``.git`` folder written by hand).  git trusts a
repository's own config: ``core.fsmonitor``, ``core.pager``, an alias
starting with ``!``, a filter driver, a hook ... run when the user's own git
(or an editor that scans the workspace for repositories: VS Code does) works
there, outside any sandbox.  A mount cannot stop a folder being named
``.git``; so the launcher looks, once the sandbox is gone, and says what it
found (the ledger records it with the session's end).

Only what changed during the session counts (``ctime`` cannot be set back),
the walk is bounded (depth, entries, time), and nothing is modified.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from stockade.lite import NamedTuple

MAX_DEPTH = 5  # folders below the workspace a repository may sit in
MAX_ENTRIES = 50_000
MAX_SECONDS = 0.25
SKIP = frozenset({"node_modules"})  # what editors skip too; a repository there is not scanned

# config keys (lower case; "*" one subsection) whose value is a program git runs
_PROGRAM_KEYS = (
    "core.fsmonitor", "core.sshcommand", "core.pager", "core.editor", "core.askpass",
    "core.hookspath", "core.gitproxy", "sequence.editor", "credential.helper",
    "credential.*.helper", "diff.external", "diff.*.textconv", "diff.*.command",
    "filter.*.clean", "filter.*.smudge", "filter.*.process", "merge.*.driver", "gpg.program",
    "gpg.*.program", "pager.*", "uploadpack.packobjectshook", "include.path",
    "includeif.*.path", "remote.*.uploadpack", "remote.*.receivepack",
)


class RiskyRepo(NamedTuple):
    path: str  # the .git entry, relative to the workspace
    why: tuple[str, ...]  # config keys, hook names, "commondir", "gitdir outside"


class Audit(NamedTuple):
    risky: tuple[RiskyRepo, ...]
    complete: bool  # False: the walk stopped at a bound (a big workspace)


def audit(workspace: str, *, since: float) -> Audit:
    """Repositories under ``workspace`` (not its own ``.git``) made or
    changed at or after ``since`` (a ``time.time()``) that would run a
    program."""
    deadline = time.monotonic() + MAX_SECONDS
    risky: list[RiskyRepo] = []
    entries = 0
    todo: list[tuple[str, int]] = [(workspace, 0)]
    complete = True
    while todo:
        folder, depth = todo.pop()
        try:
            it = list(os.scandir(folder))
        except OSError:
            continue
        for e in it:
            entries += 1
            if entries > MAX_ENTRIES or time.monotonic() > deadline:
                return Audit(tuple(risky), False)
            try:
                is_dir = e.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if e.name == ".git":
                if folder == workspace:
                    continue  # the workspace's own: guarded
                found = _check(e.path, workspace, since)
                if found:
                    risky.append(RiskyRepo(os.path.relpath(e.path, workspace), found))
                continue
            if is_dir and e.name not in SKIP:
                if depth < MAX_DEPTH:
                    todo.append((e.path, depth + 1))
                else:
                    complete = False
    return Audit(tuple(risky), complete)


def _changed(path: str, since: float) -> bool:
    try:
        return os.lstat(path).st_ctime >= since
    except OSError:
        return False


def _check(entry: str, workspace: str, since: float) -> tuple[str, ...]:
    """Why the repository at ``entry`` (a .git folder or gitdir file) would
    run a program, if it changed since ``since``; () otherwise."""
    gitdir = entry
    why: list[str] = []
    if os.path.isfile(entry) and not os.path.islink(entry):
        if not _changed(entry, since):
            return ()
        target = _gitdir_target(entry)
        if target is None:
            return ()
        inside = os.path.realpath(target).startswith(os.path.realpath(workspace) + os.sep)
        if not inside:
            return ("gitdir points outside the workspace",)
        gitdir = target
    elif not os.path.isdir(entry) or os.path.islink(entry):
        return ()
    names = ("config", "config.worktree", "commondir", "hooks")
    if not _changed(gitdir, since) and not any(_changed(os.path.join(gitdir, n), since)
                                               for n in names):
        return ()
    for name in ("config", "config.worktree"):
        why += [f"{name}: {k}" for k in _program_keys(os.path.join(gitdir, name))]
    if os.path.lexists(os.path.join(gitdir, "commondir")):
        why.append("commondir")
    why += [f"hooks/{h}" for h in _hooks(os.path.join(gitdir, "hooks"))]
    return tuple(why)


def _gitdir_target(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            line = f.read(4096).strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    target = line[len("gitdir:"):].strip()
    return target if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)


def _program_keys(config: str) -> list[str]:
    """The keys of ``config`` (git's ini-like format, read leniently) that
    name a program; aliases only when they start with "!"."""
    try:
        with open(config, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return []
    section = ""
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            head = line[1:line.find("]")] if "]" in line else line[1:]
            name, _, sub = head.partition(" ")
            section = name.lower() + ("." + "*" if sub.strip() else "")
            if "." in name:  # [section.sub] (the old form)
                section = name.split(".", 1)[0].lower() + ".*"
            continue
        key, _, value = line.partition("=")
        full = f"{section}.{key.strip().lower()}"
        if full == "alias.*" or section == "alias":
            if value.strip().strip('"').startswith("!"):
                found.append(f"alias.{key.strip()}")
            continue
        if any(_matches(full, pat) for pat in _PROGRAM_KEYS):
            found.append(full)
    return sorted(set(found))


def _matches(key: str, pattern: str) -> bool:
    kp, pp = key.split("."), pattern.split(".")
    return len(kp) == len(pp) and all(p in ("*", k) for k, p in zip(kp, pp, strict=True))


def _hooks(folder: str) -> list[str]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(n for n in names if not n.endswith(".sample")
                  and os.path.isfile(os.path.join(folder, n)))


def describe(found: Audit, workspace: str) -> str | None:
    """What to tell the user, or None."""
    if not found.risky and found.complete:
        return None
    lines = []
    if found.risky:
        lines.append("stockade: the agent made or changed git repositories in the workspace "
                     "whose own config or hooks run programs when git (or an editor) works "
                     "there; review them before using git in them:")
        for r in found.risky[:20]:
            lines.append(f"  {os.path.join(workspace, r.path)}: {', '.join(r.why[:6])}")
    if not found.complete:
        lines.append("stockade: the workspace is too large to check every folder for git "
                     "repositories the agent may have made")
    return "\n".join(lines)


__all__ = ["Audit", "RiskyRepo", "audit", "describe"]
