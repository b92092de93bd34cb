"""`stockade scan` masks file names that hold a finding (UX review item 10)
and explains a broken baseline (item 17)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from stockade import cli
from stockade.dlp.fakes import sample
from stockade.errors import EXIT_FOUND, EXIT_USAGE


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))


def _tree(tmp_path: Path, rule_id: str) -> tuple[Path, str, str]:
    """A tree with a file named after a token, holding another secret."""
    rng = random.Random(rule_id)
    name = sample(rule_id, rng).value
    content = sample("aws_access_key_id", rng)
    root = tmp_path / "repo"
    (root / "keys").mkdir(parents=True)
    (root / "keys" / f"{name}.txt").write_text(content.text + "\n", encoding="utf-8")
    (root / "ok.txt").write_text(content.text + "\n", encoding="utf-8")
    return root, name, content.value


@pytest.mark.parametrize("fmt", ["table", "json", "sarif"])
@pytest.mark.parametrize("rule_id", ["github_pat_classic", "stripe_secret_key"])
def test_scan_masks_a_token_in_a_file_name(
    fmt: str, rule_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, name, value = _tree(tmp_path, rule_id)
    monkeypatch.chdir(root)
    assert cli.main(["scan", "--format", fmt, "."]) == EXIT_FOUND
    out = capsys.readouterr()
    assert name not in out.out + out.err and value not in out.out + out.err
    # Both files are still reported, the plain name as it is.
    assert "ok.txt" in out.out and out.out.count("keys/") >= 1
    if fmt == "sarif":
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for r in json.loads(out.out)["runs"][0]["results"]]
        assert len(uris) == 2 and all(name not in u for u in uris)


def test_a_baseline_records_the_masked_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, name, _ = _tree(tmp_path, "github_pat_classic")
    monkeypatch.chdir(root)
    base = tmp_path / "base.json"
    assert cli.main(["scan", "--write-baseline", str(base), "."]) == 0
    assert name not in base.read_text(encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["scan", "--baseline", str(base), "."]) == 0


def test_a_baseline_that_is_not_json_says_where_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "badbase.json"
    base.write_text('{"format": "stockade-baseline/2",\n  oops}\n', encoding="utf-8")
    assert cli.main(["scan", "--baseline", str(base), "."]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{base}:2: not valid JSON" in err
    assert "hint:" in err and "--write-baseline" in err
    assert "JSONDecodeError" not in err
