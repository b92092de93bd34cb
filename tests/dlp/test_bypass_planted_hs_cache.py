"""Regression: a hyperscan database planted in the cache turned detection off.

The cache file's name is derived from public rule text, so anyone who can
write ``$XDG_CACHE_HOME/stockade`` (an agent in a sandbox, another tool) could
replace it with a database that never matches; ``Engine.scan`` then returned
``[]`` while the plain path found everything.  Cached databases are now
sealed with an HMAC under the state key, and any hyperscan failure falls
back to the plain path.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import sample
from stockade.dlp.prefilter import hyperscan_available
from stockade.state import StateDir

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")

RULES = ("aws_access_key_id", "github_pat_classic", "email")


def _text() -> str:
    rng = random.Random()
    return "\n".join(sample(r, rng).text for r in RULES)


def _never_matching_db() -> bytes:
    import hyperscan as hs

    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(expressions=[b"q" * 12], ids=[0], elements=1, flags=[0])
    return bytes(hs.dumpb(db))


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    cache, state = tmp_path / "cache", tmp_path / "state"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("STOCKADE_HOME", str(state))
    return cache / "stockade", state


def _cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("hs-*.db")) if cache.exists() else []


def test_planted_never_matching_database_does_not_hide_findings(dirs: tuple[Path, Path]) -> None:
    cache, state = dirs
    StateDir(state).ensure()
    text = _text()
    expected = [f.rule_id for f in Engine(accelerate=False).scan(text)]
    assert expected == list(RULES)
    assert [f.rule_id for f in Engine(accelerate=True).scan(text)] == expected
    (path,) = _cache_files(cache)
    path.write_bytes(_never_matching_db())  # what an attacker plants, old format
    engine = Engine(accelerate=True)
    assert engine.accelerated
    assert [f.rule_id for f in engine.scan(text)] == expected
    # The forged file was replaced by a sealed one, which is then used.
    assert path.read_bytes() != _never_matching_db()
    assert [f.rule_id for f in Engine(accelerate=True).scan(text)] == expected


def test_sealed_file_with_swapped_database_is_refused(dirs: tuple[Path, Path]) -> None:
    """Keep a real header and tag, swap the database: the tag covers it."""
    cache, state = dirs
    StateDir(state).ensure()
    text = _text()
    Engine(accelerate=True)
    (path,) = _cache_files(cache)
    sealed = path.read_bytes()
    head = sealed.index(b"\n") + 1 + 32
    path.write_bytes(sealed[:head] + _never_matching_db())
    assert [f.rule_id for f in Engine(accelerate=True).scan(text)] == list(RULES)


def test_without_state_key_the_disk_cache_is_not_used(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, state = dirs
    StateDir(state).ensure()
    text = _text()
    Engine(accelerate=True)
    (path,) = _cache_files(cache)  # learn the name, then lose the key
    monkeypatch.setenv("STOCKADE_HOME", str(state.parent / "no-state-here"))
    planted = _never_matching_db()
    path.write_bytes(planted)
    engine = Engine(accelerate=True)
    assert engine.accelerated and [f.rule_id for f in engine.scan(text)] == list(RULES)
    assert path.read_bytes() == planted  # neither read nor rewritten
    assert not (state.parent / "no-state-here").exists()  # building an engine creates no state


def test_hyperscan_scan_error_falls_back_to_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.dlp import prefilter

    def broken(self: object, text: str) -> None:
        raise RuntimeError("hyperscan scan failed")

    engine = Engine(accelerate=True)
    monkeypatch.setattr(prefilter.HyperscanFinder, "find", broken)
    text = _text()
    assert [f.rule_id for f in engine.scan(text)] == list(RULES)


def test_hyperscan_setup_error_falls_back_to_plain_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.dlp import engine as engine_mod

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no hyperscan today")

    monkeypatch.setattr(engine_mod, "HyperscanFinder", broken)
    engine = Engine(accelerate=True)
    assert not engine.accelerated
    assert [f.rule_id for f in engine.scan(_text())] == list(RULES)


@pytest.mark.parametrize("plant", ["fifo", "symlink", "huge"])
def test_odd_things_planted_at_the_cache_path_are_not_read(
    plant: str, dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    import os

    cache, state = dirs
    StateDir(state).ensure()
    Engine(accelerate=True)
    (path,) = _cache_files(cache)
    path.unlink()
    if plant == "fifo":  # an open() for reading would block forever
        os.mkfifo(path)
    elif plant == "symlink":
        target = tmp_path / "elsewhere.db"
        target.write_bytes(_never_matching_db())
        path.symlink_to(target)
    else:
        with open(path, "wb") as fh:
            fh.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    assert [f.rule_id for f in Engine(accelerate=True).scan(_text())] == list(RULES)
