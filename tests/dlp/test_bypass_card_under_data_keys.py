"""Regression: long numbers under code-ish keys are not personal data, but the
list also held the names data records use for any number (amount, value,
total, balance, price, result), so a card number sent as ``amount = N`` or
``{"value": N}`` was not found."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import sample


@pytest.mark.parametrize("shape", [
    "amount = {v}", "balance: {v}", '{{"value": {v}}}', "total={v}", "price: {v}",
    "result = {v}",
])
@pytest.mark.parametrize("accelerate", [None, False])
def test_a_card_number_under_a_data_key_is_found(shape: str, accelerate: bool | None) -> None:
    card = sample("bank_card", random.Random(7)).value
    text = shape.format(v=card)
    found = {f.rule_id for f in Engine(accelerate=accelerate).scan(text)}
    assert "bank_card" in found, shape


@pytest.mark.parametrize("shape", ["user_id = {v}", "timestamp: {v}", "seed={v}"])
def test_a_long_number_under_an_id_or_time_key_is_still_code(shape: str) -> None:
    card = sample("bank_card", random.Random(7)).value
    assert not [f for f in Engine().scan(shape.format(v=card)) if f.rule_id == "bank_card"]
