"""Check-digit and structure validators against their specifications."""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockade.dlp import validators as v
from stockade.dlp.fakes import B62, cn_resident_id, iban, luhn_complete, us_ssn, varied


@given(st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_luhn_completion_always_validates_and_one_digit_change_breaks_it(prefix: str) -> None:
    rng = random.Random(prefix)
    num = luhn_complete(rng, prefix[:6], len(prefix) + 1)
    assert v.luhn(num)
    changed = num[:-1] + str((int(num[-1]) + 1) % 10)
    assert not v.luhn(changed)


def test_luhn_rejects_non_digits() -> None:
    assert not v.luhn("4111-1111") and not v.luhn("")


@pytest.mark.parametrize("country", sorted(v.IBAN_LENGTHS))
def test_iban_mod97_per_country(country: str) -> None:
    good = iban(random.Random(country), country)
    assert len(good) == v.IBAN_LENGTHS[country]
    assert v.iban_mod97(good)
    assert v.iban_mod97(" ".join(good[i:i + 4] for i in range(0, len(good), 4)))
    swapped = good[:4] + good[5] + good[4] + good[6:]
    assert good[4] == good[5] or not v.iban_mod97(swapped)
    assert not v.iban_mod97(good + "0")  # wrong length for the country


def test_gb11643_check_digit_region_and_date() -> None:
    rng = random.Random(3)
    for _ in range(50):
        good = cn_resident_id(rng)
        assert v.gb11643(good)
        for d in "0123456789X":
            if d != good[-1]:
                assert not v.gb11643(good[:-1] + d)
    good = cn_resident_id(rng)
    assert not v.gb11643("99" + good[2:])            # no such province
    assert not v.gb11643(good[:6] + "2999" + good[10:])  # born in the future


@pytest.mark.parametrize(
    ("ssn", "ok"),
    [(us_ssn(random.Random(55)), True), ("000-12-3456", False), ("666-12-3456", False), ("912-12-3456", False),
     ("123-00-3456", False), ("123-45-0000", False), ("078-05-1120", False)],
)
def test_us_ssn_rules(ssn: str, ok: bool) -> None:
    assert v.us_ssn(ssn) is ok


def test_crc32_base62_tail() -> None:
    body = varied(random.Random(1), B62, 30)
    tail = v.base62(zlib.crc32(body.encode()), 6)
    assert v.crc32_base62_tail(body, tail)
    assert not v.crc32_base62_tail(body, tail[::-1]) or tail == tail[::-1]


def test_base62_is_fixed_width() -> None:
    assert v.base62(0, 6) == "000000" and v.base62(61, 2) == "0z"


def test_bank_card_requires_issuer_range_and_rejects_test_cards() -> None:
    rng = random.Random(5)
    assert v.bank_card(luhn_complete(rng, "62", 16))          # UnionPay
    assert v.bank_card(luhn_complete(rng, "51", 16))          # Mastercard
    assert not v.bank_card(luhn_complete(rng, "99", 16))      # no such issuer
    assert not v.bank_card("4242424242424242")                # published test card


def test_jwt_requires_json_header_with_alg() -> None:
    from stockade.dlp.fakes import jwt
    token = jwt(random.Random(2))
    assert v.jwt(token)
    head, body, sig = token.split(".")
    assert not v.jwt("eyJub3QiOiJhbGcifQ." + body + "." + sig)   # header without alg
    assert not v.jwt(token.replace(".", "", 1))
