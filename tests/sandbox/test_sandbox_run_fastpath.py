"""`stockade run`'s command line skips argparse; what it makes of a command
line is what argparse makes of it, and anything else goes to argparse."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from stockade.commands import run as run_cmd


def argparse_ns(argv: list[str]) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog="stockade run")
    run_cmd.build_parser(parser)
    return vars(parser.parse_args(argv))


@pytest.mark.parametrize("argv", [
    [], ["--", "true"], ["true"], ["claude", "--resume", "-p", "x"],
    ["--observe", "--", "curl", "-sS", "https://example.org"],
    ["--policy", "p.yaml", "--workspace", "/w", "--gateway", "http://127.0.0.1:1", "cmd"],
    ["--policy=p.yaml", "--workspace=", "--no-preset", "--unsafe-no-sandbox", "--", "--x"],
    ["--policy", "a", "--policy", "b", "--", "--", "cmd"],
])
def test_the_fast_path_parses_as_argparse_does(argv: list[str]) -> None:
    fast = run_cmd.parse_fast(argv)
    assert fast is not None
    assert vars(fast) == argparse_ns(argv)


@pytest.mark.parametrize("argv", [["-h"], ["--help"], ["--obs", "x"], ["--policy"],
                                  ["--policy", "--observe", "x"], ["--bogus", "x"], ["-x"]])
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert run_cmd.parse_fast(argv) is None


def test_run_does_not_import_argparse() -> None:
    code = ("import sys\n"
            "import stockade.commands.run as r\n"
            "r.run = lambda ns: 7\n"
            "from stockade.cli import main\n"
            "print(main(['run', '--observe', '--', 'true']), 'argparse' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["7", "False"], out.stderr
