"""Section elements are decoded and scanned once per distinct text and place,
then reused.  A request built to make a reused element's decode or findings
differ from what is forwarded must still be inspected as sent:

* the same text at another index, or under another section;
* a spelling that decodes like the cached one but differs as bytes
  (``\\u0041`` for ``A``), with the secret in the escaped form;
* a text that starts with a cached element and goes on;
* a key named twice inside an element whose first spelling was cached;
* a redaction written into a shared element (the next request, another
  user's, must neither see it nor skip it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from gwsupport import fake_aws_key, make_config, start_gateway

from fakes.upstream import FakeUpstream


def _escaped(value: str) -> str:
    """``value`` as a JSON string literal with every letter \\u-escaped."""
    return '"' + "".join(f"\\u{ord(c):04x}" if c.isalpha() else c for c in value) + '"'


def _warm(g: Any, messages: list[dict[str, Any]]) -> None:
    assert g.request("POST", "/v1/messages", {"model": "m", "messages": messages})[0] == 200
    assert g.request("POST", "/v1/messages", {"model": "m", "messages": messages})[0] == 200
    assert g.gateway.cache.memo.hits > 0  # the elements are reused from now on


@pytest.fixture
def blocking_gw(fake: FakeUpstream) -> Any:
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "block"}))
    yield g
    g.stop()


def _clear(fake: FakeUpstream) -> None:
    with fake.lock:
        fake.requests.clear()


def test_a_secret_moved_to_another_index_is_found_there(blocking_gw: Any,
                                                         fake: FakeUpstream) -> None:
    value = fake_aws_key()
    clean = {"role": "user", "content": "hello"}
    _warm(blocking_gw, [clean, {"role": "user", "content": f"key {value}"}][:1])
    _clear(fake)
    # a message text seen at index 0 (clean), then a secret one at index 0 and the
    # clean one moved to index 1: each place is inspected on its own
    _, msg = blocking_gw.assert_blocked(fake, "/v1/messages", {"model": "m", "messages": [
        {"role": "user", "content": f"key {value}"}, clean]}, value=value)
    assert "$.messages[0].content" in msg


def test_an_escaped_spelling_of_a_cached_element_is_inspected(blocking_gw: Any,
                                                              fake: FakeUpstream) -> None:
    value = fake_aws_key()
    plain = {"role": "user", "content": "see above"}
    _warm(blocking_gw, [plain])
    _clear(fake)
    raw = ('{"model":"m","messages":[{"role":"user","content":' + _escaped(f"key {value}")
           + "}]}").encode()
    _, msg = blocking_gw.assert_blocked(fake, "/v1/messages", raw=raw, value=value)
    assert "$.messages[0].content" in msg


def test_a_cached_element_followed_by_more_text_is_not_reused(fake: FakeUpstream) -> None:
    """A number element is a prefix of a longer one: ``[1234567]`` then ``[12345678...]``."""
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "block"}))
    try:
        g.request("POST", "/v1/messages", raw=b'{"model":"m","system":[1234567]}')
        value = fake_aws_key()
        raw = ('{"model":"m","system":[1234567' + "0" * 3 + ',"x"],'
               '"messages":[{"role":"user","content":"' + value + '"}]}').encode()
        _clear(fake)
        g.assert_blocked(fake, "/v1/messages", raw=raw, value=value)
        ev = g.events("llm.request")[-1]
        assert ev["details"]["findings"][0]["location"] == "$.messages[0].content"
    finally:
        g.stop()


def test_a_key_named_twice_inside_a_cached_element_is_refused(blocking_gw: Any,
                                                             fake: FakeUpstream) -> None:
    value = fake_aws_key()
    _warm(blocking_gw, [{"role": "user", "content": "clean"}])
    _clear(fake)
    raw = ('{"model":"m","messages":[{"role":"user","content":"clean",'
           f'"content":"{value}"' + "}]}").encode()
    st, _, out = blocking_gw.request("POST", "/v1/messages", raw=raw)
    assert st == 400 and b"duplicate key" in out
    assert fake.posts() == [] and value.encode() not in out


def test_a_redaction_never_writes_into_a_shared_element(fake: FakeUpstream) -> None:
    g = start_gateway(make_config(anthropic=fake.url, actions={"secret": "redact"}))
    try:
        value = fake_aws_key()
        messages = [{"role": "user", "content": [{"type": "text", "text": f"key {value}"}]}]
        body = {"model": "m", "messages": messages}
        for session in ("alice-1", "bob-2", "alice-1"):
            st, _, _ = g.request("POST", "/v1/messages", body,
                                 headers={"x-stockade-session": session})
            assert st == 200
            sent = fake.posts()[-1]
            assert value.encode() not in sent["raw"]
            text = sent["body"]["messages"][0]["content"][0]["text"]
            assert text.startswith("key ") and value not in text
        # the shared element still holds the client's text: a request that only
        # repeats it is redacted again, and a later clean body goes out untouched
        block = g.gateway.cache.memo.get(("anthropic", "messages", 0),
                                         json.dumps(messages[0]))
        assert block is not None and block.value["content"][0]["text"] == f"key {value}"
        with pytest.raises(TypeError):
            block.value["content"][0]["text"] = "changed"
        clean = json.dumps({"model": "m", "messages": [
            {"role": "user", "content": "fine"}]}).encode()
        assert g.request("POST", "/v1/messages", raw=clean)[0] == 200
        assert fake.posts()[-1]["raw"] == clean
    finally:
        g.stop()
