"""Where transcripts are: one or more homes -> the files each agent wrote.

* Claude Code: ``<home>/.claude/projects/**/*.jsonl`` (for the current user's
  own home, ``$CLAUDE_CONFIG_DIR`` replaces ``~/.claude``);
* Codex: ``<home>/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`` (``$CODEX_HOME``
  likewise);
* Aider: ``.aider.chat.history.md`` in project folders under the home.

Symbolic links are not followed (a planted link must not make an admin's
audit read another file, or walk the whole disk from ``~/.claude -> /``);
they are reported as skipped, and so is every folder that cannot be read
(an audit that silently missed a user's sessions would look complete).  ``since`` skips
files not modified since then: nothing newer can be in them.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from stockade.history.aider import FILE_NAME as AIDER_FILE
from stockade.history.records import Skip

AIDER_MAX_DEPTH = 8
# Directories that never hold a project's aider history but can be huge.
_PRUNE = frozenset({".git", "node_modules", ".cache", "__pycache__", ".venv", "venv", ".tox",
                    ".npm", ".cargo", ".rustup", ".local", "site-packages", ".claude", ".codex",
                    ".mozilla", "snap", ".gradle", ".m2", "target", ".pnpm-store", ".nvm"})


@dataclass(frozen=True, slots=True)
class Source:
    path: str
    agent: str
    home: str
    user: str | None
    size: int


def home_user(home: str) -> str | None:
    try:
        return pwd.getpwuid(os.stat(home).st_uid).pw_name
    except (OSError, KeyError):
        return os.path.basename(os.path.normpath(home)) or None


def agent_dirs(home: str, *, own_home: bool, env: Mapping[str, str]) -> dict[str, str]:
    claude = os.path.join(home, ".claude")
    codex = os.path.join(home, ".codex")
    if own_home:
        claude = env.get("CLAUDE_CONFIG_DIR") or claude
        codex = env.get("CODEX_HOME") or codex
    return {"claude-code": os.path.join(claude, "projects"), "codex": os.path.join(codex, "sessions")}


def discover(homes: list[str], *, own_home: bool, agents: frozenset[str], since: float | None,
             env: Mapping[str, str], skips: list[Skip]) -> list[Source]:
    out: list[Source] = []
    seen: set[str] = set()
    for home in homes:
        user = home_user(home)
        dirs = agent_dirs(home, own_home=own_home, env=env)
        found: list[tuple[str, str]] = []
        if "claude-code" in agents:
            found += [(p, "claude-code") for p in _files(
                dirs["claude-code"], skips, home="" if own_home else home,
                want=lambda n: n.endswith(".jsonl"))]
        if "codex" in agents:
            found += [(p, "codex") for p in _files(
                dirs["codex"], skips, home="" if own_home else home,
                want=lambda n: n.startswith("rollout-") and n.endswith(".jsonl"))]
        if "aider" in agents:
            found += [(p, "aider") for p in _aider(home, skips)]
        for path, agent in found:
            real = os.path.abspath(path)
            if real in seen:
                continue
            seen.add(real)
            try:
                st = os.lstat(path)
            except OSError as exc:
                skips.append(Skip(path, 0, f"cannot read: {exc.strerror}"))
                continue
            if since is not None and st.st_mtime < since:
                continue
            out.append(Source(path, agent, home, user, st.st_size))
    out.sort(key=lambda s: -s.size)  # largest first: the pool finishes evenly
    return out


def _unreadable(skips: list[Skip]) -> Callable[[OSError], None]:
    def onerror(exc: OSError) -> None:
        skips.append(Skip(str(exc.filename or "?"), 0,
                          f"cannot read: {exc.strerror or type(exc).__name__}"))
    return onerror


def _linked(root: str, home: str, skips: list[Skip]) -> bool:
    """True (and a skip) when ``root`` or a folder between ``home`` and it is
    a symbolic link.  Your own home (``home`` empty) is taken as given: a
    ``~/.claude`` linked into a dotfiles folder is your own setting."""
    if not home:
        return False
    rel = os.path.relpath(root, home)
    if rel.startswith(os.pardir):
        return False
    path = home
    for part in rel.split(os.sep):
        path = os.path.join(path, part)
        if os.path.islink(path):
            skips.append(Skip(path, 0, "symbolic link not followed"))
            return True
    return False


def _files(root: str, skips: list[Skip], *, home: str, want: Callable[[str], bool]) -> Iterator[str]:
    check = want
    if not os.path.isdir(root) or _linked(root, home, skips):
        return
    for dirpath, dirnames, filenames in os.walk(root, onerror=_unreadable(skips), followlinks=False):
        for d in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            # a linked folder (or a link loop) among transcripts: said, not followed
            skips.append(Skip(os.path.join(dirpath, d), 0, "symbolic link not followed"))
            dirnames.remove(d)
        dirnames.sort()
        for name in sorted(filenames):
            if not check(name):
                continue
            path = os.path.join(dirpath, name)
            if _regular(path, skips):
                yield path


def _regular(path: str, skips: list[Skip]) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        skips.append(Skip(path, 0, f"cannot read: {exc.strerror}"))
        return False
    if stat.S_ISLNK(mode):
        skips.append(Skip(path, 0, "symbolic link not followed"))
        return False
    return stat.S_ISREG(mode)


def _aider(home: str, skips: list[Skip]) -> Iterator[str]:
    base = home.rstrip(os.sep).count(os.sep)
    for dirpath, dirnames, filenames in os.walk(home, onerror=_unreadable(skips), followlinks=False):
        depth = dirpath.rstrip(os.sep).count(os.sep) - base
        dirnames[:] = sorted(d for d in dirnames
                             if d not in _PRUNE and depth < AIDER_MAX_DEPTH)
        if AIDER_FILE in filenames:
            path = os.path.join(dirpath, AIDER_FILE)
            if _regular(path, skips):
                yield path
