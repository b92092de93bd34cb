"""Find git repositories under roots and classify each by what the DLP engine
finds in its working tree.

A directory holding ``.git`` (a directory, or a file for worktrees and
submodules) is a repository; the walk does not look for repositories inside
one (its scan covers them).  Symbolic links are not followed.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stockade.errors import UsageError

TOP_FILES = 5
_PRUNE = frozenset({"node_modules", ".cache", "__pycache__", ".venv", "venv", ".tox", ".npm",
                    ".cargo", ".rustup", ".local", "site-packages", ".pnpm-store", ".nvm", ".m2",
                    ".gradle"})
MAX_DEPTH = 12


@dataclass(slots=True)
class RepoReport:
    path: str
    findings: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    files_with_findings: Counter[str] = field(default_factory=Counter)
    files: int = 0
    bytes: int = 0
    skipped: int = 0
    ignored: int = 0

    @property
    def level(self) -> str:
        """The most sensitive label: secret, then pii, then any policy label, else clean."""
        if not self.labels:
            return "clean"
        for label in ("secret", "pii"):
            if label in self.labels:
                return label
        return min(self.labels)

    def top_files(self) -> list[tuple[str, int]]:
        return sorted(self.files_with_findings.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FILES]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "level": self.level, "findings": self.findings,
                "labels": dict(sorted(self.labels.items())), "rules": dict(self.rules.most_common()),
                "top_files": [{"path": p, "findings": n} for p, n in self.top_files()],
                "files": self.files, "bytes": self.bytes, "skipped": self.skipped,
                "ignored": self.ignored}


def find_repositories(roots: list[str]) -> list[str]:
    out: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            raise UsageError(f"{root}: not a directory", hint="name directories that hold repositories")
        out.extend(_walk(os.path.abspath(root)))
    seen: set[str] = set()
    return [r for r in out if not (r in seen or seen.add(r))]  # type: ignore[func-returns-value]


def _walk(root: str) -> Iterator[str]:
    base = root.rstrip(os.sep).count(os.sep)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if ".git" in dirnames or ".git" in filenames:
            dirnames[:] = []
            yield dirpath
            continue
        depth = dirpath.rstrip(os.sep).count(os.sep) - base
        dirnames[:] = sorted(d for d in dirnames if d not in _PRUNE and depth < MAX_DEPTH)


def classify(repo: str, *, engine: Any, all_files: bool, jobs: int,
             progress_factory: Callable[[int, int], Any] | None = None) -> RepoReport:
    from stockade.dlp.scanfiles import scan_paths

    rep = scan_paths(engine, [repo], respect_gitignore=not all_files, jobs=jobs,
                     progress_factory=progress_factory)
    out = RepoReport(path=repo, files=rep.files, bytes=rep.bytes, skipped=len(rep.skipped),
                     ignored=rep.ignored)
    for ff in rep.findings:
        out.findings += 1
        out.labels[ff.finding.label] += 1
        out.rules[ff.finding.rule_id] += 1
        out.files_with_findings[ff.path] += 1
    return out
