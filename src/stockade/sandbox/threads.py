"""Daemon threads started without waiting for them to run.

``threading.Thread.start`` blocks until the new thread has run far enough to
say so.  Right after the go, the agent and bubblewrap hold both cores of a
small machine, and each such handshake cost the launcher up to ~4 ms
(measured: the accept loops, the recorder's watcher and bubblewrap's pipes
were ~10 ms between the go and the launcher's supervising loop).  The
threads started here are the launcher's own fire-and-forget helpers: they
report through queues and events, and nobody joins them.  Nothing here
imports ``threading`` (see :class:`Flag`).
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Flag:
    """``threading.Event``'s ``set`` and ``wait``, on one ``_thread`` lock:
    ``threading`` (with ``functools`` and ``collections`` under it) costs
    ``stockade run`` ~5 ms of start-up on a small machine."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()  # held until set

    def set(self) -> None:
        try:
            self._lock.release()
        except RuntimeError:
            pass  # set already

    def wait(self, timeout: float | None = None) -> bool:
        """True once set; False if ``timeout`` seconds passed first."""
        if not self._lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            return False
        try:
            self._lock.release()
        except RuntimeError:
            pass  # a second set() came between the two: set all the same
        return True


class Slots:
    """A bounded count of things held at once (``threading.BoundedSemaphore``
    taken without blocking): :meth:`take` says whether one was free."""

    __slots__ = ("_free", "_lock", "_size")

    def __init__(self, size: int) -> None:
        self._size = self._free = size
        self._lock = _thread.allocate_lock()

    @property
    def free(self) -> int:
        return self._free

    def take(self) -> bool:
        with self._lock:
            if self._free == 0:
                return False
            self._free -= 1
            return True

    def give(self) -> None:
        with self._lock:
            if self._free >= self._size:
                raise ValueError("Slots given back more often than taken")
            self._free += 1


def background(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` in a new daemon thread; return at once.  An
    exception in ``fn`` is reported as ``threading`` would (on stderr) and
    ends only that thread."""
    _thread.start_new_thread(fn, args)


__all__ = ["Flag", "Slots", "background"]
