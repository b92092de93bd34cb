"""The command line: the only place that turns errors into exit codes.

Subcommands live in ``stockade.commands.<name>`` and are imported only when
used: ``stockade hook`` runs once per agent tool call, so start-up time is a
feature.  Each command module provides::

    def build_parser(parser: argparse.ArgumentParser) -> None
    def run(args: argparse.Namespace) -> int
"""

from __future__ import annotations

import sys

from stockade import __version__
from stockade.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    StockadeError,
)

# typing.TYPE_CHECKING without importing typing (~9 ms): `stockade run` and
# the hooks start here, and type checkers honour any name TYPE_CHECKING
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from types import ModuleType

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed writer

# name -> (module, one-line summary).  Order is the order of `stockade --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("stockade.commands.init", "create stockade's state: ledger, signing and hashing keys"),
    "policy": ("stockade.commands.policy", "check a policy file, or show the effective policy"),
    "ledger": ("stockade.commands.ledger", "verify, query, append to and export the ledger"),
    "scan": ("stockade.commands.scan", "find secrets and personal data in files"),
    "gateway": ("stockade.commands.gateway", "run the LLM API gateway that inspects every prompt"),
    "keys": ("stockade.commands.keys", "create and revoke stockade API keys for the gateway"),
    "run": ("stockade.commands.run", "run an agent inside the sandbox"),
    "report": ("stockade.commands.report", "report what sandboxed sessions did (egress)"),
    "history": ("stockade.commands.history", "audit what past agent sessions sent to model vendors"),
    "repos": ("stockade.commands.repos", "classify git repositories by the sensitive data they hold"),
    "deps": ("stockade.commands.deps", "check packages an agent adds: hallucinated, typosquatted, malicious"),
    "hook": ("stockade.commands.hook", "Claude Code / Codex hook entry point (reads JSON on stdin)"),
    "install": ("stockade.commands.install", "install stockade's hooks into Claude Code or Codex"),
    "uninstall": ("stockade.commands.uninstall", "remove exactly what `stockade install` added"),
    "doctor": ("stockade.commands.doctor", "show what is installed and whether it works"),
    "demo": ("stockade.commands.demo", "run the demonstration session"),
}


def _top_parser() -> argparse.ArgumentParser:
    import argparse

    lines = [f"  {name:<10} {summary}" for name, (_, summary) in COMMANDS.items()]
    parser = argparse.ArgumentParser(
        prog="stockade",
        description="A security perimeter for AI coding agents.",
        epilog="commands:\n" + "\n".join(lines) + "\n\nRun `stockade COMMAND --help` for details.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"stockade {__version__}")
    parser.add_argument("command", nargs="?", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"]:
        # `stockade run` is on the critical path of every agent session: its
        # plain command lines skip argparse (and the table of the others)
        from stockade.commands.run import parse_fast

        ns = parse_fast(args[1:])
        if ns is not None:
            rc = _guarded(lambda: _run_parsed("stockade.commands.run", ns))
            if argv is None:
                # The program itself (not a caller in this process): the session
                # is over and closed (ledger recorder waited for, sandbox and
                # runtime folder gone), so skip the interpreter's teardown of
                # the proxy's threads and every module (~10 ms of each run).
                _exit_now(rc)
            return rc
    if args[:1] == ["--version"]:
        print(f"stockade {__version__}")
        return EXIT_OK
    if not args or args[0] in ("-h", "--help"):
        _top_parser().print_help()
        return EXIT_OK if args else EXIT_USAGE
    name, rest = args[0], args[1:]
    if name.startswith("-"):
        print(f"stockade: error: unknown option {name!r}\n  hint: stockade itself takes only "
              "--help and --version; other options go after the command "
              "(`stockade COMMAND --help`)", file=sys.stderr)
        return EXIT_USAGE
    if name not in COMMANDS:
        close = [c for c in COMMANDS if c.startswith(name[:2])]
        hint = f"did you mean `stockade {close[0]}`?" if close else "run `stockade --help`"
        print(f"stockade: error: unknown command {name!r}\n  hint: {hint}", file=sys.stderr)
        return EXIT_USAGE
    module_name, summary = COMMANDS[name]

    def parse_and_run() -> int:
        import argparse

        module = _module(module_name)
        parser = argparse.ArgumentParser(prog=f"stockade {name}", description=summary)
        module.build_parser(parser)
        return _run_parsed(module_name, parser.parse_args(rest))

    return _guarded(parse_and_run)


def _exit_now(rc: int) -> None:
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(rc & 0xFF if rc >= 0 else 1)


def _module(name: str) -> ModuleType:
    """``importlib.import_module(name)`` for an absolute name, without
    importing importlib (and warnings under it): start-up path."""
    __import__(name)
    return sys.modules[name]


def _run_parsed(module_name: str, ns: object) -> int:
    return int(_module(module_name).run(ns))


def _guarded(fn: Callable[[], int]) -> int:
    """Run a command, turning every way it can end into an exit code."""
    try:
        return fn()
    except StockadeError as exc:
        print(exc.diagnostic(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("stockade: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`).  Not a success: under `set -o
        # pipefail` a scan whose findings were cut off must not read as clean.
        import os

        try:  # stop the interpreter's flush at exit from raising again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_BROKEN_PIPE
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last line of defence, fail closed
        import traceback

        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
        # The exception text may quote input; print only its type and location.
        print(
            f"stockade: internal error: {type(exc).__name__} at {where}\n"
            "  hint: this is a bug in stockade; nothing was let through. "
            "Re-run with STOCKADE_DEBUG=1 for a traceback.",
            file=sys.stderr,
        )
        import os

        if os.environ.get("STOCKADE_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["COMMANDS", "main", "EXIT_USAGE"]
