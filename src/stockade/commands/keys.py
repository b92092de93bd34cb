"""``stockade keys``: API keys callers present to a team-mode gateway."""

from __future__ import annotations

import argparse
import json
import time

from stockade.errors import UsageError


def build_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    c = sub.add_parser("create", help="create a key for a user (shown once)")
    c.add_argument("--user", required=True)
    c.add_argument("--team")
    ls = sub.add_parser("list", help="list keys (never their values)")
    ls.add_argument("--json", action="store_true")
    r = sub.add_parser("revoke", help="revoke a key by id")
    r.add_argument("key_id")


def run(args: argparse.Namespace) -> int:
    from stockade.gateway.keys import create_key, list_keys, revoke_key
    from stockade.state import StateDir

    state = StateDir.default()
    if args.action == "create":
        key, rec = create_key(state, user=args.user, team=args.team)
        print(key)
        print(f"key {rec.id} for user {rec.user}" + (f" (team {rec.team})" if rec.team else "")
              + ": this is the only time it is shown", flush=True)
        return 0
    if args.action == "list":
        keys = list_keys(state)
        if args.json:
            print(json.dumps([k.to_public() for k in keys], indent=1))
            return 0
        for k in keys:
            when = time.strftime("%Y-%m-%d", time.gmtime(k.created))
            status = "revoked" if k.revoked else "active"
            print(f"{k.id}  {k.user:<20} {k.team or '-':<16} {when}  {status}")
        return 0
    if args.action == "revoke":
        rec = revoke_key(state, args.key_id)
        print(f"key {rec.id} ({rec.user}) revoked")
        return 0
    raise UsageError("say what to do: `stockade keys create|list|revoke`")
