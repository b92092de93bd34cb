"""What file-handling commands do to the files they are pointed at: which
`find` expressions can match a given file (for `-delete` / `-exec rm`), and
whether a `tar` line extracts.  Pure, apart from listing a directory that
`find` would walk (bounded).  Used by :mod:`stockade.hooks.shellrules` only
for those commands, so the allow path never imports it."""

from __future__ import annotations

import os
import posixpath

from stockade.hooks.commands import Arg

_FIND_DESTROYERS = frozenset({"rm", "unlink", "shred", "rmdir", "mv", "truncate"})


def tar_extracts(args: tuple[Arg, ...]) -> bool:
    """`tar xf`, `tar -xzf`, `tar --extract`: the mode letters, not a file
    name that happens to hold an x (`tar -cf x.tar`)."""
    for k, a in enumerate(args):
        v = a.value
        if v in ("--extract", "--get"):
            return True
        bundle = v[1:] if v.startswith("-") and not v.startswith("--") else (
            v if k == 0 else "")
        if bundle.isalpha() and "x" in bundle:
            return True
    return False


def find_destroys(args: tuple[Arg, ...]) -> bool:
    """Does `find` run a deleting program on what it matches?"""
    for k, a in enumerate(args):
        if a.value in ("-exec", "-execdir", "-ok", "-okdir") and k + 1 < len(args):
            prog = args[k + 1]
            if prog.dynamic or posixpath.basename(prog.value) in _FIND_DESTROYERS:
                return True
    return False


def find_may_match(args: list[Arg], path: str, root: str) -> bool:
    """Could `find ROOT EXPR` match ``path`` or something under it?  Only
    plain conjunctions of -name / -path / -type / -maxdepth are judged;
    anything else may match.  A directory's files are looked at (bounded)."""
    from fnmatch import fnmatchcase

    tests: list[tuple[str, str]] = []
    for k, a in enumerate(args):
        v = a.value
        if a.dynamic or v in ("-o", "-or", "!", "-not", "(", ")", ",", "-regex", "-iregex",
                              "-lname", "-ilname", "-samefile", "-inum", "-links"):
            return True
        # -path is matched against the path as find prints it: not judged
        if v in ("-name", "-iname", "-type", "-maxdepth") and k + 1 < len(args):
            tests.append((v, args[k + 1].value))
    entries = [path]
    if os.path.isdir(path):
        for dirpath, dirs, files in os.walk(path):
            entries += [posixpath.join(dirpath, n) for n in dirs + files]
            if len(entries) > 500:
                return True
    for entry in entries:
        rel = entry[len(root):].lstrip("/")
        ok = True
        for opt, val in tests:
            base = posixpath.basename(entry)
            if opt == "-name":
                ok = fnmatchcase(base, val)
            elif opt == "-iname":
                ok = fnmatchcase(base.lower(), val.lower())
            elif opt == "-type":
                ok = ("d" in val) if os.path.isdir(entry) else ("f" in val or "l" in val)
            elif opt == "-maxdepth" and val.isdigit():
                ok = rel.count("/") + (1 if rel else 0) <= int(val)
            if not ok:
                break
        if ok:
            return True
    return False


__all__ = ["find_destroys", "find_may_match", "tar_extracts"]
