"""Model-API wire formats, pure: JSON bodies and SSE streams <-> an :class:`Exchange`.

Nothing here knows about policy, sockets or the ledger.  The gateway parses a
request into an :class:`~stockade.wire.exchange.Exchange` (every inspectable
text segment with its JSON path), lets inspectors look at it, and writes the
replacements back with :func:`~stockade.wire.exchange.apply_replacements`.
"""

from stockade.wire.exchange import (
    PROTOCOLS,
    Exchange,
    Protocol,
    Segment,
    WireError,
    apply_replacements,
    error_body,
    parse_request,
)
from stockade.wire.sse import SSEEvent, SSEParser, serialise_event

__all__ = [
    "PROTOCOLS",
    "Exchange",
    "Protocol",
    "SSEEvent",
    "SSEParser",
    "Segment",
    "WireError",
    "apply_replacements",
    "error_body",
    "parse_request",
    "serialise_event",
]
