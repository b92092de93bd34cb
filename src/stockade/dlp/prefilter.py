"""Find where each rule's anchors occur, fast (hyperscan) or plainly (re).

Both finders answer the same question exactly: the set of
``(anchor index, start offset)`` pairs, offsets in code points.  A literal
anchor occurs at every position where it matches (overlaps included,
ASCII-caseless unless cased); a pattern anchor is fixed-width, so "every
end offset" (hyperscan's semantics) and "every start offset" (a lookahead
scan in ``re``) name the same set.  That equality is what makes the two
engine paths return identical findings.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stockade.dlp.rule import fixed_width


@dataclass(frozen=True, slots=True)
class Anchor:
    text: str          # the literal, or the pattern source
    literal: bool
    caseless: bool
    width: int         # in code points


def literal_anchor(text: str, *, caseless: bool) -> Anchor:
    if caseless and not text.isascii():
        # hyperscan folds case beyond ASCII, the plain path only within it:
        # spell both cases out so both paths match exactly the same text.
        return pattern_anchor(_both_cases(text))
    return Anchor(text.translate(_ASCII_LOWER) if caseless else text, True, caseless, len(text))


def _both_cases(text: str) -> str:
    out = []
    for ch in text:
        lo, up = ch.lower(), ch.upper()
        if len(lo) == 1 and len(up) == 1 and lo != up:
            out.append(f"[{lo}{up}]")
        elif ch.isascii() and not ch.isalnum():
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def pattern_anchor(pattern: str) -> Anchor:
    return Anchor(pattern, False, False, fixed_width(pattern))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class PythonFinder:
    """Anchor positions with the standard library only."""

    def __init__(self, anchors: Sequence[Anchor]):
        self._caseless = [(i, a.text) for i, a in enumerate(anchors) if a.literal and a.caseless]
        self._cased = [(i, a.text) for i, a in enumerate(anchors) if a.literal and not a.caseless]
        self._patterns = [
            (i, re.compile(a.text, re.ASCII), a.width) for i, a in enumerate(anchors) if not a.literal
        ]

    def find(self, text: str) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        if self._caseless:
            # ASCII-only lowering keeps every offset where it was.
            low = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
            _find_all(low, self._caseless, hits)
        _find_all(text, self._cased, hits)
        for i, rx, width in self._patterns:
            # Every start of a fixed-width match, overlaps included: a match at
            # s hides only starts s+1 .. s+width-1 from finditer; try those.
            for m in rx.finditer(text):
                s = m.start()
                hits.append((i, s))
                for t in range(s + 1, s + width):
                    if rx.match(text, t):
                        hits.append((i, t))
        return hits


def _find_all(text: str, literals: list[tuple[int, str]], hits: list[tuple[int, int]]) -> None:
    find = text.find
    for i, lit in literals:
        p = find(lit)
        while p >= 0:
            hits.append((i, p))
            p = find(lit, p + 1)


def _hs_escape(literal: str) -> bytes:
    out = []
    for ch in literal:
        if ch.isascii() and not ch.isalnum():
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out).encode("utf-8")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "stockade"


class HyperscanFinder:
    """Anchor positions with one hyperscan database of every anchor.

    The compiled database is cached on disk, keyed by a digest of the
    anchors and the hyperscan version, so a process start loads it instead
    of compiling (tens of milliseconds instead of hundreds)."""

    def __init__(self, anchors: Sequence[Anchor]):
        import hyperscan

        self._hs = hyperscan
        self._widths = [a.width for a in anchors]
        exprs = []
        flags = []
        for a in anchors:
            # Byte mode unless the pattern itself needs code points: in UTF-8
            # mode hyperscan also folds non-ASCII case (ſ matches s), which
            # the plain path does not.  Caseless literals are ASCII here.
            if a.literal:
                exprs.append(_hs_escape(a.text))
                flags.append(hyperscan.HS_FLAG_CASELESS if a.caseless else 0)
            else:
                exprs.append(a.text.encode("utf-8"))
                flags.append(0 if a.text.isascii() else hyperscan.HS_FLAG_UTF8)
        digest = hashlib.sha256(
            json.dumps([getattr(hyperscan, "__version__", "?"), [e.decode() for e in exprs], flags]).encode()
        ).hexdigest()[:24]
        self._db = self._load_or_compile(digest, exprs, flags)
        self._local = threading.local()

    def _load_or_compile(self, digest: str, exprs: list[bytes], flags: list[int]):  # type: ignore[no-untyped-def]
        hs = self._hs
        path = cache_dir() / f"hs-{digest}.db"
        try:
            return hs.loadb(path.read_bytes(), hs.HS_MODE_BLOCK)
        except (OSError, hs.error, ValueError, TypeError):
            pass
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
        try:  # the cache is an optimisation: any failure to write it is harmless
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
            tmp.write_bytes(hs.dumpb(db))
            os.replace(tmp, path)
        except OSError:
            pass
        return db

    def _scratch(self):  # type: ignore[no-untyped-def]
        s = getattr(self._local, "scratch", None)
        if s is None:
            s = self._hs.Scratch(self._db)
            self._local.scratch = s
        return s

    def find(self, text: str) -> list[tuple[int, int]] | None:
        """Anchor hits, or None when the text cannot be handed to hyperscan
        (lone surrogates: not valid UTF-8); the caller then uses Python."""
        if text.isascii():
            data = text.encode("ascii")
            ascii_only = True
        else:
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                return None
            ascii_only = False
        ends: list[tuple[int, int]] = []
        push = ends.append

        def on_match(i: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            push((to, i))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        widths = self._widths
        if ascii_only:
            return [(i, to - widths[i]) for to, i in ends]
        # Byte offsets to code-point offsets, walking the hits in order.
        ends.sort()
        out = []
        byte_pos = 0
        char_pos = 0
        for to, i in ends:
            if to != byte_pos:
                char_pos += len(data[byte_pos:to].decode("utf-8"))
                byte_pos = to
            out.append((i, char_pos - widths[i]))
        return out


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True
