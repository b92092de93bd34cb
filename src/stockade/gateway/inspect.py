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
from stockade.wire.exchange import Exchange, Path, Segment, path_str


@dataclass(frozen=True, slots=True)
class SegmentFinding:
    segment: Segment
    finding: Finding
    location: str  # never holds the text of a key with a finding (see Exchange.key_masks)


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

    def scan_many(self, texts: Sequence[str]) -> list[tuple[Finding, ...]]:
        """``scan`` for each text; cached ones are looked up under one lock."""
        results: list[tuple[Finding, ...] | None] = [None] * len(texts)
        missed: list[int] = []
        lru = self._lru
        with self._lock:
            for i, text in enumerate(texts):
                got = lru.get(text) if len(text) >= self._min else None
                if got is None:
                    missed.append(i)
                else:
                    lru.move_to_end(text)
                    results[i] = got
            self.hits += len(texts) - len(missed)
        for i in missed:
            results[i] = self.scan(texts[i])
        return results  # type: ignore[return-value]  # every slot is filled above

    def scan_uncached(self, text: str) -> tuple[Finding, ...]:
        """For one-off texts (a response for the ledger) that would only churn the cache."""
        return tuple(self._scan(text))

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
    """Every finding in every segment, with a location safe to show and record."""
    segments = exchange.segments
    results = cache.scan_many([seg.text for seg in segments])
    found = [(seg, f) for seg, fs in zip(segments, results) for f in fs]
    if not found:
        return []
    masks = key_masks(exchange, [seg for seg, _ in found])
    return [SegmentFinding(seg, f, path_str(seg.path, masks)) for seg, f in found]


def key_masks(exchange: Exchange, segments: Sequence[Segment]) -> dict[Path, str]:
    """Masks for the keys among ``segments``: a key in which anything was found (even
    an allowlisted value) is never shown, neither alone nor in a path below it."""
    return exchange.key_masks({seg.path for seg in segments if seg.part == "key"})


def active(findings: Sequence[SegmentFinding]) -> list[SegmentFinding]:
    """Findings no allowlist entry or inline comment accepted."""
    return [sf for sf in findings if sf.finding.suppressed_by is None]
