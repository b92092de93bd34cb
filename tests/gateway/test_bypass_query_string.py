"""Bypass: the query string was forwarded to the vendor unscanned
(``/v1/messages?beta=true&x=<secret>``).  It is scanned as sent and
percent-decoded; a finding blocks (it cannot be redacted in place)."""

from __future__ import annotations

import pytest
from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream

_BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def _every_char_escaped(v: str) -> str:
    return "".join(f"%{b:02X}" for b in v.encode())


@pytest.mark.parametrize("encode", [str, _every_char_escaped], ids=["plain", "percent-encoded"])
def test_secret_in_the_query_string_blocks(blocking: RunningGateway, fake: FakeUpstream,
                                           encode) -> None:  # type: ignore[no-untyped-def]
    value = fake_secret()
    ev, msg = blocking.assert_blocked(fake, f"/v1/messages?beta=true&note={encode(value)}",
                                      _BODY, value=value)
    [finding] = ev["details"]["findings"]
    assert finding["location"] == "query string" and "query string" in msg


def test_claude_codes_query_string_passes(blocking: RunningGateway, fake: FakeUpstream) -> None:
    st, _, out = blocking.request("POST", "/v1/messages?beta=true", _BODY)
    assert st == 200, out[:300]
    assert fake.posts()[-1]["path"] == "/v1/messages?beta=true"
