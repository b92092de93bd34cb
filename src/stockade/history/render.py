"""The terminal summary and the JSON report.

JSON shape (a contract)::

    {"sessions": [{"id", "agent", "project", "branch", "user", "start", "end", "models", ...}],
     "exposures": [{"session_id", "rule_id", "label", "timestamp", "source", "path", "preview", ...}],
     "actions": [{"session_id", "kind", "timestamp", "target", ...}],
     "skipped": [{"file", "line", "reason"}],
     "stats": {...}}

Strings in a transcript are attacker-controlled: the terminal summary replaces
control characters, bidirectional overrides and lone surrogates (an escape
sequence must not rewrite the screen, and a string that cannot be encoded
must not end the report).  JSON is written as ASCII: C1 controls, U+2028
and lone surrogates become ``\\uXXXX`` escapes, so the report can be shown
on a terminal or embedded in a page as it is.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from stockade.history.audit import Report

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
TOP = 10
LIST_MAX = 50


def clean(value: object, limit: int = 80) -> str:
    s = _CONTROL.sub("?", "" if value is None else str(value))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def stats(rep: Report) -> dict[str, Any]:
    return {"files": rep.files, "bytes": rep.bytes, "seconds": round(rep.seconds, 3),
            "sessions": len(rep.sessions), "exposures": len(rep.exposures),
            "actions": len(rep.actions), "skipped": len(rep.skipped), "since": rep.since,
            "packages_online": rep.online}


def to_json(rep: Report) -> dict[str, Any]:
    return {
        "sessions": [s.to_json() for s in rep.sessions],
        "exposures": [e.to_json() for e in rep.exposures],
        "actions": [a.to_json() for a in rep.actions],
        "skipped": [{"file": s.file, "line": s.line, "reason": s.reason} for s in rep.skipped],
        "stats": stats(rep),
    }


def write_json(rep: Report, out: IO[str]) -> None:
    json.dump(to_json(rep), out, ensure_ascii=True, indent=1)
    out.write("\n")


def _table(out: IO[str], header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(header)]
    out.write("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip() + "\n")
    for r in rows:
        out.write("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() + "\n")


def write_brief(rep: Report, stream: IO[str], *, out: str) -> None:
    """A few lines for the terminal when the report went to a file."""
    rules = Counter(e.rule_id for e in rep.exposures)
    top = ", ".join(f"{r} {n}" for r, n in rules.most_common(5)) + (", ..." if len(rules) > 5 else "")
    stream.write(f"stockade history: {len(rep.sessions)} sessions, {len(rep.exposures)} exposures"
                 + (f" ({top})" if rules else "")
                 + f", {len(rep.actions)} actions, {len(rep.skipped)} skipped; {rep.files} files, "
                 + f"{rep.bytes / 1e6:.1f} MB in {rep.seconds:.2f} s\n"
                 + f"report written to {clean(out, 200)}\n")


def write_table(rep: Report, out: IO[str]) -> None:
    by_session = {s.id: s for s in rep.sessions}
    agents = Counter(s.agent for s in rep.sessions)
    users = {s.user for s in rep.sessions if s.user}
    span = [t for s in rep.sessions for t in (s.start, s.end) if t]
    out.write(
        f"stockade history: {len(rep.sessions)} session{'s' if len(rep.sessions) != 1 else ''}"
        + (f" ({', '.join(f'{a} {n}' for a, n in sorted(agents.items()))})" if agents else "")
        + (f" of {len(users)} user{'s' if len(users) != 1 else ''}" if users else "")
        # cut the stamps to the second before cleaning: clean() would put its
        # "..." in the middle of the time
        + (f", {clean(min(span)[:19])} to {clean(max(span)[:19])}" if span else "")
        + (f", since {rep.since[:10]}" if rep.since else "") + "\n")
    out.write(f"  read {rep.files} files, {rep.bytes / 1e6:.1f} MB in {rep.seconds:.2f} s\n")

    n = len(rep.exposures)
    out.write(f"\n{n} exposure{'s' if n != 1 else ''} (values sent to a model vendor)\n")
    if n:
        rules = Counter((e.rule_id, e.label) for e in rep.exposures)
        out.write("\nby rule:\n")
        _table(out, ("RULE", "LABEL", "COUNT"),
               [(clean(r), clean(lab), str(c)) for (r, lab), c in rules.most_common()])
        projects = Counter(clean(by_session[e.session_id].project if e.session_id in by_session
                                 else None, 60) for e in rep.exposures)
        out.write("\nby project:\n")
        _table(out, ("PROJECT", "COUNT"), [(p or "?", str(c)) for p, c in projects.most_common(TOP)])
        per = Counter(e.session_id for e in rep.exposures)
        out.write("\ntop sessions:\n")
        rows: list[tuple[str, ...]] = []
        for sid, c in per.most_common(TOP):
            s = by_session.get(sid)
            rows.append((clean(sid, 40), s.agent if s else "?", clean(s.user if s else "", 16),
                         clean(s.project if s else "", 50), clean((s.start or "")[:19] if s else ""),
                         str(c)))
        _table(out, ("SESSION", "AGENT", "USER", "PROJECT", "START", "EXPOSURES"), rows)
        out.write(f"\nexposures{f' (first {LIST_MAX}; --format json lists all)' if n > LIST_MAX else ''}:\n")
        _table(out, ("TIME", "SESSION", "RULE", "SOURCE", "PATH", "PREVIEW"),
               [(clean((e.timestamp or "")[:19]), clean(e.session_id, 20), clean(e.rule_id), e.source,
                 clean(e.path or "", 50), clean(e.preview, 40)) for e in rep.exposures[:LIST_MAX]])

    kinds = Counter(a.kind for a in rep.actions)
    if rep.actions:
        out.write("\nactions: " + ", ".join(f"{k} {c}" for k, c in sorted(kinds.items())) + "\n")
        net = [a for a in rep.actions if a.kind == "network"]
        if net:
            hosts = Counter(clean(a.target, 70) for a in net)
            out.write("\nnetwork destinations:\n")
            _table(out, ("DESTINATION", "SESSIONS"), [(h, str(c)) for h, c in hosts.most_common(TOP)])
        pkgs = [a for a in rep.actions if a.kind == "package"]
        if pkgs:
            how = ("online: registries consulted" if rep.online else
                   "offline: cached registry answers, OSV database, popular-name lists; "
                   "--online looks each package up") if rep.online is not None else ""
            out.write(f"\npackages installed{f' (verdicts {how})' if how else ''}:\n")
            _table(out, ("ECOSYSTEM", "PACKAGES", "VERDICT", "SESSION"),
                    [(a.ecosystem or "?", clean(" ".join(a.packages), 50), clean(a.verdict or "-"),
                      clean(a.session_id, 20)) for a in pkgs[:LIST_MAX]])
    if rep.skipped:
        out.write(f"\nskipped {len(rep.skipped)} (not read; --format json lists every one):\n")
        for reason, c in Counter(s.reason for s in rep.skipped).most_common(TOP):
            out.write(f"  {c} x {clean(reason)}\n")
        for k in rep.skipped[:5]:
            out.write(f"  {clean(k.file, 100)}:{k.line}: {clean(k.reason)}\n")
