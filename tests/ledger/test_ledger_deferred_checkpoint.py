"""The end-of-session checkpoint is signed after `stockade run` has exited:
the session recorder holds the ledger's "checkpoint coming" lock first, and
`verify` waits for it, so a verify run right after a session still sees the
session covered by a signature.  A signature that fails is recorded."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from stockade.ledger import Ledger, open_ledger
from stockade.state import StateDir


def test_verify_waits_for_a_held_checkpoint(home: StateDir) -> None:
    with open_ledger(state=home, checkpoint_every=0) as writer:
        writer.append("session.start", details={}, session="s-1")
        writer.append("session.end", details={"exit_status": 0}, session="s-1")
        release = writer.hold_checkpoint()
        assert release is not None
        seen: list[int] = []

        def verify() -> None:
            with open_ledger(state=home, checkpoint_every=0) as reader:
                seen.append(reader.verify().unsigned_events)

        t = threading.Thread(target=verify)
        t.start()
        time.sleep(0.3)
        assert t.is_alive(), "verify did not wait for the pending checkpoint"
        writer.checkpoint()
        release()
        t.join(timeout=10)
    assert seen == [0]  # the session's events are covered when verify reads them


def test_verify_does_not_wait_for_ever(home: StateDir, monkeypatch: pytest.MonkeyPatch) -> None:
    # a holder that never signs (killed mid-way): verify goes on after its
    # wait and says the tail is not anchored, rather than hanging
    monkeypatch.setattr(Ledger, "pending_wait", 0.2)
    with open_ledger(state=home, checkpoint_every=0) as writer:
        writer.append("session.start", details={}, session="s-1")
        release = writer.hold_checkpoint()
        assert release is not None
        try:
            with open_ledger(state=home, checkpoint_every=0) as reader:
                t0 = time.monotonic()
                report = reader.verify()
                assert time.monotonic() - t0 < 5
            assert report.unsigned_events == 1
        finally:
            release()


_FAILING = """
import os, sys
from stockade.sandbox.recorder import _sign_now

class Broken:
    appended = []
    def checkpoint(self):
        raise RuntimeError("disk gone")
    def append(self, kind, **kw):
        Broken.appended.append((kind, kw["details"]))

released = []
_sign_now(Broken(), lambda: released.append(True))
os.write(3, repr((Broken.appended, released)).encode())
"""


def test_a_failed_deferred_signature_is_recorded_and_the_lock_released() -> None:
    # in a fresh interpreter: _sign_now points stdout/stderr at /dev/null
    r, w = __import__("os").pipe()
    proc = subprocess.run([sys.executable, "-c", _FAILING.replace("os.write(3", f"os.write({w}")],
                          pass_fds=(w,), capture_output=True, text=True, timeout=60)
    __import__("os").close(w)
    with open(r, "rb") as f:
        got = f.read().decode()
    assert proc.returncode == 0, proc.stderr
    assert got == repr(([("session.checkpoint_failed", {"error": "RuntimeError"})], [True]))
    assert proc.stdout == proc.stderr == ""  # let go of the caller's pipes first


_HOLD = """
import sys
from stockade.ledger import open_ledger
with open_ledger(checkpoint_every=0) as led:
    led.append("session.end", details={}, session="s-1")
    release = led.hold_checkpoint()
    assert release is not None
    print(sorted(m for m in ("pathlib", "cryptography", "dataclasses") if m in sys.modules))
    release()
"""


def test_holding_the_checkpoint_loads_nothing_heavy(home: StateDir) -> None:
    # the session recorder takes the lock while `stockade run` waits for it
    import os

    with open_ledger(state=home, checkpoint_every=0):
        pass  # made (and its first checkpoint signed) beforehand, as by `stockade init`
    r = subprocess.run([sys.executable, "-c", _HOLD], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "STOCKADE_HOME": str(home.root)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
