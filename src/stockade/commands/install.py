"""`stockade install claude-code|codex`: put stockade's hooks into the agent's settings."""

from __future__ import annotations

import argparse


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("client", choices=("claude-code", "codex"))
    parser.add_argument("--scope", choices=("user", "project", "managed"), default="user",
                        help="claude-code: user (~/.claude/settings.json), project "
                             "(.claude/settings.json) or managed "
                             "(/etc/claude-code/managed-settings.json, users cannot override it)")
    parser.add_argument("--project", metavar="DIR", default=None,
                        help="project directory for --scope project (default: current directory)")


def run(args: argparse.Namespace) -> int:
    from stockade.hooks import install as inst

    target = inst.target_for(args.client, args.scope, project=args.project)
    added = inst.install(target)
    if added:
        print(f"stockade: hooks installed in {target.path} for {', '.join(added)}")
    else:
        print(f"stockade: hooks were already installed in {target.path}")
    print(f"  command: {inst.hook_command(args.client)}")
    if args.client == "codex":
        print("  note: Codex runs new hooks only after you trust them: start `codex` and review "
              "them in /hooks")
    print("  check with `stockade doctor`; remove with "
          f"`stockade uninstall {args.client}" + (f" --scope {args.scope}`" if args.scope != "user"
                                                  else "`"))
    return 0
