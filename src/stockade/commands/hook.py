"""`stockade hook claude-code|codex`: the hook a coding agent runs per event.

Reads the client's hook JSON on stdin, applies the policy's `tools` section,
answers in the client's protocol and records the event.  It never raises
into the CLI: whatever goes wrong becomes a deny that says so.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse costs start-up time; main_fast does without it
    import argparse


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


_USAGE = ("usage: stockade hook {claude-code,codex} [--policy FILE] [--workspace DIR] "
          "[--timeout SECONDS]")


def main_fast(argv: list[str]) -> int:
    """`stockade hook ...` without argparse (whose import costs more than
    the rest of the hook's start-up).  ``stockade/__main__.py`` can call this
    when ``argv[0] == "hook"``; the result is identical to :func:`run`."""
    import sys

    opts: dict[str, str] = {}
    client = None
    i = 0
    while i < len(argv):
        a = argv[i]
        key, eq, val = a.partition("=")
        if key in ("--policy", "--workspace", "--timeout"):
            if not eq:
                if i + 1 >= len(argv):
                    print(f"{_USAGE}\nstockade hook: error: {key} needs a value", file=sys.stderr)
                    return 2
                val = argv[i + 1]
                i += 1
            opts[key] = val
        elif a in ("-h", "--help"):
            print(_USAGE)
            return 0
        elif client is None and a in ("claude-code", "codex"):
            client = a
        else:
            print(f"{_USAGE}\nstockade hook: error: unexpected argument {a!r}", file=sys.stderr)
            return 2
        i += 1
    if client is None:
        print(f"{_USAGE}\nstockade hook: error: name the client (claude-code or codex)",
              file=sys.stderr)
        return 2
    try:
        timeout = float(opts["--timeout"]) if "--timeout" in opts else None
    except ValueError:
        print(f"{_USAGE}\nstockade hook: error: --timeout takes seconds", file=sys.stderr)
        return 2
    from stockade.hooks import runner

    return runner.main_stdio(
        client,  # type: ignore[arg-type]
        workspace=opts.get("--workspace"), policy_file=opts.get("--policy"),
        timeout_s=timeout if timeout is not None else runner.DEFAULT_TIMEOUT_S,
        background=os.environ.get("STOCKADE_HOOK_SYNC", "") in ("", "0"))
