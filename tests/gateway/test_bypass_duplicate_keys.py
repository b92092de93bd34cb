"""Bypass: with a duplicated JSON key Python kept the last value (scanned) while
the gateway forwarded the raw bytes, whose first value an upstream parser may use."""

from __future__ import annotations

import json

import pytest
from gwsupport import RunningGateway, fake_secret

from fakes.upstream import FakeUpstream


@pytest.mark.parametrize("path,template,where", [
    ("/v1/messages",
     '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":%s,"content":"hi"}]}',
     "$.messages[0]"),
    ("/v1/chat/completions",
     '{"model":"m","messages":[{"role":"user","content":%s}],"messages":[]}', "$"),
    ("/v1/responses",
     ('{"model":"m","input":[{"type":"function_call_output","call_id":"c",'
      '"output":{"out":%s,"out":"ok"}}]}'), "$.input[0].output"),
])
def test_duplicate_keys_are_refused(blocking: RunningGateway, fake: FakeUpstream, path: str,
                                    template: str, where: str) -> None:
    value = fake_secret()
    raw = (template % json.dumps(value)).encode()
    ev, msg = blocking.assert_blocked(fake, path, raw=raw, value=value, status=400)
    assert msg.startswith("stockade: ") and f"duplicate key at {where}" in msg
    assert ev["decision"] == "reject" and ev["details"]["status"] == 400


def test_duplicate_key_name_is_not_echoed(blocking: RunningGateway, fake: FakeUpstream) -> None:
    value = fake_secret()
    key = json.dumps(value)
    raw = ('{"model":"m","messages":[{"role":"user","content":"x","metadata":{'
           f'{key}:1,{key}:2' '}}]}').encode()
    blocking.assert_blocked(fake, "/v1/chat/completions", raw=raw, value=value, status=400)
