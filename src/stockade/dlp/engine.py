"""The DLP engine: anchors -> windows -> regex + check -> findings.

``Engine.scan(text)`` is pure with respect to its input: the same text and
configuration give the same findings on either path (hyperscan or plain
Python).  The plain path is the reference: whenever hyperscan cannot be set
up or fails on a text, that text is scanned on the plain path, never passed
with no findings.  Memory is proportional to the text: callers scanning very
large files feed it in pieces (see :data:`MAX_SPAN`).

Overlaps: built-in rules are ranked (priority, then span) and their findings
never overlap.  A finding of a policy rule (custom rule or dictionary) never
displaces a built-in finding, nor one of another label: a project layer must
not be able to relabel a secret or a managed dictionary term into a label its
policy allows.  Both are reported and the strictest action of the two
applies; ``stockade.dlp.redact`` merges overlapping spans.  Only a policy
finding entirely covered by a finding of the same label is dropped.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
import threading
from collections.abc import Sequence
from functools import lru_cache

from stockade.dlp import custom, rules_context, rules_generic, rules_pii, rules_struct, rules_tokens
from stockade.dlp.mask import mask
from stockade.dlp.prefilter import (
    Anchor,
    HyperscanFinder,
    PythonFinder,
    default_cache_key,
    hyperscan_available,
    literal_anchor,
    pattern_anchor,
)
from stockade.dlp.rule import Rule, RuleInfo
from stockade.dlp.spec import AllowEntry, CustomRule, Dictionary
from stockade.errors import PolicyError
from stockade.model import Finding
from stockade.state import keyed_hash

# The longest span a single finding can have (a private key block).  A
# caller that splits a large text into pieces should overlap them by at
# least this much and drop findings that start in the overlap twice.
MAX_SPAN = 17000
# ``Finding.suppressed_by`` of a finding an allowlist entry accepted: prefix + reason.
ALLOWLIST_PREFIX = "allowlist: "
# How far a window end may be pushed to reach the end of its line, so that a
# value is never cut by the window where it is not cut in the text.
_LINE_REACH = 2048


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    rules = (
        rules_tokens.build()
        + rules_struct.build()
        + rules_context.build()
        + rules_generic.build()
        + rules_pii.build()
    )
    return tuple(rules)


class Engine:
    """Detects secrets, personal data and policy-defined terms in text."""

    def __init__(
        self,
        custom_rules: Sequence[CustomRule] = (),
        dictionaries: Sequence[Dictionary] = (),
        allowlist: Sequence[AllowEntry] = (),
        fingerprint_key: bytes | None = None,
        accelerate: bool | None = None,
    ) -> None:
        rules = list(builtin_rules()) + custom.build(custom_rules, dictionaries)
        seen: set[str] = set()
        for r in rules:
            if r.id in seen:
                raise PolicyError(f"rule id {r.id!r} is defined twice", key="dlp",
                                  hint="custom rule and dictionary ids must differ from each other "
                                       "and from the built-in rule ids")
            seen.add(r.id)
        self._rules: tuple[Rule, ...] = tuple(rules)
        self._by_id = {r.id: r for r in rules}
        self._allow = tuple(_compile_allow(a) for a in allowlist)
        self._key = fingerprint_key

        anchors: list[Anchor] = []
        index: dict[Anchor, int] = {}
        self._anchor_rules: list[list[int]] = []
        self._always: list[int] = []
        for ri, r in enumerate(rules):
            mine = [literal_anchor(k, caseless=not r.cased) for k in r.keywords]
            mine += [pattern_anchor(p) for p in r.patterns]
            if not mine:
                self._always.append(ri)
            for a in mine:
                ai = index.get(a)
                if ai is None:
                    ai = index[a] = len(anchors)
                    anchors.append(a)
                    self._anchor_rules.append([])
                if ri not in self._anchor_rules[ai]:
                    self._anchor_rules[ai].append(ri)
        self._anchors = tuple(anchors)
        self._anchored = [r.anchored for r in rules]
        self._widths = [a.width for a in anchors]
        # Per rule: the widest of its anchors (a window holds a whole anchor).
        self._anchor_width = [0] * len(rules)
        for ai, ris in enumerate(self._anchor_rules):
            for ri in ris:
                self._anchor_width[ri] = max(self._anchor_width[ri], self._widths[ai])
        self._has_policy = any(r.policy for r in rules)
        self._python = PythonFinder(anchors)
        if accelerate is None:
            accelerate = hyperscan_available()
        self._fast: HyperscanFinder | None = None
        if accelerate and anchors:
            try:
                self._fast = HyperscanFinder(anchors, cache_key=default_cache_key())
            except Exception:  # noqa: BLE001 - the plain path finds exactly the same
                self._fast = None

    # -- public API -----------------------------------------------------

    _default: Engine | None = None
    _default_lock = threading.Lock()

    @classmethod
    def default(cls) -> Engine:
        """The built-in engine, built once per process."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    @property
    def accelerated(self) -> bool:
        return self._fast is not None

    def rule_ids(self) -> list[str]:
        return [r.id for r in self._rules]

    def describe(self, rule_id: str) -> RuleInfo:
        try:
            return self._by_id[rule_id].info
        except KeyError:
            raise KeyError(f"no DLP rule {rule_id!r}") from None

    def scan(self, text: str, *, path: str | None = None) -> list[Finding]:
        """Every protected value in ``text``, sorted by start (then end).

        Built-in findings never overlap each other; a policy rule's finding
        may overlap another of a different label (see the module docstring)."""
        if not text:
            return []
        hits = None
        if self._fast is not None:
            try:
                hits = self._fast.find(text)
            except Exception:  # noqa: BLE001 - never "no findings" because a scan failed
                hits = None
        if hits is None:
            hits = self._python.find(text)
        candidates = self._confirm(text, hits)
        chosen = self._resolve(candidates)
        return self._findings(text, chosen, path)

    # -- internals ------------------------------------------------------

    def _confirm(self, text: str, hits: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
        """(start, end, rule index) of every confirmed value."""
        n = len(text)
        rules = self._rules
        anchored = self._anchored
        widths = self._widths
        starts: dict[int, set[int]] = {}     # anchored rule -> anchor starts
        windows: dict[int, list[tuple[int, int]]] = {}
        for ai, pos in hits:
            for ri in self._anchor_rules[ai]:
                if anchored[ri]:
                    starts.setdefault(ri, set()).add(pos)
                else:
                    r = rules[ri]
                    windows.setdefault(ri, []).append((pos - r.before, pos + widths[ai] + r.after))
        for ri in self._always:
            windows[ri] = [(0, n)]
        out: list[tuple[int, int, int]] = []
        # Rules that share a regex (the URL rules) share its match attempts.
        memo: dict[tuple[int, int, int], re.Match[str] | None] = {}
        for ri, ps in starts.items():
            rule = rules[ri]
            rx = rule.regex
            key = id(rx)
            skip_until = -1
            for p in sorted(ps):
                if p < skip_until:
                    # Inside what this rule's previous match already covered
                    # (password=password=...): nothing new can start here.
                    continue
                end = min(n, p + rule.after)
                mk = (key, p, end)
                if mk in memo:
                    m = memo[mk]
                else:
                    m = memo[mk] = rx.match(text, p, end)
                if m is not None:
                    skip_until = m.end()
                    span = rule.confirm(m)
                    if span is not None:
                        out.append((span[0], span[1], ri))
        for ri, spans in windows.items():
            rule = rules[ri]
            rx = rule.regex
            seen: set[tuple[int, int]] = set()
            merged = _merge(spans, n, text, rule.line_tail)
            if rule.window_cap:
                merged = _pieces(merged, rule.window_cap,
                                 rule.before + rule.after + self._anchor_width[ri])
            for ws, we in merged:
                for m in rx.finditer(text, ws, we):
                    span = rule.confirm(m)
                    if span is not None and span not in seen:
                        seen.add(span)
                        out.append((span[0], span[1], ri))
        return out

    def _resolve(self, cands: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Built-in candidates first, among themselves; then the policy's, which
        are dropped only when a kept finding of the same label covers them."""
        rules = self._rules
        if not self._has_policy:
            return self._rank(cands)
        kept = self._rank([c for c in cands if not rules[c[2]].policy])
        mine = [c for c in cands if rules[c[2]].policy]
        if not mine:
            return kept
        # Sweep by start (longer first, built-in before policy at the same span):
        # every earlier item starts at or before this one, so it is covered by a
        # kept one of its label exactly when that label's furthest end reaches it.
        items = [(s, -e, 0, 0, ri) for s, e, ri in kept]
        items += [(s, -e, 1, -rules[ri].priority, ri) for s, e, ri in mine]
        items.sort()
        reach: dict[str, int] = {}
        added: list[tuple[int, int, int]] = []
        for s, neg_end, is_policy, _prio, ri in items:
            e = -neg_end
            label = rules[ri].label
            if is_policy:
                if reach.get(label, -1) >= e:
                    continue
                added.append((s, e, ri))
            if e > reach.get(label, -1):
                reach[label] = e
        out = kept + added
        out.sort(key=lambda c: (c[0], c[1], rules[c[2]].policy, c[2]))
        return out

    def _rank(self, cands: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Drop overlapping candidates, keeping the most specific rule: higher
        priority, then the longer span, then the earlier start, then rule order."""
        rules = self._rules
        cands.sort(key=lambda c: (-rules[c[2]].priority, c[0] - c[1], c[0], c[2]))
        starts: list[int] = []
        kept: list[tuple[int, int, int]] = []  # sorted by start, disjoint
        for c in cands:
            i = bisect.bisect_right(starts, c[0])
            if i > 0 and kept[i - 1][1] > c[0]:
                continue
            if i < len(kept) and kept[i][0] < c[1]:
                continue
            starts.insert(i, c[0])
            kept.insert(i, c)
        return kept

    def _findings(self, text: str, chosen: list[tuple[int, int, int]], path: str | None) -> list[Finding]:
        if not chosen:
            return []
        newlines = [m.start() for m in re.finditer("\n", text)] if len(chosen) > 8 else None
        out = []
        for start, end, ri in chosen:
            rule = self._rules[ri]
            value = text[start:end]
            line, col = _position(text, start, newlines)
            end_line, end_col = _position(text, end - 1, newlines)
            out.append(
                Finding(
                    rule_id=rule.id,
                    label=rule.label,
                    start=start,
                    end=end,
                    line=line,
                    column=col,
                    end_line=end_line,
                    end_column=end_col + 1,
                    confidence=rule.confidence,
                    preview=mask(value, keep_prefix=rule.keep_prefix),
                    fingerprint=keyed_hash(value, self._key) if self._key is not None else None,
                    suppressed_by=self._suppressed(rule.id, value, path),
                )
            )
        return out

    def _suppressed(self, rule_id: str, value: str, path: str | None) -> str | None:
        for reason, rule_glob, value_rx, path_glob in self._allow:
            if rule_glob is None and value_rx is None and path_glob is None:
                continue
            if rule_glob is not None and not fnmatch.fnmatchcase(rule_id, rule_glob):
                continue
            if value_rx is not None and not value_rx.search(value):
                continue
            if path_glob is not None and (path is None or not _path_matches(path, path_glob)):
                continue
            return ALLOWLIST_PREFIX + reason
        return None


def _compile_allow(entry: AllowEntry) -> tuple[str, str | None, re.Pattern[str] | None, str | None]:
    value_rx = None
    if entry.value_regex is not None:
        try:
            value_rx = re.compile(entry.value_regex)
        except re.error as exc:
            raise PolicyError(f"allowlist value_regex does not compile: {exc.msg}",
                              key="dlp.allowlist", hint="allowlist entries use Python `re` syntax") from None
    return entry.reason, entry.rule, value_rx, entry.path


def _path_matches(path: str, glob: str) -> bool:
    p = path.replace("\\", "/")
    if fnmatch.fnmatchcase(p, glob):
        return True
    # A glob without a slash matches the file name anywhere, like .gitignore.
    return "/" not in glob and fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], glob)


def _merge(spans: list[tuple[int, int]], n: int, text: str, line_tail: bool) -> list[tuple[int, int]]:
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        s = max(0, s)
        e = min(n, e)
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    if not line_tail:
        return merged
    out: list[tuple[int, int]] = []
    for s, e in merged:
        if e < n:
            nl = text.find("\n", e, e + _LINE_REACH)
            e = nl if nl >= 0 else min(n, e + _LINE_REACH)
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def _pieces(windows: list[tuple[int, int]], cap: int, overlap: int) -> list[tuple[int, int]]:
    """Windows cut into pieces of at most ``cap`` characters, consecutive pieces
    sharing ``overlap``: a match no longer than ``overlap`` lies whole in one."""
    cap = max(cap, 2 * overlap)
    step = cap - overlap
    out: list[tuple[int, int]] = []
    for s, e in windows:
        while e - s > cap:
            out.append((s, s + cap))
            s += step
        out.append((s, e))
    return out


def _position(text: str, offset: int, newlines: list[int] | None) -> tuple[int, int]:
    if newlines is None:
        line = text.count("\n", 0, offset) + 1
    else:
        line = bisect.bisect_left(newlines, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col
