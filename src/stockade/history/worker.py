"""One transcript file -> its sessions, exposures, actions and skips.

Runs in a pool worker (forked: the compiled DLP engine is inherited).  Each
text that went to the vendor is scanned once per session (the same file
content is often in several lines); each value is reported once per session
(rule + keyed hash).  Action targets (commands, URLs, paths) are masked with
the same engine, and credentials placed where a command line or a URL puts
them (:mod:`stockade.history.redact`), before they leave the worker.  So is
every other string a transcript controls that reaches a report: the
project path, branch, model names, session id and the transcript's own path
(a directory named after a token is still a token).  A reader that fails is
a skip, never a crash.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from typing import Protocol

from stockade.dlp.redact import mask_findings
from stockade.history import aider, claude, codex
from stockade.history.discover import Source
from stockade.history.records import (
    Act,
    Action,
    Exposure,
    FileResult,
    Meta,
    Piece,
    Session,
    Skip,
)
from stockade.history.redact import redact_command
from stockade.model import Finding

Reader = Callable[..., Iterator[Meta | Piece | Act | Skip]]
READERS: dict[str, Reader] = {"claude-code": claude.read, "codex": codex.read, "aider": aider.read}
MAX_TARGET = 1000  # characters of a command or URL kept in a report


class Scanner(Protocol):
    def scan(self, text: str, *, path: str | None = None) -> list[Finding]: ...


def masked(engine: Scanner, value: str, *, limit: int = MAX_TARGET) -> str:
    """``value`` with every finding replaced by its masked preview, and every
    credential-shaped part of a command line or URL masked."""
    findings = engine.scan(value)
    if findings:
        value = mask_findings(value, findings)
    value = redact_command(value)
    if len(value) > limit:
        value = value[:limit] + " ..."
    return value


def scan_source(src: Source, engine: Scanner) -> FileResult:
    res = FileResult(file=src.path, agent=src.agent, bytes=src.size)
    try:
        _scan(src, engine, res)
    except OSError as exc:
        res.skipped.append(Skip(src.path, 0, f"cannot read: {exc.strerror or type(exc).__name__}"))
    except Exception as exc:  # noqa: BLE001 - one bad file must not end an audit
        res.skipped.append(Skip(src.path, 0, f"could not be read to the end ({type(exc).__name__})"))
    _mask_identifiers(res, engine)
    return res


def _scan(src: Source, engine: Scanner, res: FileResult) -> None:
    sessions = res.sessions
    texts: set[tuple[str, bytes]] = set()
    values: set[tuple[str, str, str]] = set()
    acts: dict[tuple[str, str, str], Action] = {}
    with_pieces: set[str] = set()
    try:
        _read(src, engine, res, texts=texts, values=values, acts=acts, with_pieces=with_pieces)
    finally:
        res.actions.extend(acts.values())
        # A session that sent nothing and did nothing (bookkeeping lines only) is no session.
        keep = with_pieces | {a.session_id for a in res.actions}
        for sid in list(sessions):
            if sid not in keep:
                del sessions[sid]


def _mask_identifiers(res: FileResult, engine: Scanner) -> None:
    """Transcript-controlled names masked like any other text (see the module doc)."""
    cache: dict[str, str] = {}

    def m(value: str) -> str:
        out = cache.get(value)
        if out is None:
            out = cache[value] = masked(engine, value, limit=4096)
        return out

    file = m(res.file)
    sessions: dict[str, Session] = {}
    for s in res.sessions.values():
        s.id, s.file = m(s.id), file
        s.user = m(s.user) if s.user else s.user  # a home folder's name when no account owns it
        s.project = m(s.project) if s.project else s.project
        s.branch = m(s.branch) if s.branch else s.branch
        s.models = [m(x) for x in s.models]
        old = sessions.get(s.id)
        if old is None:
            sessions[s.id] = s
        else:  # two ids that mask alike: one session in the report
            old.seen_at(s.start)
            old.seen_at(s.end)
            old.models += [x for x in s.models if x not in old.models]
    res.sessions = sessions
    res.exposures = [dataclasses.replace(x, session_id=m(x.session_id),
                                         transcript=file + x.transcript[len(res.file):])
                     for x in res.exposures]
    for a in res.actions:
        a.session_id = m(a.session_id)
        a.transcript = file + a.transcript[len(res.file):]
    res.skipped = [Skip(file if k.file == res.file else m(k.file), k.line, k.reason)
                   for k in res.skipped]


def _read(src: Source, engine: Scanner, res: FileResult, *, texts: set[tuple[str, bytes]],
          values: set[tuple[str, str, str]], acts: dict[tuple[str, str, str], Action],
          with_pieces: set[str]) -> None:
    sessions = res.sessions
    mask_cache: dict[str, str] = {}

    def mask_once(value: str) -> str:
        m = mask_cache.get(value)
        if m is None:
            if len(mask_cache) > 4096:
                mask_cache.clear()
            m = mask_cache[value] = masked(engine, value)
        return m

    def session(sid: str) -> Session:
        s = sessions.get(sid)
        if s is None:
            s = sessions[sid] = Session(id=sid, agent=src.agent, file=src.path, user=src.user)
        return s

    for rec in READERS[src.agent](src.path, home=src.home):
        if type(rec) is Piece:
            s = session(rec.session)
            s.seen_at(rec.timestamp)
            with_pieces.add(rec.session)
            res.pieces += 1
            tkey = (rec.session, hashlib.blake2b(rec.text.encode("utf-8", "surrogatepass"),
                                                 digest_size=16).digest())
            if tkey in texts:
                continue
            texts.add(tkey)
            for f in engine.scan(rec.text, path=rec.path):
                if f.suppressed_by is not None:
                    continue  # accepted by the policy's allowlist
                key = (rec.session, f.rule_id, f.fingerprint or f.preview)
                if key in values:
                    continue
                values.add(key)
                at = rec.line + rec.text.count("\n", 0, f.start) if rec.verbatim else rec.line
                res.exposures.append(Exposure(
                    session_id=rec.session, rule_id=f.rule_id, label=f.label,
                    timestamp=rec.timestamp, source=rec.source,
                    path=masked(engine, rec.path) if rec.path else None, preview=f.preview,
                    transcript=f"{src.path}:{at}", fingerprint=f.fingerprint or ""))
        elif type(rec) is Meta:
            session(rec.session).see(rec)
        elif type(rec) is Act:
            session(rec.session).seen_at(rec.timestamp)
            target = mask_once(rec.target)
            akey = (rec.session, rec.kind, target)
            prev = acts.get(akey)
            if prev is not None:
                prev.count += 1
                continue
            acts[akey] = Action(
                session_id=rec.session, kind=rec.kind, timestamp=rec.timestamp, target=target,
                transcript=f"{src.path}:{rec.line}", ecosystem=rec.ecosystem,
                packages=tuple(masked(engine, p, limit=200) for p in rec.packages))
        elif type(rec) is Skip:
            res.skipped.append(rec)
