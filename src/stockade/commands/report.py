"""``stockade report egress [SESSION] [--suggest-policy] [--json]``.

What a sandboxed session talked to, read back from the ledger: every
destination with its connection count, refusals and bytes each way.
``--suggest-policy`` prints the smallest ``network.allow`` that would have let
the observed (``stockade run --observe``) session do what it did.

It reads the ledger ``stockade run`` wrote to: ``--ledger``, else
``$STOCKADE_LEDGER``, else the policy's ``ledger.url`` (the policy of the
current directory, or ``--policy``), else the state directory's.  Names that
looked like encoded data are shown as the ledger keeps them: masked.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stockade.errors import UsageError
from stockade.sandbox.pump import RELAY_CAP


@dataclass
class Dest:
    host: str
    port: int
    connections: int = 0
    denied: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    in_policy: bool = True
    reasons: set[str] = field(default_factory=set)
    opened: int = 0
    encoded_name: bool = False  # the ledger keeps a masked preview, not the name


def build_parser(parser: argparse.ArgumentParser) -> None:
    # optional, so that a bare `stockade report` says what to run instead of
    # argparse's "the following arguments are required: what"
    parser.add_argument("what", nargs="?", choices=["egress"],
                        help="the report to show: egress (what a `stockade run` session "
                             "talked to)")
    parser.add_argument("session", nargs="?", help="session id (default: the latest `stockade run`)")
    parser.add_argument("--suggest-policy", action="store_true",
                        help="print a minimal network.allow for what the session used")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--ledger", metavar="URL",
                        help="ledger URL (default: $STOCKADE_LEDGER, the policy's ledger.url, "
                             "or the state directory's)")
    parser.add_argument("--policy", metavar="FILE",
                        help="the policy whose ledger.url to read (default: the usual layers)")


def aggregate(events: Iterable[Any]) -> dict[tuple[str, int], Dest]:
    """(host, port) -> totals, from net.open / net.connect / net.deny events."""
    out: dict[tuple[str, int], Dest] = {}
    for ev in events:
        if ev.kind not in ("net.open", "net.connect", "net.deny"):
            continue
        d = ev.details
        key = (str(d.get("host", "?")), int(d.get("port", 0)))
        dest = out.setdefault(key, Dest(*key))
        if d.get("encoded_name"):
            dest.encoded_name = True
        if ev.kind == "net.open":
            # a connection still open when the session was cut has no
            # net.connect; count it from its opening
            dest.opened += 1
            if d.get("in_policy") is False:
                dest.in_policy = False
        elif ev.kind == "net.deny":
            dest.denied += 1
            dest.reasons.add(str(d.get("reason", "")))
            if d.get("reason") != RELAY_CAP:  # refused for the load, not for the policy
                dest.in_policy = False
        else:
            dest.connections += 1
            dest.bytes_up += int(d.get("bytes_up", 0))
            dest.bytes_down += int(d.get("bytes_down", 0))
            if d.get("in_policy") is False:
                dest.in_policy = False
            if d.get("reason"):
                dest.reasons.add(str(d["reason"]))
    for dest in out.values():
        dest.connections = max(dest.connections, dest.opened)
    return out


def model_calls(events: Iterable[Any]) -> dict[tuple[str, str, str, str], int]:
    """(protocol, path, model, upstream) -> requests, from the gateway's
    ``llm.request`` events of the session (its own gateway records them under
    the session's id): the model API paths the agent called."""
    out: dict[tuple[str, str, str, str], int] = {}
    for ev in events:
        if ev.kind != "llm.request":
            continue
        d = ev.details
        protocol, path, model, upstream = (str(d.get(k) or "-") for k in
                                           ("protocol", "path", "model", "upstream"))
        key = (protocol, path, model, upstream)
        out[key] = out.get(key, 0) + 1
    return out


def suggest(dests: Iterable[Dest]) -> str:
    """A ``network.allow`` block covering every destination the session reached
    or tried, except model APIs (the gateway's job) and internal addresses."""
    from stockade.sandbox.hosts import is_model_host, looks_like_encoded_data

    entries: dict[str, str] = {}
    skipped: list[str] = []
    for d in sorted(dests, key=lambda x: (x.host, x.port)):
        if is_model_host(d.host):
            skipped.append(f"{d.host} (model API: use the gateway)")
            continue
        if "private-address" in d.reasons:
            skipped.append(f"{d.host} (internal address: network.allow_private, if intended)")
            continue
        if d.encoded_name or looks_like_encoded_data(d.host):
            skipped.append(f"{d.host if d.encoded_name else '<encoded name>'} "
                           "(looks like encoded data)")
            continue
        entry = d.host if d.port in (80, 443) else f"{d.host}:{d.port}"
        entries.setdefault(entry, f"{d.connections} conn, {_size(d.bytes_up)} up, "
                                  f"{_size(d.bytes_down)} down")
    lines = ["network:", "  allow:"]
    if not entries:
        lines[-1] += " []"
    width = max((len(e) for e in entries), default=0)
    for e, note in entries.items():
        lines.append(f"    - {e:<{width}}  # {note}")
    for s in skipped:
        lines.append(f"  # not suggested: {s}")
    return "\n".join(lines) + "\n"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _ledger_settings(args: argparse.Namespace) -> Any:
    """The ledger `stockade run` writes to, by the one rule (stockade.ledgerconf).
    The ``ledger`` section belongs to the managed and user policies only, so a
    broken project stockade.yaml does not stop the report."""
    from stockade.ledgerconf import ledger_settings

    policy = None
    if not args.ledger:
        from pathlib import Path

        from stockade.config import load_policy

        policy = load_policy(policy_file=args.policy, workspace=Path.cwd(), include_project=False)
    return ledger_settings(explicit_url=args.ledger, policy=policy)


def run(args: argparse.Namespace) -> int:
    from stockade.ledger import open_ledger

    if args.what is None:
        raise UsageError("say which report to show",
                         hint="stockade report egress [SESSION]  (what a `stockade run` "
                              "session connected to; the latest session by default)")

    st = _ledger_settings(args)
    with open_ledger(st.url, create=False) as ledger:
        session = args.session
        if session is None:
            for ev in ledger.query(kind="session.start"):
                if "policy_digest" in ev.details and "mode" in ev.details:
                    session = ev.session
            if session is None:
                raise UsageError("no `stockade run` session in the ledger yet",
                                 hint="run one first: stockade run --observe -- CMD")
        events = list(ledger.query(session=session))
    if not events:
        raise UsageError(f"no events for session {session!r}",
                         hint="`stockade ledger query --kind session.start` lists sessions")
    start = next((e for e in events if e.kind == "session.start"), None)
    end = next((e for e in events if e.kind == "session.end"), None)
    dests = aggregate(events)
    calls = model_calls(events)
    if args.suggest_policy:
        sys.stdout.write(suggest(dests.values()))
        return 0
    if args.json:
        print(json.dumps({
            "session": session,
            "mode": start.details.get("mode") if start else None,
            "exit_status": end.details.get("exit_status") if end else None,
            "destinations": [
                {"host": d.host, "port": d.port, "connections": d.connections, "denied": d.denied,
                 "bytes_up": d.bytes_up, "bytes_down": d.bytes_down, "in_policy": d.in_policy,
                 "reasons": sorted(r for r in d.reasons if r),
                 **({"encoded_name": True} if d.encoded_name else {})}
                for d in sorted(dests.values(), key=lambda x: (-x.bytes_up, x.host))
            ],
            "model_calls": [
                {"protocol": k[0], "path": k[1], "model": k[2], "upstream": k[3], "requests": n}
                for k, n in sorted(calls.items())
            ],
        }, indent=2))
        return 0
    mode = start.details.get("mode", "?") if start else "?"
    print(f"session {shown(session)}  mode {shown(mode)}"
          + (f"  exit {shown(end.details.get('exit_status'))}" if end
             else "  (still running or cut off)"))
    _print_calls(calls)
    if not dests:
        print("no network activity")
        return 0
    print(f"{'DESTINATION':<40} {'CONN':>5} {'DENIED':>6} {'SENT':>10} {'RECEIVED':>10}  NOTE")
    for d in sorted(dests.values(), key=lambda x: (-x.bytes_up, -x.denied, x.host)):
        dest = shown(f"{d.host}:{d.port}")
        note = shown(", ".join(sorted(str(r) for r in d.reasons if r)))
        if not d.in_policy and d.connections:
            note = ("not in policy; " + note).rstrip("; ")
        print(f"{dest[:40]:<40} {d.connections:>5} {d.denied:>6} {_size(d.bytes_up):>10} "
              f"{_size(d.bytes_down):>10}  {note}")
    return 0


def shown(value: object) -> str:
    """Text from the ledger, safe for a terminal: the agent chose much of it
    (a model name, a path, a session's details), and an escape sequence in it
    must be printed, not obeyed (OSC 52 writes the clipboard, others hide
    lines or retitle the window)."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _print_calls(calls: dict[tuple[str, str, str, str], int]) -> None:
    if not calls:
        return
    print(f"{'MODEL API (through the gateway)':<40} {'REQ':>5}  MODEL -> UPSTREAM")
    for (protocol, path, model, upstream), n in sorted(calls.items()):
        print(f"{shown(protocol + ' ' + path)[:40]:<40} {n:>5}  {shown(model)} -> "
              f"{shown(upstream)}")
