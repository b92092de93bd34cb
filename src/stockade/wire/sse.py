"""Server-sent events: incremental parsing and serialising (WHATWG rules).

The gateway relays streams event by event, so the parser is fed whatever
bytes the socket produced and yields only complete events.  It keeps the raw
bytes of each event so an event nobody needs to change is relayed verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One event.  ``data`` is the data lines joined with ``\\n``; ``raw`` the
    exact bytes received, terminator included (empty for built events)."""

    event: str | None
    data: str
    id: str | None = None
    raw: bytes = b""


def serialise_event(*, data: str, event: str | None = None, id: str | None = None) -> bytes:
    """Encode one event; multi-line data becomes several ``data:`` lines."""
    parts: list[str] = []
    if event is not None:
        parts.append(f"event: {event}\n")
    if id is not None:
        parts.append(f"id: {id}\n")
    for line in data.split("\n"):
        parts.append(f"data: {line}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


class SSEParser:
    """Feed bytes, get complete events.  Accepts ``\\n``, ``\\r\\n`` and ``\\r``
    line ends; events are split on a blank line."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buf += chunk
        events: list[SSEEvent] = []
        while True:
            cut = _find_boundary(self._buf)
            if cut is None:
                return events
            raw, self._buf = self._buf[:cut], self._buf[cut:]
            ev = _parse_block(raw)
            if ev is not None:
                events.append(ev)

    def flush(self) -> list[SSEEvent]:
        """The stream ended: a trailing event without its blank line still counts."""
        raw, self._buf = self._buf, b""
        if not raw.strip():
            return []
        ev = _parse_block(raw)
        return [ev] if ev is not None else []

    @property
    def pending(self) -> int:
        return len(self._buf)


def _find_boundary(buf: bytes) -> int | None:
    """End offset (exclusive) of the first complete event block, or None."""
    best: int | None = None
    for sep in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        i = buf.find(sep)
        if i != -1 and (best is None or i + len(sep) < best):
            best = i + len(sep)
    return best


def _parse_block(raw: bytes) -> SSEEvent | None:
    text = raw.decode("utf-8", "replace")
    event: str | None = None
    ev_id: str | None = None
    data: list[str] = []
    seen_field = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        seen_field = True
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            ev_id = value
    if not seen_field:
        # comment-only block (keep-alive): relay it, it carries no data
        return SSEEvent(event=None, data="", raw=raw) if raw.strip() else None
    return SSEEvent(event=event, data="\n".join(data), id=ev_id, raw=raw)
