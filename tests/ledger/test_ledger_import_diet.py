"""What opening the ledger and appending loads, in a fresh interpreter.

`stockade run` cannot start the agent before its recorder process has
imported the ledger and recorded ``session.start``, and every hook call
appends too: their start-up is mostly imports.  So the write path keeps out
the modules below (each a few ms: dataclasses brings inspect, pathlib brings
urllib.parse and ipaddress, hashlib and hmac bring OpenSSL), and
cryptography, which only signing and checking checkpoints need.  These tests
fail when one of them comes back on that path.

The signing path may load more: see
test_a_due_checkpoint_loads_what_it_needs.
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.errors import EnvironmentProblem
from stockade.ledger import open_ledger
from stockade.ledger.chain import _builtin_sha256, leaf_hash
from stockade.state import StateDir

KEPT_OUT = (
    "dataclasses", "inspect", "pathlib", "urllib.parse", "ipaddress", "hashlib", "_hashlib",
    "hmac", "secrets", "random", "base64", "stockade.model", "stockade.ledger.verify", "typing",
    # json brings re and enum: the canonical encoder drives json's C encoder
    # itself (stockade/canonical.py), reading events imports json when needed
    "json", "re", "enum",
    # the rest of the stdlib's costly modules: the ledger uses _thread,
    # _sqlite3 (sqlite3 would bring datetime) and stockade.lite.contextmanager
    # (functools and collections come anyway: _sqlite3's statement cache)
    "threading", "contextlib", "datetime", "importlib", "warnings", "signal",
)

# What the sandbox's recorder does (sandbox/deps.open_recorder and the recorder's
# own use of LedgerSettings), then the same through open_ledger with an explicit
# state directory and an actor, and a batch: every way in that appends.  Prints
# the modules it loaded (not those the interpreter's start-up had loaded).
_WRITE_PATH = """
import sys
started_with = set(sys.modules)
from stockade.ledgerconf import LedgerSettings, ledger_settings
from stockade.ledger import NewEvent, open_ledger
from stockade.actor import Actor  # what stockade.model re-exports
from stockade.state import StateDir
st = ledger_settings()
st = LedgerSettings(url=st.url, durability=st.durability, checkpoint_every=st.checkpoint_every)
with open_ledger(st.url, durability=st.durability, checkpoint_every=st.checkpoint_every) as led:
    led.append("session.start", details={"argv": ["true"]}, session="s1", decision="allow")
    led.append_many([NewEvent("net.deny", {"host": "example.org"}, session="s1")])
    led.precheck_checkpoint()  # the recorder's session.end: reads the checkpoints
with open_ledger(state=StateDir.default(), actor=Actor(agent="a")) as led:
    with led.batch() as b:
        b.append("session.end", details={"code": 0}, session="s1")
print(repr(sorted(set(sys.modules) - started_with)))
"""


def _run(code: str, home: Path) -> set[str]:
    env = {**os.environ, "STOCKADE_HOME": str(home)}
    env.pop("STOCKADE_LEDGER", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    return set(ast.literal_eval(out))


def test_opening_and_appending_keeps_the_heavy_modules_out(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _run(_WRITE_PATH, home)  # makes the state directory, keys and ledger (and signs seq 0)
    loaded = _run(_WRITE_PATH, home)  # what every later start pays
    assert "stockade.ledger.sqlite" in loaded  # it did append
    back = sorted(m for m in loaded
                  if m in KEPT_OUT or m == "cryptography" or m.startswith("cryptography."))
    assert back == [], f"back on the ledger's write path: {back}"
    # The chain written without OpenSSL's SHA-256 verifies with it (the verifier
    # uses hashlib): the digests are the same.
    with open_ledger(state=StateDir(home), create=False) as led:
        assert led.verify().events == 6


def test_a_due_checkpoint_loads_what_it_needs(tmp_path: Path) -> None:
    """Deferred, not lost: the first append past a boundary still signs a
    checkpoint and writes its file (base64, hashlib, pathlib, cryptography)."""
    home = tmp_path / "home"
    _run(_WRITE_PATH, home)  # seq 1-3, checkpoint 0
    loaded = _run(_WRITE_PATH.replace("checkpoint_every=st.checkpoint_every",
                                      "checkpoint_every=2"), home)
    assert "cryptography" in loaded
    with open_ledger(state=StateDir(home), create=False) as led:
        cp = led.latest_checkpoint()
        assert cp is not None and cp.seq == 4
        assert led.checkpoint_path is not None and led.checkpoint_path.is_file()
        assert led.verify().checkpoints_checked >= 2


def test_the_builtin_sha256_gives_openssls_digests() -> None:
    for data in (b"", b"\x00" * 64, os.urandom(1000), "é€".encode()):
        assert _builtin_sha256(data).digest() == hashlib.sha256(data).digest()
    prev = bytes(range(32))
    assert leaf_hash(prev, b"{}") == hashlib.sha256(b"\x00" + prev + b"{}").digest()


def test_a_broken_signing_key_still_stops_the_append(tmp_path: Path) -> None:
    """The key file is read without cryptography now; a file that is not a key
    must still refuse the append, before anything is stored."""
    state = StateDir(tmp_path / "s").ensure()
    with open_ledger(state=state) as led:
        led.append("a.b", details={})
    key = state.keys_dir / "ledger-signing.key"
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n")
    with open_ledger(state=state) as led, pytest.raises(EnvironmentProblem, match="not an Ed25519"):
        led.append("a.b", details={})
    key.unlink()
    with open_ledger(state=state, create=False) as led:
        with pytest.raises(EnvironmentProblem, match="is missing"):
            led.append("a.b", details={})
        assert len(led) == 1
