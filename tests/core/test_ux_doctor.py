"""`stockade doctor` (UX review item 15): checks the sandbox and agent CLIs,
refuses a missing --project as bad input, and its self-test leaves the real
ledger alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stockade import cli
from stockade.errors import EXIT_USAGE


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for var in ("STOCKADE_LEDGER", "STOCKADE_POLICY", "CODEX_HOME"):
        monkeypatch.delenv(var, raising=False)
    proj = tmp_path / "proj"
    proj.mkdir()
    monkeypatch.chdir(proj)
    return proj


def test_missing_project_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor", "--project", "/nonexistent/stockade-doctor"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "no such directory" in err and "hint:" in err and "self-test" not in err


def test_doctor_checks_the_sandbox_and_agents_and_spares_the_ledger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["ledger", "append", "--kind", "test.before", "--json", "{}"]) == 0
    capsys.readouterr()
    cli.main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    names = {c["check"] for c in report["checks"]}
    assert names & {"bubblewrap", "user namespaces"}
    assert "agent CLIs" in names
    selftests = [c for c in report["checks"] if c["check"].startswith("self-test claude-code")]
    assert len(selftests) == 2 and all(c["status"] == "ok" for c in selftests), selftests
    assert cli.main(["ledger", "export"]) == 0
    kinds = [json.loads(x)["kind"] for x in capsys.readouterr().out.splitlines()]
    # Only what this test wrote itself: no hook.* events from the self-test.
    assert not [k for k in kinds if k.startswith(("hook", "tool"))], kinds
    assert "test.before" in kinds


def test_doctor_accepts_format_json(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["doctor", "--format", "json"])
    assert "checks" in json.loads(capsys.readouterr().out)
