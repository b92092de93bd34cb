"""``flock`` with a time limit: the one wait loop for a lock another process
holds (the ledger's pending checkpoint, the sandbox's stand-in lock)."""

from __future__ import annotations

import fcntl
import time


def flock_within(fd: int, operation: int, *, within: float, step: float = 0.005) -> bool:
    """Take ``flock(fd, operation)`` (``fcntl.LOCK_SH`` or ``LOCK_EX``), waiting
    at most ``within`` seconds; True once held, False when the time ran out
    (the caller says what that means)."""
    deadline = time.monotonic() + within
    while True:
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(step)


__all__ = ["flock_within"]
