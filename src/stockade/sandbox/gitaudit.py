"""After a session: git repositories the agent made or changed in the
workspace whose config or hooks would run a program.

The workspace's own ``.git`` and its submodules are guarded (layout.py), but
the agent may still create a repository anywhere in the workspace
(``git init tools/x``, a ``.git`` folder written by hand, a bare repository
git finds from inside it).  git trusts a repository's own config:
``core.fsmonitor``, ``core.pager``, an alias starting with ``!``, a filter
driver, a hook ... run when the user's own git (or an editor that scans the
workspace for repositories: VS Code does) works there, outside any sandbox.
A mount cannot stop a folder being named ``.git``; so the launcher looks,
once the sandbox is gone, and says what it found (the ledger records it
with the session's end).

Only what changed during the session counts (``ctime`` cannot be set back),
the walk is bounded (depth, entries, time), files are read without
following links or blocking, config is read by git itself where there is
one (exactly as the user's git will), and nothing is modified.
"""

from __future__ import annotations

import os
import time

from stockade.pathtext import read_regular
from stockade.sandbox.gitconfig import lenient_pairs

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from stockade.lite import NamedTuple

MAX_DEPTH = 5  # folders below the workspace a repository may sit in
MAX_ENTRIES = 50_000
MAX_SECONDS = 0.25
MAX_REASONS = 20  # per repository
MAX_REPOS = 50
SKIP = frozenset({"node_modules"})  # what editors skip too; a repository there is not scanned

# config keys (section[.*].key, lower case; "*" any subsection) naming a
# program git runs, or a place it takes config, hooks or a work tree from
_PROGRAM_KEYS = frozenset({
    "core.fsmonitor", "core.sshcommand", "core.pager", "core.editor", "core.askpass",
    "core.hookspath", "core.gitproxy", "core.alternaterefscommand", "core.worktree",
    "sequence.editor", "credential.helper", "credential.*.helper", "diff.external",
    "diff.*.textconv", "diff.*.command", "difftool.*.cmd", "mergetool.*.cmd",
    "interactive.difffilter", "filter.*.clean", "filter.*.smudge", "filter.*.process",
    "merge.*.driver", "gpg.program", "gpg.*.program", "gpg.ssh.defaultkeycommand",
    "pager.*", "uploadpack.packobjectshook", "include.path", "includeif.*.path",
    "remote.*.uploadpack", "remote.*.receivepack", "trailer.*.command", "tar.*.command",
    "sendemail.sendmailcmd", "sendemail.smtpserver",
})
# ... and those only when the value starts with "!" (a shell command)
_BANG_KEYS = frozenset({"alias.*", "alias", "submodule.*.update"})


class RiskyRepo(NamedTuple):
    path: str  # the repository's entry (a .git, or a bare repository), workspace-relative
    why: tuple[str, ...]  # config keys, hook names, "commondir", "a symbolic link" ...


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
            with os.scandir(folder) as it:
                found = []
                for e in it:
                    entries += 1
                    if entries > MAX_ENTRIES or time.monotonic() > deadline:
                        return Audit(tuple(risky), False)
                    found.append(e)
        except OSError:
            complete = False  # a folder made unreadable hides what is in it: said
            continue
        names = {e.name for e in found}
        if folder != workspace and {"HEAD", "objects", "refs"} <= names:
            # a bare repository: git uses it from any folder inside it
            why = _check_gitdir(folder, since)
            if why:
                risky.append(RiskyRepo(os.path.relpath(folder, workspace), why))
        for e in found:
            try:
                is_dir = e.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if e.name == ".git":
                if folder == workspace:
                    continue  # the workspace's own: guarded
                why = _check_entry(e.path, workspace, since)
                if why:
                    risky.append(RiskyRepo(os.path.relpath(e.path, workspace), why))
                continue
            if is_dir and e.name not in SKIP:
                if depth >= MAX_DEPTH:
                    complete = False
                else:
                    todo.append((e.path, depth + 1))
        if len(risky) >= MAX_REPOS:
            return Audit(tuple(risky[:MAX_REPOS]), False)
    return Audit(tuple(risky), complete)


def _ctime(path: str) -> float | None:
    try:
        return os.lstat(path).st_ctime
    except OSError:
        return None


def _changed(path: str, since: float) -> bool:
    t = _ctime(path)
    return t is not None and t >= since


def _check_entry(entry: str, workspace: str, since: float) -> tuple[str, ...]:
    """A ``.git`` entry: a folder, a ``gitdir:`` file, or a link."""
    if os.path.islink(entry):
        return ("a symbolic link",) if _changed(entry, since) else ()
    if os.path.isdir(entry):
        return _check_gitdir(entry, since)
    target = _gitdir_target(entry)
    if target is None:
        return ()
    inside = os.path.realpath(target).startswith(os.path.realpath(workspace) + os.sep)
    if not inside:
        return ("gitdir points outside the workspace",) if _changed(entry, since) else ()
    why = _check_gitdir(target, since, also_changed=_changed(entry, since))
    return why


def _check_gitdir(gitdir: str, since: float, *, also_changed: bool = False) -> tuple[str, ...]:
    hooks = os.path.join(gitdir, "hooks")
    hook_names = _hooks(hooks)
    watched = [gitdir, hooks, *(os.path.join(gitdir, n) for n in ("config", "config.worktree",
                                                                  "commondir")),
               *(os.path.join(hooks, n) for n in hook_names)]
    if not also_changed and not any(_changed(p, since) for p in watched):
        return ()
    why: list[str] = []
    for name in ("config", "config.worktree"):
        path = os.path.join(gitdir, name)
        if os.path.islink(path):
            why.append(f"{name} is a symbolic link")
        else:
            why += [f"{name}: {k}" for k in program_keys(path)]
    if os.path.lexists(os.path.join(gitdir, "commondir")):
        why.append("commondir")
    why += [f"hooks/{h}" for h in hook_names]
    return tuple(why[:MAX_REASONS])


def _read_small(path: str, limit: int = 1 << 20) -> str | None:
    """A regular file's start, never through a link, never blocking."""
    data = read_regular(path, limit)
    return None if data is None else data.decode("utf-8", "replace")


def _gitdir_target(path: str) -> str | None:
    text = _read_small(path, 4096)
    if text is None or not text.strip().startswith("gitdir:"):
        return None
    target = text.strip()[len("gitdir:"):].strip()
    return target if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)


def program_keys(config: str) -> list[str]:
    """The keys of the config file ``config`` that name a program (aliases
    and submodule updates only when they start with "!"): read by git
    itself when it is installed, else leniently here."""
    if _read_small(config, 0) is None:
        # missing (nothing git reads), or there but not a regular file this
        # process can read: said, not taken for harmless
        return [UNREADABLE] if os.path.lexists(config) else []
    pairs = _git_pairs(config)
    if pairs is None:
        pairs = lenient_pairs(_read_small(config) or "")
    found = set()
    for key, value in pairs:
        for pattern in _patterns(key):
            if pattern in _PROGRAM_KEYS or (
                    pattern in _BANG_KEYS and value.lstrip().startswith("!")):
                found.add(pattern)  # a subsection or alias name is the agent's text: not shown
                break
    return sorted(found)


def _patterns(key: str) -> tuple[str, ...]:
    """``filter.lfs.clean`` -> ``filter.*.clean`` (a subsection may hold
    dots); ``alias.st`` -> ``alias.st``, then ``alias.*``."""
    section, _, rest = key.partition(".")
    if "." not in rest:
        return (f"{section}.{rest}", f"{section}.*") if rest else (section,)
    return (f"{section}.*.{rest.rsplit('.', 1)[1]}",)


def _git_pairs(config: str) -> list[tuple[str, str]] | None:
    import shutil
    import subprocess

    git = shutil.which("git", path=os.defpath + ":/usr/local/bin")
    if git is None:
        return None
    try:
        # outside any repository, with no other config: git reads this file only
        done = subprocess.run([git, "config", "--file", config, "--list", "--null"],
                              capture_output=True, timeout=2, check=False, cwd="/",
                              env={"PATH": os.defpath, "GIT_CONFIG_NOSYSTEM": "1",
                                   "GIT_CONFIG_GLOBAL": os.devnull,
                                   "HOME": "/nonexistent"})
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None  # refused partway (what it listed is not all): the lenient reader reads on
    out = done.stdout
    pairs = []
    for item in out.split(b"\0"):
        if item:
            key, _, value = item.decode("utf-8", "replace").partition("\n")
            pairs.append((key.lower(), value))
    return pairs


UNREADABLE = "<unreadable>"  # a hooks folder or config that could not be read


def _hooks(folder: str, limit: int = 1000) -> list[str]:
    """The hooks in ``folder``: every entry but a folder or a ``.sample``
    (git runs a hook through a symbolic link too).  A folder that exists but
    cannot be listed is reported as :data:`UNREADABLE`: git can still run a
    hook it knows by name from a folder it may only search."""
    try:
        with os.scandir(folder) as it:
            names: list[str] = []
            for e in it:
                if len(names) >= limit:
                    break
                if not e.name.endswith(".sample") and not e.is_dir(follow_symlinks=False):
                    names.append(e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError:
        return [UNREADABLE]
    return sorted(names)


def _printable(text: str) -> str:
    """No terminal control: a folder or hook name is the agent's text."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256
                   else f"\\u{ord(c):04x}" for c in text)


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
            lines.append(_printable(f"  {os.path.join(workspace, r.path)}: "
                                    f"{', '.join(r.why[:6])}"))
    if not found.complete:
        lines.append("stockade: the workspace is too large to check every folder for git "
                     "repositories the agent may have made")
    return "\n".join(lines)


__all__ = ["Audit", "RiskyRepo", "audit", "describe", "program_keys"]
