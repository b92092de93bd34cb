"""Commands an agent ran -> the actions an auditor asks about: the command,
network destinations (curl/wget URLs, git remotes), packages installed.

The command line is parsed with the hooks' shell analyser
(:func:`stockade.hooks.commands.analyse`), read-only, so `env X=1 sudo pip
install foo` and `bash -c "curl ..."` are seen as the programs they start.
Targets are masked by the worker before they reach a report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from stockade.history.records import Act

MAX_COMMAND = 4096  # longer commands are not parsed (recorded, truncated)
_URL = re.compile(r"(?:https?|ftp|wss?)://[^\s'\"<>`]+", re.IGNORECASE)
_GIT_SCP = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+")
_NET_TOOLS = frozenset({"curl", "wget", "http", "https", "xh", "aria2c", "httpie"})
_GIT_NET = frozenset({"clone", "push", "pull", "fetch", "ls-remote", "remote", "submodule"})
_INSTALLERS: dict[str, str] = {"pip": "pypi", "pip3": "pypi", "uv": "pypi", "poetry": "pypi",
                               "pdm": "pypi", "pipx": "pypi", "npm": "npm", "pnpm": "npm",
                               "yarn": "npm", "bun": "npm", "cargo": "crates", "go": "go",
                               "gem": "rubygems"}
_PIP_VALUE_OPTS = frozenset({"-r", "--requirement", "-c", "--constraint", "-i", "--index-url",
                             "--extra-index-url", "-f", "--find-links", "-t", "--target",
                             "--prefix", "--root", "-e", "--editable", "--python-version",
                             "--platform"})


def from_command(command: str, *, sid: str, ts: str | None, line: int, cwd: str,
                 home: str) -> Iterator[Act]:
    yield Act(sid, "command", ts, command[:MAX_COMMAND], line)
    if len(command) > MAX_COMMAND:
        return
    for kind, target, eco, pkgs, via in _derived(command, cwd, home):
        yield Act(sid, kind, ts, target, line, ecosystem=eco, packages=pkgs, via=via)


@lru_cache(maxsize=4096)
def _derived(command: str, cwd: str, home: str) -> tuple[tuple[str, str, str | None, tuple[str, ...], str], ...]:
    """What one command line does, parsed once per worker: agents run the same
    commands (tests, git status) again and again."""
    return tuple((a.kind, a.target, a.ecosystem, a.packages, a.via or "")
                 for a in _analyse(command, sid="", ts=None, line=0, cwd=cwd, home=home))


def _analyse(command: str, *, sid: str, ts: str | None, line: int, cwd: str,
             home: str) -> Iterator[Act]:
    from stockade.hooks.commands import analyse

    try:
        analysis = analyse(command, cwd=cwd, home=home, env={})
    except Exception:  # noqa: BLE001 - an unparsable command is still recorded as a command
        return
    for inv in analysis.invocations:
        words = [a.value for a in inv.argv]
        name = inv.name
        if name in _NET_TOOLS:
            for w in words[1:]:
                for m in _URL.finditer(w):
                    yield Act(sid, "network", ts, m.group(0), line, via=name)
        elif name == "git":
            sub = next((w for w in words[1:] if not w.startswith("-")), "")
            if sub in _GIT_NET:
                for w in words[1:]:
                    if _URL.match(w) or _GIT_SCP.fullmatch(w):
                        yield Act(sid, "network", ts, w, line, via=f"git {sub}")
        elif name in ("python", "python3") and words[1:3] == ["-m", "pip"]:
            yield from _pip(words[3:], sid=sid, ts=ts, line=line)
        elif name in _INSTALLERS:
            yield from _install(name, words[1:], sid=sid, ts=ts, line=line)


def _positional(words: list[str], value_opts: frozenset[str] = frozenset()) -> list[str]:
    out: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = w in value_opts
            continue
        out.append(w)
    return out


def _pip(words: list[str], *, sid: str, ts: str | None, line: int) -> Iterator[Act]:
    if "install" not in words:
        return
    rest = words[words.index("install") + 1:]
    pkgs = tuple(w for w in _positional(rest, _PIP_VALUE_OPTS) if not w.startswith((".", "/")))
    if pkgs:
        yield Act(sid, "package", ts, "pip install " + " ".join(pkgs), line,
                  ecosystem="pypi", packages=pkgs, via="pip install")


def _install(name: str, words: list[str], *, sid: str, ts: str | None, line: int) -> Iterator[Act]:
    eco = _INSTALLERS[name]
    if name in ("pip", "pip3"):
        yield from _pip(words, sid=sid, ts=ts, line=line)
        return
    pos = _positional(words)
    if not pos:
        return
    verb = pos[0]
    pkgs: tuple[str, ...] | None = None
    if name == "uv" and verb == "pip":
        yield from _pip(words[words.index("pip") + 1:], sid=sid, ts=ts, line=line)
        return
    if name == "uv" and verb == "add" or name in ("poetry", "pdm") and verb == "add":
        pkgs = tuple(pos[1:])
    elif name == "pipx" and verb == "install":
        pkgs = tuple(pos[1:2])
    elif name in ("npm", "pnpm", "yarn", "bun") and verb in ("install", "i", "add") or name == "cargo" and verb in ("add", "install"):
        pkgs = tuple(pos[1:])
    elif name == "go" and verb in ("get", "install"):
        pkgs = tuple(p for p in pos[1:] if not p.startswith("."))
    elif name == "gem" and verb == "install":
        pkgs = tuple(pos[1:])
    if pkgs:  # a bare `npm install` installs the lock file: not a new package
        yield Act(sid, "package", ts, f"{name} {verb} " + " ".join(pkgs), line,
                  ecosystem=eco, packages=pkgs, via=f"{name} {verb}")
