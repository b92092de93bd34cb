"""`stockade hook claude-code|codex`: the hook a coding agent runs per event.

Reads the client's hook JSON on stdin, applies the policy's `tools` section,
answers in the client's protocol and records the event.  It never raises
into the CLI: whatever goes wrong becomes a deny that says so.

Two entries, one set of options: :func:`run` behind the CLI's argparse (the
`stockade` script) and :func:`main_fast` for ``python -m stockade hook``
(what ``stockade install`` writes), which skips argparse because its import
costs more than the rest of the hook's start-up.  Both validate through
:func:`timeout_seconds` and start through :func:`_start`.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse costs start-up time; main_fast does without it
    import argparse

CLIENTS = ("claude-code", "codex")
# option -> help; each takes one value
OPTIONS = {
    "--policy": "user policy file (default: $STOCKADE_POLICY or "
                "~/.config/stockade/policy.yaml)",
    "--workspace": "the project directory (default: $CLAUDE_PROJECT_DIR, else the session's cwd)",
    "--timeout": "deny if deciding takes longer (seconds, default 20)",
}
_USAGE = ("usage: stockade hook {claude-code,codex} [--policy FILE] [--workspace DIR] "
          "[--timeout SECONDS]")


def timeout_seconds(text: str) -> float:
    """A finite, positive number of seconds (``nan``, ``inf``, 0 and
    negative values would switch the self-timer off)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("--timeout takes a number of seconds") from None
    if not (0 < value < float("inf")):
        raise ValueError("--timeout must be a finite number of seconds above 0")
    return value


def build_parser(parser: argparse.ArgumentParser) -> None:
    import argparse

    def timeout_type(text: str) -> float:
        try:
            return timeout_seconds(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument("client", choices=CLIENTS,
                        help="which agent is calling (decides the answer format)")
    parser.add_argument("--policy", metavar="FILE", default=None, help=OPTIONS["--policy"])
    parser.add_argument("--workspace", metavar="DIR", default=None, help=OPTIONS["--workspace"])
    parser.add_argument("--timeout", type=timeout_type, default=None, metavar="SECONDS",
                        help=OPTIONS["--timeout"])


def run(args: argparse.Namespace) -> int:
    return _start(args.client, policy=args.policy, workspace=args.workspace,
                  timeout=args.timeout)


def main_fast(argv: list[str]) -> int:
    """`stockade hook ...` without argparse.  ``stockade/__main__.py`` calls
    this when ``argv[0] == "hook"``; the result is identical to :func:`run`."""
    import sys

    def usage(message: str) -> int:
        print(f"{_USAGE}\nstockade hook: error: {message}", file=sys.stderr)
        return 2

    opts: dict[str, str] = {}
    client = None
    i = 0
    while i < len(argv):
        a = argv[i]
        key, eq, val = a.partition("=")
        if key in OPTIONS:
            if not eq:
                if i + 1 >= len(argv):
                    return usage(f"{key} needs a value")
                val = argv[i + 1]
                i += 1
            opts[key] = val
        elif a in ("-h", "--help"):
            print(_USAGE)
            return 0
        elif client is None and a in CLIENTS:
            client = a
        else:
            return usage(f"unexpected argument {a!r}")
        i += 1
    if client is None:
        return usage("name the client (claude-code or codex)")
    try:
        timeout = timeout_seconds(opts["--timeout"]) if "--timeout" in opts else None
    except ValueError as exc:
        return usage(str(exc))
    return _start(client, policy=opts.get("--policy"), workspace=opts.get("--workspace"),
                  timeout=timeout)


def _start(client: str, *, policy: str | None, workspace: str | None,
           timeout: float | None) -> int:
    from stockade.hooks import runner

    return runner.main_stdio(
        client,  # type: ignore[arg-type]
        workspace=workspace, policy_file=policy,
        timeout_s=timeout if timeout is not None else runner.DEFAULT_TIMEOUT_S,
        background=os.environ.get("STOCKADE_HOOK_SYNC", "") in ("", "0"))
