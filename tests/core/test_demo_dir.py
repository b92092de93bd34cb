"""`stockade demo --dir D` never deletes a directory it did not make."""

from __future__ import annotations

from pathlib import Path

from stockade.cli import main
from stockade.errors import EXIT_USAGE


def test_demo_refuses_a_directory_with_someone_elses_files(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    precious = tmp_path / "work.txt"
    precious.write_text("the user's work\n")
    assert main(["demo", "--dir", str(tmp_path)]) == EXIT_USAGE
    assert precious.read_text() == "the user's work\n"
    assert "was not made by `stockade demo`" in capsys.readouterr().err
