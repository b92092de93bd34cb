"""Events: the stored bytes are canonical JSON of the whole event, made once."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.errors import UsageError
from stockade.ledger import Event, canonical_json, validate_kind
from stockade.ledger.event import default_actor, now_ts, prepare
from stockade.model import Actor

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    details=st.dictionaries(st.text(), json_values, max_size=6),
    session=st.none() | st.text(min_size=1, max_size=40),
    decision=st.none() | st.text(min_size=1, max_size=10),
    seq=st.integers(min_value=1, max_value=10**12),
    user=st.none() | st.text(max_size=10),
)
def test_stored_bytes_are_canonical_json_of_the_whole_event(
    details: dict[str, Any], session: str | None, decision: str | None, seq: int,
    user: str | None,
) -> None:
    try:
        pending = prepare("llm.request", details=details, session=session, decision=decision,
                          actor=Actor(user=user, pid=42))
    except UsageError:
        # Only text UTF-8 cannot hold (lone surrogates) is refused.
        blob = json.dumps([details, session, decision, user])
        assert re.search(r"\\ud[89a-f]", blob)
        return
    raw = pending.text(seq, "2026-01-31T12:00:00.123456Z").encode("utf-8")
    event = Event.from_bytes(raw)
    assert raw == canonical_json(event.to_dict())
    assert event.seq == seq and event.details == json.loads(json.dumps(details))
    assert event.session == session and event.decision == decision


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'.encode()


def test_timestamp_is_utc_rfc3339_with_microseconds() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", now_ts())


@pytest.mark.parametrize("kind", ["llm.request", "session.start", "myapp.deploy_v2.done", "a.b-c"])
def test_dotted_lowercase_kinds_are_accepted(kind: str) -> None:
    assert validate_kind(kind) == kind


@pytest.mark.parametrize("kind", ["", "llm", "LLM.request", "llm..request", ".llm", "llm.",
                                  "llm request.x", "1llm.x", "a." + "b" * 200, '"a".b'])
def test_malformed_kinds_are_refused(kind: str) -> None:
    with pytest.raises(UsageError, match="not a dotted lowercase name"):
        validate_kind(kind)


@pytest.mark.parametrize("details", [[1, 2], "text", {"x": float("nan")}, {"x": object()},
                                     {"x": "\ud800"}])
def test_details_that_are_not_a_json_object_are_refused(details: Any) -> None:
    with pytest.raises(UsageError):
        prepare("a.b", details=details, session=None, decision=None, actor=Actor())


def test_refused_details_never_quote_the_value() -> None:
    value = "not-json-" + "x" * 8
    with pytest.raises(UsageError) as info:
        prepare("a.b", details={"k": {value}}, session=None, decision=None, actor=Actor())
    assert value not in str(info.value) and value not in (info.value.hint or "")


def test_default_actor_names_this_process() -> None:
    import os

    actor = default_actor(agent="claude-code")
    assert actor.pid == os.getpid() and actor.agent == "claude-code"
    assert actor.host and actor.process
