"""`stockade gateway` refuses settings that cannot work, naming the flag and a fix
(before it opens a ledger or a socket)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade import cli


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "100000"])
def test_max_body_mb_out_of_range_is_refused(value: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["gateway", "--listen", "127.0.0.1:0", "--max-body-mb", value])
    err = capsys.readouterr().err
    assert rc == 2
    assert "--max-body-mb" in err and "more than 0" in err and "hint:" in err


def test_upstream_with_wrong_scheme_has_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli.main(["gateway", "--listen", "127.0.0.1:0", "--upstream", "local=ftp://x"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "--upstream" in err and "hint:" in err and "http://" in err
