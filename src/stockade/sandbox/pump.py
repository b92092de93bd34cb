"""Move bytes between two connected sockets until both directions close, and
open the upstream one (:func:`dial`).

Used by the egress proxy and the gateway bridge.  Each direction copies
through a buffer that starts at 16 KiB and grows (to 4 MiB) while every
read fills it: an interactive connection holds little memory, a download
moves megabytes per ``recv``/``send`` pair.  What the agent can make the
launcher hold is bounded: at most MAX_RELAYS connections are relayed at once
(more are cut), and at most 16 directions hold a buffer larger than the first
(so ~16 MB + 64 MB in all).  A copy, not ``splice(2)``:
splice hands the receiving agent the sender's packets page by page, and on
a loopback download that cost the agent more than the copy costs the relay
(on a 2-core machine, 100 MB: about 65% of a direct download's speed with
splice, about 85% with this copy, the same as ``socat -b 4194304``, which
bench/sandbox.py measures as the floor).  One thread per direction: an agent
opens tens of connections, not thousands, and threads keep ``stockade run``
free of the asyncio import.

Plain ``_socket`` objects are enough (``socket.socket`` is a subclass): the
``socket`` module builds enums on import, which the agent's first connection
would wait for.
"""

from __future__ import annotations

import _socket

from stockade.sandbox.threads import Flag, Slots, background

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: first connection
if TYPE_CHECKING:
    from collections.abc import Callable

FIRST_BUF = 16 * 1024
MAX_BUF = 4 * 1024 * 1024
# Directions that may hold a buffer larger than FIRST_BUF at once: bounds what
# many parallel downloads (a package install) can pin in the launcher.
_BIG = Slots(16)
# Connections relayed at once: an agent opening thousands of idle connections
# would otherwise grow the launcher (two threads and buffers each) without end.
MAX_RELAYS = 512
_RELAYS = Slots(MAX_RELAYS)
RELAY_CAP = "relay-cap"  # why a connection over the cap was refused or cut


def reserve_relay() -> bool:
    """Take a relay slot for a connection about to be opened (False: none is
    free); hand it to :func:`pump` (``reserved=True``), or give it back with
    :func:`release_relay` if the connection is never relayed."""
    return _RELAYS.take()


def release_relay() -> None:
    _RELAYS.give()


def dial(host: str, port: int, *, timeout: float) -> _socket.socket:
    """A TCP connection to ``host:port``, each address in turn (what
    ``socket.create_connection`` does), in blocking mode with ``timeout``."""
    # A canonical host is ASCII: passed as bytes, getaddrinfo skips the IDNA
    # codec (and its import); anything else takes the usual path.
    name: str | bytes = host.encode("ascii") if host.isascii() else host
    last: OSError | None = None
    for fam, kind, proto, _, addr in _socket.getaddrinfo(name, port, 0, _socket.SOCK_STREAM):
        s = _socket.socket(fam, kind, proto)
        try:
            s.settimeout(timeout)
            s.connect(addr)
        except OSError as exc:
            last = exc
            s.close()
            continue
        return s
    raise last if last is not None else OSError(f"no address for {host}")


def _nodelay(s: _socket.socket) -> None:
    # A relay must not hold back a small write of one side (Nagle against the
    # other side's delayed ACK costs up to 40 ms a round trip).
    try:
        s.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    except OSError:
        pass  # not TCP


def _copy(src: _socket.socket, dst: _socket.socket, count: list[int], idx: int,
          finished: Flag | None = None) -> None:
    """One direction; ``finished`` is set when it is over, however it ends (the
    other direction waits for it)."""
    try:
        _copy_until_eof(src, dst, count, idx)
    finally:
        if finished is not None:
            finished.set()


def _copy_until_eof(src: _socket.socket, dst: _socket.socket, count: list[int],
                    idx: int) -> None:
    size = FIRST_BUF
    buf = bytearray(size)
    view = memoryview(buf)
    big = False
    try:
        while True:
            n = src.recv_into(buf)
            if n == 0:
                return
            dst.sendall(view[:n])
            count[idx] += n
            if n == size and size < MAX_BUF and (big or _BIG.take()):
                big = True
                size *= 4
                view.release()
                buf = bytearray(size)
                view = memoryview(buf)
    except OSError:
        return
    finally:
        if big:
            _BIG.give()
        try:
            dst.shutdown(_socket.SHUT_WR)
        except OSError:
            pass


def pump(
    a: _socket.socket,
    b: _socket.socket,
    *,
    done: Callable[[int, int, str | None], None] | None = None,
    first_a_to_b: bytes = b"",
    first_b_to_a: bytes = b"",
    reserved: bool = False,
    slots: Slots | None = None,
) -> None:
    """Copy a->b and b->a (blocking), then close both and report
    ``done(bytes_a_to_b, bytes_b_to_a, why cut or None)``.  ``first_*`` is
    data already read from one side that must go out before anything else.
    ``reserved``: the caller holds a slot of :func:`reserve_relay`'s, given
    back here; ``slots``: a count of relays of the caller's own (the
    gateway bridge's), instead of the egress relays'."""
    count = [0, 0]
    pool = _RELAYS if slots is None else slots
    relayed = reserved or pool.take()
    cut: str | None = None
    try:
        if not relayed:
            cut = RELAY_CAP  # over the cap: cut at once, nothing relayed
            return
        a.setblocking(True)
        b.setblocking(True)
        _nodelay(a)
        _nodelay(b)
        if first_a_to_b:
            b.sendall(first_a_to_b)
            count[0] += len(first_a_to_b)
        if first_b_to_a:
            a.sendall(first_b_to_a)
            count[1] += len(first_b_to_a)
        back = Flag()
        background(_copy, b, a, count, 1, back)
        _copy(a, b, count, 0)
        back.wait()
    except OSError:
        pass
    finally:
        if relayed:
            pool.give()
        for s in (a, b):
            try:
                s.close()
            except OSError:
                pass
        if done is not None:
            done(count[0], count[1], cut)


__all__ = ["MAX_RELAYS", "RELAY_CAP", "dial", "pump", "release_relay", "reserve_relay"]
