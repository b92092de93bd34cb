"""Request inspection: every segment through the DLP engine, with result caches.

Claude Code resends ~75 KB of system prompt and tool definitions on every
turn, and the whole conversation so far; only the newest messages are new.
Two caches make a repeat turn cheap:

* per section element (:class:`~stockade.wire.exchange.Block`, from the
  wire's :class:`~stockade.wire.exchange.BlockMemo`, keyed by the element's
  exact text): its findings, resolved, so an unchanged tool definition costs
  one dictionary lookup;
* per segment text (bounded LRU, by characters held): for the rest (new
  messages, headers, top-level fields) and for elements that changed a little.

Context segments (``"KEY: value"``) exist for rules that need the name a value
is assigned to; their findings are moved onto the value's own text segment
(so a ``redact`` can rewrite it) and dropped where the value's own scan
already reported the same span.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from stockade.gateway.deps import Scanner
from stockade.model import Finding
from stockade.wire.exchange import CONTEXT_REACH, Exchange, Path, Segment, path_str
from stockade.wire.jsonbody import FINDING_BYTES, Block, BlockMemo, entry_cost

# Findings of one run of segments: (index of the segment in the run, finding), in order.
_Resolved = tuple[tuple[int, Finding], ...]


@dataclass(frozen=True, slots=True)
class SegmentFinding:
    segment: Segment
    finding: Finding
    location: str  # never holds the text of a key with a finding (see Exchange.key_masks)


class ScanCache:
    """LRU of segment text -> findings, and the block memo with each Block's
    resolved findings; both bounded by an estimate of the bytes they keep alive
    (entry overheads included: a budget in characters let a stream of unique
    tiny values hold ~50 bytes per character)."""

    def __init__(self, scanner: Scanner, *, max_bytes: int = 256 * 1024 * 1024,
                 min_chars: int = 0) -> None:
        self._scan = scanner
        self._max = max_bytes // 2  # half for the text LRU, half for the memo
        self._min = min_chars
        self._held = 0
        self._lru: OrderedDict[str, tuple[Finding, ...]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.memo = BlockMemo(max_bytes=max_bytes // 2)
        # tags the findings this cache stores on Blocks; not ``self``, which would
        # make every Block and this cache a reference cycle for the collector
        self._tag = object()

    @property
    def held_bytes(self) -> int:
        """The estimate both caches are bounded by (for tests and /metrics)."""
        return self._held + self.memo.held_bytes

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
        cost = entry_cost(text, len(result))
        with self._lock:
            self.misses += 1
            if cost <= self._max // 4 and text not in self._lru:
                self._lru[text] = result
                self._held += cost
                while self._held > self._max and self._lru:
                    old, found = self._lru.popitem(last=False)
                    self._held -= entry_cost(old, len(found))
        return result

    def resolved(self, segments: Sequence[Segment]) -> _Resolved:
        """The findings of a run of segments, context findings moved onto values."""
        results = self.scan_many([seg.text for seg in segments])
        return resolve_context(segments, results)

    def block(self, block: Block) -> _Resolved:
        """A Block's resolved findings, kept on the Block (so they go when the memo
        drops it) and tagged with this cache: a Block scanned by another cache (a
        gateway with other rules) is scanned again here."""
        found = block.found
        if found is not None and found[0] is self._tag:
            with self._lock:
                self.hits += len(block.segments)
            return found[1]  # type: ignore[no-any-return]
        result = self.resolved(block.segments)
        block.found = (self._tag, result)
        self.memo.charge(block, len(result) * FINDING_BYTES)
        return result


def resolve_context(segments: Sequence[Segment],
                    results: Sequence[Sequence[Finding]]) -> _Resolved:
    """(segment index, finding) for every finding, in segment order.  A finding in
    a context segment (``"KEY: value"``) that lies in the value moves onto the
    value's text segment (same path), unless that segment's own scan reported
    the same rule at the same span; one that lies wholly in the key part is
    dropped (the key, or the name leaf, is a segment of its own).  A context
    segment whose value segment is missing keeps its findings (they then block:
    a context part cannot be rewritten)."""
    out: list[tuple[int, Finding]] = []
    by_path: dict[Path, int] | None = None
    for i, (seg, fs) in enumerate(zip(segments, results, strict=True)):
        if not fs:
            continue
        if seg.part != "context":
            out.extend((i, f) for f in fs)
            continue
        if by_path is None:
            by_path = {s.path: j for j, s in enumerate(segments) if s.part == "text"}
        vi = by_path.get(seg.path)
        if vi is None:
            out.extend((i, f) for f in fs)
            continue
        value = segments[vi].text
        offset = len(seg.text) - min(len(value), CONTEXT_REACH)
        own = {(f.rule_id, f.start, f.end) for f in results[vi]}
        for f in fs:
            if f.end <= offset:
                continue
            moved = _shift(f, offset, value)
            if (moved.rule_id, moved.start, moved.end) not in own:
                out.append((vi, moved))
    out.sort(key=lambda p: p[0])  # stable: each segment's findings stay in scan order
    return tuple(out)


def _shift(f: Finding, offset: int, text: str) -> Finding:
    """``f`` found at ``offset`` + its span in a longer text, as a finding in ``text``."""
    start = max(f.start - offset, 0)
    end = f.end - offset
    line, col = _position(text, start)
    end_line, end_col = _position(text, max(end - 1, start))
    return replace(f, start=start, end=end, line=line, column=col, end_line=end_line,
                   end_column=end_col + 1)


def _position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def inspect(exchange: Exchange, cache: ScanCache,
            known: Sequence[tuple[str, str, str]] = ()) -> list[SegmentFinding]:
    """Every finding in every segment, with a location safe to show and record.
    ``known``: (value, rule id, label) of the values the conversation's vault
    holds; each is found wherever it appears, whatever the rules say now."""
    segments = exchange.segments
    found: list[tuple[int, Finding]] = []
    loose: list[int] = []
    covered = 0
    for block, start in exchange.blocks:
        loose.extend(range(covered, start))
        found.extend((start + i, f) for i, f in cache.block(block))
        covered = start + len(block.segments)
    loose.extend(range(covered, len(segments)))
    if loose:
        if len(loose) == len(segments):
            found.extend(cache.resolved(segments))
        else:
            found.extend((loose[i], f) for i, f in cache.resolved([segments[j] for j in loose]))
    if known:
        found.extend(known_values(segments, known, found))
    if not found:
        return []
    found.sort(key=lambda p: p[0])
    pairs = [(segments[i], f) for i, f in found]
    masks = key_masks(exchange, [seg for seg, _ in pairs])
    # a header name with a finding in it is shown by its position, like a key
    for seg, f in pairs:
        if seg.part == "header" and f.start < seg.text.index(":") + 2:
            masks[seg.path] = f"#{seg.path[1]}"
    return [SegmentFinding(seg, f, location(seg, masks)) for seg, f in pairs]


def known_values(segments: Sequence[Segment], known: Sequence[tuple[str, str, str]],
                 found: Sequence[tuple[int, Finding]]) -> list[tuple[int, Finding]]:
    """Where each known value appears in ``segments`` (context segments aside:
    their value has a segment of its own), less the spans ``found`` has.  A
    value this gateway restored into a response comes back in the next
    request's history, where the context that found it may be gone (a key
    name's "aws_secret_access_key = " before it, say): it is redacted again
    (or blocked, where it cannot be rewritten) all the same."""
    from bisect import bisect_right

    from stockade.dlp.mask import mask

    idx = [i for i, seg in enumerate(segments) if seg.part != "context"]
    # one text, a NUL between segments (no value holds one: each was found in text)
    joined = "\0".join(segments[i].text for i in idx)
    starts: list[int] = []
    pos = 0
    for i in idx:
        starts.append(pos)
        pos += len(segments[i].text) + 1
    have = {(i, f.start, f.end) for i, f in found}
    taken: dict[int, list[tuple[int, int]]] = {}
    for i, f in found:
        taken.setdefault(i, []).append((f.start, f.end))
    out: list[tuple[int, Finding]] = []
    for value, rule_id, label in known:
        if not value or "\0" in value:
            continue
        at = joined.find(value)
        while at >= 0:
            k = bisect_right(starts, at) - 1
            i = idx[k]
            start = at - starts[k]
            end = start + len(value)
            at = joined.find(value, at + len(value))
            if (i, start, end) in have or any(a <= start and end <= b
                                             for a, b in taken.get(i, ())):
                continue
            text = segments[i].text
            line, col = _position(text, start)
            end_line, end_col = _position(text, end - 1)
            out.append((i, Finding(rule_id=rule_id, label=label, start=start, end=end,
                                   line=line, column=col, end_line=end_line,
                                   end_column=end_col + 1, confidence=1.0,
                                   preview=mask(value))))
            have.add((i, start, end))
    return out


def location(seg: Segment, masks: dict[Path, str]) -> str:
    """Where a finding is, for the user and the ledger: a JSON path with keys that
    hold findings masked; a header by its name, or by its position when the name
    holds a finding."""
    if seg.part == "header":
        return "request header " + masks.get(seg.path, seg.text.split(":", 1)[0])
    if seg.part == "query":
        return "query string"
    return path_str(seg.path, masks)


def key_masks(exchange: Exchange, segments: Sequence[Segment]) -> dict[Path, str]:
    """Masks for the keys among ``segments``: a key in which anything was found (even
    an allowlisted value) is never shown, neither alone nor in a path below it."""
    return exchange.key_masks({seg.path for seg in segments if seg.part == "key"})


def active(findings: Sequence[SegmentFinding]) -> list[SegmentFinding]:
    """Findings no allowlist entry or inline comment accepted."""
    return [sf for sf in findings if sf.finding.suppressed_by is None]
