"""Stockade API keys for team mode.

A key is shown once, at creation (``stk_<id>_<secret>``); the state directory
keeps only its SHA-256 (the secret is 256 random bits, so a plain hash is not
brute-forceable) with the user and team it stands for.  The gateway reloads
the file when it changes, so ``stockade keys create`` takes effect without a
restart and ``stockade keys revoke`` stops a key at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stockade.errors import EnvironmentProblem, UsageError
from stockade.state import StateDir

KEYS_FILE = "gateway-keys.json"
_KEY_RE = re.compile(r"^stk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    user: str
    team: str | None
    created: float
    revoked: float | None = None

    def to_public(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "team": self.team,
                "created": self.created, "revoked": self.revoked}


def _digest(secret_key: str) -> str:
    return hashlib.sha256(secret_key.encode("utf-8")).hexdigest()


def _path(state: StateDir) -> Path:
    return state.root / KEYS_FILE


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {"version": 1, "keys": []}
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(f"cannot read {path}: {type(exc).__name__}",
                                 hint="restore it from a backup or remove it and create keys again") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise EnvironmentProblem(f"{path} is not a stockade key file")
    return data


def _save(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time: sessions create and revoke keys concurrently, and
    a read-modify-write without a lock can lose a revoke (a key left valid)."""
    import fcntl

    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def create_key(state: StateDir, *, user: str, team: str | None) -> tuple[str, KeyRecord]:
    """A new key for ``user`` (in ``team``).  Returns the key (shown once) and its record."""
    for what, val in (("--user", user), ("--team", team)):
        if val is not None and not _NAME_RE.match(val):
            raise UsageError(f"{what} {val!r}: use letters, digits and . _ @ + - (max 128)")
    state.ensure()
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    secret_key = f"stk_{key_id}_{secrets.token_urlsafe(32)}"
    rec = KeyRecord(id=key_id, user=user, team=team, created=round(time.time(), 3))
    path = _path(state)
    with _locked(path):
        data = _load(path)
        data["keys"].append(dict(rec.to_public(), sha256=_digest(secret_key)))
        _save(path, data)
    return secret_key, rec


def list_keys(state: StateDir) -> list[KeyRecord]:
    return [KeyRecord(id=k["id"], user=k["user"], team=k.get("team"), created=k["created"],
                      revoked=k.get("revoked")) for k in _load(_path(state))["keys"]]


def revoke_key(state: StateDir, key_id: str) -> KeyRecord:
    path = _path(state)
    with _locked(path):
        data = _load(path)
        for k in data["keys"]:
            if k["id"] == key_id:
                if k.get("revoked") is None:
                    k["revoked"] = round(time.time(), 3)
                    _save(path, data)
                return KeyRecord(id=k["id"], user=k["user"], team=k.get("team"),
                                 created=k["created"], revoked=k["revoked"])
    raise UsageError(f"no key with id {key_id!r}", hint="run `stockade keys list`")


class KeyStore:
    """Verifies presented keys; re-reads the file when its mtime changes."""

    def __init__(self, state: StateDir) -> None:
        self._path = _path(state)
        self._stamp: tuple[int, int] | None = None
        self._by_digest: dict[str, KeyRecord] = {}
        self._lock = threading.Lock()
        self._checked = 0.0

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < 0.5 and self._stamp is not None:
            return
        self._checked = now
        try:
            st = self._path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp == self._stamp:
            return
        data = _load(self._path)
        table: dict[str, KeyRecord] = {}
        for k in data["keys"]:
            if k.get("revoked") is None:
                table[k["sha256"]] = KeyRecord(id=k["id"], user=k["user"], team=k.get("team"),
                                               created=k["created"])
        self._by_digest, self._stamp = table, stamp

    def verify(self, presented: str | None) -> KeyRecord | None:
        if not presented or not _KEY_RE.match(presented):
            return None
        with self._lock:
            self._refresh()
            return self._by_digest.get(_digest(presented))
