"""`stockade history`: what past agent sessions sent to model vendors.

Reads Claude Code, Codex and Aider transcripts under one or more homes, runs
the DLP engine over everything that went to the vendor (prompts, files read,
tool output, the model's own messages) and lists the exposures (rule, session,
time, source, masked preview: never a value) and the actions (commands, files
written, network destinations, packages installed, with the dependency
check's verdict).  Exit status: 0 no exposure, 1 exposures found, 2 bad
arguments, 3 the ledger could not record the run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stockade.errors import EXIT_FOUND, EXIT_OK, UsageError
from stockade.history.records import AGENTS

if TYPE_CHECKING:
    from stockade.history.audit import Report

_SINCE = re.compile(r"(\d+)([hdw])")


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="90d", metavar="AGE",
                        help="sessions active in the last AGE (90d, 12w, 48h; 0d or `today`: "
                             "since midnight), since a date (2026-01-31), or `all` "
                             "(default: 90d)")
    parser.add_argument("--agent", default=",".join(AGENTS), metavar="LIST",
                        help=f"comma-separated agents to read (default: {','.join(AGENTS)})")
    parser.add_argument("--home", action="append", default=None, metavar="DIR",
                        help="a home directory to audit (repeat for several; default: yours)")
    parser.add_argument("--format", choices=("table", "json", "html"), default="table")
    parser.add_argument("--out", metavar="FILE", help="write the report to FILE (default: stdout)")
    parser.add_argument("--policy", metavar="FILE", help="policy with custom DLP rules and dictionaries")
    parser.add_argument("--jobs", type=int, default=0, metavar="N",
                        help="worker processes (default: one per CPU)")
    parser.add_argument("--online", action="store_true",
                        help="look the packages the sessions installed up on their registries "
                             "(PyPI, npm, crates.io, the Go proxy) for their verdicts. Default: "
                             "offline, from cached registry answers, the local OSV database and "
                             "the bundled popular-name lists (a package never looked up reads "
                             "`ask`, unverifiable)")


def parse_since(value: str, *, now: datetime | None = None) -> str | None:
    """The ISO 8601 UTC moment ``--since`` names, or None for `all`."""
    now = now or datetime.now(UTC)
    v = value.strip().lower()
    if v == "all":
        return None
    hint = "write 90d, 12w, 48h, 0d (since midnight), 2026-01-31 or all"
    m = _SINCE.fullmatch(v)
    if v == "today" or (m and int(m.group(1)) == 0 and m.group(2) == "d"):
        # "the last 0 days" read literally is "from now on": nothing.  What a
        # person means is today's sessions: since local midnight.
        local = now.astimezone()
        return _stamp(local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC))
    if m and int(m.group(1)) == 0:
        raise UsageError(f"--since {value!r} covers no time at all",
                         hint="write 0d or today for today's sessions, or 1h, 1w") from None
    if m:
        try:
            n = int(m.group(1))
            delta = {"h": timedelta(hours=n), "d": timedelta(days=n),
                     "w": timedelta(weeks=n)}[m.group(2)]
            return _stamp(now - delta)
        except (OverflowError, ValueError):
            raise UsageError(f"--since {value!r} reaches before year 1", hint=hint) from None
    try:
        day = datetime.fromisoformat(value.strip())
        if day.tzinfo is None:
            day = day.replace(tzinfo=UTC)
        return _stamp(day.astimezone(UTC))
    except (ValueError, OverflowError):
        raise UsageError(f"--since {value!r} is not an age or a date", hint=hint) from None


def _stamp(moment: datetime) -> str:
    """ISO 8601 UTC with a four-digit year, so that stamps compare as text
    (``strftime('%Y')`` writes year 33 as ``33``)."""
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}Z")


def parse_agents(value: str) -> frozenset[str]:
    names = {a.strip() for a in value.split(",") if a.strip()}
    aliases = {"claude": "claude-code"}
    names = {aliases.get(a, a) for a in names}
    bad = sorted(names - set(AGENTS))
    if bad or not names:
        raise UsageError(f"--agent: unknown agent {', '.join(bad) or '(none)'}",
                         hint=f"choose from {', '.join(AGENTS)}")
    return frozenset(names)


def _homes(args: argparse.Namespace) -> tuple[list[str], bool]:
    if not args.home:
        return [str(Path.home())], True
    out = []
    for h in args.home:
        if not os.path.isdir(h):
            raise UsageError(f"--home {h}: not a directory", hint="name an existing home directory")
        out.append(os.path.abspath(h))
    return out, False


def run(args: argparse.Namespace) -> int:
    from stockade.history import runtime

    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or more")
    since = parse_since(args.since)
    agents = parse_agents(args.agent)
    homes, own = _homes(args)
    # Opened first: an unwritable --out is refused before hours of reading,
    # and a run that fails removes what it had begun to write.
    out, close = runtime.open_out(args.out, sys.stdout)
    ok = False
    try:
        rep = _audit(args, since=since, agents=agents, homes=homes, own=own)
        runtime.record("history.run", {
            "homes": len(homes), "agents": sorted(agents), "since": since, "format": args.format,
            "files": rep.files, "bytes": rep.bytes, "sessions": len(rep.sessions),
            "exposures": len(rep.exposures), "actions": len(rep.actions),
            "skipped": len(rep.skipped),
            "by_rule": dict(Counter(e.rule_id for e in rep.exposures)),
            "by_label": dict(Counter(e.label for e in rep.exposures)),
            "by_agent": dict(Counter(s.agent for s in rep.sessions)),
            # the install verdicts are this run's, recorded here (not as hook
            # events): how they were reached, and counts (no package name)
            "packages": {"online": bool(args.online),
                         "checked": sum(rep.package_verdicts.values()),
                         "by_verdict": dict(rep.package_verdicts),
                         "by_rule": dict(rep.package_rules)},
        })
        if args.format == "json":
            from stockade.history.render import write_json

            write_json(rep, out)
        elif args.format == "html":
            from stockade.history.html import write_html

            write_html(rep, out)
        else:
            from stockade.history.render import write_table

            write_table(rep, out)
        ok = True
    finally:
        close(ok)
    if args.out:
        from stockade.history.render import write_brief

        write_brief(rep, sys.stderr, out=args.out)
    return EXIT_FOUND if rep.exposures else EXIT_OK


def _audit(args: argparse.Namespace, *, since: str | None, agents: frozenset[str],
           homes: list[str], own: bool) -> Report:
    from stockade.history import runtime
    from stockade.history.audit import audit
    from stockade.history.discover import discover
    from stockade.history.records import Skip

    engine = runtime.engine(args.policy, fingerprint_key=os.urandom(32))
    skips: list[Skip] = []
    cutoff = datetime.fromisoformat(since).timestamp() if since else None
    sources = discover(homes, own_home=own, agents=agents, since=cutoff, env=os.environ, skips=skips)

    from stockade.history.packages import checker

    rep = audit(sources, engine=engine, jobs=args.jobs, since=since, skipped=skips,
                check_install=checker(online=bool(args.online)),
                progress=runtime.progress_bar(sys.stderr, total_bytes=sum(s.size for s in sources),
                                              verb="reading"))
    rep.online = bool(args.online)
    return rep
