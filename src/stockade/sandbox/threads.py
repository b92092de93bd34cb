"""Daemon threads started without waiting for them to run.

``threading.Thread.start`` blocks until the new thread has run far enough to
say so.  Right after the go, the agent and bubblewrap hold both cores of a
small machine, and each such handshake cost the launcher up to ~4 ms
(measured: the accept loops, the recorder's watcher and bubblewrap's pipes
were ~10 ms between the go and the launcher's supervising loop).  The
threads started here are the launcher's own fire-and-forget helpers: they
report through queues and events, and nobody joins them.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from typing import Any


def background(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` in a new daemon thread; return at once.  An
    exception in ``fn`` is reported as ``threading`` would (on stderr) and
    ends only that thread."""
    _thread.start_new_thread(fn, args)


__all__ = ["background"]
