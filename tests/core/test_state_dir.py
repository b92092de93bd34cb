"""State directory: created on first use, private, never overwritten."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from stockade.state import StateDir, default_root, keyed_hash


def test_default_root_honours_stockade_home_then_xdg(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "sh"))
    assert default_root() == tmp_path / "sh"
    monkeypatch.delenv("STOCKADE_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "stockade"


def test_ensure_creates_private_keys_once(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state").ensure()
    key_file = state.keys_dir / "ledger-signing.key"
    hmac_file = state.keys_dir / "fingerprint.key"
    for f in (key_file, hmac_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.root.stat().st_mode) == 0o700
    first_key, first_hmac = key_file.read_bytes(), state.hmac_key()
    StateDir(tmp_path / "state").ensure()  # second run must not replace keys
    assert key_file.read_bytes() == first_key
    assert state.hmac_key() == first_hmac
    assert b"PUBLIC KEY" in state.public_key_pem()


def test_signing_key_matches_published_public_key(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    state = StateDir(tmp_path).ensure()
    sig = state.signing_key().sign(b"checkpoint")
    load_pem_public_key(state.public_key_pem()).verify(sig, b"checkpoint")  # type: ignore[union-attr]


def test_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    from stockade.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem, match="is missing") as info:
        StateDir(tmp_path / "nothing").hmac_key()
    assert "stockade init" in info.value.diagnostic()


def test_keyed_hash_is_keyed_and_does_not_contain_the_value() -> None:
    value = "pw-" + os.urandom(8).hex()
    a = keyed_hash(value, b"k1" * 16)
    assert a == keyed_hash(value, b"k1" * 16)
    assert a != keyed_hash(value, b"k2" * 16)
    assert value not in a and a.startswith("hmac-sha256:")


def test_a_truncated_fingerprint_key_is_refused(tmp_path: Path) -> None:
    from stockade.errors import EnvironmentProblem

    state = StateDir(tmp_path).ensure()
    (state.keys_dir / "fingerprint.key").write_bytes(b"")
    with pytest.raises(EnvironmentProblem, match="must be 32"):
        state.hmac_key()
