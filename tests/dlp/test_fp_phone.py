"""Phone numbers in any country's format are found where a phone label
names them (``phone: <number>``, a ``"phone"`` JSON key, a CSV
column headed ``phone``); digits that only look like one -- dates, IPs,
versions, account ids after a word that merely contains "mobile", the
PRC-shaped numbers with an unassigned prefix -- are not.  Numbers are put
together at run time (the repo scans clean)."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine

ENGINE = Engine.default()
PLAIN = Engine(accelerate=False)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("23456789") for _ in range(n))


def _numbers(seed: str) -> dict[str, str]:
    r = random.Random(seed)
    return {
        "us": f"+1 415 {_digits(r, 3)} {_digits(r, 4)}",
        "us_paren": f"({_digits(r, 3)}) {_digits(r, 3)}-{_digits(r, 4)}",
        "us_dashed": f"{_digits(r, 3)}-{_digits(r, 3)}-{_digits(r, 4)}",
        "uk": f"+44 20 {_digits(r, 4)} {_digits(r, 4)}",
        "fr": f"+33 {_digits(r, 1)} {_digits(r, 2)} {_digits(r, 2)} {_digits(r, 2)} {_digits(r, 2)}",
        "de_national": f"030 {_digits(r, 8)}",
        "hk": f"+852 {_digits(r, 4)} {_digits(r, 4)}",
        "e164": f"+4420{_digits(r, 8)}",
    }


def _found(text: str) -> list[str]:
    found = ENGINE.scan(text)
    assert [f.to_dict() for f in PLAIN.scan(text)] == [f.to_dict() for f in found]
    return [text[f.start:f.end] for f in found if f.label == "pii"]


FLAG = [
    ("yaml", "phone: {v}\n"),
    ("json", '{{"name": "Li", "phone": "{v}"}}\n'),
    ("camel_key", "const phoneNumber = '{v}';\n"),
    ("env", "SUPPORT_PHONE_NUMBER={v}\n"),
    ("tel_key", "tel={v}\n"),
    ("prose_label", "Phone number: {v}\n"),
    ("mobile_label", "Mobile: {v}\n"),
    ("chinese_label", "联系电话：{v}\n"),
    ("csv_column", "id,name,phone,city\n1,Li Wei,{v},Berlin\n"),
    ("tsv_column", "id\tname\ttelephone\n1\tLi Wei\t{v}\n"),
    ("cli_flag", 'aws x --phone-number "{v}" --country US\n'),
]

PASS = [
    ("no_label", "call {v} today\n"),
    ("label_of_something_else", "timeout: {v}\n"),
    ("word_containing_tel", "telemetry_window: {v}\n"),
    ("word_containing_mobile", "arn:aws:mobiletargeting:us-west-2:{v}:apps\n"),
]


@pytest.mark.parametrize(("name", "template"), FLAG, ids=[n for n, _ in FLAG])
@pytest.mark.parametrize("kind", list(_numbers("k")))
def test_labelled_phone_number_is_found(name: str, template: str, kind: str) -> None:
    v = _numbers(f"{name}-{kind}")[kind]
    assert _found(template.format(v=v)) == [v]


@pytest.mark.parametrize(("name", "template"), PASS, ids=[n for n, _ in PASS])
@pytest.mark.parametrize("kind", list(_numbers("k")))
def test_unlabelled_digits_are_not_a_phone_number(name: str, template: str, kind: str) -> None:
    v = _numbers(f"{name}-{kind}")[kind]
    assert _found(template.format(v=v)) == []


@pytest.mark.parametrize("value", [
    "2024-05-01", "10.20.30.40", "1.22.333", "1" + "0" + "611695722",  # date, IP, version, bad PRC prefix
    "000000000", "+1 000 000 0000", "0123456789",
])
def test_phone_label_with_digits_that_are_not_a_phone(value: str) -> None:
    assert _found(f'config["phone"] = "{value}"\n') == []
