"""`stockade ledger`: verify, append to, checkpoint, read and export the ledger."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from stockade.errors import UsageError
from stockade.ledger import Event, Ledger, open_ledger, parse_ts
from stockade.ledgerconf import ENV_LEDGER, LedgerSettings, ledger_settings
from stockade.state import StateDir


def resolve_settings(url: str | None, *, state: StateDir) -> LedgerSettings:
    """Where the ledger is and how it is written (see :mod:`stockade.ledgerconf`),
    with the state directory's ledger as the last resort.

    Only the managed and user policies are read: the ``ledger`` section is
    theirs alone, so a broken project stockade.yaml cannot stop `ledger verify`.
    With ``--ledger`` no policy is read at all (a witness machine may have none)."""
    policy = None
    if not url:
        from stockade.config import load_policy

        policy = load_policy(workspace=Path.cwd(), include_project=False)
    st = ledger_settings(explicit_url=url, policy=policy)
    return replace(st, url=st.url or state.ledger_url)


def open_from_args(args: argparse.Namespace, *, create: bool) -> Ledger:
    state = StateDir.default()
    explicit_key = getattr(args, "public_key", None) is not None
    if create or not explicit_key:
        state.ensure()
    settings = resolve_settings(getattr(args, "ledger", None), state=state)
    return open_ledger(settings.url, state=state, durability=settings.durability,
                       checkpoint_every=settings.checkpoint_every, create=create)


def build_parser(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ledger", metavar="URL", default=None,
                        help=f"ledger URL (sqlite:///PATH); default ${ENV_LEDGER}, else the "
                             "policy's ledger.url, else the state directory's ledger.db")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = sub.add_parser("verify", parents=[common],
                       help="check every event, the chain and the signed checkpoints")
    p.add_argument("--public-key", metavar="FILE", type=Path,
                   help="trusted public key (PEM, or `checkpoint --export` JSON); default: "
                        "this machine's")
    p.add_argument("--checkpoint-file", metavar="FILE", type=Path,
                   help="a witness checkpoint saved from `checkpoint --export`")
    p.add_argument("--allow-unsigned", action="store_true",
                   help="check the chain of a ledger no signed checkpoint covers (one made "
                        "before stockade signed every ledger), with a warning, instead of "
                        "failing")

    p = sub.add_parser("append", parents=[common], help="record an event; prints its seq")
    p.add_argument("--kind", required=True, help="dotted lowercase name, e.g. deploy.start")
    p.add_argument("--json", required=True, dest="details", metavar="DETAILS",
                   help="details as a JSON object (never a secret value)")
    p.add_argument("--session", help="session id")
    p.add_argument("--decision", help="decision, e.g. allow or block")
    p.add_argument("--agent", help="agent name recorded in the actor")

    p = sub.add_parser("checkpoint", parents=[common], help="sign the current head now")
    p.add_argument("--export", action="store_true",
                   help="print the signed checkpoint and the public key as JSON, to keep on "
                        "another machine as a witness")

    p = sub.add_parser("tail", parents=[common], help="show the newest events")
    p.add_argument("-n", type=int, default=20, metavar="N", help="how many (default 20)")
    p.add_argument("--format", choices=("table", "jsonl"), default="table")

    p = sub.add_parser("query", parents=[common], help="find events")
    p.add_argument("--session", help="only this session")
    p.add_argument("--kind", help="only this kind")
    p.add_argument("--since", metavar="WHEN",
                   help="a duration back from now (30m, 2h, 7d) or an RFC 3339 time")
    p.add_argument("--limit", type=int, metavar="N", help="at most N events")
    p.add_argument("--format", choices=("table", "jsonl"), default="table")

    p = sub.add_parser("export", parents=[common], help="write every event, e.g. for a SIEM")
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
        print(f"  last signed checkpoint: seq {cp.seq} at {cp.ts} (key {cp.key_fingerprint})")
    for note in report.notes:
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
    with open_from_args(args, create=True) as ledger:
        actor = None
        if args.agent:
            actor = replace(ledger.actor, agent=args.agent)
        event = ledger.append(args.kind, details=details, session=args.session,
                              decision=args.decision, actor=actor)
    print(event.seq)
    return 0


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
    for ev in events:
        if fmt == "jsonl":
            out.write(ev.raw + b"\n")
        else:
            out.write(_row(ev).encode("utf-8", "replace") + b"\n")
    out.flush()


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
