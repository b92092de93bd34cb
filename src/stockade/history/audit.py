"""Files -> one report: a process pool over files, then merge.

Memory is bounded by what is found, not by what is read: readers stream line
by line, a worker returns only a file's sessions, deduplicated exposures and
actions, and the parent keeps those.  Large sets are spread over a process
pool (fork: the compiled DLP engine is inherited, not rebuilt).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from stockade.errors import EnvironmentProblem
from stockade.history.discover import Source
from stockade.history.records import Action, Exposure, FileResult, Session, Skip
from stockade.history.worker import Scanner, masked, scan_source

POOL_MIN_BYTES = 8 * 1024 * 1024  # below this a pool costs more than it saves

Progress = Callable[[int, int, int], None]  # files done, files total, bytes done
InstallChecker = Callable[[str, tuple[str, ...]], Any]


@dataclass(slots=True)
class Report:
    sessions: list[Session] = field(default_factory=list)
    exposures: list[Exposure] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    pieces: int = 0
    seconds: float = 0.0
    since: str | None = None
    # how install verdicts were reached: True registries asked, False offline
    # (cache, OSV database, bundled lists), None not checked
    online: bool | None = None
    # distinct installs checked, by verdict and by the rule that decided
    package_verdicts: dict[str, int] = field(default_factory=dict)
    package_rules: dict[str, int] = field(default_factory=dict)


_ENGINE: Scanner | None = None


def _work(src: Source) -> FileResult:
    assert _ENGINE is not None  # set before the pool forks
    return scan_source(src, _ENGINE)


def _results(sources: list[Source], engine: Scanner, jobs: int) -> Iterator[FileResult]:
    global _ENGINE
    total = sum(s.size for s in sources)
    if jobs <= 0:
        jobs = os.cpu_count() or 1
    jobs = min(jobs, len(sources))
    if jobs <= 1 or total < POOL_MIN_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        for src in sources:
            yield scan_source(src, engine)
        return
    _ENGINE = engine
    # concurrent.futures, not multiprocessing.Pool: a worker killed by the
    # kernel (out of memory) ends a Pool's imap with a hang, an executor's
    # with BrokenProcessPool, which becomes a clear error.
    try:
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            # submit() itself raises once a worker has died: inside the try
            pending = [pool.submit(_work, src) for src in sources]
            for fut in as_completed(pending):
                yield fut.result()
    except BrokenProcessPool:
        raise EnvironmentProblem(
            "a worker process reading transcripts died (killed, or out of memory)",
            hint="run again with --jobs 1, or with more memory") from None
    finally:
        _ENGINE = None


def audit(sources: list[Source], *, engine: Scanner, jobs: int = 0, since: str | None = None,
          progress: Progress | None = None, check_install: InstallChecker | None = None,
          skipped: list[Skip] | None = None) -> Report:
    t0 = time.perf_counter()
    # Paths found while discovering (a link, an unreadable folder) are masked
    # like every path a report shows: a folder can be named after a token.
    rep = Report(since=since, skipped=[Skip(masked(engine, k.file, limit=4096), k.line, k.reason)
                                       for k in skipped or ()])
    sessions: dict[str, Session] = {}
    exposures: dict[tuple[str, str, str], Exposure] = {}
    actions: dict[tuple[str, str, str], Action] = {}
    done_bytes = 0
    for done, res in enumerate(_results(sources, engine, jobs), start=1):
        done_bytes += res.bytes
        rep.files += 1
        rep.bytes += res.bytes
        rep.pieces += res.pieces
        rep.skipped.extend(res.skipped)
        for s in res.sessions.values():
            _merge_session(sessions, s)
        for e in res.exposures:
            key = (e.session_id, e.rule_id, e.fingerprint or e.preview)
            old = exposures.get(key)
            if old is None or (e.timestamp or "~") < (old.timestamp or "~"):
                exposures[key] = e
        for a in res.actions:
            akey = (a.session_id, a.kind, a.target)
            prev = actions.get(akey)
            if prev is None:
                actions[akey] = a
            else:
                prev.count += a.count
        if progress is not None:
            progress(done, len(sources), done_bytes)
    keep = {sid for sid, s in sessions.items() if since is None or (s.end or "~") >= since}
    rep.sessions = sorted((sessions[k] for k in keep), key=lambda s: (s.start or "", s.id))
    rep.exposures = sorted((e for e in exposures.values() if e.session_id in keep),
                           key=lambda e: (e.timestamp or "", e.session_id, e.rule_id))
    rep.actions = sorted((a for a in actions.values() if a.session_id in keep),
                         key=lambda a: (a.timestamp or "", a.session_id, a.kind))
    rep.skipped.sort(key=lambda s: (s.file, s.line))
    if check_install is not None:
        _verdicts(rep, check_install)
    rep.seconds = time.perf_counter() - t0
    return rep


def _merge_session(into: dict[str, Session], s: Session) -> None:
    old = into.get(s.id)
    if old is None:
        into[s.id] = s
        return
    old.seen_at(s.start)
    old.seen_at(s.end)
    for m in s.models:
        if m not in old.models:
            old.models.append(m)
    old.project = old.project or s.project
    old.branch = old.branch or s.branch


def _verdicts(rep: Report, check: InstallChecker) -> None:
    """Each distinct install is checked once; a checker that fails says so.
    Verdicts are in the words of ``stockade deps`` (block, not the hook's deny)."""
    from stockade.history.packages import deps_word

    cache: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}
    verdicts: dict[str, int] = {}
    rules: dict[str, int] = {}
    for a in rep.actions:
        if a.kind != "package" or a.ecosystem is None:
            continue
        key = (a.ecosystem, a.packages)
        if key not in cache:
            try:
                v = check(a.ecosystem, a.packages)
                cache[key] = (deps_word(str(getattr(v, "action", "error"))),
                              str(getattr(v, "reason", "")))
                rule = str(getattr(v, "rule_id", "") or "?")
            except Exception as exc:  # noqa: BLE001 - reported as data, not a crash
                cache[key] = ("error", f"the dependency check failed ({type(exc).__name__})")
                rule = "error"
            verdicts[cache[key][0]] = verdicts.get(cache[key][0], 0) + 1
            rules[rule] = rules.get(rule, 0) + 1
        a.verdict, a.reason = cache[key]
    rep.package_verdicts, rep.package_rules = verdicts, rules
