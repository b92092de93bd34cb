"""Bypass class: a JSON number whose digits change when the body is written
again.  `4111111111111110.9999999` was scanned as written, but a redacted,
mapped or translated body goes out with the float's repr,
`4111111111111111.0`: a valid card number nobody inspected."""

from __future__ import annotations

import json

from stockade.wire.exchange import parse_request


def test_the_digits_a_rewritten_body_sends_are_scanned() -> None:
    raw = (b'{"model":"m","messages":[{"role":"user","content":"x",'
           b'"meta":{"v":4111111111111110.9999999}}]}')
    ex = parse_request("chat", raw)
    sent = json.dumps(json.loads(raw))  # what a re-serialised body holds
    assert "4111111111111111" in sent
    texts = "\n".join(s.text for s in ex.segments if s.part == "number")
    assert "4111111111111111" in texts.split("\n")
    assert "4111111111111110" in texts  # and as written
