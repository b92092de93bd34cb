"""Regression: `stockade scan` passed files it had not scanned.

One byte that is not UTF-8 took a whole file out of the scan, with exit 0;
what .gitignore kept out was not counted.  Now text is decoded with
replacement, only real binaries are skipped, every skip and the number of
ignored paths are in the summary, ``--strict`` fails on any skip and
``--staged`` fails on a skipped file that is, or is named like, text.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from stockade.cli import main
from stockade.dlp.fakes import sample


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("STOCKADE_POLICY", raising=False)


def token() -> str:
    return sample("github_pat_classic", random.Random()).value


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10"


def test_one_invalid_byte_does_not_take_a_file_out(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    tok = token()
    (tmp_path / "cfg.env").write_bytes(b"caf\xe9\nGH_TOKEN=" + tok.encode() + b"\n")
    code, out, err = scan(capsys, "--format", "json", str(tmp_path))
    assert code == 1
    doc = json.loads(out)
    assert [(f["path"], f["line"]) for f in doc["findings"]] == [("cfg.env", 2)]
    assert doc["skipped"] == []
    assert tok not in out + err


def test_a_stray_nul_in_text_does_not_take_it_out(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.md").write_bytes(b"x\x00" + b"plain prose. " * 40 + f"T={token()}\n".encode())
    code, out, _ = scan(capsys, "--format", "json", str(tmp_path))
    assert code == 1 and json.loads(out)["skipped"] == []


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_utf16_and_bom_files_are_scanned(encoding: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "secrets.ps1").write_bytes(f"$token = '{token()}'\r\n".encode(encoding))
    code, out, _ = scan(capsys, "--format", "json", str(tmp_path))
    assert code == 1, out
    assert [f["line"] for f in json.loads(out)["findings"]] == [1]


def test_binary_signature_pasted_on_text_is_scanned(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.txt").write_bytes(b"%PDF-1.7\nGH_TOKEN=" + token().encode() + b"\n")
    code, _, _ = scan(capsys, str(tmp_path))
    assert code == 1


def test_skips_and_ignored_paths_are_in_the_table_summary(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "logo.png").write_bytes(PNG + os.urandom(64))
    (tmp_path / ".gitignore").write_text("build/\n*.local\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.txt").write_text(f"T={token()}\n")
    (tmp_path / "dev.local").write_text("x\n")
    (tmp_path / "app.py").write_text("print('hi')\n")
    code, out, _ = scan(capsys, str(tmp_path))
    assert code == 0
    assert "1 skipped: 1 binary" in out
    assert "2 paths ignored by .gitignore (1 directory) not scanned" in out
    code, out, _ = scan(capsys, "--format", "json", str(tmp_path))
    stats = json.loads(out)["stats"]
    assert (stats["files"], stats["skipped"], stats["ignored"]) == (2, 1, 2)


def test_strict_fails_on_any_skip_and_lists_it(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "logo.png").write_bytes(PNG + os.urandom(64))
    (tmp_path / "app.py").write_text("print('hi')\n")
    code, out, err = scan(capsys, "--strict", str(tmp_path))
    assert code == 2
    assert "logo.png (binary (PNG image))" in err and "--strict" in err
    assert "0 findings" in out  # the report is still written
    (tmp_path / "logo.png").unlink()
    code, _, _ = scan(capsys, "--strict", str(tmp_path))
    assert code == 0


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)


def test_staged_fails_on_a_text_file_padded_to_look_binary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "logo.png").write_bytes(PNG + os.urandom(64))
    git(repo, "add", "logo.png")
    monkeypatch.chdir(repo)
    code, out, _ = scan(capsys, "--staged")
    assert code == 0, out  # a real binary may be passed over (and is reported)
    assert "1 skipped" in out
    padded = b"\x00" * 64 + f"GH_TOKEN={token()}\n".encode()
    (repo / ".env").write_bytes(padded)
    git(repo, "add", ".env")
    code, out, err = scan(capsys, "--staged")
    assert code == 2
    assert ".env (binary (NUL bytes), but named like text)" in err
