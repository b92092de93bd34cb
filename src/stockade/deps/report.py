"""Table, JSON and SARIF renderings of dependency check results.

Package names and advisory ids are public; nothing here reads a secret.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import IO, Any
from urllib.parse import quote

from stockade import __version__
from stockade.deps.model import CHECKS, Result

_RULE_TEXT = {
    "deps.nonexistent": ("Package does not exist",
                         ("The package is not in its registry: a hallucinated or mistyped name "
                          "that an attacker can register (slopsquatting).")),
    "deps.typosquat": ("Package imitates a popular package",
                       ("The name is a typo, confusable spelling or decorated copy of a "
                        "popular package's name.")),
    "deps.malicious": ("Known malicious package",
                       "An OSV malicious-package (MAL-) advisory covers this package."),
    "deps.vulnerable": ("Known vulnerable version",
                        "An OSV advisory covers this version; upgrade to a fixed version."),
    "deps.new": ("Recently published package",
                 "The package's first release is recent (tools.dependencies.new_days)."),
    "deps.install_scripts": ("Package runs install scripts",
                             "The npm package runs preinstall/install/postinstall scripts."),
    "deps.unverifiable": ("Package could not be verified",
                          "The registry could not be reached and no cached answer exists."),
}
_NOT_FILES = ("command", "hook")  # where a spec came from when it is no file
_SEVERITY = {"block": 0, "ask": 1, "warn": 2, "allow": 3}
_LEVEL = {"block": "error", "ask": "warning", "warn": "note", "allow": "none"}


def summary(results: list[Result]) -> dict[str, int]:
    c = Counter(r.action for r in results)
    return {"checked": len(results), **{a: c.get(a, 0) for a in ("block", "ask", "warn", "allow")}}


def result_json(r: Result) -> dict[str, Any]:
    s = r.spec
    return {
        "ecosystem": s.ecosystem, "package": s.name, "version": s.version,
        "source": s.source, "line": s.line, "action": r.action,
        "findings": [{"check": f.check, "code": f.code, "action": f.action, "reason": f.reason,
                      **({"advisory": f.advisory} if f.advisory else {})} for f in r.findings],
        "notes": list(r.notes),
    }


def write_json(results: list[Result], out: IO[str]) -> None:
    json.dump({"results": [result_json(r) for r in results], "summary": summary(results)},
              out, ensure_ascii=False, indent=1)
    out.write("\n")


def write_table(results: list[Result], out: IO[str]) -> None:
    if not results:
        out.write("no dependencies to check\n")
        return
    rows = [("ACTION", "ECOSYSTEM", "PACKAGE", "WHERE", "CODE", "REASON")]
    for r in results:
        where = f"{r.spec.source}:{r.spec.line}" if r.spec.line else r.spec.source
        if not r.findings:
            rows.append(("allow", r.spec.ecosystem, r.spec.display, where, "-", "no finding"))
        # the finding that decides comes first: block, then ask, warn, allow
        for f in sorted(r.findings, key=lambda f: _SEVERITY.get(f.action, len(_SEVERITY))):
            rows.append((f.action, r.spec.ecosystem, r.spec.display, where, f.code, f.reason))
    widths = [max(len(row[k]) for row in rows) for k in range(5)]
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row[:5], widths)) + "  " + row[5] + "\n")
    notes = sorted({n for r in results for n in r.notes})
    if notes:
        out.write("\nnot checked:\n")
        for n in notes[:20]:
            out.write(f"  {n}\n")
        if len(notes) > 20:
            out.write(f"  ... and {len(notes) - 20} more (--format json lists them)\n")
    s = summary(results)
    out.write(f"\n{s['checked']} package{'s' if s['checked'] != 1 else ''} checked: "
              f"{s['block']} blocked, {s['ask']} need approval, {s['warn']} warnings\n")


def to_sarif(results: list[Result]) -> dict[str, Any]:
    rules = [{"id": code, "name": code.split(".")[1].title().replace("_", ""),
              "shortDescription": {"text": _RULE_TEXT[code][0]},
              "fullDescription": {"text": _RULE_TEXT[code][1]},
              "properties": {"tags": ["security", "supply-chain"]}}
             for code in CHECKS.values()]
    index = {r["id"]: k for k, r in enumerate(rules)}
    out = []
    for r in results:
        for f in r.findings:
            if f.action == "allow":
                continue
            item: dict[str, Any] = {
                "ruleId": f.code, "ruleIndex": index[f.code], "level": _LEVEL[f.action],
                "message": {"text": f.reason},
                "properties": {"ecosystem": r.spec.ecosystem, "package": r.spec.name,
                               "version": r.spec.version, "action": f.action},
            }
            if r.spec.source and r.spec.source not in _NOT_FILES:
                # a URI reference: a path with a space or `#` must be escaped
                loc: dict[str, Any] = {"artifactLocation": {
                    "uri": quote(r.spec.source.replace(os.sep, "/"))}}
                if r.spec.line:
                    loc["region"] = {"startLine": r.spec.line}
                item["locations"] = [{"physicalLocation": loc}]
            out.append(item)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "stockade-deps", "version": __version__,
                                      "rules": rules}},
                  "results": out}],
    }


def write_sarif(results: list[Result], out: IO[str]) -> None:
    json.dump(to_sarif(results), out, ensure_ascii=False, indent=1)
    out.write("\n")


__all__ = ["result_json", "summary", "to_sarif", "write_json", "write_sarif", "write_table"]
