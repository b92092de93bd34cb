"""Bypass class: a card number as a quoted value under a common key.

Keys that usually hold non-personal numbers (order, num, tag, usage ...) hid
any number under them, quoted or not, so {"order": "<card>"} reached the
vendor unflagged.  A quoted number is data: only an identifier's key still
hides it."""

from __future__ import annotations

import random

import pytest

from stockade.dlp.engine import Engine
from stockade.dlp.fakes import sample


@pytest.mark.parametrize("key", ["order", "num", "tag", "usage", "max", "channel_name"])
def test_a_quoted_card_under_a_common_key_is_found(key: str) -> None:
    card = sample("bank_card", random.Random(7)).value
    found = Engine.default().scan('{"%s": "%s"}' % (key, card))
    assert "bank_card" in [f.rule_id for f in found]


@pytest.mark.parametrize("key", ["id", "user_id", "id_str"])
def test_a_quoted_identifier_is_still_not_a_card(key: str) -> None:
    card = sample("bank_card", random.Random(7)).value
    found = Engine.default().scan('{"%s": "%s"}' % (key, card))
    assert "bank_card" not in [f.rule_id for f in found]
