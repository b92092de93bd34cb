"""Bypass: the client's session header (``X-Claude-Code-Session-Id``) was stored
in the ledger verbatim, and it is recorded for every request, refused ones
included, before anything is scanned: a value put there reached the ledger.
A UUID (what Claude Code and Codex send) or a short id is stored as given,
anything else as a keyed hash, the same for every request of the session."""

from __future__ import annotations

from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream

_BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def test_a_uuid_session_is_stored_as_given(gw: RunningGateway, fake: FakeUpstream) -> None:
    sid = "C5AE883E-7e1f-4073-82ab-cd98f626cfd5"
    assert gw.request("POST", "/v1/messages", _BODY,
                      headers={"X-Claude-Code-Session-Id": sid})[0] == 200
    assert {e["session"] for e in gw.events()} == {sid}


def test_any_other_session_value_is_stored_as_a_keyed_hash(gw: RunningGateway,
                                                            fake: FakeUpstream) -> None:
    value = fake_secret()
    for _ in range(2):
        gw.request("POST", "/v1/messages", headers={"X-Claude-Code-Session-Id": value},
                   raw=b"{not json")  # refused before any scan, recorded all the same
    gw.request("GET", "/v1/nowhere", headers={"session-id": value})
    events = gw.events()
    assert len(events) == 3
    sessions = {e["session"] for e in events}
    assert len(sessions) == 1  # one session, still grouped
    [stored] = sessions
    assert stored.startswith("session-hmac-sha256:")
    assert value not in str(gw.ledger.events)


def test_a_long_or_odd_id_is_hashed_a_short_one_is_not(gw: RunningGateway,
                                                       fake: FakeUpstream) -> None:
    for sid, kept in [("s-1", True), ("run42.a", True), ("x" * 17, False),
                      ("4111 1111", False), ("12345678", False)]:
        gw.request("POST", "/v1/messages", _BODY, headers={"session-id": sid})
        stored = gw.events()[-1]["session"]
        assert (stored == sid) is kept, sid
