"""`stockade repos scan DIR...`: which git repositories hold sensitive data.

Finds the git repositories under each DIR and runs the DLP engine over each
working tree: counts per label and rule, and the files with most findings;
never a value.  ``--suggest-policy`` prints a policy snippet that routes the
sensitive repositories' model traffic to a local model and blocks secrets.
Exit status: 0 nothing found, 1 a repository holds findings, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import IO, TYPE_CHECKING

from stockade.errors import EXIT_FOUND, EXIT_OK, UsageError

if TYPE_CHECKING:
    from stockade.repos.classify import RepoReport


def build_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    scan = sub.add_parser("scan", help="classify the git repositories under DIR...",
                          description="Find git repositories under each DIR and classify each by "
                                      "the secrets and personal data its working tree holds.")
    scan.add_argument("roots", nargs="+", metavar="DIR")
    scan.add_argument("--format", choices=("table", "json"), default="table")
    scan.add_argument("--suggest-policy", action="store_true",
                      help="print a policy snippet routing sensitive repositories to a local model")
    scan.add_argument("--all-files", action="store_true",
                      help="include files ignored by .gitignore (.env files an agent can still read)")
    scan.add_argument("--policy", metavar="FILE", help="policy with custom DLP rules and dictionaries")
    scan.add_argument("--jobs", type=int, default=0, metavar="N",
                      help="worker processes (default: one per CPU)")


def _clean(value: str, limit: int = 70) -> str:
    # isprintable() is False for controls, bidi overrides and lone surrogates
    s = "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else "?" for c in value)
    return s if len(s) <= limit else "..." + s[-(limit - 3):]


def write_table(reports: list[RepoReport], out: IO[str]) -> None:
    rows = []
    for r in sorted(reports, key=lambda r: (-r.findings, r.path)):
        top = ", ".join(f"{_clean(p, 40)} ({n})" for p, n in r.top_files()[:3])
        labels = ", ".join(f"{k} {v}" for k, v in sorted(r.labels.items()))
        rows.append((_clean(r.path), r.level, str(r.findings), labels or "-", top or "-"))
    header = ("REPOSITORY", "LEVEL", "FINDINGS", "LABELS", "TOP FILES")
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(header)]
    out.write("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
    rules = Counter[str]()
    for r in reports:
        rules.update(r.rules)
    sensitive = sum(1 for r in reports if r.findings)
    out.write(f"\n{len(reports)} repositor{'ies' if len(reports) != 1 else 'y'}, {sensitive} with "
              f"sensitive data; {sum(r.files for r in reports)} files, "
              f"{sum(r.bytes for r in reports) / 1e6:.1f} MB scanned\n")
    if rules:
        out.write("by rule: " + ", ".join(f"{k} {v}" for k, v in rules.most_common(10)) + "\n")
    if sensitive:
        out.write("route them to a local model: stockade repos scan ... --suggest-policy\n")


def run(args: argparse.Namespace) -> int:
    from stockade.history import runtime
    from stockade.repos.classify import classify, find_repositories
    from stockade.repos.suggest import suggest

    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or more")
    unreadable: list[str] = []
    repos = find_repositories(args.roots, unreadable)
    engine = runtime.engine(args.policy)
    reports = []
    for i, repo in enumerate(repos):
        if sys.stderr.isatty():
            sys.stderr.write(f"\rscanning repository {i + 1}/{len(repos)} ...")
            sys.stderr.flush()
        reports.append(classify(repo, engine=engine, all_files=args.all_files, jobs=args.jobs))
    if sys.stderr.isatty() and repos:
        sys.stderr.write("\r" + " " * 60 + "\r")
    labels: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for r in reports:
        labels.update(r.labels)
        rules.update(r.rules)
    runtime.record("repos.scan", {
        "roots": len(args.roots), "repositories": len(reports),
        "sensitive": sum(1 for r in reports if r.findings),
        "files": sum(r.files for r in reports), "bytes": sum(r.bytes for r in reports),
        "findings": sum(r.findings for r in reports), "by_label": dict(labels),
        "by_rule": dict(rules), "suggest_policy": bool(args.suggest_policy),
    })
    out = sys.stdout
    if unreadable:
        sys.stderr.write(f"stockade repos: {len(unreadable)} folder{'s' if len(unreadable) != 1 else ''}"
                         " could not be read and were not searched for repositories\n")
    if args.suggest_policy:
        out.write(suggest(reports))
    elif args.format == "json":
        json.dump({"repositories": [r.to_json() for r in reports],
                   "stats": {"repositories": len(reports),
                             "sensitive": sum(1 for r in reports if r.findings),
                             "by_label": dict(labels), "by_rule": dict(rules),
                             "unreadable_folders": len(unreadable)}},
                  out, ensure_ascii=True, indent=1)
        out.write("\n")
    elif not reports:
        # an empty table and "0 repositories" read like a clean bill of health
        where = ", ".join(_clean(r) for r in args.roots)
        out.write(f"no git repositories under {where}: nothing was scanned\n"
                  "  hint: give the folder that holds your clones (e.g. ~/src); repositories "
                  "are found by their .git folder\n")
    else:
        write_table(reports, out)
    out.flush()
    return EXIT_FOUND if any(r.findings for r in reports) else EXIT_OK
