"""Bypass class: files planted in the policy-view cache folder.

The cache lives in stockade's state directory, which the sandbox never shows
(asserted at the end, from inside a real sandbox).  Whatever can write there
anyway (another local account on a shared state dir, a bug) must not be able
to hang ``stockade run`` with a FIFO where an entry should be, redirect the
cache's write through a symlink planted at its temporary name (before the fix
that name was ``<entry>.<pid>``, opened with ``O_TRUNC`` and followed: any
file the user can write was overwritten), or have an entry that others can
rewrite taken as ours.
"""

from __future__ import annotations

import marshal
import os
import threading
from pathlib import Path

import pytest

from stockade.sandbox import deps, viewcache
from stockade.state import StateDir


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("STOCKADE_HOME", str(tmp_path / "state"))
    for name in ("STOCKADE_POLICY", "STOCKADE_MANAGED_POLICY", "STOCKADE_LEDGER",
                 "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    StateDir(tmp_path / "state").ensure()
    (tmp_path / "ws").mkdir()
    monkeypatch.chdir(tmp_path / "ws")
    (tmp_path / "policy.yaml").write_text("version: 1\nnetwork:\n  allow: [pypi.org]\n")
    return tmp_path


def entry_path(env: Path) -> Path:
    key = viewcache.cache_key(policy_file=str(env / "policy.yaml"), workspace=str(env / "ws"),
                              env=os.environ)
    return Path(viewcache.entry_path(str(env / "state"), key))


def load(env: Path) -> deps.PolicyView:
    return deps.load_view(policy_file=str(env / "policy.yaml"), workspace=str(env / "ws"))


def test_a_fifo_at_the_entry_does_not_hang_the_start(env: Path) -> None:
    entry = entry_path(env)
    entry.parent.mkdir(mode=0o700, exist_ok=True)
    os.mkfifo(entry)
    got: list[deps.PolicyView] = []
    t = threading.Thread(target=lambda: got.append(load(env)), daemon=True)
    t.start()
    t.join(15)
    if t.is_alive():  # unblock the reader before failing
        os.close(os.open(entry, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load_view blocked on a FIFO planted as the cache entry")
    assert got[0].allow("pypi.org", 443)


def test_a_symlink_at_the_temporary_name_redirects_nothing(env: Path) -> None:
    entry = entry_path(env)
    entry.parent.mkdir(mode=0o700, exist_ok=True)
    victim = env / "home" / ".bashrc"
    victim.write_text("# the user's own\n")
    os.symlink(victim, f"{entry}.{os.getpid()}")
    assert load(env).allow("pypi.org", 443)
    assert victim.read_text() == "# the user's own\n"
    assert entry.is_file() and not entry.is_symlink()  # cached all the same
    assert oct(entry.stat().st_mode & 0o777) == "0o600"


def test_an_entry_others_can_write_is_not_used(env: Path) -> None:
    load(env)
    entry = entry_path(env)
    tag, _, body = entry.read_bytes().partition(b"\n")
    data = marshal.loads(body)
    data["network"]["allow"] = ["evil.example"]
    forged = marshal.dumps(data)
    secret = viewcache.read_key(str(env / "state"))
    assert secret is not None
    key = entry.name[len(viewcache.PREFIX):-len(".bin")]
    # correctly signed (this test holds the key), but group/world-writable:
    # whoever else could write it may have, so it is not ours to trust
    entry.write_bytes(viewcache.mac(secret, key.encode() + b"\0" + forged).encode() + b"\n"
                      + forged)
    entry.chmod(0o666)
    view = load(env)
    assert view.allow("pypi.org", 443) and not view.allow("evil.example", 443)
    assert tag  # the original entry was signed as well


@pytest.mark.e2e
def test_the_state_dir_is_out_of_sight_even_under_a_shown_folder(tmp_path: Path,
                                                               stockade: object) -> None:
    shared = tmp_path / "shared"
    state = shared / "state"
    ws = tmp_path / "ws2"
    ws.mkdir()
    policy = tmp_path / "shown.yaml"
    policy.write_text(f"version: 1\nfilesystem:\n  read: ['{shared}']\n")
    run = stockade  # the conftest fixture: real bubblewrap
    env = {"STOCKADE_HOME": str(state)}
    for _ in range(2):  # the first session makes the state key, the second caches
        first = run("run", "--policy", str(policy), "--", "true", cwd=ws, env=env)  # type: ignore[operator]
        assert first.returncode == 0, first.stderr
    assert list((state / "cache").glob(viewcache.PREFIX + "*"))  # there is a cache to find
    probe = (f"ls -A {state} {state}/cache {state}/keys 2>&1; "
             f"cat {state}/keys/fingerprint.key >/dev/null 2>&1 && echo READ-KEY; "
             f"touch {state}/cache/x 2>/dev/null && echo WROTE-CACHE; ls -A {shared}")
    r = run("run", "--policy", str(policy), "--", "sh", "-c", probe, cwd=ws, env=env)  # type: ignore[operator]
    assert r.returncode == 0, r.stderr
    assert "READ-KEY" not in r.stdout and "WROTE-CACHE" not in r.stdout
    assert viewcache.PREFIX not in r.stdout and "fingerprint" not in r.stdout
