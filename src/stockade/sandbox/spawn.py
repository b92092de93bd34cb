"""Start bubblewrap with ``posix_spawn`` and wait for it; the go gate its first
command waits on; the runtime folder.

``subprocess`` costs more to import than ``posix_spawn`` costs to call, and
``stockade run`` needs none of its features: bubblewrap changes directory
itself (``--chdir``), and the descriptors it must inherit are the only
inheritable ones this process has (Python opens everything close-on-exec).
"""

from __future__ import annotations

import _thread
import os

# the signal numbers, without the enum-built signal module (start-up path)
from _signal import SIGKILL, SIGPIPE, SIGXFSZ  # type: ignore[import-not-found]

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


# The sandbox's first command: wait for the launcher's go on descriptor N
# (a pipe only the launcher can write), close it, and become the agent.
# EOF (the launcher died) or anything but "1" means no: exit 125 without
# running anything.  A POSIX shell is in every sandbox (/usr is bound) and
# starts in about a millisecond.
# Just before the exec it writes a line on descriptor M (read by the launcher:
# the agent started, so a non-zero exit is the agent's, not bubblewrap's) and
# closes it too.
GO_TRAMPOLINE = ('read -r go <&{go}; exec {go}<&-; '
                 '[ "$go" = 1 ] || {{ echo "stockade: the session could not be recorded; '
                 'not starting" >&2; exit 125; }}; echo >&{ack}; exec {ack}>&-; '
                 'command -v "$1" >/dev/null || {{ echo "stockade: cannot run $1: '
                 'No such file or directory" >&2; exit 127; }}; exec "$@"')
EXIT_NO_GO = 125


def shell_fds(taken: Sequence[int], count: int = 2) -> list[int]:
    """``count`` descriptor numbers in 3-9 (all a POSIX shell can name) that
    are not ``taken`` (the others bubblewrap inherits)."""
    free = [n for n in range(3, 10) if n not in taken]
    if len(free) < count:
        raise ValueError("no free descriptor numbers below 10 for the sandbox's go pipe")
    return free[:count]


class Proc:
    """A spawned child: ``poll``, ``wait`` and ``kill``, safe from several
    threads (only one of them ever reaps it)."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str],
                 pass_fds: Sequence[int], dup_to: Mapping[int, int] | None = None) -> None:
        """``pass_fds`` are inherited as they are; ``dup_to`` maps a descriptor
        here to the number the child gets it as (a shell can name only 0-9)."""
        moves = dict(dup_to or {})
        temps: list[int] = []
        for src, dst in list(moves.items()):
            if src != dst and src in moves.values():
                # dup2 runs in order: a source that is also a target would be
                # overwritten before it is moved, so move a copy from above 9
                import fcntl

                tmp = fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 10)
                temps.append(tmp)
                del moves[src]
                moves[tmp] = dst
        same = [src for src, dst in moves.items() if src == dst]
        keep = (*pass_fds, *same)
        if set(moves.values()) & set(pass_fds):
            raise ValueError("dup_to would replace a passed descriptor")
        close_inherited(keep=keep)
        for fd in keep:
            os.set_inheritable(fd, True)
        try:
            # Python ignores SIGPIPE and SIGXFSZ; the agent must get the
            # defaults (`yes | head` ends), as subprocess's restore_signals does.
            # A process group of its own: the terminal's Ctrl-C (SIGINT to the
            # foreground group) reaches the launcher, which hands it to the
            # agent, not bubblewrap, which would die of it and end the session
            # under an agent that handles it.
            self.pid = os.posix_spawn(
                argv[0], list(argv), dict(env), setsigdef=(SIGPIPE, SIGXFSZ), setpgroup=0,
                file_actions=[(os.POSIX_SPAWN_DUP2, src, dst)
                              for src, dst in moves.items() if src != dst] or None)
        finally:
            for fd in keep:
                os.set_inheritable(fd, False)
            for fd in temps:
                os.close(fd)
        self.returncode: int | None = None
        self._lock = _thread.allocate_lock()  # not threading: start-up path

    def _set(self, status: int) -> None:
        self.returncode = os.waitstatus_to_exitcode(status)

    def poll(self) -> int | None:
        if self.returncode is None and self._lock.acquire(blocking=False):
            try:
                if self.returncode is None:
                    pid, status = os.waitpid(self.pid, os.WNOHANG)
                    if pid == self.pid:
                        self._set(status)
            except ChildProcessError:
                pass
            finally:
                self._lock.release()
        return self.returncode

    def wait(self) -> int:
        with self._lock:
            if self.returncode is None:
                _, status = os.waitpid(self.pid, 0)
                self._set(status)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, SIGKILL)
            except ProcessLookupError:
                pass


def close_inherited(*, keep: Sequence[int] = ()) -> None:
    """Mark every descriptor above stderr close-on-exec, but ``keep``.

    bubblewrap hands the descriptors it inherits to the sandboxed process, so
    one this process got from its own parent without close-on-exec (a
    directory, a host socket) would be a way out (``fchdir``, ``connect``).
    ``subprocess`` closes them with ``close_fds=True``; ``posix_spawn`` does
    not, so they are closed here before every spawn."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = [str(fd) for fd in range(3, _max_fd())]
    for name in names:
        fd = int(name)
        if fd <= 2 or fd in keep:
            continue
        try:
            if os.get_inheritable(fd):
                os.set_inheritable(fd, False)
        except OSError:
            pass  # closed meanwhile, or the listing's own descriptor


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 65536)
    except (OSError, ValueError):
        return 4096


def runtime_parent(base: str | None) -> str:
    """This user's folder (0700) for session runtime folders under ``base``
    (else $TMPDIR or /tmp): every session hides it whole, so no agent sees
    another session's stand-ins, even with /dev/shm or /tmp granted.  The
    shared folder itself when that one is not ours alone."""
    import stat

    shared = base or os.environ.get("TMPDIR") or "/tmp"
    own = os.path.join(shared, f"stockade-{os.getuid()}")
    try:
        os.mkdir(own, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return shared
    try:
        st = os.lstat(own)
    except OSError:
        return shared
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return shared  # planted by someone else, or a symlink: not ours
    return own


def make_runtime_dir(base: str | None) -> str:
    """A new private folder (0700), as ``tempfile.mkdtemp`` makes one, in
    :func:`runtime_parent`."""
    parent = runtime_parent(base)
    for _ in range(100):
        path = os.path.join(parent, f"stockade-{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free runtime folder name in {parent}")


def remove_tree(path: str) -> None:
    """Remove the runtime folder (ours, and read-only to the agent); errors ignored."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        entries = []
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                os.chmod(e.path, 0o700)
                remove_tree(e.path)
            else:
                os.unlink(e.path)
        except OSError:
            pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def copy_file(src: str, dst: str) -> None:
    with open(src, "rb") as f:
        data = f.read()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


__all__ = ["EXIT_NO_GO", "GO_TRAMPOLINE", "Proc", "close_inherited", "copy_file", "make_runtime_dir",
           "remove_tree", "shell_fds"]
