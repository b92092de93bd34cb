"""``stockade run``: run an agent (or any command) inside the sandbox.

    stockade run [--policy FILE] [--workspace DIR] [--observe] [--gateway URL] -- CMD ARGS...
    stockade run claude [ARGS...]          # presets: claude, codex, aider

Exit status: the command's own.  See docs/sandbox.md.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (start-up path)
if TYPE_CHECKING:
    import argparse
    from typing import Any

# exact option names only: anything else (an abbreviation, -h, a typo) goes
# through argparse, which explains it
_FLAGS = {"--observe": "observe", "--no-preset": "no_preset",
          "--unsafe-no-sandbox": "unsafe_no_sandbox"}
_VALUES = {"--policy": "policy", "--workspace": "workspace", "--gateway": "gateway"}


def build_parser(parser: argparse.ArgumentParser) -> None:
    import argparse

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


def parse_fast(argv: list[str]) -> Any:
    """What :func:`build_parser`'s parser makes of ``argv``, without argparse,
    or None when ``argv`` is anything but the plain forms (then argparse
    parses it, and says what is wrong).  tests/sandbox holds the two equal."""
    from types import SimpleNamespace

    ns: dict[str, Any] = {"policy": None, "workspace": None, "gateway": None,
                          "observe": False, "no_preset": False, "unsafe_no_sandbox": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _FLAGS:
            ns[_FLAGS[arg]] = True
        elif arg in _VALUES:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None
            ns[_VALUES[arg]] = argv[i + 1]
            i += 1
        elif arg.split("=", 1)[0] in _VALUES and "=" in arg:
            ns[_VALUES[arg.split("=", 1)[0]]] = arg.split("=", 1)[1]
        elif arg.startswith("-") and arg != "--":
            return None
        else:
            break  # the command (argparse.REMAINDER keeps a leading "--")
        i += 1
    ns["command"] = argv[i:]
    return SimpleNamespace(**ns)


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    recorder = None
    if command and hasattr(os, "fork"):
        from stockade.sandbox.recorder import ForkedRecorder

        # The ledger loads in the recorder process, on the other core, while
        # this one imports the launcher and prepares the sandbox.  Forked
        # first thing: the two share no imports any more (json, re and
        # sqlite3 are the recorder's alone), so the recorder's head start
        # is what counts (bench/sandbox.py: ~8 ms less than forking after
        # the launcher's imports).
        recorder = ForkedRecorder.start()
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
