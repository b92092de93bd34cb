"""Regression: a baseline carried its HMAC key in clear next to 80-bit fingerprints.

With the key in the file, anyone holding the baseline could test guesses of
short values offline.  Baselines are now keyed with this machine's state key
(derived; never written) and record only the key's id.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from stockade.cli import main
from stockade.dlp.fakes import sample
from stockade.state import keyed_hash


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("STOCKADE_POLICY", raising=False)


def scan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["scan", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _tree(tmp_path: Path) -> tuple[Path, str]:
    tree = tmp_path / "tree"
    tree.mkdir()
    value = sample("generic_password", random.Random()).value
    (tree / "app.env").write_text(f"DB_PASSWORD={value}\n")
    return tree, value


def test_baseline_holds_no_key_and_fingerprints_need_the_machine_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree, value = _tree(tmp_path)
    baseline = tmp_path / "baseline.json"
    code, _, _ = scan(capsys, "--write-baseline", str(baseline), str(tree))
    assert code == 0
    text = baseline.read_text()
    data = json.loads(text)
    assert "key" not in data and value not in text
    (item,) = data["findings"]
    # No hex string in the file reproduces the fingerprint as a key.
    for candidate in re.findall(r"[0-9a-f]{16,}", text):
        assert keyed_hash(value, bytes.fromhex(candidate[: len(candidate) // 2 * 2])) != item["fingerprint"]
    from stockade.commands.scan import baseline_key

    assert item["fingerprint"] == keyed_hash(value, baseline_key())
    code, _, _ = scan(capsys, "--baseline", str(baseline), str(tree))
    assert code == 0


def test_baseline_from_another_machine_is_refused_not_silently_unmatched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree, _ = _tree(tmp_path)
    baseline = tmp_path / "baseline.json"
    assert scan(capsys, "--write-baseline", str(baseline), str(tree))[0] == 0
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "other-machine"))
    code, _, err = scan(capsys, "--baseline", str(baseline), str(tree))
    assert code == 2 and "another machine's key" in err


def test_old_baseline_with_clear_key_is_refused(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    tree, _ = _tree(tmp_path)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "stockade-baseline/1", "key": "00" * 16, "findings": []}))
    code, _, err = scan(capsys, "--baseline", str(old), str(tree))
    assert code == 2 and "key in clear" in err
