"""`stockade ledger`: verify, append to, checkpoint, read and export the ledger."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from stockade.errors import EXIT_FOUND, StockadeError, UsageError
from stockade.ledger import Event, Ledger, open_ledger, parse_ts
from stockade.ledgerconf import ENV_LEDGER, LedgerSettings, resolve_settings
from stockade.state import StateDir


def open_from_args(args: argparse.Namespace, *, create: bool) -> Ledger:
    state = StateDir.default()
    explicit_key = getattr(args, "public_key", None) is not None
    if create or not explicit_key:
        state.ensure()
    settings = resolve_settings(getattr(args, "ledger", None), state=state)
    return open_ledger(settings.url, state=state, durability=settings.durability,
                       checkpoint_every=settings.checkpoint_every, create=create)


_FORMATS = ("table", "json", "jsonl")
_UNANCHORED_NOTE = "chained but not yet covered by a signed checkpoint"
_FORMAT_HELP = ("table (default, with a header row), json (one array) or jsonl (one event a "
                "line, the exact bytes the chain hashes)")


def build_parser(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ledger", metavar="URL", default=None,
                        help=f"ledger URL (sqlite:///PATH); default ${ENV_LEDGER}, else the "
                             "policy's ledger.url, else the state directory's ledger.db")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = sub.add_parser("verify", parents=[common],
                       help="check every event, the chain and the signed checkpoints",
                       description="Check every event's hash, the chain linking them and each "
                       "signed checkpoint. A signed checkpoint covers the events up to its seq; "
                       "later events are chained but not yet anchored (removing them from the "
                       "end would not be noticed) until the next `stockade ledger checkpoint`. "
                       "Exit 0 intact, 1 tampered, 3 cannot read.")
    p.add_argument("--public-key", metavar="FILE", type=Path,
                   help="trusted public key (PEM, or `checkpoint --export` JSON); default: "
                        "this machine's")
    p.add_argument("--checkpoint-file", metavar="FILE", type=Path,
                   help="a witness checkpoint saved from `checkpoint --export`")
    p.add_argument("--allow-unsigned", action="store_true",
                   help="check the chain of a ledger no signed checkpoint covers (one made "
                        "before stockade signed every ledger), with a warning, instead of "
                        "failing")

    p = sub.add_parser("append", parents=[common], help="record an event; prints its seq",
                       description="Record one event and print its seq. The details and flags "
                       "are scanned first: a credential or personal data is refused (exit 1, "
                       "naming the rule, the JSON path and a masked preview), never stored.")
    p.add_argument("--kind", required=True, help="dotted lowercase name, e.g. deploy.start")
    p.add_argument("--json", required=True, dest="details", metavar="DETAILS",
                   help="details as a JSON object (never a secret value)")
    p.add_argument("--session", help="session id")
    p.add_argument("--decision", help="decision, e.g. allow or block")
    p.add_argument("--agent", help="agent name recorded in the actor")

    p = sub.add_parser("checkpoint", parents=[common], help="sign the current head now",
                       description="Sign the current head with this machine's ledger key, so "
                       "`verify` can prove every event up to it is the original.")
    p.add_argument("--export", action="store_true",
                   help="print the signed checkpoint and the public key as JSON, to keep on "
                        "another machine as a witness")

    p = sub.add_parser("tail", parents=[common], help="show the newest events",
                       description="Show the newest events, oldest first.")
    p.add_argument("-n", type=int, default=20, metavar="N", help="how many (default 20)")
    p.add_argument("--format", choices=_FORMATS, default="table", help=_FORMAT_HELP)
    p.add_argument("--json", dest="format", action="store_const", const="json",
                   help="same as --format json")

    p = sub.add_parser("query", parents=[common], help="find events",
                       description="Find events by session, kind and time; all filters given "
                       "must match.")
    p.add_argument("--session", help="only this session")
    p.add_argument("--kind", help="only this kind")
    p.add_argument("--since", metavar="WHEN",
                   help="a duration back from now (30m, 2h, 7d) or an RFC 3339 time")
    p.add_argument("--limit", type=int, metavar="N", help="at most N events")
    p.add_argument("--format", choices=_FORMATS, default="table", help=_FORMAT_HELP)
    p.add_argument("--json", dest="format", action="store_const", const="json",
                   help="same as --format json")

    p = sub.add_parser("export", parents=[common], help="write every event, e.g. for a SIEM",
                       description="Write every event as JSON lines: the exact bytes the "
                       "chain hashes, so a copy can be checked elsewhere.")
    p.add_argument("--format", choices=("jsonl",), default="jsonl",
                   help="jsonl: one event per line, the exact bytes the chain hashes")
    p.add_argument("--out", metavar="FILE", type=Path, help="write here (default: stdout)")


def run(args: argparse.Namespace) -> int:
    action = {
        "verify": _verify, "append": _append, "checkpoint": _checkpoint,
        "tail": _tail, "query": _query, "export": _export,
    }[args.action]
    return action(args)


def _verify(args: argparse.Namespace) -> int:
    pem = _read(args.public_key, "public key") if args.public_key else None
    with open_from_args(args, create=False) as ledger:
        report = ledger.verify(public_key_pem=pem, checkpoint_file=args.checkpoint_file,
                               allow_unsigned=args.allow_unsigned)
    if not report.signed:
        print("stockade: warning: no signed checkpoint covers this ledger: the chain is "
              "consistent, but anyone who could write the file could have rewritten all of "
              "it; run `stockade ledger checkpoint` to sign it from now on", file=sys.stderr)
    line = f"ledger intact: {report.events} events"
    if not report.signed:
        line = f"ledger chain consistent (UNSIGNED): {report.events} events"
    if report.events:
        line += f", head {report.head[:16]}"
    print(line)
    if report.last_checkpoint is not None:
        cp = report.last_checkpoint
        # Say what the signature proves: the chain alone cannot show that
        # events after the last checkpoint were not cut off the end.
        print(f"  signed checkpoint covers events 1-{cp.seq} (seq {cp.seq} at {cp.ts}, "
              f"key {cp.key_fingerprint})")
        later = report.unsigned_events
        if later > 0:
            first = cp.seq + 1
            span = str(first) if later == 1 else f"{first}-{report.events}"
            print(f"  not yet anchored: {later} later event{'s' if later != 1 else ''} "
                  f"({span}) are chained but no signed checkpoint covers them, so events "
                  "removed from the end after seq "
                  f"{cp.seq} would not be noticed; run `stockade ledger checkpoint` to "
                  "sign them")
        else:
            print("  every event is covered by a signed checkpoint")
    for note in report.notes:
        if report.last_checkpoint is not None and note.endswith(_UNANCHORED_NOTE):
            continue  # said in full above
        print(f"  note: {note}")
    return 0


def _append(args: argparse.Namespace) -> int:
    try:
        details = json.loads(args.details)
    except ValueError:
        raise UsageError("--json is not valid JSON",
                         hint="pass an object, e.g. --json '{\"target\": \"prod\"}'") from None
    if not isinstance(details, dict):
        raise UsageError("--json must be a JSON object",
                         hint="e.g. --json '{\"target\": \"prod\"}'")
    _refuse_secrets(details, {"--session": args.session, "--decision": args.decision,
                              "--agent": args.agent, "--kind": args.kind})
    with open_from_args(args, create=True) as ledger:
        actor = None
        if args.agent:
            actor = ledger.actor._replace(agent=args.agent)
        event = ledger.append(args.kind, details=details, session=args.session,
                              decision=args.decision, actor=actor)
    print(event.seq)
    return 0


def _refuse_secrets(details: dict[str, Any], flags: dict[str, str | None]) -> None:
    """Refuse (exit 1) to record a value the DLP engine flags.

    The ledger is append-only and exported to SIEMs: a secret written there
    cannot be taken back, so refusing beats masking (a masked event would also
    claim details the caller did not send).  The error names the rule, the
    JSON path and a masked preview, never the value."""
    from stockade.dlp import Engine

    text, spans = _flatten(details)
    for flag, value in flags.items():
        if value:
            start = len(text) + 1
            text += f"\n{flag} {value}"
            spans.append((start, len(text), flag))
    hits: list[str] = []
    for f in Engine.default().scan(text):
        where = next((p for a, b, p in spans if a < f.end and f.start < b), "$")
        hits.append(f"{f.rule_id} at {where}: {f.preview}")
    if hits:
        raise StockadeError(
            "refusing to record a protected value in the ledger: " + "; ".join(hits),
            hint="the ledger keeps details forever; record what happened (a name, a count, a "
                 "masked preview), never a credential or personal data",
            exit_code=EXIT_FOUND)


def _flatten(doc: Any) -> tuple[str, list[tuple[int, int, str]]]:
    """``doc`` as indented JSON text (one `"key": value` a line, so the
    engine sees each value next to its key) and the span of every key and
    string with its JSON path; key names in paths are masked when not plain."""
    from stockade.config.shown import bare

    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0

    def emit(chunk: str, path: str | None = None) -> None:
        nonlocal pos
        if path is not None:
            spans.append((pos, pos + len(chunk), path))
        parts.append(chunk)
        pos += len(chunk)

    def walk(v: Any, path: str, depth: int) -> None:
        pad = "\n" + "  " * depth
        if isinstance(v, dict):
            for k, item in v.items():
                sub = f"{path}.{bare(str(k))}"
                emit(pad)
                emit(json.dumps(str(k), ensure_ascii=False), sub)
                emit(": ")
                walk(item, sub, depth + 1)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                emit(pad)
                walk(item, f"{path}[{i}]", depth + 1)
        else:
            emit(json.dumps(v, ensure_ascii=False), path)

    walk(doc, "$", 0)
    return "".join(parts), spans


def _checkpoint(args: argparse.Namespace) -> int:
    with open_from_args(args, create=True) as ledger:
        cp = ledger.checkpoint()
        if args.export:
            body: dict[str, Any] = cp.to_dict()
            body["public_key_pem"] = ledger.public_key_pem().decode("ascii")
            print(json.dumps(body, indent=2, sort_keys=True))
        else:
            print(f"checkpoint at seq {cp.seq} signed at {cp.ts} (key {cp.key_fingerprint})")
            if ledger.checkpoint_path is not None:
                print(f"  written to {ledger.checkpoint_path}")
    return 0


def _tail(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise UsageError("-n must be at least 1")
    with open_from_args(args, create=False) as ledger:
        _print(ledger.tail(args.n), args.format)
    return 0


def _query(args: argparse.Namespace) -> int:
    since = _since(args.since) if args.since else None
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    with open_from_args(args, create=False) as ledger:
        _print(ledger.query(session=args.session, kind=args.kind, since=since, limit=args.limit),
               args.format)
    return 0


def _export(args: argparse.Namespace) -> int:
    with open_from_args(args, create=False) as ledger:
        if args.out is None:
            ledger.export_jsonl(sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return 0
        tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                n = ledger.export_jsonl(fh)
            os.replace(tmp, args.out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from exc
    print(f"exported {n} events to {args.out}", file=sys.stderr)
    return 0


_DURATION = re.compile(r"(\d+)([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _since(text: str) -> datetime:
    m = _DURATION.fullmatch(text.strip())
    if m:
        return datetime.now(UTC) - timedelta(seconds=int(m[1]) * _UNIT[m[2]])
    return parse_ts(text)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from exc


def _print(events: Any, fmt: str) -> None:
    out: IO[bytes] = sys.stdout.buffer
    n = 0
    if fmt == "json":
        out.write(b"[")
    for ev in events:
        if fmt == "jsonl":
            out.write(ev.raw + b"\n")
        elif fmt == "json":
            out.write((b",\n " if n else b"\n ") + ev.raw)
        else:
            if not n:
                out.write(_header().encode("utf-8") + b"\n")
            out.write(_row(ev).encode("utf-8", "replace") + b"\n")
        n += 1
    if fmt == "json":
        out.write(b"\n]\n" if n else b"]\n")
    out.flush()
    if not n:
        # On stderr: a script reading jsonl/json still gets clean (empty) output.
        print("no events match", file=sys.stderr)


def _header() -> str:
    return (f"{'SEQ':>7}  {'TIME':<27}  {'SESSION':<14}  {'ACTOR':<10}  {'KIND':<18}  "
            f"{'DECISION':<8}  DETAILS")


def _row(ev: Event) -> str:
    who = _printable(ev.actor.agent or ev.actor.user or "-")
    # JSON escapes control characters, so details cannot drive the terminal.
    details = json.dumps(ev.details, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if len(details) > 120:
        details = details[:117] + "..."
    return (f"{ev.seq:>7}  {_printable(ev.ts)}  {_printable(ev.session or '-'):<14}  "
            f"{who:<10}  {_printable(ev.kind):<18}  {_printable(ev.decision or '-'):<8}  {details}")


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


__all__ = ["LedgerSettings", "build_parser", "open_from_args", "resolve_settings", "run"]
