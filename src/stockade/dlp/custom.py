"""Turn the policy's custom rules and dictionaries into engine rules."""

from __future__ import annotations

import re
from collections.abc import Sequence

from stockade.dlp.rule import PRIORITY_CUSTOM, PRIORITY_DICTIONARY, Check, Rule
from stockade.dlp.spec import VALIDATORS, CustomRule, Dictionary
from stockade.dlp.validators import VALIDATORS as CHECKS
from stockade.errors import PolicyError

_RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,79}")
# How far a custom match may extend from one of its keywords.
CUSTOM_REACH = 512


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
    keywords = tuple(k for k in spec.keywords if k)
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
        description="Custom rule from the policy" + (" (keywords required)" if keywords else ""),
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
    )


def build(custom_rules: Sequence[CustomRule], dictionaries: Sequence[Dictionary]) -> list[Rule]:
    return [custom_rule(c) for c in custom_rules] + [dictionary_rule(d) for d in dictionaries]
