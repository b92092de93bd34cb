"""``stockade keys``: API keys callers present to a team-mode gateway."""

from __future__ import annotations

import argparse
import json
import sys
import time

from stockade.errors import UsageError


def build_parser(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    c = sub.add_parser("create", help="create a key for a user (shown once)",
                       description="Create an API key a caller presents to a team-mode "
                       "gateway. The key is printed once and only its keyed hash is kept; "
                       "every request made with it is recorded under the user (and team).")
    c.add_argument("--user", required=True, metavar="NAME",
                   help="who the key belongs to, as recorded in the ledger")
    c.add_argument("--team", metavar="NAME",
                   help="the user's team, recorded with every request (optional)")
    ls = sub.add_parser("list", help="list keys (never their values)",
                        description="List every key: id, user, team, creation date, status.")
    ls.add_argument("--json", dest="format", action="store_const", const="json",
                    default="table", help="same as --format json")
    ls.add_argument("--format", choices=("table", "json"), default="table",
                    help="table (default, with a header row) or json")
    r = sub.add_parser("revoke", help="revoke a key by id",
                       description="Revoke a key: the gateway refuses it from then on.")
    r.add_argument("key_id", metavar="KEY_ID", help="the id `stockade keys list` shows")


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
        if args.format == "json":
            print(json.dumps([k.to_public() for k in keys], indent=1))
            return 0
        if not keys:
            print("no keys: create one with `stockade keys create --user NAME`", file=sys.stderr)
            return 0
        width = max(len(k.id) for k in keys)
        print(f"{'ID':<{width}}  {'USER':<20} {'TEAM':<16} {'CREATED':<10}  STATUS")
        for k in keys:
            when = time.strftime("%Y-%m-%d", time.gmtime(k.created))
            status = "revoked" if k.revoked else "active"
            print(f"{k.id:<{width}}  {k.user:<20} {k.team or '-':<16} {when}  {status}")
        return 0
    if args.action == "revoke":
        rec = revoke_key(state, args.key_id)
        print(f"key {rec.id} ({rec.user}) revoked")
        return 0
    raise UsageError("say what to do: `stockade keys create|list|revoke`")
