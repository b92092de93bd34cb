"""Plain frozen data shared by every layer.

A :class:`Finding` never holds the protected value itself: it holds where the
value is (offsets into the scanned text), a masked preview and optionally a
keyed hash.  Whoever needs the value (redaction) slices it from the text they
already hold, so a finding can be logged, recorded or printed safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# Defined apart (and re-exported here) so that a process that only appends to
# the ledger does not import this module's dataclasses.
from stockade.actor import Actor as Actor

# Labels with built-in meaning; policies may add their own (e.g. "regulated").
LABEL_SECRET = "secret"
LABEL_PII = "pii"

Confidence = float


@dataclass(frozen=True, slots=True)
class Finding:
    """One protected value found in a text.

    ``start``/``end`` are offsets in code points into the scanned ``str``;
    ``line``/``column`` are 1-based; ``end_line``/``end_column`` point at the
    last character (inclusive line, exclusive column).
    """

    rule_id: str
    label: str
    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int
    confidence: Confidence
    preview: str
    fingerprint: str | None = None
    # Set when an inline ``stockade: allow <rule_id>`` comment or an allowlist
    # entry accepted this finding; it is still reported, visibly.
    suppressed_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe view: location, rule, masked preview. Never the value."""
        d: dict[str, Any] = {
            "rule_id": self.rule_id,
            "label": self.label,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 3),
            "preview": self.preview,
        }
        if self.fingerprint is not None:
            d["fingerprint"] = self.fingerprint
        if self.suppressed_by is not None:
            d["suppressed_by"] = self.suppressed_by
        return d


DecisionKind = Literal["allow", "redact", "block", "route", "ask", "warn", "deny"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided about one request or action, and why."""

    action: DecisionKind
    reason: str
    rule_ids: tuple[str, ...] = ()
    upstream: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
