"""False positives: long numeric constants in code (timestamps in ms, ids,
seeds, sizes, coefficients, expected values in tests) read as phone or card
numbers.  A number that is a value of its own -- a quoted string, a
``key=value`` under a personal label, a CSV cell, a log field -- is still
found.  Numbers that pass the validators are generated at run time."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import luhn_complete, sample

ENGINE = Engine.default()
PLAIN = Engine(accelerate=False)


def _mobile(seed: str) -> str:
    return sample("cn_mobile", random.Random(seed)).value


def _card(seed: str) -> str:
    return sample("bank_card", random.Random(seed)).value


def _found(text: str, rule_id: str) -> list[str]:
    found = ENGINE.scan(text)
    assert [f.to_dict() for f in PLAIN.scan(text)] == [f.to_dict() for f in found]
    return [text[f.start:f.end] for f in found if f.rule_id == rule_id]


# {n}: the number.  Code, where the number is an operand or a named constant.
CODE = [
    ("product", "c = {n}*p**2*q - 3*r\n"),
    ("sum_term", "x = 7*p**3 - {n}*q + 1\n"),
    ("divided", "ratio = {n}/7\n"),
    ("comparison", "assert G.order() == {n}\n"),
    ("compared_left", "if value >= {n}:\n    pass\n"),
    ("call_argument", "rng = np.random.default_rng({n})\n"),
    ("assert_equal_first", "self.assertEqual({n}, f(10))\n"),
    ("numeric_list", "coeffs = [3, {n}, -1]\n"),
    ("list_head", "b = [{n}, 7, 9]\n"),
    ("negative_neighbour", "m = [[1, -2], [4, -{n}]]\n"),
    ("long_literal_suffix", "static const long K = {n}L;\n"),
    ("float_literal", "b = ({n}., 3.0)\n"),
    ("timestamp_key", "created_at_ms = {n}\n"),
    ("id_key_json", '{{"message_id": {n}, "ok": true}}\n'),
    ("size_key_yaml", "max_bytes: {n}\n"),
    ("seed_key", "SEED = {n}\n"),
    ("camel_case_id", "const userId = {n};\n"),
]

# Data: the number stands as a value.
DATA = [
    ("quoted_json_value", '{{"contact": "{n}"}}\n'),
    ("labelled", "tel: {n}\n"),
    ("log_field", "2024-05-01T10:00:00Z DEBUG [auth] env mobile={n}\n"),
    ("csv_cell", "id,name,city,mobile\n7,Li Wei,Shanghai,{n}\n"),
    ("prose", "Please call {n} after six.\n"),
    ("html_cell", "<td>{n}</td>\n"),
    ("label_overrides_code_context", "phone = {n}  # also operand-looking: * 2\n"),
]


@pytest.mark.parametrize(("name", "template"), CODE, ids=[n for n, _ in CODE])
def test_code_constant_is_not_a_mobile_number(name: str, template: str) -> None:
    assert _found(template.format(n=_mobile(f"code-{name}")), "cn_mobile") == []


@pytest.mark.parametrize(("name", "template"), CODE, ids=[n for n, _ in CODE])
def test_code_constant_is_not_a_card_number(name: str, template: str) -> None:
    assert _found(template.format(n=_card(f"code-{name}")), "bank_card") == []


@pytest.mark.parametrize(("name", "template"), DATA, ids=[n for n, _ in DATA])
def test_mobile_number_as_a_value_is_found(name: str, template: str) -> None:
    n = _mobile(f"data-{name}")
    assert _found(template.format(n=n), "cn_mobile") == [n]


@pytest.mark.parametrize(("name", "template"), DATA, ids=[n for n, _ in DATA])
def test_card_number_as_a_value_is_found(name: str, template: str) -> None:
    n = _card(f"data-{name}")
    assert _found(template.format(n=n), "bank_card") == [n]


@pytest.mark.parametrize("template", [
    "card_number = {n}\n",                  # a card label wins over the key-name heuristics
    "pan = {n} * 1\n",
    "c = {n}\n",                            # a bare assignment: a value, not an operand
    '  "cardNo": {n},\n',
])
def test_labelled_or_assigned_card_number_is_found(template: str) -> None:
    n = _card(f"lab-{template}")
    assert _found(template.format(n=n), "bank_card") == [n]


@pytest.mark.parametrize("account", ["111111111", "888888123", "101010101", "123123123", "000000000"])
def test_processor_test_numbers_with_filler_accounts_are_not_cards(account: str) -> None:
    """Test numbers published by networks and processors (4111..., 4009 3488
    8888 1881, 4117 1010 1010 1010) have filler account digits."""
    n = luhn_complete(random.Random(account), "411710" + account, 16)
    assert _found(f'card_number = "{n}"\n', "bank_card") == []


def test_random_account_digits_are_still_cards() -> None:
    rng = random.Random("random-accounts")
    for _ in range(200):
        n = luhn_complete(rng, "622202", 16)
        assert _found(f'card_number = "{n}"\n', "bank_card") == [n]
