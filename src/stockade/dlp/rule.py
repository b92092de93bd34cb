"""What a detection rule is.

A rule is confirmed by its Python regex, run only near the places where one
of its *anchors* occurs.  Anchors are caseless literals (``keywords``) or
fixed-width regexes (``patterns``, ASCII semantics, no newline).  The
anchors are what the multi-pattern prefilter looks for; the regex and the
``check`` decide.  Because both the hyperscan and the pure-Python path find
exactly the same anchor positions, both return the same findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from stockade.model import LABEL_SECRET

# The value is the first participating group whose name starts with "v"
# (alternatives need distinct names), else the whole match.
# A check gets the value and the match (whose ``.string`` is the whole text,
# for context) and answers True/False, or a narrower (start, end) span.
Check = Callable[[str, "re.Match[str]"], "bool | tuple[int, int]"]

PRIORITY_VENDOR = 100   # a prefix/format only one vendor uses
PRIORITY_STRUCT = 90    # key blocks, URLs with passwords, JWTs
PRIORITY_CONTEXT = 80   # vendor secret recognised by the key it is assigned to
PRIORITY_PII = 70
PRIORITY_CUSTOM = 60
PRIORITY_GENERIC = 40
PRIORITY_DICTIONARY = 30


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a rule is, for people: shown by ``stockade scan`` and in SARIF."""

    id: str
    label: str
    title: str
    description: str


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    id: str
    title: str
    pattern: str  # compiled on first use: most rules never run in a given process
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    check: Check | None = None
    label: str = LABEL_SECRET
    confidence: float = 0.9
    priority: int = PRIORITY_VENDOR
    before: int = 64    # how far before an anchor a match may start
    after: int = 320    # how far after an anchor's end a match may reach
    keep_prefix: int = 0  # known, non-secret prefix the preview may show
    description: str = ""
    cased: bool = False  # keywords match case-sensitively
    # The regex starts exactly where an anchor starts: the engine tries one
    # ``match`` there (bounded by ``after``) instead of searching a window.
    anchored: bool = False
    # The regex ends at a line end (``$``): windows are stretched to the end
    # of their line so a window edge never looks like one.
    line_tail: bool = False
    flags: int = 0
    # Defined by the policy (custom rule, dictionary), not built in.  Such a
    # finding never displaces a finding of another label, nor a built-in one.
    policy: bool = False
    # The longest text one regex call may see (0: no limit).  Custom regexes
    # are the policy author's: bounding the text they run on bounds the cost
    # of any backtracking they do.
    window_cap: int = 0

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern, self.flags)

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.id, self.label, self.title, self.description or self.title)

    def confirm(self, m: re.Match[str]) -> tuple[int, int] | None:
        """The span of the protected value in this match, or None."""
        group: int | str = 0
        for name in m.re.groupindex:
            if name.startswith("v") and m.start(name) >= 0:
                group = name
                break
        start, end = m.span(group)
        if start < 0 or end <= start:
            return None
        if self.check is None:
            return start, end
        verdict = self.check(m.group(group), m)
        if verdict is True:
            return start, end
        if verdict is False:
            return None
        return verdict


@lru_cache(maxsize=None)
def _compiled(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def fixed_width(pattern: str) -> int:
    """Width of a fixed-width anchor pattern; raises ValueError otherwise."""
    import re._parser as sre_parse  # noqa: PLC0415 - internal, but stable since 3.11

    lo, hi = sre_parse.parse(pattern, re.ASCII).getwidth()
    if lo != hi or lo == 0:
        raise ValueError(f"anchor pattern is not fixed-width: {pattern!r}")
    return int(lo)
