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
import hmac
import json
import os
import re
import stat
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


# A cached database is only trusted with a valid tag: anyone who can write
# ~/.cache (a sandboxed agent, another tool) could otherwise plant a database
# that never matches and so turn detection off.  The tag is an HMAC under a
# key derived from the state directory's secret key, over the anchor digest
# (so a genuine database of another rule set cannot be swapped in) and the
# blob.  Without a state key the disk cache is not used at all.
_CACHE_MAGIC = b"stockade-hs-cache/2\n"
_TAG_LEN = 32
_CACHE_MAX_BYTES = 64 * 1024 * 1024  # far above any real database; refuse to read more


def default_cache_key() -> bytes | None:
    """The key that authenticates cached databases, or None (no state dir yet).

    Derived from the state directory's fingerprint key, never created here:
    building an engine must not create state as a side effect."""
    from stockade.errors import StockadeError
    from stockade.state import StateDir

    try:
        root_key = StateDir.default().hmac_key()
    except (StockadeError, OSError):
        return None
    if len(root_key) < 16:
        return None
    return hmac.new(root_key, b"stockade hyperscan cache v2", hashlib.sha256).digest()


def _tag(key: bytes, digest: str, blob: bytes) -> bytes:
    return hmac.new(key, _CACHE_MAGIC + digest.encode("ascii") + b"\0" + blob, hashlib.sha256).digest()


def seal(key: bytes, digest: str, blob: bytes) -> bytes:
    """A cache file's bytes: magic, tag, database."""
    return _CACHE_MAGIC + _tag(key, digest, blob) + blob


def unseal(key: bytes, digest: str, data: bytes) -> bytes | None:
    """The database in a cache file, or None when its tag does not verify."""
    head = len(_CACHE_MAGIC)
    if len(data) <= head + _TAG_LEN or not data.startswith(_CACHE_MAGIC):
        return None
    tag, blob = data[head:head + _TAG_LEN], data[head + _TAG_LEN:]
    return blob if hmac.compare_digest(tag, _tag(key, digest, blob)) else None


def _read_capped(path: Path) -> bytes | None:
    """A regular file's bytes, or None.  A link, FIFO (which would block the
    open) or oversized file planted at the cache path is not read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _CACHE_MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(_CACHE_MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; mode 0600 (dictionary terms are in it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    # O_EXCL|O_NOFOLLOW: a link planted at the temporary name is not followed.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class HyperscanFinder:
    """Anchor positions with one hyperscan database of every anchor.

    With a ``cache_key`` the compiled database is cached on disk, named by a
    digest of the anchors and the hyperscan version and sealed with an HMAC
    under that key, so a process start loads it instead of compiling (tens of
    milliseconds instead of hundreds).  A file whose tag does not verify is
    ignored and replaced.  Without a key nothing is read from or written to
    the cache."""

    def __init__(self, anchors: Sequence[Anchor], *, cache_key: bytes | None = None):
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
        self.cache_path: Path | None = cache_dir() / f"hs-{digest}.db" if cache_key is not None else None
        self._db = self._load_or_compile(digest, exprs, flags, cache_key)
        self._local = threading.local()

    def _load_or_compile(  # type: ignore[no-untyped-def]
        self, digest: str, exprs: list[bytes], flags: list[int], key: bytes | None
    ):
        hs = self._hs
        path = self.cache_path
        if key is not None and path is not None:
            data = _read_capped(path)
            blob = unseal(key, digest, data) if data is not None else None
            if blob is not None:
                try:
                    return hs.loadb(blob, hs.HS_MODE_BLOCK)
                except Exception:  # noqa: BLE001 - sealed by us, but from another build: recompile
                    pass
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
        if key is not None and path is not None:
            try:  # the cache is an optimisation: any failure to write it is harmless
                _write_private(path, seal(key, digest, hs.dumpb(db)))
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
