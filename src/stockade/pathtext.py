"""pathlib's answers, on text paths (POSIX).

For modules that every appending process loads (the state directory, the
ledger's SQLite file): importing pathlib (with urllib.parse and ipaddress)
costs such a process ~5 ms, most of a hook call's or the sandbox recorder's
start-up.  Each function gives what the pathlib call in its docstring would,
as ``str``; the tests hold them to that.
"""

from __future__ import annotations

import errno
import os


def normpath(path: str) -> str:
    """``str(Path(path))``: repeated slashes and ``.`` dropped, ``..`` kept, no
    trailing slash, two leading slashes kept (POSIX lets them mean something
    else), ``.`` for nothing."""
    if path.startswith("/"):
        root = "//" if path.startswith("//") and not path.startswith("///") else "/"
    else:
        root = ""
    parts = "/".join(p for p in path.split("/") if p and p != ".")
    return root + parts if root or parts else "."


def absolute(path: str) -> str:
    """``str(Path(path).absolute())``."""
    if not path.startswith("/"):
        path = os.getcwd() + "/" + path
    return normpath(path)


def expanduser(path: str) -> str:
    """``str(Path(path).expanduser())``, unnormalised: ``~`` or ``~user`` at the
    start replaced, or RuntimeError when the home directory is unknown."""
    if not path.startswith("~"):
        return path
    first, _, rest = path.partition("/")
    home = os.path.expanduser(first)
    if home.startswith("~"):
        raise RuntimeError("Could not determine home directory.")
    # joined as Path(home, rest) would: "/" and "~//x" give "/x", never "//x"
    rest = rest.lstrip("/")
    return home.rstrip("/") + "/" + rest if rest else home


def join(base: str, *names: str) -> str:
    """``str(Path(base).joinpath(*names))`` for a normalised ``base`` and plain names."""
    prefix = "" if base == "." else base if base.endswith("/") else base + "/"
    return prefix + "/".join(names)


def exists(path: str) -> bool:
    """``Path(path).exists()``: a stat that fails for want of the file is False;
    any other failure (no permission to look) is raised."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            raise
        return False
    except ValueError:  # a NUL in the path
        return False
    return True


def mkdir(path: str, *, mode: int = 0o777, parents: bool = False) -> None:
    """``Path(path).mkdir(mode=mode, parents=parents, exist_ok=True)``."""
    try:
        os.mkdir(path, mode)
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if not parents or parent == path or not parent:
            raise
        mkdir(parent, parents=True)
        mkdir(path, mode=mode)
    except OSError:
        if not os.path.isdir(path):
            raise


def read_regular(path: str, limit: int) -> bytes | None:
    """The first ``limit`` bytes of ``path`` if it is a regular file; None
    otherwise.  Never follows a link at ``path``, never blocks on a FIFO or
    a device (a file someone else may have planted)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_mode & 0o170000 != 0o100000:
            return None
        return os.read(fd, limit) if limit else b""
    except OSError:
        return None
    finally:
        os.close(fd)


__all__ = ["absolute", "exists", "expanduser", "join", "mkdir", "normpath", "read_regular"]
