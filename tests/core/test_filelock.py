"""stockade.filelock.flock_within: a lock held elsewhere is waited for, at most
as long as asked."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from stockade.filelock import flock_within


def test_waits_at_most_as_long_as_asked_then_takes_the_lock_once_free(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    waiter = os.open(path, os.O_RDWR)  # its own open file description: flock tells them apart
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        t = time.monotonic()
        assert flock_within(waiter, fcntl.LOCK_SH, within=0.1) is False
        assert 0.1 <= time.monotonic() - t < 2
        threading.Timer(0.05, fcntl.flock, (holder, fcntl.LOCK_UN)).start()
        assert flock_within(waiter, fcntl.LOCK_SH, within=5) is True
        assert flock_within(holder, fcntl.LOCK_SH, within=0) is True  # shared with the waiter
    finally:
        os.close(holder)
        os.close(waiter)
