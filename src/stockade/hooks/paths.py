"""Turning what an agent wrote into the paths the kernel would open.

``~``, ``$HOME`` and ``$PWD`` are already expanded by the command analyser;
here relative paths are joined to the working directory, ``..`` is resolved
both lexically and through symlinks, and the ``/proc/<pid>/root`` and
``/proc/self/cwd`` aliases are folded back to the real tree.  A rule checks
every candidate: a path is denied if any way of reading it is denied.
"""

from __future__ import annotations

import os
import posixpath

from stockade.hooks._record import Record
from stockade.hooks.commands import DYN

_GLOB_CHARS = "*?["


class PathRef(Record):
    """Where a path argument points.

    ``candidates``: absolute paths (lexical and symlink-resolved) when the
    whole path is known.  ``prefix``: for a partly dynamic or glob path, the
    longest known leading directory; everything the path can name is under it.
    ``pattern``: the absolute glob pattern, for matching against denied paths.
    """

    raw: str
    candidates: tuple[str, ...]
    prefix: str | None = None
    pattern: str | None = None

    @property
    def exact(self) -> bool:
        return bool(self.candidates)


def _proc_prefix(path: str) -> tuple[str, int] | None:
    """For /proc/<self|thread-self|pid>[/task/<tid>]/<root|cwd>[/...]:
    (which, length of the prefix)."""
    if not path.startswith("/proc/"):
        return None
    parts = path[6:].split("/")
    i = 1
    if not parts or not (parts[0] in ("self", "thread-self") or parts[0].isdigit()):
        return None
    if len(parts) > 2 and parts[1] == "task" and parts[2].isdigit():
        i = 3
    if len(parts) <= i or parts[i] not in ("root", "cwd"):
        return None
    return parts[i], 6 + len("/".join(parts[: i + 1]))


def _fold_proc(path: str, cwd: str | None) -> str:
    for _ in range(8):  # /proc/self/root/proc/self/root/...
        hit = _proc_prefix(path)
        if hit is None:
            break
        which, n = hit
        rest = path[n:]
        if which == "root":
            path = rest or "/"
        elif cwd:
            path = cwd + rest
        else:
            break
    return path if path.startswith("/") else "/" + path


def _absolute(value: str, cwd: str | None) -> str | None:
    if value.startswith("/"):
        return value
    if cwd is None:
        return None
    return posixpath.join(cwd, value)


def resolve(value: str, *, cwd: str | None, glob: bool = False) -> PathRef:
    """Resolve one path word (``DYN`` marks parts known only at run time)."""
    cut = len(value)
    if DYN in value:
        cut = value.index(DYN)
    if glob:
        for ch in _GLOB_CHARS:
            if ch in value[:cut]:
                cut = value.index(ch)
    if cut < len(value):
        head = value[:cut]
        if "/" not in head:
            base = None if not head and not value.startswith(DYN) else cwd
            if head.startswith("/") or (value and value[0] == "/"):
                base = "/"
            prefix = base
        else:
            known_dir = head[: head.rindex("/") + 1] or "/"
            absdir = _absolute(known_dir, cwd)
            prefix = posixpath.normpath(_fold_proc(absdir, cwd)) if absdir else None
        if value.startswith(DYN):
            prefix = None
        pattern = None
        if glob and DYN not in value:
            absval = _absolute(value, cwd)
            pattern = posixpath.normpath(_fold_proc(absval, cwd)) if absval else None
        return PathRef(value, (), prefix, pattern)
    absval = _absolute(value, cwd)
    if absval is None:
        return PathRef(value, ())
    lexical = posixpath.normpath(_fold_proc(absval, cwd))
    if lexical.startswith("//"):
        lexical = "/" + lexical.lstrip("/")
    cands = [lexical]
    # Symlinks: resolve the raw join (so `link/..` follows the link, as the
    # kernel does) and the lexical form.
    for p in (absval, lexical):
        try:
            real = _fold_proc(os.path.realpath(p), cwd)
        except (OSError, ValueError):
            continue
        real = posixpath.normpath(real)
        if real not in cands:
            cands.append(real)
    return PathRef(value, tuple(cands))


def glob_may_reach(pattern: str, root: str) -> bool:
    """Could the glob ``pattern`` name ``root`` or something inside it?"""
    from fnmatch import fnmatchcase

    pp = [c for c in pattern.split("/") if c]
    rp = [c for c in root.split("/") if c]
    n = min(len(pp), len(rp))
    if len(pp) < len(rp):
        return False
    return all(fnmatchcase(rp[k], pp[k]) for k in range(n))


def glob_may_contain(pattern: str, root: str) -> bool:
    """Could the glob ``pattern`` name ``root`` or a directory above it (what
    a recursive reader of the match would then read)?"""
    from fnmatch import fnmatchcase

    pp = [c for c in pattern.split("/") if c]
    rp = [c for c in root.split("/") if c]
    if len(pp) > len(rp):
        return False
    return all(fnmatchcase(rp[k], pp[k]) for k in range(len(pp)))


def unknown_base(value: str, *, cwd: str | None) -> list[str] | None:
    """The components of ``value`` that follow a base directory known only at
    run time (``cd $X && cat .ssh/id_rsa``, ``cat $X/.ssh/id_rsa``), as glob
    patterns (``DYN`` inside a component is ``*``); None when the base is
    known.  Leading ``..`` are dropped: the base is unknown anyway."""
    if DYN in value:
        last = value.rindex(DYN)
        slash = value.find("/", last)
        head = value[:last]
        if "/" not in head and not head.startswith("/") and cwd is not None and \
                not value.startswith(DYN):
            return None  # a file name with a run-time part, in a known directory
        if slash < 0:
            return []
        rest = value[slash + 1:]
        # the component holding the last DYN is a pattern (`$X.ssh` -> `*.ssh`)
        part = value[value.rfind("/", 0, last) + 1: slash]
        comps = ([part.replace(DYN, "*")] if part.strip(DYN) else []) + rest.split("/")
    elif cwd is None and not value.startswith("/"):
        comps = value.split("/")
    else:
        return None
    comps = [c for c in comps if c not in ("", ".")]
    while comps and comps[0] == "..":
        comps.pop(0)
    return [c for c in comps if c != ".."] if ".." not in comps else comps[: comps.index("..")]


def tail_may_name(comps: list[str], root: str) -> bool:
    """Could ``<unknown dir>/comps...`` name ``root`` or something inside it,
    judged on what is known: the leading components must match the last
    components of ``root`` and at least one of them must be spelled out (a
    bare ``*`` proves nothing)."""
    from fnmatch import fnmatchcase

    rp = [c for c in root.split("/") if c]
    for k in range(1, min(len(comps), len(rp)) + 1):
        head, tail = comps[:k], rp[len(rp) - k:]
        if all(fnmatchcase(t, h) for h, t in zip(head, tail, strict=True)) and any(
                h.strip("*?") for h in head):
            return True
    return False


__all__ = ["PathRef", "glob_may_contain", "glob_may_reach", "resolve", "tail_may_name",
           "unknown_base"]
