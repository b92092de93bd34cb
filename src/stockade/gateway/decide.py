"""Findings + policy -> what happens to the request.  Pure.

Each active finding's label maps to an action (``dlp.actions``); the
strongest wins: block > route > redact > allow.  A label the policy does not
name blocks (default deny for custom labels), and so does anything that
cannot be carried out as written: ``redact`` of a part that cannot be
rewritten in place (an object key, a decoded data URL, a number), a ``route``
with no upstream name, an action we do not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from stockade.gateway.config import ACTION_ORDER, GatewayConfig
from stockade.gateway.inspect import SegmentFinding

Action = Literal["allow", "redact", "route", "block"]


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    to_redact: tuple[SegmentFinding, ...] = ()
    deciding: SegmentFinding | None = None  # the finding behind block/route
    route_to: str | None = None
    others: int = 0  # further findings with the deciding action

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(sf.finding.label for sf in self.to_redact)


def decide(cfg: GatewayConfig, findings: Sequence[SegmentFinding]) -> Verdict:
    best: Action = "allow"
    deciding: SegmentFinding | None = None
    route_to: str | None = None
    same = 0
    to_redact: list[SegmentFinding] = []
    for sf in findings:
        raw = cfg.action_for(sf.finding.label)
        kind, _, target = raw.partition(":")
        target = target.strip()
        if kind not in ACTION_ORDER or (kind == "route" and not target):
            kind = "block"  # an action we cannot carry out is not a reason to let data out
        if kind == "redact" and not sf.segment.rewritable:
            kind = "block"  # a key / decoded text / number cannot be replaced in place
        if kind == "redact":
            to_redact.append(sf)
        if ACTION_ORDER[kind] > ACTION_ORDER[best]:
            best, deciding, same = kind, sf, 0  # type: ignore[assignment]
            route_to = target if kind == "route" else None
        elif kind == best and kind in ("block", "route"):
            same += 1
    if best == "allow" and to_redact:
        best = "redact"
    return Verdict(action=best, to_redact=tuple(to_redact), deciding=deciding,
                   route_to=route_to, others=same)


def block_message(verdict: Verdict, *, event_id: str) -> str:
    """What the user reads in their agent: rule, label, location; never the value."""
    sf = verdict.deciding
    assert sf is not None
    more = f" (and {verdict.others} more)" if verdict.others else ""
    return (f"stockade: request blocked by policy: {sf.finding.rule_id} ({sf.finding.label}) "
            f"found at {sf.location}{more}; ledger event {event_id}. "
            f"Remove the value from the conversation, or ask your administrator about "
            f"dlp.actions.{sf.finding.label}.")
