"""The guard stand-ins sessions create on the host, and who removes them.

A guarded path that does not exist yet (``.vscode``, ``.git/hooks`` in a
folder that is no repository, ``~/.claude/settings.json`` under a preset's
``~/.claude``) is created empty on the host, so that a read-only bind can
cover it, and removed once the session is over.  With two sessions at once,
the first to end used to remove a stand-in the other had found and bound
read-only; removing a directory detaches what is mounted on it in every
other mount namespace, so the other agent could then create
``.vscode/tasks.json`` on the host after all.

So every session holds the stand-in lock shared while it runs, and lists
what it creates; whoever ends alone (the lock exclusive, without waiting)
removes every listed stand-in that is still empty, and a session starting
meanwhile waits for that before it looks at the host.

The lock is this user's, not the state directory's (``shared``: the user's
runtime folder, /dev/shm/stockade-UID, which every sandbox hides): two
sessions with different ``STOCKADE_HOME`` in one workspace are sessions all
the same.  The list is kept there too, for whoever ends last, and in the
state directory, which outlives a reboot (a session killed outright leaves
its stand-ins to the next session of that state directory that ends alone).
"""

from __future__ import annotations

import fcntl
import os

from stockade.filelock import flock_within
from stockade.sandbox.layout import DOT_FILE, JSON_FILE

LOCK = "standins.lock"
LIST = "standins.list"
WAIT = 30.0  # seconds a starting session waits for another's clean-up
# what a stand-in file may hold (kind letter in the list -> content)
_CONTENT = {b"f": b"", b".": DOT_FILE.encode(), b"j": JSON_FILE.encode()}


class StandIns:
    """The state directory's stand-in lock, held shared from here on."""

    def __init__(self, state: str, *, shared: str | None = None) -> None:
        """``shared``: this user's folder for the lock and a second list (see
        above); None: the state directory's."""
        os.makedirs(state, mode=0o700, exist_ok=True)
        self._lists = tuple(dict.fromkeys(os.path.join(d, LIST) for d in (state, shared) if d))
        lock = os.path.join(shared or state, LOCK)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            if not flock_within(fd, fcntl.LOCK_SH, within=WAIT, step=0.01):
                raise TimeoutError(
                    f"another stockade session has been removing its stand-ins for "
                    f"{WAIT:.0f} s (lock {lock})")
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd

    def create_dir(self, path: str) -> bool:
        """Make the empty directory ``path`` (listed first); False if it exists."""
        self._note(b"d", path)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            return False
        return True

    def create_file(self, path: str, content: bytes = b"") -> bool:
        """Make the file ``path`` holding ``content`` (empty, ``.\n`` or
        ``{}\n``; listed first); False if it exists."""
        kind = next(k for k, v in _CONTENT.items() if v == content)
        self._note(kind, path)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o644)
        except FileExistsError:
            return False
        try:
            if content:
                os.write(fd, content)
        finally:
            os.close(fd)
        return True

    def _note(self, kind: bytes, path: str) -> None:
        # listed before it exists: a crash in between leaves a name to
        # try, never a stand-in nobody knows of.  One append per record.
        record = kind + b"\0" + os.fsencode(path) + b"\0"
        for listed in self._lists:
            fd = os.open(listed, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
                         | os.O_NOFOLLOW, 0o600)
            try:
                if os.write(fd, record) != len(record):
                    raise OSError(f"a short write to {listed}")
            finally:
                os.close(fd)

    def release(self) -> None:
        """The session is over (its sandbox gone): if no other session runs,
        remove every listed stand-in that is still empty; then let go."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # let go first: a shared lock kept through a failed upgrade (NFS's
            # emulation) would leave two sessions ending together both failing
            fcntl.flock(fd, fcntl.LOCK_UN)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # another session still runs: the last one out removes them
            for listed in self._lists:
                remove_listed(listed)
        finally:
            os.close(fd)


def remove_listed(list_path: str) -> None:
    """Remove the listed stand-ins still empty (deepest first), then the list."""
    try:
        with open(list_path, "rb") as f:
            fields = f.read().split(b"\0")
    except FileNotFoundError:
        return
    entries = [(fields[i], os.fsdecode(fields[i + 1])) for i in range(0, len(fields) - 1, 2)]
    done: set[str] = set()
    for kind, path in reversed(entries):
        if path in done:
            continue
        done.add(path)
        try:
            if kind == b"d":
                os.rmdir(path)  # only when empty
            elif kind in _CONTENT:
                st = os.lstat(path)
                want = _CONTENT[kind]
                if st.st_mode & 0o170000 == 0o100000 and st.st_size == len(want) and (
                        not want or _holds(path, want)):
                    os.unlink(path)
        except OSError:
            pass  # gone already, in use, or no longer empty: the user's now
    try:
        os.unlink(list_path)
    except OSError:
        pass


def _holds(path: str, want: bytes) -> bool:
    from stockade.pathtext import read_regular

    return read_regular(path, len(want) + 1) == want


__all__ = ["StandIns", "remove_listed"]
