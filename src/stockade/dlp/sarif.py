"""SARIF 2.1.0 for `stockade scan --format sarif` (GitHub code scanning).

The report never carries a value: messages name the rule and the label only
(not even the masked preview), and partial fingerprints hash the rule, the
path and the masked preview, which are already public in the report.
Suppressed findings are included with a ``suppressions`` entry so the
acceptance stays visible to reviewers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

from stockade import __version__
from stockade.dlp.engine import ALLOWLIST_PREFIX
from stockade.dlp.scanfiles import SUPPRESS_BASELINE, SUPPRESS_INLINE, FileFinding, ScanReport
from stockade.model import LABEL_SECRET

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"


class RuleText(Protocol):
    """What SARIF shows of a rule (``stockade.dlp.rule.RuleInfo`` has it)."""

    title: str
    description: str


Describe = Callable[[str], "RuleText | None"]


def _level(label: str) -> str:
    return "error" if label == LABEL_SECRET else "warning"


def _rule(rule_id: str, label: str, info: RuleText | None) -> dict[str, Any]:
    what = {"secret": "a credential", "pii": "personal data"}.get(label, f"{label} data")
    short = info.title if info is not None and info.title else f"Possible {what} ({rule_id})"
    full = info.description if info is not None and info.description else (
        f"stockade rule {rule_id} found a value labelled '{label}'."
    )
    return {
        "id": rule_id,
        "name": "".join(p.capitalize() for p in rule_id.replace("_", "-").split("-") if p),
        "shortDescription": {"text": short},
        "fullDescription": {
            "text": f"{full} Remove it and rotate it if it is a live credential, or accept it "
            f"with an inline `stockade: allow {rule_id}` comment or a baseline."
        },
        "defaultConfiguration": {"level": _level(label)},
        "properties": {"tags": ["security", label]},
    }


def _fingerprint(ff: FileFinding, occurrence: int) -> str:
    f = ff.finding
    h = hashlib.sha256(f"{f.rule_id}\0{ff.path}\0{f.preview}\0{occurrence}".encode("utf-8"))
    return h.hexdigest()[:32]


def _result(ff: FileFinding, rule_index: int, occurrence: int) -> dict[str, Any]:
    f = ff.finding
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": _level(f.label),
        "message": {"text": f"Possible {f.label} found by rule {f.rule_id}."},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(ff.path), "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": f.line,
                        "startColumn": f.column,
                        "endLine": f.end_line,
                        "endColumn": max(f.end_column, 1),
                    },
                }
            }
        ],
        "partialFingerprints": {"stockadeFinding/v1": _fingerprint(ff, occurrence)},
        "properties": {"confidence": round(f.confidence, 3), "label": f.label},
    }
    if f.suppressed_by:
        result["suppressions"] = [_suppression(f.suppressed_by, f.rule_id)]
    return result


def _suppression(by: str, rule_id: str) -> dict[str, str]:
    """SARIF's view of who accepted a finding: the comment in the file is
    ``inSource``; a baseline or the policy's allowlist is ``external``."""
    if by == SUPPRESS_INLINE:
        return {"kind": "inSource", "justification": f"inline `stockade: allow {rule_id}` comment"}
    if by == SUPPRESS_BASELINE:
        return {"kind": "external", "justification": "accepted in the baseline"}
    if by.startswith(ALLOWLIST_PREFIX):
        reason = by[len(ALLOWLIST_PREFIX):].strip()
        return {"kind": "external", "justification": f"policy allowlist entry: {reason}"}
    return {"kind": "external", "justification": by}


def to_sarif(report: ScanReport, *, describe: Describe | None = None) -> dict[str, Any]:
    """The report as one SARIF 2.1.0 log with one run.

    ``describe(rule_id)`` may supply a rule's title and description."""
    all_findings = report.findings + report.suppressed
    rules: dict[str, int] = {}
    rule_objs: list[dict[str, Any]] = []
    for ff in sorted(all_findings, key=lambda x: x.finding.rule_id):
        if ff.finding.rule_id not in rules:
            rules[ff.finding.rule_id] = len(rule_objs)
            info = describe(ff.finding.rule_id) if describe is not None else None
            rule_objs.append(_rule(ff.finding.rule_id, ff.finding.label, info))
    seen: dict[tuple[str, str, str], int] = {}
    results = []
    for ff in all_findings:
        key = (ff.path, ff.finding.rule_id, ff.finding.preview)
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        results.append(_result(ff, rules[ff.finding.rule_id], occurrence))
    notifications = [
        {
            "level": "note",
            "message": {"text": f"skipped {s.rel}: {s.reason}"},
            "locations": [
                {"physicalLocation": {"artifactLocation": {"uri": quote(s.rel), "uriBaseId": "%SRCROOT%"}}}
            ],
        }
        for s in report.skipped
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "stockade",
                "semanticVersion": __version__,
                "rules": rule_objs,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": notifications,
            }
        ],
    }
    return {"$schema": SCHEMA, "version": VERSION, "runs": [run]}


__all__ = ["to_sarif"]
