"""Move bytes between two connected sockets until both directions close.

Used by the egress proxy and the gateway bridge.  ``splice(2)`` through a
pipe keeps the bytes in the kernel (a 100 MB download never enters Python);
where splice is refused (some socket families, old kernels) a plain
``recv_into``/``sendall`` loop does the same job.  One thread per direction:
an agent opens tens of connections, not thousands, and threads keep
``stockade run`` free of the asyncio import (about 50 ms on a small CI
machine, most of the start-up budget).
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
from collections.abc import Callable

CHUNK = 1 << 20


def _copy(src: socket.socket, dst: socket.socket, count: list[int], idx: int) -> None:
    moved = False
    try:
        try:
            r, w = os.pipe()
        except OSError:
            r = w = -1
        try:
            if r >= 0:
                try:
                    fcntl.fcntl(w, 1031, CHUNK)  # F_SETPIPE_SZ: fewer, larger splices
                except OSError:
                    pass
                while True:
                    try:
                        n = os.splice(src.fileno(), w, CHUNK)
                    except OSError as exc:
                        # EINVAL, ENOSYS, EOPNOTSUPP before any byte moved: copy instead
                        if not moved and exc.errno in (22, 38, 95):
                            break  # fall back to copying below
                        raise
                    if n == 0:
                        return
                    count[idx] += n
                    moved = True
                    left = n
                    while left:
                        left -= os.splice(r, dst.fileno(), left)
            buf = bytearray(256 * 1024)
            view = memoryview(buf)
            while True:
                n = src.recv_into(buf)
                if n == 0:
                    return
                dst.sendall(view[:n])
                count[idx] += n
        finally:
            if r >= 0:
                os.close(r)
                os.close(w)
    except OSError:
        return
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def pump(
    a: socket.socket,
    b: socket.socket,
    *,
    done: Callable[[int, int], None] | None = None,
    first_a_to_b: bytes = b"",
    first_b_to_a: bytes = b"",
) -> None:
    """Copy a->b and b->a (blocking), then close both and report
    ``done(bytes_a_to_b, bytes_b_to_a)``.  ``first_*`` is data already read
    from one side that must go out before anything else."""
    count = [0, 0]
    try:
        a.setblocking(True)
        b.setblocking(True)
        if first_a_to_b:
            b.sendall(first_a_to_b)
            count[0] += len(first_a_to_b)
        if first_b_to_a:
            a.sendall(first_b_to_a)
            count[1] += len(first_b_to_a)
        t = threading.Thread(target=_copy, args=(b, a, count, 1), daemon=True)
        t.start()
        _copy(a, b, count, 0)
        t.join()
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.close()
            except OSError:
                pass
        if done is not None:
            done(count[0], count[1])


__all__ = ["pump"]
