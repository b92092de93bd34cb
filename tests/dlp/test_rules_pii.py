"""Validated personal data in English and Chinese text."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import cn_resident_id, iban, luhn_complete, us_ssn
from stockade.model import LABEL_PII

ENGINE = Engine.default()
RNG = random.Random(4242)
ID = cn_resident_id(RNG)
CARD = luhn_complete(RNG, "622848", 19)  # UnionPay, 19 digits
VISA = luhn_complete(RNG, "4", 16)
GB_IBAN = iban(RNG, "GB")
SSN = us_ssn(RNG)
# Phone numbers, addresses and passport numbers are made here too, so the
# repository itself scans clean.
MOBILE = "139" + "".join(RNG.choice("0123456789") for _ in range(8))
MOBILE2 = "155" + "".join(RNG.choice("0123456789") for _ in range(8))
MOBILE_SPACED = f"+86 {MOBILE[:3]} {MOBILE[3:7]} {MOBILE[7:]}"
MAIL1 = "li.wei" + "@" + "163.com"
MAIL2 = "maria.garcia" + "@" + "foxmail.com"


def _digits(n: int) -> str:
    return "".join(RNG.choice("0123456789") for _ in range(n))


PASS_E, PASS_US, PASS_G, PASS_CSV = "E" + _digits(8), "9" + _digits(8), "G" + _digits(8), "E" + _digits(8)


def spaced(s: str, group: int = 4) -> str:
    return " ".join(s[i:i + group] for i in range(0, len(s), group))


FLAG = [
    ("cn_resident_id", f"身份证号：{ID}", ID),
    ("cn_resident_id", f"id_number={ID}", ID),
    ("cn_resident_id", f"1024,张三,{ID},北京", ID),
    ("cn_mobile", f"手机：{MOBILE}", MOBILE),
    ("cn_mobile", f"联系电话: {MOBILE_SPACED}", MOBILE_SPACED),
    ("cn_mobile", f"mobile=+86{MOBILE2}", f"+86{MOBILE2}"),
    ("bank_card", f"银行卡号：{CARD}", CARD),
    ("bank_card", f"card: {spaced(VISA)}", spaced(VISA)),
    ("bank_card", f"card: {'-'.join(spaced(VISA).split())} exp 12/29", "-".join(spaced(VISA).split())),
    ("iban", f"IBAN: {GB_IBAN}", GB_IBAN),
    ("iban", f"iban={spaced(GB_IBAN)} EOF", spaced(GB_IBAN)),
    ("us_ssn", f"SSN: {SSN}", SSN),
    ("us_ssn", f"social security number {SSN.replace('-', '')}", SSN.replace("-", "")),
    ("email", f"请联系 {MAIL1} 获取", MAIL1),
    ("email", f"customer_email={MAIL2}", MAIL2),
    ("passport_number", f"护照号码：{PASS_E}", PASS_E),
    ("passport_number", f"Passport No. {PASS_US}", PASS_US),
    ("passport_number", f"passport: {PASS_G}", PASS_G),
    ("passport_number", f"58454,2024-06-10,free,Berlin,{PASS_CSV}", PASS_CSV),
]


@pytest.mark.parametrize(("rule_id", "text", "value"), FLAG)
def test_pii_flagged(rule_id: str, text: str, value: str) -> None:
    found = [(f.rule_id, f.label, text[f.start:f.end]) for f in ENGINE.scan(text)]
    assert found == [(rule_id, LABEL_PII, value)]


NOT_FLAG = [
    "order 12345678901234567890 shipped",       # long number, no valid layout
    "tel 10611695722",                          # not an assigned mobile segment
    "timestamp=1700000000123",
    "ssn: 000-12-3456",                         # area 000 never issued
    "ssn: 123-00-4567",                         # group 00 never issued
    "noreply@anthropic.com",                    # vendor address
    "Signed-off-by: Dev Person <dev.person@gmail.com>",  # attribution line
    "user@example.com and test@localhost",
    "build G12345678 passed",                   # passport format but no passport context
    "image@2x.png",
    "birth date 19990230 invalid",
]


@pytest.mark.parametrize("text", NOT_FLAG)
def test_pii_not_flagged(text: str) -> None:
    assert ENGINE.scan(text) == []


def test_resident_id_with_impossible_birth_date_is_rejected() -> None:
    good = cn_resident_id(random.Random(9))
    bad = good[:10] + "1332" + good[14:]   # month 13
    assert ENGINE.scan(f"身份证：{bad}") == []


def test_full_width_colon_and_chinese_labels() -> None:
    text = f"姓名：王五\n身份证号：{ID}\n手机：{MOBILE}\n银行卡：{CARD}\n"
    assert [f.rule_id for f in ENGINE.scan(text)] == ["cn_resident_id", "cn_mobile", "bank_card"]
    assert [f.line for f in ENGINE.scan(text)] == [2, 3, 4]
