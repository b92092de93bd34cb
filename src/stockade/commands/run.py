"""``stockade run``: run an agent (or any command) inside the sandbox.

    stockade run [--policy FILE] [--workspace DIR] [--observe] [--gateway URL] -- CMD ARGS...
    stockade run claude [ARGS...]          # presets: claude, codex, aider

Exit status: the command's own.  See docs/sandbox.md.
"""

from __future__ import annotations

import argparse
import os


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.usage = "stockade run [OPTIONS] [--] COMMAND [ARGS...]"
    parser.add_argument("--policy", metavar="FILE", help="policy file (default: the usual layers)")
    parser.add_argument("--workspace", metavar="DIR",
                        help="the project directory the agent may write (default: current directory)")
    parser.add_argument("--observe", action="store_true",
                        help="allow every public destination but record it (then: stockade report "
                             "egress --suggest-policy)")
    parser.add_argument("--gateway", metavar="URL",
                        help="the stockade gateway model traffic goes to (default: $STOCKADE_GATEWAY_URL)")
    parser.add_argument("--no-preset", action="store_true",
                        help="do not apply the claude/codex/aider preset")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run WITHOUT any sandbox (recorded in the ledger as unsafe)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run")


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    recorder = None
    if command and hasattr(os, "fork"):
        from stockade.sandbox import deps
        from stockade.sandbox.recorder import ForkedRecorder

        # Before anything else is imported: the ledger loads in the recorder
        # process, on the other core, while this one prepares the sandbox.
        recorder = ForkedRecorder.start(deps.open_recorder)
    from stockade.sandbox.launcher import RunRequest, run_session

    req = RunRequest(
        command=tuple(command),
        workspace=os.path.abspath(args.workspace or os.getcwd()),
        env=dict(os.environ),
        policy_file=args.policy,
        observe=args.observe,
        unsafe_no_sandbox=args.unsafe_no_sandbox,
        gateway_url=args.gateway,
        preset=not args.no_preset,
    )
    return run_session(req, recorder=recorder)
