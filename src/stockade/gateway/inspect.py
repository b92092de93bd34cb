"""Request inspection: every segment through the DLP engine, with a result cache.

Claude Code resends ~75 KB of system prompt and tool definitions on every
turn, and the whole conversation so far; only the newest messages are new.
Results are cached per segment text (bounded LRU, by characters held), so a
repeat turn costs a dictionary lookup per unchanged segment.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from stockade.gateway.deps import Scanner
from stockade.model import Finding
from stockade.wire.exchange import Exchange, Segment


@dataclass(frozen=True, slots=True)
class SegmentFinding:
    segment: Segment
    finding: Finding

    @property
    def location(self) -> str:
        return self.segment.location


class ScanCache:
    """LRU of segment text -> findings, bounded by the characters it keeps."""

    def __init__(self, scanner: Scanner, *, max_chars: int = 64 * 1024 * 1024,
                 min_chars: int = 0) -> None:
        self._scan = scanner
        self._max = max_chars
        self._min = min_chars
        self._held = 0
        self._lru: OrderedDict[str, tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def scan(self, text: str) -> tuple[Finding, ...]:
        if len(text) < self._min:
            return tuple(self._scan(text))
        with self._lock:
            got = self._lru.get(text)
            if got is not None:
                self._lru.move_to_end(text)
                self.hits += 1
                return got
        result = tuple(self._scan(text))
        with self._lock:
            self.misses += 1
            if len(text) <= self._max // 4 and text not in self._lru:
                self._lru[text] = result
                self._held += len(text)
                while self._held > self._max and self._lru:
                    old, _ = self._lru.popitem(last=False)
                    self._held -= len(old)
        return result


def inspect(exchange: Exchange, cache: ScanCache) -> list[SegmentFinding]:
    out: list[SegmentFinding] = []
    for seg in exchange.segments:
        for f in cache.scan(seg.text):
            out.append(SegmentFinding(seg, f))
    return out


def active(findings: Sequence[SegmentFinding]) -> list[SegmentFinding]:
    """Findings no allowlist entry or inline comment accepted."""
    return [sf for sf in findings if sf.finding.suppressed_by is None]
