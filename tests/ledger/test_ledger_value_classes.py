"""The ledger's value classes behave as the frozen dataclasses they replaced
(to keep dataclasses off the append path): built by keyword, compared and
hashed by value, immutable, pickled whole, and Event's repr leaves out its
stored bytes."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import pytest

import stockade.model
from stockade.actor import Actor
from stockade.ledger import Checkpoint, Event, NewEvent, NoWait
from stockade.ledgerconf import LedgerSettings
from stockade.state import StateDir


def _immutable(obj: object, name: str) -> None:
    with pytest.raises(AttributeError):
        setattr(obj, name, None)
    with pytest.raises(AttributeError):
        delattr(obj, name)


def _roundtrips(obj: Any) -> None:
    for again in (pickle.loads(pickle.dumps(obj)), copy.copy(obj), copy.deepcopy(obj)):
        assert again == obj and type(again) is type(obj)


def test_actor() -> None:
    assert stockade.model.Actor is Actor
    a = Actor(user="u", agent="claude-code", pid=7)
    assert a == Actor("u", None, "claude-code", None, None, 7)
    assert hash(a) == hash(Actor(user="u", agent="claude-code", pid=7))
    assert a != Actor(user="u")
    assert a._replace(agent="ci") == Actor(user="u", agent="ci", pid=7)
    assert a.to_dict() == {"user": "u", "agent": "claude-code", "pid": 7}
    assert repr(a) == ("Actor(user='u', team=None, agent='claude-code', host=None, "
                       "process=None, pid=7)")
    assert Actor() == Actor(None, None, None, None, None, None)
    _immutable(a, "user")
    _roundtrips(a)


def test_ledger_settings() -> None:
    st = LedgerSettings(url=None)
    assert (st.durability, st.checkpoint_every) == ("process", 1000)
    assert st._replace(url="sqlite:///x") == LedgerSettings("sqlite:///x", "process", 1000)
    sent = {"url": "u", "durability": "power-loss", "checkpoint_every": 5}  # the recorder's
    assert LedgerSettings(**sent) == LedgerSettings("u", "power-loss", 5)
    _immutable(st, "url")
    _roundtrips(st)


def test_checkpoint() -> None:
    cp = Checkpoint(ledger_id="abc", seq=3, head=bytes(32), ts="2026-01-01T00:00:00.000000Z",
                    key_fingerprint="sha256:00", signature=b"\x01" * 64)
    assert Checkpoint.from_dict(cp.to_dict()) == cp
    assert hash(Checkpoint.from_dict(cp.to_dict())) == hash(cp)
    assert cp._replace(seq=4) != cp
    _immutable(cp, "seq")
    _roundtrips(cp)


def _event(raw: bytes = b"{...}", **changes: Any) -> Event:
    fields: dict[str, Any] = {"seq": 1, "ts": "2026-01-01T00:00:00.000000Z", "session": "s",
                              "actor": Actor(user="u"), "kind": "a.b", "decision": None,
                              "details": {"n": 1}}
    fields.update(changes)
    return Event(**fields, raw=raw)


def test_event() -> None:
    ev = _event()
    assert ev == _event(raw=b"other bytes")  # raw is not compared
    assert ev != _event(seq=2) and ev != _event(details={"n": 2})
    assert ev == Event(1, "2026-01-01T00:00:00.000000Z", "s", Actor(user="u"), "a.b", None,
                       {"n": 1}, b"")
    assert ev.raw == b"{...}"
    marker = b"raw-bytes-" + bytes.fromhex("00ff")
    text = repr(_event(raw=marker))
    assert "raw" not in text and "raw-bytes" not in text
    assert text.startswith("Event(seq=1, ts='2026-01-01T00:00:00.000000Z', session='s', ")
    with pytest.raises(TypeError):
        hash(ev)  # a dict of details: unhashable, as the dataclass was
    assert hash(_event(details=())) == hash(_event(details=(), raw=b"x"))
    _immutable(ev, "seq")
    _immutable(ev, "raw")
    for again in (pickle.loads(pickle.dumps(ev)), copy.copy(ev)):
        assert again == ev and again.raw == ev.raw
    assert Event.from_bytes(b'{"actor":{},"decision":null,"details":{},"kind":"a.b",'
                            b'"seq":1,"session":null,"ts":"t"}').actor == Actor()


def test_state_dir(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "s")
    assert state == StateDir(str(tmp_path / "s")) == StateDir(f"{tmp_path}//s/./")
    assert hash(state) == hash(StateDir(str(tmp_path / "s")))
    assert state != StateDir(tmp_path)
    assert state.root == tmp_path / "s" and isinstance(state.root, Path)
    assert state.keys_dir == tmp_path / "s" / "keys"
    assert state.ledger_path == tmp_path / "s" / "ledger.db"
    assert state.ledger_url == f"sqlite:///{tmp_path / 's' / 'ledger.db'}"
    assert state.keys_file("fingerprint.key") == str(state.keys_dir / "fingerprint.key")
    assert repr(state) == f"StateDir(root={tmp_path / 's'!r})"
    for root in ("/", "rel", "."):
        assert StateDir(root).ledger_url == f"sqlite:///{Path(root) / 'ledger.db'}"
    _immutable(state, "root")
    _roundtrips(state)
    match state:
        case StateDir(root=root):
            assert root == tmp_path / "s"


def test_new_event_and_nowait() -> None:
    ev = NewEvent("a.b")
    assert dict(ev.details) == {} and ev == NewEvent("a.b", {}, None, None, None)
    with pytest.raises(TypeError):
        ev.details["x"] = 1  # type: ignore[index]  # the shared default is read-only
    assert NewEvent(kind="a.b", details={"k": 1}, session="s").session == "s"
    _immutable(ev, "kind")
    nw = NoWait()
    assert nw == NoWait(busy=False) and repr(nw) == "NoWait(busy=False)"
    nw.busy = True
    assert nw == NoWait(True)
