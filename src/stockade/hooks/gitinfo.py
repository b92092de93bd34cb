"""Just enough of a git repository's metadata for the push/fetch rules:
remote URLs and the current branch, read from ``.git`` directly (spawning
``git`` would cost more than the whole hook budget)."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*$')


def find_git_dir(start: str) -> str | None:
    d = os.path.abspath(start)
    for _ in range(64):
        cand = os.path.join(d, ".git")
        if os.path.isdir(cand):
            return cand
        if os.path.isfile(cand):  # worktree / submodule: "gitdir: path"
            try:
                with open(cand, encoding="utf-8") as fh:
                    line = fh.read(4096).strip()
            except OSError:
                return None
            if line.startswith("gitdir:"):
                return os.path.normpath(os.path.join(d, line[7:].strip()))
            return None
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
    return None


def read_config(git_dir: str) -> dict[str, dict[str, str]]:
    """section ("remote.origin", "branch.main") -> key -> value (last wins)."""
    out: dict[str, dict[str, str]] = {}
    paths = [os.path.join(git_dir, "config")]
    common = os.path.join(git_dir, "commondir")
    if os.path.isfile(common):
        try:
            with open(common, encoding="utf-8") as fh:
                paths.append(os.path.join(git_dir, fh.read().strip(), "config"))
        except OSError:
            pass
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.read(1 << 20).splitlines()
        except OSError:
            continue
        section = ""
        for line in lines:
            m = _SECTION.match(line)
            if m:
                section = m.group(1).lower() + ("." + m.group(2) if m.group(2) is not None else "")
                out.setdefault(section, {})
                continue
            s = line.strip()
            if not s or s[0] in "#;" or "=" not in s:
                continue
            k, _, v = s.partition("=")
            out.setdefault(section, {})[k.strip().lower()] = v.strip().strip('"')
    return out


def remote_url(cwd: str, name: str) -> str | None:
    git_dir = find_git_dir(cwd)
    if git_dir is None:
        return None
    cfg = read_config(git_dir)
    sec = cfg.get("remote." + name)
    if not sec:
        return None
    return sec.get("pushurl") or sec.get("url")


def current_branch(cwd: str) -> str | None:
    git_dir = find_git_dir(cwd)
    if git_dir is None:
        return None
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8") as fh:
            head = fh.read(4096).strip()
    except OSError:
        return None
    if head.startswith("ref: refs/heads/"):
        return head[len("ref: refs/heads/"):]
    return None


def branch_remote(cwd: str, branch: str | None) -> str:
    git_dir = find_git_dir(cwd)
    if git_dir is not None and branch:
        sec = read_config(git_dir).get("branch." + branch, {})
        if sec.get("pushremote"):
            return sec["pushremote"]
        if sec.get("remote"):
            return sec["remote"]
    return "origin"


def url_host(url: str) -> tuple[str | None, int | None] | None:
    """The (host, port) a git URL talks to; ``None`` for a local path;
    ``(None, None)`` when it is remote but unreadable."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return None
        try:
            return parts.hostname, parts.port
        except ValueError:
            return None, None
    # scp-like: [user@]host:path (a ':' before any '/')
    colon = url.find(":")
    slash = url.find("/")
    if colon > 0 and (slash < 0 or colon < slash):
        host = url[:colon].rpartition("@")[2]
        return host or None, None
    return None


__all__ = ["branch_remote", "current_branch", "find_git_dir", "remote_url", "url_host"]
