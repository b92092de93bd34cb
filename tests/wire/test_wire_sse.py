"""SSE parsing is incremental: any split of the byte stream gives the same events."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.wire.sse import SSEParser, serialise_event

STREAM = (b"event: message_start\ndata: {\"a\": 1}\n\n: keep-alive\n\n"
          b"event: content_block_delta\r\ndata: {\"t\": \"h\xc3\xa9\"}\r\n\r\n"
          b"data: line1\ndata: line2\n\ndata: [DONE]\n\n")


def _events(chunks: list[bytes]) -> list[tuple[str | None, str]]:
    p = SSEParser()
    out = []
    for c in chunks:
        out += [(e.event, e.data) for e in p.feed(c)]
    out += [(e.event, e.data) for e in p.flush()]
    return [e for e in out if e[1]]


def test_whole_stream() -> None:
    assert _events([STREAM]) == [
        ("message_start", '{"a": 1}'), ("content_block_delta", '{"t": "hé"}'),
        (None, "line1\nline2"), (None, "[DONE]")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=8))
def test_any_split_same_events(cuts: list[int]) -> None:
    cuts = sorted(set(cuts))
    pieces, prev = [], 0
    for c in cuts:
        pieces.append(STREAM[prev:c])
        prev = c
    pieces.append(STREAM[prev:])
    assert _events(pieces) == _events([STREAM])


def test_raw_bytes_kept_for_verbatim_relay() -> None:
    p = SSEParser()
    evs = p.feed(STREAM)
    assert b"".join(e.raw for e in evs) == STREAM


def test_serialise_roundtrip() -> None:
    raw = serialise_event(data="x\ny", event="e")
    [ev] = SSEParser().feed(raw)
    assert (ev.event, ev.data) == ("e", "x\ny")
