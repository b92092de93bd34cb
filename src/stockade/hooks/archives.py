"""What an archive would extract: its member names, read with the standard
library's tarfile / zipfile, bounded so a hook call stays fast.  None when
the archive cannot be listed (missing, too large, not an archive, read from
a pipe): the caller then decides without the list."""

from __future__ import annotations

import os

from stockade.hooks.commands import Arg

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 5000


def members(path: str, *, kind: str) -> list[tuple[str, str]] | None:
    """``(name, how)`` per member; ``how`` says how it leaves the target
    directory: ``absolute`` (an absolute name, which tar strips unless
    ``-P``), ``dotdot`` (a `..` component), ``link`` (a link whose target
    leaves the tree), or ``""``."""
    try:
        if os.path.getsize(path) > MAX_ARCHIVE_BYTES:
            return None
        if kind == "zip":
            import zipfile

            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                if len(names) > MAX_MEMBERS:
                    return None
                return [(n, _how(n)) for n in names]
        import tarfile

        out: list[tuple[str, str]] = []
        with tarfile.open(path, "r:*") as tf:
            for m in tf:
                how = _how(m.name)
                if not how and m.issym():
                    how = "link" if _how(os.path.join(os.path.dirname(m.name),
                                                      m.linkname)) else ""
                elif not how and m.islnk():
                    how = "link" if _how(m.linkname) else ""
                out.append((m.name, how))
                if len(out) > MAX_MEMBERS:
                    return None
        return out
    except Exception:  # noqa: BLE001
        # any archive the library cannot read is simply not listed
        return None


def _how(name: str) -> str:
    if name.startswith("/"):
        return "absolute"
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return "dotdot"
        elif part not in ("", "."):
            depth += 1
    return ""


def tar_archive(args: tuple[Arg, ...]) -> Arg | None:
    """The archive `tar` reads: `-f FILE`, `--file=FILE`, `-xzf FILE`, or
    old-style `tar xzf FILE`.  None: standard input (or $TAPE)."""
    for k, a in enumerate(args):
        v = a.value
        if v in ("-f", "--file") and k + 1 < len(args):
            return args[k + 1]
        if v.startswith("--file="):
            return Arg(v[7:], a.raw, a.dynamic)
        if v.startswith("-") and not v.startswith("--") and "f" in v[1:]:
            rest = v[v.index("f", 1) + 1:]
            if rest:
                return Arg(rest, a.raw, a.dynamic)
            return args[k + 1] if k + 1 < len(args) else None
        if k == 0 and not v.startswith("-") and "f" in v:
            return args[1] if len(args) > 1 else None
    return None


def zip_archive(args: tuple[Arg, ...]) -> Arg | None:
    """`unzip [opts] FILE [members] [-d DIR]`: the first operand."""
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a.value in ("-d", "-x", "-P"):
            skip = True
            continue
        if a.value.startswith("-"):
            continue
        return a
    return None


__all__ = ["members", "tar_archive", "zip_archive"]
