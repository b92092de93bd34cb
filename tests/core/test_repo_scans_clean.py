"""The repository itself carries no secret-looking or personal value: tests
build their fake values at run time.  `stockade scan .` must stay clean."""

from __future__ import annotations

from pathlib import Path

from stockade.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_stockade_scan_of_the_repository_is_clean(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    rc = main(["scan", "src", "tests", "bench", "docs", "scripts", "examples", "README.md"])
    out = capsys.readouterr().out
    assert rc == 0, out
