"""`stockade init`: create stockade's state (keys, ledger) and say where it is."""

from __future__ import annotations

import argparse
import shlex

from stockade.commands.ledger import resolve_settings
from stockade.ledger import key_fingerprint, open_ledger
from stockade.ledger.checkpoint import signing_key
from stockade.state import SIGNING_KEY_FILE, StateDir


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ledger", metavar="URL", default=None,
                        help="ledger URL (sqlite:///PATH); default $STOCKADE_LEDGER, else the "
                             "state directory's ledger.db")


def run(args: argparse.Namespace) -> int:
    state = StateDir.default().ensure()
    settings = resolve_settings(args.ledger, state=state)
    with open_ledger(settings.url, state=state, durability=settings.durability,
                     checkpoint_every=settings.checkpoint_every) as ledger:
        created = len(ledger) == 0
        if created:
            # open_ledger signed the new, empty ledger (seq 0); a first event,
            # signed too, records where the state lives.
            ledger.append("stockade.init", details={"state": str(state.root)})
            ledger.checkpoint()
        events = len(ledger)
        fingerprint = key_fingerprint(signing_key(state).public_key())
        checkpoint_path = ledger.checkpoint_path
    print(f"stockade state: {state.root}")
    print(f"  signing key:  {state.keys_dir / SIGNING_KEY_FILE} (Ed25519, {fingerprint})")
    print(f"  ledger:       {settings.url} ({'created, ' if created else ''}{events} events)")
    if checkpoint_path is not None:
        print(f"  checkpoint:   {checkpoint_path}")
    # An explicit --ledger is not remembered anywhere: the next steps must
    # name it, or they would read the default ledger instead.
    flag = f" --ledger {shlex.quote(args.ledger)}" if args.ledger else ""
    print(f"read the ledger:   stockade ledger tail{flag}")
    print(f"verify it:         stockade ledger verify{flag}")
    print(f"keep a witness:    stockade ledger checkpoint{flag} --export > witness.json  "
          "(store it on another machine)")
    if args.ledger:
        print(f"  (or set STOCKADE_LEDGER={shlex.quote(args.ledger)}, or ledger.url in your "
              "policy, so every command uses this ledger)")
    return 0
