"""Find git repositories under roots and classify each by what the DLP engine
finds in its working tree.

A directory holding ``.git`` (a directory, or a file for worktrees and
submodules) is a repository; the walk does not look for repositories inside
one (its scan covers them).  Symbolic links are not followed; a folder that
cannot be read is reported, not silently passed over.

Paths are text like any other: a file named after the token it holds
(``keys/ghp_....txt``) would print the token, so every path a report shows
is masked with the DLP engine; the routing glob replaces the masked parts
with ``*`` so that it still matches the real path.
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
    path: str  # masked
    route: str = ""  # an fnmatch glob for the real path, masked parts as `*`
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


def find_repositories(roots: list[str], unreadable: list[str] | None = None) -> list[str]:
    """Repositories under ``roots``; folders that could not be read are added
    to ``unreadable``."""
    out: list[str] = []
    for root in roots:
        if not os.path.isdir(root):
            raise UsageError(f"{root}: not a directory", hint="name directories that hold repositories")
        out.extend(_walk(os.path.abspath(root), [] if unreadable is None else unreadable))
    seen: set[str] = set()
    return [r for r in out if not (r in seen or seen.add(r))]  # type: ignore[func-returns-value]


def _walk(root: str, unreadable: list[str]) -> Iterator[str]:
    base = root.rstrip(os.sep).count(os.sep)

    def onerror(exc: OSError) -> None:
        unreadable.append(str(exc.filename or "?"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=False):
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
    out = RepoReport(path=masked_path(engine, repo), route=route_glob(engine, repo),
                     files=rep.files, bytes=rep.bytes, skipped=len(rep.skipped),
                     ignored=rep.ignored)
    names: dict[str, str] = {}
    for ff in rep.findings:
        out.findings += 1
        out.labels[ff.finding.label] += 1
        out.rules[ff.finding.rule_id] += 1
        name = names.get(ff.path)
        if name is None:
            name = names[ff.path] = masked_path(engine, ff.path)
        out.files_with_findings[name] += 1
    return out


def masked_path(engine: Any, path: str) -> str:
    from stockade.history.worker import masked

    return masked(engine, path, limit=4096)


def route_glob(engine: Any, path: str) -> str:
    """An fnmatch glob matching ``path`` only, except that what the engine
    finds in it is ``*``: the policy routes the repository without naming
    the token its folder is called after."""
    from stockade.dlp.redact import merged_spans
    from stockade.history.redact import redact_command
    from stockade.repos.suggest import glob_escape

    spans = [(start, end) for start, end, _ in merged_spans(engine.scan(path), len(path))]
    # what masked_path masks besides the engine (a folder named
    # `API_TOKEN=...`): the whole folder name is `*`
    pos = 0
    for part in path.split("/"):
        if part and redact_command(part) != part:
            spans.append((pos, pos + len(part)))
        pos += len(part) + 1
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    pos = 0
    for start, end in merged:
        out.append(glob_escape(path[pos:start]) + "*")
        pos = end
    out.append(glob_escape(path[pos:]))
    return "".join(out)
