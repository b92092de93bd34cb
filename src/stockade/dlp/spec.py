"""What a policy can tell the DLP engine: custom rules, dictionaries, allowlists.

Plain frozen data with no behaviour, so the policy loader can build it and
the engine can consume it without either importing the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass

VALIDATORS = ("none", "luhn", "mod97", "gb11643")


@dataclass(frozen=True, slots=True)
class CustomRule:
    """A regex rule from the policy.  ``keywords`` (if any) must occur in the
    text for the regex to be tried; ``validator`` must accept the match."""

    id: str
    label: str
    regex: str
    keywords: tuple[str, ...] = ()
    validator: str = "none"
    confidence: float = 0.9


@dataclass(frozen=True, slots=True)
class Dictionary:
    """Terms (project code names, customer names) that carry a label."""

    label: str
    terms: tuple[str, ...]
    id: str = "dictionary"
    case_sensitive: bool = False


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """A finding matching every given field is accepted (reported as
    suppressed, never silently dropped).  ``rule`` may be a glob."""

    reason: str
    rule: str | None = None
    value_regex: str | None = None
    path: str | None = None
