"""Typosquat detection against the bundled lists of popular packages.

A name is suspect when it is not itself popular and, after folding what a
reader cannot tell apart, it is within one edit of a popular name, or it is
a popular name with noise around it.  Steps, cheapest first:

1. *skeleton*: NFKC + casefold, diacritics dropped, Cyrillic/Greek look-alikes
   to Latin, ``0/o 1/l i/l 3/e 5/s rn/m vv/w``, separators removed.  Equal
   skeletons = confusable (``jeIlyfish``, ``crossenv``, ``@typ3s/node``,
   ``python_dateutil`` on npm).
2. *one edit*: Damerau distance 1 (insert, delete, substitute, swap:
   ``colourama``, ``reqeusts``, ``electorn``): every one-edit variant of the
   name (a few hundred) is looked up in a hash index of the popular names.
   A precomputed deletion index answers a little faster but costs ~0.5 s to
   build, which a hook process (one check, then exit) would pay every time;
   bench/deps.py measures both against a plain scan.
3. *affix games*: noise words (``python-``, ``-py``, ``-js``, ``-async``,
   trailing digits ...) stripped until a popular name (or a popular name's
   own core: ``python3-dateutil`` -> ``dateutil`` <- ``python-dateutil``).
4. *npm scopes*: a scope confusable with a popular scope.  A name inside a
   popular scope passes: only the scope's owner can publish there.

Names shorter than :data:`MIN_EDIT_LEN` skip step 2: among short names one
edit is how legitimate packages differ.  One exception, for four-letter names,
where typosquats concentrate (``flsk``): a name that is one of the
:data:`SHORT_TOP` most popular five-letter names with an inner letter dropped
*and has no vowel left* is suspect.  Short words with a vowel (``back``,
``flak``, ``toll``) are what legitimate short names look like; ``flsk``,
``blck`` and ``nmpy`` are not words anyone publishes on purpose.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from stockade.deps.names import normalise

DATA = Path(__file__).resolve().parent / "data"
FILES = {"pypi": "pypi-top.txt", "npm": "npm-top.txt"}
MIN_EDIT_LEN = 5
MIN_CORE_LEN = 4
SHORT_TOP = 1000
_VOWELS = frozenset("aeiou")

_CONFUSABLE = str.maketrans({
    # Cyrillic and Greek letters that render like Latin ones
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ο": "o", "α": "a",
    "ν": "v", "κ": "k", "τ": "t", "ι": "i", "ρ": "p", "υ": "u", "ε": "e", "ԛ": "q",
    "ԝ": "w", "ı": "i",
    # digits and letters that pass for each other in most fonts
    "0": "o", "1": "l", "i": "l", "3": "e", "5": "s", "|": "l",
    # separators: on npm `cross-env` and `crossenv` are different packages
    "-": None, "_": None, ".": None, " ": None,
})
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_PREFIX_NOISE = frozenset({"python", "python3", "python2", "py", "py3", "pypi", "node", "nodejs",
                           "js", "npm", "the", "real", "official"})
_SUFFIX_NOISE = frozenset({"py", "py3", "python", "python3", "js", "node", "nodejs", "async",
                           "aio", "lib", "dev", "sdk", "api", "official", "new", "latest", "fixed",
                           "fix", "update", "updated", "pro", "plus", "tool", "tools", "cli", "pkg",
                           "package", "module", "core", "utils", "util", "secure", "safe"})
_GLUED = ("python3", "python", "py", "node", "js")
_SEP = re.compile(r"[-_.]+")


def fold(name: str) -> str:
    """The one-character folds of :func:`skeleton` only.  Edit distance is
    measured on this form: folding ``rn`` to ``m`` first would turn the
    swap in ``electorn`` into two edits."""
    if name.isascii():  # every bundled name: no Unicode tables needed
        return name.lower().translate(_CONFUSABLE)
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name).casefold())
    return "".join(c for c in s if not unicodedata.combining(c)).translate(_CONFUSABLE)


def skeleton(name: str) -> str:
    return _multi(fold(name))


def _multi(folded: str) -> str:
    for a, b in _MULTI:
        folded = folded.replace(a, b)
    return folded


def damerau(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance, cut off above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = ca != cb
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        prev2, prev = prev, cur
    return prev[-1]


def _edits1(s: str, alphabet: str) -> set[str]:
    """Every string one Damerau edit from ``s`` over ``alphabet``."""
    splits = [(s[:k], s[k:]) for k in range(len(s) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in alphabet}
    out |= {a + c + b for a, b in splits for c in alphabet}
    return out


@dataclass(frozen=True, slots=True)
class Match:
    target: str  # the popular name it imitates, as published
    how: str  # confusable | one-edit | affix | scope

    def describe(self, name: str) -> str:
        what = {"confusable": "is confusable with", "one-edit": "is one typo away from",
                "affix": "wraps the name of", "scope": "imitates the npm scope of"}[self.how]
        return f"`{name}` {what} the popular package `{self.target}`"


class Index:
    """The popular names of one ecosystem, indexed for the checks above."""

    def __init__(self, ecosystem: str, names: list[str]):
        self.ecosystem = ecosystem
        self.names: dict[str, str] = {}  # normalised -> as published
        for name in names:
            self.names.setdefault(normalise(ecosystem, name), name)
        # The look-up tables below are built on the first name that is not
        # popular: a hook call installing `requests` needs only the above.
        self.built = False
        self.skel: dict[str, str] = {}  # skeleton -> most popular name with it
        self.folded: dict[str, str] = {}  # fold() -> most popular name with it
        self.rank: dict[str, int] = {}  # fold() -> popularity rank (0 = most popular)
        self.cores: dict[str, str] = {}  # noise-stripped normalised name -> popular name
        self.scopes: dict[str, str] = {}  # skeleton of a popular npm scope -> scope
        self.scope_names: set[str] = set()
        self.short_drops: dict[str, str] = {}  # 4-letter, vowel-less -> popular 5-letter name
        self.alphabet = ""

    def build(self) -> Index:
        if self.built:
            return self
        for rank, (norm, name) in enumerate(self.names.items()):
            if rank < SHORT_TOP and len(norm) == MIN_EDIT_LEN and norm.isalpha():
                for k in range(1, MIN_EDIT_LEN - 1):
                    dropped = norm[:k] + norm[k + 1:]
                    if not _VOWELS & set(dropped):
                        self.short_drops.setdefault(dropped, name)
            fd = fold(norm)
            self.skel.setdefault(_multi(fd), name)
            if fd not in self.folded:
                self.folded[fd] = name
                self.rank[fd] = len(self.rank)
            core = _core(norm)
            if core != norm and len(core) >= MIN_CORE_LEN:
                self.cores.setdefault(core, name)
            if norm.startswith("@") and "/" in norm:
                scope = norm[1:norm.index("/")]
                self.scopes.setdefault(skeleton(scope), scope)
                self.scope_names.add(scope)
        self.alphabet = "".join(sorted({c for fd in self.folded for c in fd}))
        self.built = True
        return self

    def is_popular(self, name: str) -> bool:
        return normalise(self.ecosystem, name) in self.names

    def check(self, name: str) -> Match | None:
        norm = normalise(self.ecosystem, name)
        if norm in self.names:
            return None
        self.build()
        if norm.startswith("@") and norm[1:norm.find("/")] in self.scope_names:
            return None  # only the owner of a popular npm scope can publish in it
        fd = fold(norm)
        hit = self.skel.get(_multi(fd))
        if hit is not None:
            return Match(hit, "confusable")
        if len(fd) >= MIN_EDIT_LEN:
            hit = self._one_edit(fd)
            if hit is not None:
                return Match(hit, "one-edit")
        elif (hit := self.short_drops.get(norm)) is not None:
            return Match(hit, "one-edit")
        hit = self._affix(norm)
        if hit is not None:
            return Match(hit, "affix")
        if norm.startswith("@") and "/" in norm:
            return self._scope(norm)
        return None

    def _one_edit(self, fd: str) -> str | None:
        """The most popular name one edit from ``fd``."""
        best: tuple[int, str] | None = None
        rank = self.rank
        for cand in _edits1(fd, self.alphabet):
            r = rank.get(cand)
            if r is not None and cand != fd and len(cand) >= MIN_EDIT_LEN - 1 and (
                    best is None or r < best[0]):
                best = (r, cand)
        return self.folded[best[1]] if best else None

    def _affix(self, norm: str) -> str | None:
        core = _core(norm)
        if core != norm and len(core) >= MIN_CORE_LEN:
            for key in (core, skeleton(core)):
                hit = self.names.get(key) or self.skel.get(key) or self.cores.get(key)
                if hit is not None:
                    return hit
        sk = skeleton(norm)
        for glue in _GLUED:
            for rest in (sk[len(glue):] if sk.startswith(glue) else "",
                         sk[:-len(glue)] if sk.endswith(glue) else ""):
                if len(rest) >= MIN_CORE_LEN and rest in self.skel:
                    return self.skel[rest]
        return None

    def _scope(self, norm: str) -> Match | None:
        """A scope that reads like a popular one (``@typ3s``).  Only the
        confusable form: one edit from a popular scope is too often another
        real organisation (``@remotion`` / ``@emotion``)."""
        scope = norm[1:norm.index("/")]
        hit = self.scopes.get(skeleton(scope))
        if hit is None or hit == scope:
            return None
        return Match(f"@{hit}/{norm.partition('/')[2]}", "scope")


def _core(norm: str) -> str:
    """``norm`` without noise words around it (and trailing digits)."""
    if norm.startswith("@"):
        return norm
    parts = [p for p in _SEP.split(norm) if p]
    changed = True
    while changed and len(parts) > 1:
        changed = False
        last = parts[-1].rstrip("0123456789") or parts[-1]
        if last != parts[-1] and last:
            parts[-1], changed = last, True
        if parts[-1] in _SUFFIX_NOISE:
            parts.pop()
            changed = True
        elif parts[0] in _PREFIX_NOISE and len(parts) > 1:
            parts.pop(0)
            changed = True
    if len(parts) == 1:
        stripped = parts[0].rstrip("0123456789")
        if stripped and stripped != parts[0] and len(stripped) >= MIN_CORE_LEN:
            parts[0] = stripped
    return "-".join(parts)


_INDEXES: dict[str, Index] = {}


def index(ecosystem: str) -> Index | None:
    """The bundled index of ``ecosystem`` (None: no list for it)."""
    if ecosystem not in FILES:
        return None
    idx = _INDEXES.get(ecosystem)
    if idx is None:
        text = (DATA / FILES[ecosystem]).read_text(encoding="utf-8")
        names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        idx = _INDEXES[ecosystem] = Index(ecosystem, names)
    return idx


__all__ = ["Index", "Match", "damerau", "fold", "index", "skeleton"]
