"""A small OSV export, built at test time in the shape of OSV's
per-ecosystem ``all.zip`` (one JSON advisory per file)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any


def advisory(adv_id: str, eco: str, name: str, *, introduced: str = "0",
             fixed: str | None = None, versions: list[str] | None = None,
             summary: str = "") -> dict[str, Any]:
    events: list[dict[str, str]] = [{"introduced": introduced}]
    if fixed:
        events.append({"fixed": fixed})
    affected: dict[str, Any] = {"package": {"ecosystem": eco, "name": name},
                                "ranges": [{"type": "ECOSYSTEM", "events": events}]}
    if versions is not None:
        affected["versions"] = versions
    return {"schema_version": "1.6.0", "id": adv_id, "modified": "2025-01-01T00:00:00Z",
            "summary": summary, "affected": [affected]}


DEFAULT = [
    advisory("MAL-2024-0001", "PyPI", "evil-pkg", summary="Malicious code in evil-pkg (PyPI)"),
    advisory("MAL-2024-0002", "npm", "bad-npm-thing", summary="Malicious code in bad-npm-thing"),
    advisory("GHSA-aaaa-bbbb-cccc", "PyPI", "oldlib", introduced="0", fixed="2.0.1",
             summary="Remote code execution in oldlib"),
    advisory("GHSA-dddd-eeee-ffff", "npm", "leftish", introduced="1.2.0", fixed="1.4.0",
             summary="Prototype pollution in leftish"),
    advisory("PYSEC-2023-1", "PyPI", "Open_Ended", introduced="3.0",
             summary="Open-ended flaw"),
]


def build(path: Path, advisories: list[dict[str, Any]] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for adv in advisories if advisories is not None else DEFAULT:
            zf.writestr(f"{adv['id']}.json", json.dumps(adv, indent=1))
    return path
