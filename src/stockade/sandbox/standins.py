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

Two locks, both held shared: the state directory's (sessions of one
``STOCKADE_HOME``) and this user's (``shared``: /dev/shm/stockade-UID, which
every sandbox hides), so that sessions with different ``STOCKADE_HOME`` in
one workspace keep each other's guards too.  Alone means alone on both; a
lock file that was deleted or replaced meanwhile (logind's RemoveIPC, a
clean-up of /dev/shm) means not alone.  The list stays the state
directory's: what a session leaves because another (of another state
directory) still ran is removed by the next session of its own state
directory that ends alone.
"""

from __future__ import annotations

import fcntl
import os

from stockade.filelock import flock_within
from stockade.sandbox.layout import DOT_FILE, INERT_MODE, JSON_FILE

LOCK = "standins.lock"
LIST = "standins.list"
WAIT = 30.0  # seconds a starting session waits for another's clean-up
# what a stand-in file may hold (kind letter in the list -> content); "i":
# an empty one without write bits (layout.INERT_MODE)
_CONTENT = {b"f": b"", b".": DOT_FILE.encode(), b"j": JSON_FILE.encode(), b"i": b""}


class StandIns:
    """The stand-in locks, held shared from here on."""

    def __init__(self, state: str, *, shared: str | None = None) -> None:
        """``shared``: this user's folder for the second lock (see above);
        None, or a lock there that cannot be used: the state directory's
        alone."""
        os.makedirs(state, mode=0o700, exist_ok=True)
        self._list = os.path.join(state, LIST)
        self._locks: list[tuple[int, str]] = []
        self._locks.append(_lock_shared(os.path.join(state, LOCK)))
        if shared is not None:
            try:
                self._locks.append(_lock_shared(os.path.join(shared, LOCK)))
            except TimeoutError:
                self._let_go()
                raise
            except OSError:
                pass  # the state directory's lock still guards its own sessions

    def _let_go(self) -> None:
        locks, self._locks = self._locks, []
        for fd, _ in locks:
            os.close(fd)

    def create_dir(self, path: str) -> bool:
        """Make the empty directory ``path`` (listed first); False if it exists."""
        self._note(b"d", path)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            return False
        return True

    def create_file(self, path: str, content: bytes = b"", *, inert: bool = False) -> bool:
        """Make the file ``path`` holding ``content`` (empty, ``.\n`` or
        ``{}\n``; listed first); False if it exists.  ``inert``: empty and
        without write bits (``layout.INERT_MODE``)."""
        kind = b"i" if inert else next(k for k, v in _CONTENT.items() if v == content)
        self._note(kind, path)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         INERT_MODE if inert else 0o644)
        except FileExistsError:
            return False
        try:
            if inert:
                os.fchmod(fd, INERT_MODE)  # whatever the umask
            elif content:
                os.write(fd, content)
        finally:
            os.close(fd)
        return True

    def _note(self, kind: bytes, path: str) -> None:
        # listed before it exists: a crash in between leaves a name to
        # try, never a stand-in nobody knows of.  One append per record.
        record = kind + b"\0" + os.fsencode(path) + b"\0"
        fd = os.open(self._list, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
                     | os.O_NOFOLLOW, 0o600)
        try:
            if os.write(fd, record) != len(record):
                raise OSError(f"a short write to {self._list}")
        finally:
            os.close(fd)

    def release(self) -> None:
        """The session is over (its sandbox gone): if no other session runs,
        remove every listed stand-in that is still empty; then let go."""
        locks, self._locks = self._locks, []
        if not locks:
            return
        try:
            # let go first: a shared lock kept through a failed upgrade (NFS's
            # emulation) would leave two sessions ending together both failing
            for fd, _ in locks:
                fcntl.flock(fd, fcntl.LOCK_UN)
            for fd, path in locks:
                if not _still_there(fd, path):
                    return  # a session that started since locked another file
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return  # another session still runs: the last one out removes them
            remove_listed(self._list)
        finally:
            for fd, _ in locks:
                os.close(fd)


def _lock_shared(path: str) -> tuple[int, str]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        if not flock_within(fd, fcntl.LOCK_SH, within=WAIT, step=0.01):
            raise TimeoutError(
                f"another stockade session has been removing its stand-ins for "
                f"{WAIT:.0f} s (lock {path})")
    except BaseException:
        os.close(fd)
        raise
    return fd, path


def _still_there(fd: int, path: str) -> bool:
    """Is the lock file held on ``fd`` still the one at ``path``?"""
    try:
        held, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return held.st_nlink > 0 and (held.st_dev, held.st_ino) == (there.st_dev, there.st_ino)


def remove_listed(list_path: str) -> None:
    """Remove the listed stand-ins still empty (deepest first), then the list."""
    try:
        fd = os.open(list_path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        with open(fd, "rb") as f:
            fields = f.read().split(b"\0")
    except OSError:
        return  # none, or unreadable: whatever is listed stays (never the unsafe way)
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
