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


def spaced(s: str, group: int = 4) -> str:
    return " ".join(s[i:i + group] for i in range(0, len(s), group))


FLAG = [
    ("cn_resident_id", f"身份证号：{ID}", ID),
    ("cn_resident_id", f"id_number={ID}", ID),
    ("cn_resident_id", f"1024,张三,{ID},北京", ID),
    ("cn_mobile", "手机：13912345678", "13912345678"),
    ("cn_mobile", "联系电话: +86 139 1234 5678", "+86 139 1234 5678"),
    ("cn_mobile", "mobile=+8615522039023", "+8615522039023"),
    ("bank_card", f"银行卡号：{CARD}", CARD),
    ("bank_card", f"card: {spaced(VISA)}", spaced(VISA)),
    ("bank_card", f"card: {'-'.join(spaced(VISA).split())} exp 12/29", "-".join(spaced(VISA).split())),
    ("iban", f"IBAN: {GB_IBAN}", GB_IBAN),
    ("iban", f"iban={spaced(GB_IBAN)} EOF", spaced(GB_IBAN)),
    ("us_ssn", f"SSN: {SSN}", SSN),
    ("us_ssn", f"social security number {SSN.replace('-', '')}", SSN.replace("-", "")),
    ("email", "请联系 li.wei@163.com 获取", "li.wei@163.com"),
    ("email", "customer_email=maria.garcia@foxmail.com", "maria.garcia@foxmail.com"),
    ("passport_number", "护照号码：E12345678", "E12345678"),
    ("passport_number", "Passport No. 912345678", "912345678"),
    ("passport_number", "passport: G87654321", "G87654321"),
    ("passport_number", "58454,2024-06-10,free,Berlin,E16958798", "E16958798"),
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
    text = f"姓名：王五\n身份证号：{ID}\n手机：13812345678\n银行卡：{CARD}\n"
    assert [f.rule_id for f in ENGINE.scan(text)] == ["cn_resident_id", "cn_mobile", "bank_card"]
    assert [f.line for f in ENGINE.scan(text)] == [2, 3, 4]
