"""`import stockade.ledger` loads nothing, and a process that only appends (the
sandbox recorder, a hook) loads neither the verifier nor socket/getpass/uuid:
each `stockade run` pays for them in its start-up otherwise.  The actor it
records is the same as before."""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import stockade.ledger
from stockade.ledger.event import default_actor

_APPEND_ONLY = """
import json, sys
import stockade.ledger
bare = sorted(m for m in sys.modules if m.startswith("stockade.ledger."))
from stockade.ledger import open_ledger
with open_ledger() as led:
    led.append("session.start", details={"n": 1}, session="s", decision=None)
print(json.dumps({"bare": bare, "loaded": sorted(sys.modules)}))
"""


def _run(code: str, home: Path) -> dict[str, list[str]]:
    env = {**os.environ, "STOCKADE_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    result: dict[str, list[str]] = json.loads(out)
    return result


def test_the_package_import_loads_nothing_and_appending_skips_the_verifier(
        tmp_path: Path) -> None:
    _run(_APPEND_ONLY, tmp_path / "home")  # creates (and first signs) the ledger
    got = _run(_APPEND_ONLY, tmp_path / "home")  # what every later start pays
    assert got["bare"] == []
    loaded = set(got["loaded"])
    assert "stockade.ledger.sqlite" in loaded  # it did append
    for heavy in ("stockade.ledger.verify", "socket", "getpass", "uuid", "platform"):
        assert heavy not in loaded, heavy
    # and a ledger made that way verifies
    env = {**os.environ, "STOCKADE_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-m", "stockade", "ledger", "verify"], env=env,
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_public_name_still_resolves() -> None:
    for name in stockade.ledger.__all__:
        assert getattr(stockade.ledger, name) is not None
        assert name in dir(stockade.ledger)
    try:
        stockade.ledger.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_the_default_actor_is_unchanged(monkeypatch: object) -> None:
    actor = default_actor()
    try:
        user: str | None = getpass.getuser()
    except (KeyError, OSError):
        user = None
    assert actor.user == user
    assert actor.host == (socket.gethostname() or None)
    assert actor.pid == os.getpid()
