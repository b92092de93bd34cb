"""Turn the policy's custom rules and dictionaries into engine rules.

A custom regex is the policy author's, and the text it runs on may be an
attacker's (a prompt, a file in a pull request).  Its cost is bounded three ways:

* it runs only near a keyword: the rule's ``keywords``, or, when it has none,
  the literal text every match starts with (``ACME-[0-9]{8}`` -> ``ACME-``,
  at least :data:`MIN_IMPLIED_KEYWORD` characters); a rule with neither is
  refused, since it would run over every byte of every request;
* one regex call sees at most :data:`CUSTOM_WINDOW_CAP` characters, however
  many keywords there are, so polynomial backtracking stays bounded;
* a quantified group that holds an unbounded quantifier (``(a+)+``,
  ``(\\w+\\s?)*``), the shape of exponential backtracking, is refused with a
  hint to write it possessive (``++``, ``*+``) or atomic (``(?>...)``).
"""

from __future__ import annotations

import re
import re._constants as sre_c  # noqa: PLC2701 - internal, stable since 3.11
import re._parser as sre_parse  # noqa: PLC2701 - internal, stable since 3.11
from collections.abc import Sequence
from typing import Any

from stockade.dlp.rule import PRIORITY_CUSTOM, PRIORITY_DICTIONARY, Check, Rule
from stockade.dlp.spec import VALIDATORS, CustomRule, Dictionary
from stockade.dlp.validators import VALIDATORS as CHECKS
from stockade.errors import PolicyError

_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,79}")
# How far a custom match may extend from one of its keywords.
CUSTOM_REACH = 512
# The most text one custom regex call sees (windows near dense keywords are
# scanned in overlapping pieces of this size).
CUSTOM_WINDOW_CAP = 8 * CUSTOM_REACH
# The shortest literal prefix that can stand in for keywords.
MIN_IMPLIED_KEYWORD = 3

_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT)


def implied_keywords(pattern: str, flags: int = 0) -> tuple[str, ...]:
    """Literal texts one of which every match of ``pattern`` starts with, or ()."""
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error:
        return ()
    found = _leads(list(parsed))
    if not found or any(len(k) < MIN_IMPLIED_KEYWORD for k in found):
        return ()
    return tuple(dict.fromkeys(found))


def _leads(items: list[tuple[Any, Any]]) -> list[str]:
    prefix = ""
    for op, av in items:
        if op is sre_c.AT and not prefix:
            continue  # ^, \b: zero-width, the literal after it still starts the match
        if op is sre_c.LITERAL:
            prefix += chr(av)
            continue
        if not prefix and op is sre_c.SUBPATTERN:
            return _leads(list(av[-1]))
        if not prefix and op is sre_c.BRANCH:
            alternatives = [_leads(list(b)) for b in av[1]]
            return [k for alt in alternatives for k in alt] if all(alternatives) else []
        break
    return [prefix] if prefix else []


def nested_unbounded(pattern: str, flags: int = 0) -> bool:
    """True when a repeated group holds an unbounded quantifier that can backtrack."""
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error:
        return False
    return _nested(list(parsed), inside=False)


def _nested(items: list[tuple[Any, Any]], *, inside: bool) -> bool:
    for op, av in items:
        if op in _REPEATS:
            lo, hi, sub = av
            if inside and hi == sre_c.MAXREPEAT:
                return True
            if _nested(list(sub), inside=inside or hi > 1):
                return True
        elif op is sre_c.POSSESSIVE_REPEAT or op is sre_c.ATOMIC_GROUP:
            # No backtracking into these: what is inside cannot multiply the
            # ways an enclosing repeat splits the text.
            sub = av[-1] if op is sre_c.POSSESSIVE_REPEAT else av
            if _nested(list(sub), inside=False):
                return True
        elif op is sre_c.SUBPATTERN:
            if _nested(list(av[-1]), inside=inside):
                return True
        elif op is sre_c.BRANCH:
            if any(_nested(list(b), inside=inside) for b in av[1]):
                return True
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            if _nested(list(av[1]), inside=inside):
                return True
        elif op is sre_c.GROUPREF_EXISTS:
            if any(b is not None and _nested(list(b), inside=inside) for b in av[1:]):
                return True
    return False


def _validator(name: str) -> Check | None:
    if name == "none":
        return None
    fn = CHECKS[name]
    return lambda value, m: bool(fn(value))


def custom_rule(spec: CustomRule) -> Rule:
    key = f"dlp.custom_rules[{spec.id}]"
    if not _RULE_ID.fullmatch(spec.id):
        raise PolicyError(f"invalid custom rule id {spec.id!r}", key=key,
                          hint="use letters, digits, '_', '-', '.', ':' (at most 80)")
    if spec.validator not in VALIDATORS:
        raise PolicyError(f"unknown validator {spec.validator!r}", key=key,
                          hint="one of: " + ", ".join(VALIDATORS))
    if not spec.label:
        raise PolicyError("a custom rule needs a label", key=key, hint="e.g. label: regulated")
    try:
        regex = re.compile(spec.regex)
    except re.error as exc:
        raise PolicyError(f"regex does not compile: {exc.msg} at position {exc.pos}", key=key,
                          hint="custom rules use Python `re` syntax") from None
    if regex.search("") is not None:
        raise PolicyError("regex matches the empty string", key=key, hint="anchor it on real content")
    if nested_unbounded(regex.pattern, regex.flags):
        raise PolicyError(
            "regex nests an unbounded quantifier inside a repeated group: it can backtrack "
            "exponentially on hostile text", key=key,
            hint="write the inner or outer quantifier possessive (`++`, `*+`) or use an atomic "
                 "group `(?>...)`, e.g. `(?:\\w++\\s?)+` instead of `(?:\\w+\\s?)+`")
    keywords = tuple(k for k in spec.keywords if k)
    implied = not keywords
    if implied:
        keywords = implied_keywords(regex.pattern, regex.flags)
        if not keywords:
            raise PolicyError(
                "a custom rule needs keywords: its regex does not start with literal text "
                f"(at least {MIN_IMPLIED_KEYWORD} characters)", key=key,
                hint="add keywords: [...] with text that occurs within "
                     f"{CUSTOM_REACH} characters of every match; the regex runs only there")
    return Rule(
        id=spec.id,
        title=f"Custom rule {spec.id}",
        pattern=regex.pattern,
        flags=regex.flags,
        keywords=keywords,
        check=_validator(spec.validator),
        label=spec.label,
        confidence=max(0.0, min(1.0, spec.confidence)),
        priority=PRIORITY_CUSTOM,
        before=CUSTOM_REACH,
        after=CUSTOM_REACH,
        description="Custom rule from the policy"
        + (" (runs where its literal prefix occurs)" if implied else " (keywords required)"),
        policy=True,
        window_cap=CUSTOM_WINDOW_CAP,
    )


def _term_regex(term: str) -> str:
    body = re.escape(term)
    left = r"(?<![A-Za-z0-9_])" if (term[0].isascii() and (term[0].isalnum() or term[0] == "_")) else ""
    right = r"(?![A-Za-z0-9_])" if (term[-1].isascii() and (term[-1].isalnum() or term[-1] == "_")) else ""
    return left + body + right


def dictionary_rule(spec: Dictionary) -> Rule:
    key = f"dlp.dictionaries[{spec.id}]"
    if not _RULE_ID.fullmatch(spec.id):
        raise PolicyError(f"invalid dictionary id {spec.id!r}", key=key)
    terms = sorted({t.strip() for t in spec.terms if t.strip()}, key=len, reverse=True)
    if not terms:
        raise PolicyError("a dictionary needs at least one term", key=key)
    flags = 0 if spec.case_sensitive else re.IGNORECASE
    regex = re.compile("(?P<v>" + "|".join(_term_regex(t) for t in terms) + ")", flags)
    longest = max(len(t) for t in terms)
    return Rule(
        id=spec.id,
        title=f"Dictionary {spec.id} ({spec.label})",
        pattern=regex.pattern,
        flags=regex.flags,
        keywords=tuple(terms),
        cased=spec.case_sensitive,
        label=spec.label,
        confidence=0.9,
        priority=PRIORITY_DICTIONARY,
        before=1,
        after=longest + 1,
        description=f"{len(terms)} term(s) labelled {spec.label}",
        policy=True,
    )


def build(custom_rules: Sequence[CustomRule], dictionaries: Sequence[Dictionary]) -> list[Rule]:
    return [custom_rule(c) for c in custom_rules] + [dictionary_rule(d) for d in dictionaries]
