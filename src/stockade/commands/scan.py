"""`stockade scan`: find secrets and personal data in files.

Exit status: 0 nothing found, 1 findings (suppressed ones do not count),
2 bad arguments or input, or (``--strict``) a file that could not be scanned;
``--staged`` fails so for a skipped file that is, or is named like, text.
Output goes to stdout in the chosen format; the progress bar (large trees on
a terminal only) goes to stderr.  No output ever holds a value: findings carry
a masked preview, baselines a keyed hash.

Baselines: a fingerprint is an HMAC of the value under a key derived from this
machine's state key (``stockade init``), which never leaves the state
directory.  A baseline therefore matches only where that key is: on the
machine that wrote it (a team-managed key can come later); elsewhere its
findings simply show up again.  A baseline never holds a key: with the key
next to 80-bit fingerprints, short values could be brute-forced offline.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from stockade.dlp.scanfiles import (
    SUPPRESS_BASELINE,
    FileFinding,
    Progress,
    Scanner,
    ScanReport,
    apply_baseline,
    scan_paths,
    scan_staged,
    scan_stdin_bytes,
)
from stockade.dlp.walk import Skipped
from stockade.errors import EXIT_FOUND, EXIT_OK, UsageError

if TYPE_CHECKING:
    from stockade.config import DlpPolicy

BASELINE_FORMAT = "stockade-baseline/2"
_OLD_BASELINE_FORMATS = ("stockade-baseline/1",)
STRICT_LIST_MAX = 20
PROGRESS_MIN_FILES = 2000
PROGRESS_MIN_BYTES = 32 * 1024 * 1024


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument(
        "--format", choices=("table", "json", "sarif"), default="table",
        help="table (default), json or sarif; in every format a path part that is itself a "
             "finding (a file named after a token) is shown masked, SARIF uri included",
    )
    parser.add_argument("--stdin", action="store_true", help="scan standard input")
    parser.add_argument(
        "--staged", action="store_true", help="scan what git would commit (for a pre-commit hook)"
    )
    parser.add_argument("--baseline", metavar="FILE", help="accept the findings recorded in FILE")
    parser.add_argument(
        "--write-baseline", metavar="FILE", help="record the current findings in FILE (and accept them)"
    )
    parser.add_argument(
        "--all-files", action="store_true", help="include files ignored by .gitignore"
    )
    parser.add_argument(
        "--strict", action="store_true",
        help="fail (exit 2) when any file could not be scanned (binary, unreadable, link)",
    )
    parser.add_argument("--policy", metavar="FILE", help="policy with custom rules and dictionaries")
    parser.add_argument(
        "--jobs", type=int, default=0, metavar="N", help="worker processes (default: one per CPU)"
    )


# -- engine and policy -----------------------------------------------------------

def load_dlp_policy(policy_file: str | None, workspace: str) -> DlpPolicy:
    """The effective policy's ``dlp`` section (custom rules, dictionaries, allowlist).

    Every layer applies (managed, user, project, or ``--policy FILE``); an
    invalid policy stops the scan with the file and line to fix."""
    from stockade.config import load_policy

    return load_policy(policy_file=policy_file, workspace=Path(workspace)).dlp


def build_engine(policy_file: str | None, workspace: str) -> Scanner:
    return make_engine(load_dlp_policy(policy_file, workspace))


def make_engine(dlp: DlpPolicy) -> Scanner:
    from stockade.dlp import Engine

    if not (dlp.rules or dlp.dictionaries or dlp.allowlist):
        return Engine.default()
    return Engine(custom_rules=dlp.rules, dictionaries=dlp.dictionaries, allowlist=dlp.allowlist)


# -- baselines -------------------------------------------------------------------

class IncompleteScan(UsageError):
    """``--strict`` (or ``--staged``) and something was not scanned."""


def baseline_key() -> bytes:
    """The fingerprint key of baselines: derived from this machine's state key.

    Creates the state directory (and key) when missing, like any command
    that needs it.  Derived, so that baseline fingerprints (which are
    committed) cannot be matched against the ledger's."""
    from stockade.state import StateDir

    root = StateDir.default().ensure().hmac_key()
    return hmac.new(root, b"stockade baseline fingerprints v2", hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """Names a key without revealing anything usable about it."""
    return hmac.new(key, b"stockade baseline key id", hashlib.sha256).hexdigest()[:16]


def read_baseline(path: str, *, key: bytes) -> set[tuple[str, str, str]]:
    """The accepted (path, rule_id, fingerprint) of a baseline written with ``key``."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise UsageError(
            f"baseline {path} does not exist", hint="create one with --write-baseline FILE"
        ) from None
    except json.JSONDecodeError as exc:
        # Line and column only: the decoder's message may quote the file.
        raise UsageError(
            f"baseline {path}:{exc.lineno}: not valid JSON (column {exc.colno})",
            hint="a baseline is written by `stockade scan --write-baseline FILE`; write it "
                 "again rather than editing it by hand",
        ) from None
    except UnicodeDecodeError:
        raise UsageError(
            f"baseline {path} is not UTF-8 text",
            hint="point --baseline at a file written by `stockade scan --write-baseline FILE`",
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot read baseline {path}: {exc.strerror}",
            hint="check the path and its permissions",
        ) from None
    fmt = data.get("format") if isinstance(data, dict) else None
    if fmt in _OLD_BASELINE_FORMATS:
        raise UsageError(
            f"baseline {path} is in the old {fmt} format, which stores its key in clear",
            hint="delete it and write it again with --write-baseline (its key was exposed: "
                 "anyone with the file could test guesses of short values)",
        )
    try:
        if fmt != BASELINE_FORMAT:
            raise ValueError("format")
        written_with = str(data["key_id"])
        accepted = {
            (str(item["path"]), str(item["rule_id"]), str(item["fingerprint"]))
            for item in data["findings"]
        }
    except (AttributeError, KeyError, TypeError, ValueError):
        raise UsageError(
            f"baseline {path} is not a {BASELINE_FORMAT} file",
            hint="write it again with --write-baseline",
        ) from None
    if not hmac.compare_digest(written_with, key_id(key)):
        raise UsageError(
            f"baseline {path} was written with another machine's key: it cannot match here",
            hint="a baseline is valid where it was written; write one here with --write-baseline",
        )
    return accepted


def write_baseline(path: str, key: bytes, findings: list[FileFinding]) -> None:
    # Only the key's id is written: the key stays in the state directory.
    data = {
        "format": BASELINE_FORMAT,
        "key_id": key_id(key),
        "findings": [
            {
                "path": ff.path,
                "rule_id": ff.finding.rule_id,
                "fingerprint": ff.finding.fingerprint,
                "line": ff.finding.line,
            }
            for ff in findings
        ],
    }
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(f"cannot write baseline {path}: {exc.strerror}") from None


# -- paths -------------------------------------------------------------------------

def mask_path(engine: Scanner, path: str) -> str:
    """``path`` with every part the engine flags replaced by its masked
    preview: a file named after a token must not print the token.

    The result no longer names a file on disk; the unmasked directories,
    the preview's visible ends and the line number are what lead back to it
    (SARIF gets the same masked uri: a wrong link beats a leaked key)."""
    from stockade.dlp.redact import mask_findings

    findings = engine.scan(path)
    return mask_findings(path, findings) if findings else path


def mask_paths(report: ScanReport, engine: Scanner) -> ScanReport:
    """``report`` with every reported path masked (see :func:`mask_path`)."""
    from dataclasses import replace

    cache: dict[str, str] = {}

    def m(path: str) -> str:
        if path not in cache:
            cache[path] = mask_path(engine, path)
        return cache[path]

    report.findings = [ff if m(ff.path) == ff.path else replace(ff, path=m(ff.path))
                       for ff in report.findings]
    report.suppressed = [ff if m(ff.path) == ff.path else replace(ff, path=m(ff.path))
                         for ff in report.suppressed]
    report.skipped = [sk if m(sk.rel) == sk.rel else replace(sk, rel=m(sk.rel))
                      for sk in report.skipped]
    return report


# -- progress --------------------------------------------------------------------

def _progress_factory(stream: IO[str]) -> Any:
    def factory(files: int, nbytes: int) -> Progress | None:
        if not stream.isatty() or (files < PROGRESS_MIN_FILES and nbytes < PROGRESS_MIN_BYTES):
            return None
        last = [0.0]

        def progress(done: int, total: int, done_bytes: int) -> None:
            now = time.monotonic()
            if done < total and now - last[0] < 0.1:
                return
            last[0] = now
            width = 30
            filled = width * done // max(total, 1)
            bar = "#" * filled + "-" * (width - filled)
            stream.write(f"\rscanning [{bar}] {done}/{total} files, {done_bytes / 1e6:.1f} MB")
            if done >= total:
                stream.write("\r" + " " * 79 + "\r")
            stream.flush()

        return progress

    return factory


# -- output ------------------------------------------------------------------------

def _finding_json(ff: FileFinding, *, suppressed: bool) -> dict[str, Any]:
    f = ff.finding
    d: dict[str, Any] = {
        "path": ff.path,
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "rule_id": f.rule_id,
        "label": f.label,
        "confidence": round(f.confidence, 3),
        "preview": f.preview,
    }
    if suppressed:
        d["suppressed_by"] = f.suppressed_by
    return d


def _json_chunks(report: ScanReport) -> Iterator[str]:
    """The JSON report, one small piece at a time (no whole-report string in memory)."""
    dumps = json.dumps

    def array(name: str, items: Iterator[dict[str, Any]], first: bool) -> Iterator[str]:
        yield ("" if first else ", ") + f'"{name}": ['
        sep = ""
        for item in items:
            yield sep + dumps(item, ensure_ascii=False)
            sep = ", "
        yield "]"

    yield "{"
    yield from array("findings", (_finding_json(ff, suppressed=False) for ff in report.findings), True)
    yield from array(
        "suppressed", (_finding_json(ff, suppressed=True) for ff in report.suppressed), False
    )
    yield from array(
        "skipped", ({"path": s.rel, "reason": s.reason} for s in report.skipped), False
    )
    stats = {"files": report.files, "bytes": report.bytes, "seconds": round(report.seconds, 3),
             "skipped": len(report.skipped), "ignored": report.ignored}
    yield ', "stats": ' + dumps(stats) + "}\n"


def write_json(report: ScanReport, out: IO[str]) -> None:
    buf: list[str] = []
    size = 0
    for piece in _json_chunks(report):
        buf.append(piece)
        size += len(piece)
        if size > 1 << 16:
            out.write("".join(buf))
            buf, size = [], 0
    out.write("".join(buf))


def write_table(report: ScanReport, out: IO[str]) -> None:
    def row(ff: FileFinding) -> str:
        f = ff.finding
        return (
            f"{ff.path}:{f.line}:{f.column}  {f.rule_id}  {f.label}  "
            f"{f.confidence:.2f}  {f.preview}"
        )

    for ff in report.findings:
        out.write(row(ff) + "\n")
    if report.suppressed:
        out.write(f"\nsuppressed ({len(report.suppressed)}):\n")
        for ff in report.suppressed:
            out.write(f"  {row(ff)}  [{ff.finding.suppressed_by}]\n")
    if report.skipped:
        out.write(f"\nskipped ({len(report.skipped)}):\n")
        if len(report.skipped) <= 20:
            for s in report.skipped:
                out.write(f"  {s.rel}: {s.reason}\n")
        else:
            for reason, n in sorted(Counter(s.reason for s in report.skipped).items()):
                out.write(f"  {n} x {reason}\n")
            out.write("  (--format json lists every skipped path)\n")
    n = len(report.findings)
    out.write(
        f"\n{n} finding{'s' if n != 1 else ''}"
        f"{f', {len(report.suppressed)} suppressed' if report.suppressed else ''}"
        f" in {report.files} files ({report.bytes / 1e6:.1f} MB, {report.seconds:.2f} s)\n"
    )
    if report.skipped:
        out.write(f"{len(report.skipped)} skipped: {_skip_summary(report.skipped)}"
                  " (not scanned; --strict makes this an error)\n")
    if report.ignored:
        d = report.ignored_dirs
        dirs = f" ({d} director{'ies' if d != 1 else 'y'})" if d else ""
        out.write(f"{report.ignored} path{'s' if report.ignored != 1 else ''} ignored by "
                  f".gitignore{dirs} not scanned (--all-files scans them)\n")


def _skip_kind(reason: str) -> str:
    return reason.split(":", 1)[0].split(" (", 1)[0]


def _skip_summary(skipped: list[Skipped]) -> str:
    counts = Counter(_skip_kind(s.reason) for s in skipped)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


def write_sarif(report: ScanReport, out: IO[str], *, engine: Scanner | None = None) -> None:
    from stockade.dlp.sarif import RuleText, to_sarif

    lookup = getattr(engine, "describe", None)

    def describe(rule_id: str) -> RuleText | None:
        if lookup is None:
            return None
        try:
            info: RuleText = lookup(rule_id)
        except KeyError:
            return None
        return info

    json.dump(to_sarif(report, describe=describe), out, ensure_ascii=False, indent=1)
    out.write("\n")


# -- the command -------------------------------------------------------------------

def _check_args(args: argparse.Namespace) -> None:
    if args.stdin and args.staged:
        raise UsageError("--stdin and --staged cannot be combined")
    if args.stdin and args.paths:
        raise UsageError("--stdin reads standard input; do not name paths with it")
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (one per CPU) or more")


def failed_skips(report: ScanReport, *, strict: bool, staged: bool) -> list[Skipped]:
    """The skips that make this scan fail: all with --strict, text ones with --staged."""
    if strict:
        return list(report.skipped)
    if staged:
        return [s for s in report.skipped if s.text]
    return []


def _incomplete(skips: list[Skipped], *, strict: bool) -> IncompleteScan:
    shown = [f"{s.rel} ({s.reason})" for s in skips[:STRICT_LIST_MAX]]
    more = f"; and {len(skips) - STRICT_LIST_MAX} more" if len(skips) > STRICT_LIST_MAX else ""
    why = "--strict" if strict else "--staged: a file that is, or is named like, text was not scanned"
    return IncompleteScan(
        f"{len(skips)} file{'s' if len(skips) != 1 else ''} not scanned ({why}): "
        + "; ".join(shown) + more,
        hint="remove or fix them, or list them in .gitignore if they must not be committed",
    )


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    workspace = os.getcwd()
    key: bytes | None = None
    accepted: set[tuple[str, str, str]] = set()
    if args.baseline or args.write_baseline:
        key = baseline_key()
    if args.baseline and key is not None:
        accepted = read_baseline(args.baseline, key=key)
    engine = build_engine(args.policy, workspace)

    if args.stdin:
        data = sys.stdin.buffer.read()
        report = scan_stdin_bytes(engine, data, fingerprint_key=key)
    elif args.staged:
        report = scan_staged(engine, cwd=workspace, pathspecs=args.paths, fingerprint_key=key)
    else:
        report = scan_paths(
            engine,
            args.paths or ["."],
            respect_gitignore=not args.all_files,
            jobs=args.jobs,
            fingerprint_key=key,
            progress_factory=_progress_factory(sys.stderr),
        )

    # Before the baseline: a baseline records (and matches) the masked path.
    report = mask_paths(report, engine)
    if accepted:
        report = apply_baseline(report, accepted)
    if args.write_baseline and key is not None:
        recorded = report.findings + [
            ff for ff in report.suppressed if ff.finding.suppressed_by == SUPPRESS_BASELINE
        ]
        write_baseline(args.write_baseline, key, sorted(recorded, key=FileFinding.sort_key))
        report = apply_baseline(
            report, {(ff.path, ff.finding.rule_id, ff.finding.fingerprint or "") for ff in recorded}
        )

    out = sys.stdout
    if args.format == "json":
        write_json(report, out)
    elif args.format == "sarif":
        write_sarif(report, out, engine=engine)
    else:
        write_table(report, out)
    out.flush()
    failed = failed_skips(report, strict=args.strict, staged=args.staged)
    if failed:
        raise _incomplete(failed, strict=args.strict)
    return EXIT_FOUND if report.findings else EXIT_OK
