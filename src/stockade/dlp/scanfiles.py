"""Scan files, trees, staged blobs and streams with the DLP engine.

The engine answers about one ``str``; this module turns files into that:

* files are read as bytes and decoded once (see :mod:`stockade.dlp.sniff`):
  invalid UTF-8 is replaced, not a reason to skip; only real binaries
  (NUL-heavy, or a binary signature) are ``Skipped``, reported, never
  silently dropped, as is the number of paths .gitignore kept out;
* a file larger than ``BIG_FILE`` is scanned in overlapping windows so memory
  stays bounded however large it is; a finding is taken from the window where
  it starts in the middle part, so it always has half an overlap of context on
  each side and is reported once, with line and column counted from the start
  of the file;
* an inline ``stockade: allow <rule_id>`` comment on a finding's line marks it
  suppressed (still reported, never silently dropped);
* with a fingerprint key (baselines), each finding gets a keyed hash of its
  value, so a baseline can match it without storing it;
* large trees are spread over a process pool (fork: the compiled engine is
  inherited, not rebuilt); small ones are scanned in-process, which is faster.
"""

from __future__ import annotations

import codecs
import dataclasses
import fnmatch
import multiprocessing
import os
import re
import stat
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from stockade.dlp.sniff import decode, sniff, text_named
from stockade.dlp.walk import Entry, Ignored, Skipped, walk
from stockade.errors import EnvironmentProblem, UsageError
from stockade.model import Finding
from stockade.state import keyed_hash

BIG_FILE = 8 * 1024 * 1024  # bytes: above this a file is scanned in windows
CHUNK = 4 * 1024 * 1024  # bytes read per window
OVERLAP = 128 * 1024  # characters shared by consecutive windows
POOL_MIN_BYTES = 6 * 1024 * 1024  # below this a process pool costs more than it saves
POOL_MIN_FILES = 16

SUPPRESS_INLINE = "inline"
SUPPRESS_BASELINE = "baseline"

_ALLOW = re.compile(r"stockade:\s*allow\s+([A-Za-z0-9_.*\-]+(?:\s*,\s*[A-Za-z0-9_.*\-]+)*)")


class Scanner(Protocol):
    """What this module needs of :class:`stockade.dlp.Engine`."""

    def scan(self, text: str, *, path: str | None = None) -> list[Finding]: ...


@dataclass(frozen=True, slots=True)
class FileFinding:
    """A finding and the file it is in (relative to the scanned directory)."""

    path: str
    finding: Finding

    def sort_key(self) -> tuple[str, int, int]:
        return (self.path, self.finding.start, self.finding.end)


@dataclass(slots=True)
class ScanReport:
    findings: list[FileFinding] = field(default_factory=list)
    suppressed: list[FileFinding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    # Paths an ignore file kept out of the scan (a directory counts once).
    ignored: int = 0
    ignored_dirs: int = 0

    def merge(self, other: ScanReport) -> None:
        self.findings.extend(other.findings)
        self.suppressed.extend(other.suppressed)
        self.skipped.extend(other.skipped)
        self.files += other.files
        self.bytes += other.bytes
        self.ignored += other.ignored
        self.ignored_dirs += other.ignored_dirs

    def finish(self) -> ScanReport:
        self.findings.sort(key=FileFinding.sort_key)
        self.suppressed.sort(key=FileFinding.sort_key)
        self.skipped.sort(key=lambda s: s.rel)
        return self


Progress = Callable[[int, int, int], None]  # files done, files total, bytes done


# -- one text ----------------------------------------------------------------

def _line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:] if end < 0 else text[start:end]


def _allowed_rules(line: str) -> list[str]:
    rules: list[str] = []
    for m in _ALLOW.finditer(line):
        rules.extend(r.strip() for r in m.group(1).split(","))
    return rules


def _inline_allowed(text: str, f: Finding) -> bool:
    for pos in {f.start, max(f.start, f.end - 1)}:
        for rule in _allowed_rules(_line_at(text, pos)):
            if rule == f.rule_id or fnmatch.fnmatchcase(f.rule_id, rule):
                return True
    return False


def annotate(text: str, findings: Iterable[Finding], *, fingerprint_key: bytes | None) -> list[Finding]:
    """Apply inline allow comments and (with a key) keyed fingerprints."""
    has_allow = "stockade:" in text
    out: list[Finding] = []
    for f in findings:
        changes: dict[str, object] = {}
        if fingerprint_key is not None:
            changes["fingerprint"] = keyed_hash(text[f.start:f.end], fingerprint_key)
        if has_allow and f.suppressed_by is None and _inline_allowed(text, f):
            changes["suppressed_by"] = SUPPRESS_INLINE
        out.append(dataclasses.replace(f, **changes) if changes else f)  # type: ignore[arg-type]
    return out


def scan_text(
    engine: Scanner, text: str, *, path: str | None = None, fingerprint_key: bytes | None = None
) -> list[Finding]:
    """Findings in one text, with inline allows and fingerprints applied."""
    return annotate(text, engine.scan(text, path=path), fingerprint_key=fingerprint_key)


# -- one file ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FileResult:
    rel: str
    findings: tuple[Finding, ...] = ()
    skipped: str | None = None  # reason
    nbytes: int = 0
    skipped_text: bool = False  # see Skipped.text


def _binary(rel: str, reason: str) -> FileResult:
    if text_named(rel):
        return FileResult(rel, skipped=f"{reason}, but named like text", skipped_text=True)
    return FileResult(rel, skipped=reason)


def scan_bytes(
    engine: Scanner, data: bytes, *, rel: str, fingerprint_key: bytes | None = None
) -> FileResult:
    kind = sniff(data)
    if kind.encoding is None:
        return _binary(rel, kind.reason)
    text = decode(data, kind.encoding)
    if not text:
        return FileResult(rel, nbytes=len(data))
    found = scan_text(engine, text, path=rel, fingerprint_key=fingerprint_key)
    return FileResult(rel, tuple(found), nbytes=len(data))


def _shift(f: Finding, *, offset: int, line_base: int, col_base: int) -> Finding:
    return dataclasses.replace(
        f,
        start=f.start + offset,
        end=f.end + offset,
        line=f.line + line_base,
        column=f.column + (col_base if f.line == 1 else 0),
        end_line=f.end_line + line_base,
        end_column=f.end_column + (col_base if f.end_line == 1 else 0),
    )


def scan_stream(
    engine: Scanner,
    read: Callable[[int], bytes],
    *,
    rel: str,
    fingerprint_key: bytes | None = None,
    chunk: int | None = None,
    overlap: int | None = None,
) -> FileResult:
    """Scan a byte stream of any size in overlapping windows (bounded memory)."""
    chunk = CHUNK if chunk is None else chunk
    overlap = OVERLAP if overlap is None else overlap
    decoder: codecs.IncrementalDecoder | None = None  # chosen from the first chunk
    half = overlap // 2
    window = ""
    wstart = 0  # code-point offset of window[0] in the whole text
    line_base = 0  # newlines before wstart
    col_base = 0  # characters between the last newline before wstart and wstart
    accept_from = 0
    nbytes = 0
    out: list[Finding] = []
    while True:
        raw = read(chunk)
        final = not raw
        nbytes += len(raw)
        if decoder is None:
            kind = sniff(raw)
            if kind.encoding is None:
                return _binary(rel, kind.reason)
            decoder = codecs.getincrementaldecoder(kind.encoding)("replace")
        window += decoder.decode(raw, final)
        if not final and len(window) <= overlap:
            continue
        keep = 0 if final else overlap
        dropped_len = len(window) - keep
        accept_to = float("inf") if final else wstart + dropped_len + half
        if window:
            for f in scan_text(engine, window, path=rel, fingerprint_key=fingerprint_key):
                absolute = wstart + f.start
                if accept_from <= absolute < accept_to:
                    out.append(_shift(f, offset=wstart, line_base=line_base, col_base=col_base))
        if final:
            break
        dropped = window[:dropped_len]
        nl = dropped.rfind("\n")
        line_base += dropped.count("\n")
        col_base = dropped_len - nl - 1 if nl >= 0 else col_base + dropped_len
        wstart += dropped_len
        accept_from = int(accept_to)
        window = window[dropped_len:]
    return FileResult(rel, tuple(out), nbytes=nbytes)


def scan_file(
    engine: Scanner, path: str, *, rel: str, fingerprint_key: bytes | None = None
) -> FileResult:
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > BIG_FILE:
                return scan_stream(engine, fh.read, rel=rel, fingerprint_key=fingerprint_key)
            data = fh.read()
    except OSError as exc:
        return FileResult(rel, skipped=f"unreadable: {exc.strerror or type(exc).__name__}",
                          skipped_text=True)
    return scan_bytes(engine, data, rel=rel, fingerprint_key=fingerprint_key)


def _add(report: ScanReport, result: FileResult) -> None:
    if result.skipped is not None:
        report.skipped.append(Skipped(result.rel, result.skipped, text=result.skipped_text))
        return
    report.files += 1
    report.bytes += result.nbytes
    for f in result.findings:
        target = report.suppressed if f.suppressed_by else report.findings
        target.append(FileFinding(result.rel, f))


# -- many files ----------------------------------------------------------------

# The engine a pool worker uses: set in the parent before the pool forks, so
# children inherit the compiled pattern database instead of rebuilding it.
_WORKER_ENGINE: Scanner | None = None


def _scan_batch(
    batch: list[tuple[str, str]], fingerprint_key: bytes | None
) -> list[FileResult]:
    engine = _WORKER_ENGINE
    if engine is None:  # pragma: no cover - only without fork
        raise RuntimeError("scan worker started without an engine")
    return [scan_file(engine, p, rel=r, fingerprint_key=fingerprint_key) for p, r in batch]


def _batches(entries: Sequence[Entry], parts: int) -> list[list[tuple[str, str]]]:
    """Contiguous batches of roughly equal bytes (many more than workers, for balance)."""
    total = sum(e.size for e in entries) or 1
    target = max(total // parts, 256 * 1024)
    batches: list[tuple[int, list[tuple[str, str]]]] = []
    cur: list[tuple[str, str]] = []
    acc = 0
    for e in entries:
        cur.append((e.path, e.rel))
        acc += e.size + 512  # a file costs something even when empty
        if acc >= target:
            batches.append((acc, cur))
            cur, acc = [], 0
    if cur:
        batches.append((acc, cur))
    # Biggest batches first so that no worker is left with a big one at the end.
    batches.sort(key=lambda b: -b[0])
    return [b for _, b in batches]


def scan_entries(
    engine: Scanner,
    entries: Sequence[Entry],
    *,
    jobs: int = 0,
    fingerprint_key: bytes | None = None,
    progress: Progress | None = None,
) -> ScanReport:
    """Scan regular files; ``jobs`` processes (0: one per CPU) for big inputs."""
    global _WORKER_ENGINE
    report = ScanReport()
    total_files = len(entries)
    total_bytes = sum(e.size for e in entries)
    if jobs <= 0:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    use_pool = (
        jobs > 1
        and total_bytes >= POOL_MIN_BYTES
        and total_files >= POOL_MIN_FILES
        and "fork" in multiprocessing.get_all_start_methods()
    )
    done_files = done_bytes = 0
    if not use_pool:
        for e in entries:
            result = scan_file(engine, e.path, rel=e.rel, fingerprint_key=fingerprint_key)
            _add(report, result)
            done_files += 1
            done_bytes += e.size
            if progress is not None:
                progress(done_files, total_files, done_bytes)
        return report
    ctx = multiprocessing.get_context("fork")
    _WORKER_ENGINE = engine
    try:
        with ctx.Pool(processes=jobs) as pool:
            batches = _batches(entries, jobs * 8)
            args = [(b, fingerprint_key) for b in batches]
            for results in pool.imap_unordered(_star_scan_batch, args):
                for result in results:
                    _add(report, result)
                done_files += len(results)
                done_bytes += sum(r.nbytes for r in results)
                if progress is not None:
                    progress(done_files, total_files, done_bytes)
    finally:
        _WORKER_ENGINE = None
    return report


def _star_scan_batch(arg: tuple[list[tuple[str, str]], bytes | None]) -> list[FileResult]:
    return _scan_batch(*arg)


@dataclass(frozen=True, slots=True)
class Target:
    """One PATH argument: a directory (walked) or a file."""

    path: Path
    is_dir: bool


def targets(paths: Sequence[str]) -> list[Target]:
    out: list[Target] = []
    for p in paths:
        path = Path(p)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise UsageError(f"{p}: no such file or directory") from None
        except OSError as exc:
            raise UsageError(f"{p}: cannot read: {exc.strerror}") from None
        out.append(Target(path, stat.S_ISDIR(mode)))
    return out


def collect(
    paths: Sequence[str], *, respect_gitignore: bool = True
) -> tuple[list[Entry], list[Skipped], list[Ignored]]:
    """Regular files under ``paths`` (relative to each directory argument),
    skips, and what ignore files kept out.

    A file named on the command line is scanned even if ignored, with its
    path as given."""
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    ignored: list[Ignored] = []
    for target in targets(paths):
        if not target.is_dir:
            st = target.path.stat()
            if stat.S_ISREG(st.st_mode):
                entries.append(Entry(str(target.path), target.path.as_posix(), st.st_size))
            else:  # a FIFO or device named on the command line would block or never end
                skipped.append(Skipped(target.path.as_posix(), "not a regular file"))
            continue
        for item in walk(target.path, respect_gitignore=respect_gitignore):
            if isinstance(item, Entry):
                entries.append(item)
            elif isinstance(item, Ignored):
                ignored.append(item)
            else:
                skipped.append(item)
    return entries, skipped, ignored


def scan_paths(
    engine: Scanner,
    paths: Sequence[str],
    *,
    respect_gitignore: bool = True,
    jobs: int = 0,
    fingerprint_key: bytes | None = None,
    progress_factory: Callable[[int, int], Progress | None] | None = None,
) -> ScanReport:
    """Walk and scan ``paths``.  ``progress_factory(files, bytes)`` may return a callback."""
    t0 = time.perf_counter()
    entries, skipped, ignored = collect(paths, respect_gitignore=respect_gitignore)
    progress = None
    if progress_factory is not None:
        progress = progress_factory(len(entries), sum(e.size for e in entries))
    report = scan_entries(
        engine, entries, jobs=jobs, fingerprint_key=fingerprint_key, progress=progress
    )
    report.skipped.extend(skipped)
    report.ignored = len(ignored)
    report.ignored_dirs = sum(1 for i in ignored if i.is_dir)
    report.seconds = time.perf_counter() - t0
    return report.finish()


# -- staged blobs (pre-commit) -------------------------------------------------

def _git(args: Sequence[str], *, cwd: str, data: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=data, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise EnvironmentProblem("git is not installed", hint="--staged needs git on PATH") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(
            f"git {args[0]} failed: {msg[-1] if msg else 'exit ' + str(proc.returncode)}",
            hint="--staged must run inside a git repository",
        )
    return proc.stdout


def staged_blobs(cwd: str, pathspecs: Sequence[str] = ()) -> list[tuple[str, bytes | None]]:
    """(path relative to the repository root, staged content) for every file git would commit.

    Content is None for entries that are not files (submodules)."""
    raw = _git(
        ["diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev",
         "--diff-filter=ACMT", "--", *pathspecs],
        cwd=cwd,
    )
    # -z raw records: ":<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0"
    fields = raw.split(b"\0")
    entries: list[tuple[str, str, str]] = []  # (path, mode, sha)
    for i in range(0, len(fields) - 1, 2):
        meta = fields[i].decode("ascii", "replace").split(" ")
        if len(meta) < 5:
            continue
        entries.append((fields[i + 1].decode("utf-8", "surrogateescape"), meta[1], meta[3]))
    blobs_wanted = [sha for _path, mode, sha in entries if mode != "160000"]
    contents: dict[str, bytes] = {}
    if blobs_wanted:
        # One `git cat-file --batch` for all blobs instead of `git show :path` per file.
        top = _git(["rev-parse", "--show-toplevel"], cwd=cwd).decode("utf-8", "surrogateescape")
        out = _git(["cat-file", "--batch"], cwd=top.strip(), data="\n".join(blobs_wanted).encode() + b"\n")
        pos = 0
        for sha in blobs_wanted:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].decode("ascii", "replace").split(" ")
            pos = nl + 1
            if len(header) < 3 or header[1] != "blob":
                continue
            size = int(header[2])
            contents[sha] = out[pos:pos + size]
            pos += size + 1  # the content is followed by a newline
    return [(path, contents.get(sha)) for path, _mode, sha in entries]


def scan_staged(
    engine: Scanner,
    *,
    cwd: str,
    pathspecs: Sequence[str] = (),
    fingerprint_key: bytes | None = None,
) -> ScanReport:
    t0 = time.perf_counter()
    blobs = staged_blobs(cwd, pathspecs)
    report = ScanReport()
    for name, content in blobs:
        if content is None:
            report.skipped.append(Skipped(name, "not a file (submodule)"))
            continue
        _add(report, scan_bytes(engine, content, rel=name, fingerprint_key=fingerprint_key))
    report.seconds = time.perf_counter() - t0
    return report.finish()


def scan_stdin_bytes(
    engine: Scanner, data: bytes, *, name: str = "<stdin>", fingerprint_key: bytes | None = None
) -> ScanReport:
    t0 = time.perf_counter()
    report = ScanReport()
    _add(report, scan_bytes(engine, data, rel=name, fingerprint_key=fingerprint_key))
    report.seconds = time.perf_counter() - t0
    return report.finish()


# -- baselines -----------------------------------------------------------------

def apply_baseline(report: ScanReport, accepted: set[tuple[str, str, str]]) -> ScanReport:
    """Move findings recorded in a baseline (path, rule_id, fingerprint) to suppressed."""
    keep: list[FileFinding] = []
    for ff in report.findings:
        key = (ff.path, ff.finding.rule_id, ff.finding.fingerprint or "")
        if key in accepted:
            report.suppressed.append(
                FileFinding(ff.path, dataclasses.replace(ff.finding, suppressed_by=SUPPRESS_BASELINE))
            )
        else:
            keep.append(ff)
    report.findings = keep
    return report.finish()


__all__ = [
    "BIG_FILE",
    "FileFinding",
    "FileResult",
    "ScanReport",
    "Scanner",
    "annotate",
    "apply_baseline",
    "collect",
    "scan_bytes",
    "scan_entries",
    "scan_file",
    "scan_paths",
    "scan_staged",
    "scan_stdin_bytes",
    "scan_stream",
    "scan_text",
    "staged_blobs",
]
