"""Bypass: numbers were scanned only when they were integers, so a card number
sent as ``6222022914177764.5`` (or ``6.2220229141777645e15``, or with its digits
split by the point) passed.  A float's digits are scanned as the body writes
them (not as a float holds them: 17 digits do not fit in one), the whole part,
the fraction and both together; a finding blocks (a number cannot be
redacted in place)."""

from __future__ import annotations

import random

import pytest
from gwsupport import RunningGateway, make_config, real_scanner, start_gateway

from fakes.upstream import FakeUpstream
from stockade.dlp.fakes import sample


def _card() -> str:
    return sample("bank_card", random.Random()).value


def _raw_body(number: str) -> bytes:
    return ('{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "go"},'
            '{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Pay",'
            f'"input": {{"amount": {number}}}}}]}},'
            '{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",'
            '"content": "ok"}]}]}').encode()


@pytest.mark.parametrize("spell", [
    lambda c: f"{c}.5",
    lambda c: f"-{c}.25",
    lambda c: f"{c[0]}.{c[1:]}5e{len(c) - 1}",
    lambda c: f"{c[:8]}.{c[8:]}",
    lambda c: f"{c}.0",
    lambda c: f"{c[0]}.{c[1:]}E+{len(c) - 1}",
], ids=["fraction", "negative", "exponent", "split-by-the-point", "integral-float",
        "exponent-integral"])
def test_card_number_in_a_float_is_found(fake: FakeUpstream, spell) -> None:  # type: ignore[no-untyped-def]
    card = _card()
    g = start_gateway(make_config(anthropic=fake.url, actions={"pii": "redact"}),
                      scanner=real_scanner())
    try:
        ev, msg = g.assert_blocked(fake, "/v1/messages", raw=_raw_body(spell(card)),
                                   value=card)
        # the whole part and the digits together may both read as a card (a
        # 17-digit run can pass Luhn too): each reading is reported, all of them
        # on the number
        findings = ev["details"]["findings"]
        assert findings and {f["rule_id"] for f in findings} == {"bank_card"}
        assert {(f["part"], f["location"]) for f in findings} == {
            ("number", "$.messages[1].content[0].input.amount")}
    finally:
        g.stop()


def test_ordinary_floats_pass(blocking: RunningGateway, fake: FakeUpstream) -> None:
    body = ('{"model": "m", "max_tokens": 5, "temperature": 0.7, "top_p": 0.95, "messages":'
            ' [{"role": "user", "content": "go"}], "metadata": {"lat": 48.8566, '
            '"lon": 2.3522, "ratio": 0.333333333333}}').encode()
    st, _, out = blocking.request("POST", "/v1/messages", raw=body)
    assert st == 200, out[:300]


@pytest.mark.parametrize("setting", ["seed", "max_tokens", "temperature"])
def test_card_number_in_a_scalar_setting_is_found(fake: FakeUpstream, setting: str) -> None:
    # found in review: the settings whose numbers "carry no content" were
    # never scanned, so a card number passed as the seed
    card = _card()
    number = card if setting != "temperature" else f"0.{card}"
    fields = {"model": '"m"', "max_tokens": "5",
              "messages": '[{"role": "user", "content": "go"}]', setting: number}
    body = ("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}").encode()
    g = start_gateway(make_config(anthropic=fake.url, actions={"pii": "redact"}),
                      scanner=real_scanner())
    try:
        ev, _ = g.assert_blocked(fake, "/v1/messages", raw=body, value=card)
        assert {f["location"] for f in ev["details"]["findings"]} == {f"$.{setting}"}
    finally:
        g.stop()
