"""The CLI maps every failure to a documented exit code and a readable message."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from stockade import cli
from stockade.errors import EXIT_INTERNAL, EXIT_USAGE, PolicyError


def test_version_prints_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("stockade ")


def test_no_arguments_prints_help_and_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == EXIT_USAGE
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_unknown_command_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ledgr"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown command 'ledgr'" in err
    assert "stockade ledger" in err


def _fake_command(monkeypatch: pytest.MonkeyPatch, run: object) -> None:
    mod = types.ModuleType("stockade_test_fake_cmd")
    mod.build_parser = lambda parser: None  # type: ignore[attr-defined]
    mod.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "stockade_test_fake_cmd", mod)
    monkeypatch.setitem(cli.COMMANDS, "fake", ("stockade_test_fake_cmd", "a fake command"))


def test_stockade_error_becomes_its_exit_code_and_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: object) -> int:
        raise PolicyError("'*' would allow every domain", file="p.yaml", line=3,
                          key="network.allow[0]", hint="list the domains the agent needs")

    _fake_command(monkeypatch, run)
    assert cli.main(["fake"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "stockade: error: p.yaml:3: network.allow[0]: '*' would allow every domain" in err
    assert "hint: list the domains the agent needs" in err


def test_unexpected_exception_is_internal_error_without_its_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = "value-that-must-not-be-printed"

    def run(args: object) -> int:
        raise ValueError(marker)

    _fake_command(monkeypatch, run)
    monkeypatch.delenv("STOCKADE_DEBUG", raising=False)
    assert cli.main(["fake"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "internal error: ValueError" in err
    assert marker not in err


def test_python_dash_m_entry_point_works() -> None:
    proc = subprocess.run([sys.executable, "-m", "stockade", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("stockade ")


def test_broken_pipe_is_not_reported_as_success(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: object) -> int:
        raise BrokenPipeError

    _fake_command(monkeypatch, run)
    assert cli.main(["fake"]) == 141
