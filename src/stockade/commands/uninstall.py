"""`stockade uninstall claude-code|codex`: remove exactly the hooks `install` added."""

from __future__ import annotations

import argparse


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("client", choices=("claude-code", "codex"))
    parser.add_argument("--scope", choices=("user", "project", "managed"), default="user")
    parser.add_argument("--project", metavar="DIR", default=None,
                        help="project directory for --scope project (default: current directory)")


def run(args: argparse.Namespace) -> int:
    from stockade.hooks import install as inst

    target = inst.target_for(args.client, args.scope, project=args.project)
    existed = target.path.exists()
    removed = inst.uninstall(target)
    if existed and not target.path.exists():
        print(f"stockade: removed {removed} hook entr{'y' if removed == 1 else 'ies'} and "
              f"{target.path} (install created it; nothing else was in it)")
    elif removed:
        print(f"stockade: removed {removed} hook entr{'y' if removed == 1 else 'ies'} from "
              f"{target.path}")
    else:
        print(f"stockade: no stockade hooks found in {target.path}")
    return 0
