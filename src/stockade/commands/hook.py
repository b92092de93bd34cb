"""`stockade hook claude-code|codex`: the hook a coding agent runs per event.

Reads the client's hook JSON on stdin, applies the policy's `tools` section,
answers in the client's protocol and records the event.  It never raises
into the CLI: whatever goes wrong becomes a deny that says so.
"""

from __future__ import annotations

import argparse
import os


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("client", choices=("claude-code", "codex"),
                        help="which agent is calling (decides the answer format)")
    parser.add_argument("--policy", metavar="FILE", default=None,
                        help="user policy file (default: $STOCKADE_POLICY or "
                             "~/.config/stockade/policy.yaml)")
    parser.add_argument("--workspace", metavar="DIR", default=None,
                        help="the project directory (default: $CLAUDE_PROJECT_DIR, else the "
                             "session's cwd)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="deny if deciding takes longer (default 20)")


def run(args: argparse.Namespace) -> int:
    from stockade.hooks import runner

    timeout = args.timeout if args.timeout is not None else runner.DEFAULT_TIMEOUT_S
    return runner.main_stdio(args.client, workspace=args.workspace, policy_file=args.policy,
                             timeout_s=timeout,
                             background=os.environ.get("STOCKADE_HOOK_SYNC", "") in ("", "0"))
