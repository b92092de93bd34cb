"""Personal data, validated by the numbering schemes' own rules, in English
and Chinese text (``身份证号：…``, ``手机：…``, ``护照号码 E…``)."""

from __future__ import annotations

import re

from stockade.dlp.rule import PRIORITY_PII, Rule
from stockade.dlp.suppress import email_is_attribution, email_is_personal, number_is_code
from stockade.dlp.validators import IBAN_LENGTHS, bank_card, gb11643, iban_mod97, us_ssn
from stockade.model import LABEL_PII

# Mobile number segments assigned by MIIT (China Mobile, Unicom, Telecom,
# Broadnet and MVNOs), by their first three digits.
_CN_MOBILE_PREFIX = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])")

PASSPORT_WORDS = re.compile(
    r"passport|护照|passeport|pasaporte|reisepass|passaporto|旅行证件|travel[ _\-]?doc|"
    r"(?<![a-z])pp[ _\-]?(?:no|num)",
    re.IGNORECASE,
)
SSN_WORDS = re.compile(r"ssn|social[ _\-.]?security|社会安全|社保号", re.IGNORECASE)


def context_before(m: re.Match[str], start: int, words: re.Pattern[str], reach: int = 48) -> bool:
    """A context word shortly before the value on the same line, or the
    value sits in a CSV/TSV column whose header names it."""
    text = m.string
    line_start = text.rfind("\n", 0, start) + 1
    if words.search(text, max(line_start, start - reach), start):
        return True
    return _column_header_matches(text, line_start, start, words)


def _column_header_matches(text: str, line_start: int, start: int, words: re.Pattern[str]) -> bool:
    prefix = text[line_start:start]
    for delim in (",", "\t", "|", ";"):
        if delim not in prefix:
            continue
        idx = _count_outside_quotes(prefix, delim)
        header_end = text.find("\n")
        header = text[: header_end if header_end >= 0 else len(text)]
        cols = header.split(delim)
        if idx < len(cols) and len(cols) > 1 and words.search(cols[idx]):
            return True
    return False


def _count_outside_quotes(s: str, delim: str) -> int:
    n = 0
    quoted = False
    for ch in s:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            n += 1
    return n


def _cn_id(value: str, m: re.Match[str]) -> bool:
    return gb11643(value)


PHONE_WORDS = re.compile(
    r"phone|mobile|(?<![a-z])(?:tel(?:ephone)?|cell(?:phone)?|fax|msisdn|whatsapp|wechat|contact|sms)(?![a-z])|"
    r"手机|电话|联系|号码|"
    r"telefon|téléphone|teléfono|movil|móvil|handy",
    re.IGNORECASE,
)
CARD_WORDS = re.compile(
    r"card|(?<![a-z])(?:pan|cc|ccn|visa|mastercard|amex|unionpay|debit|credit)(?![a-z])|卡号|银行卡|信用卡",
    re.IGNORECASE,
)


def _cn_mobile(value: str, m: re.Match[str]) -> bool:
    digits = re.sub(r"[^0-9]", "", value)
    if digits.startswith(("0086", "86")) and len(digits) > 11:
        digits = digits[-11:]
    if len(digits) != 11 or not _CN_MOBILE_PREFIX.match(digits):
        return False
    if len(set(digits[3:])) < 3:
        return False
    # A bare run of digits (no spacing, no country code) is as often a
    # constant as a phone: without a phone word, code context decides.
    if value.isdigit() and not context_before(m, m.start("v"), PHONE_WORDS, reach=40):
        return not number_is_code(m.string, m.start("v"), m.end("v"))
    return True


_CARD_SHAPES = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 4, 1),
                (4, 4, 4, 2), (4, 4, 4, 3), (4, 4, 4, 4, 2), (6, 13), (4, 4, 5), (4, 4, 4, 4, 4))


def _card(value: str, m: re.Match[str]) -> bool | tuple[int, int]:
    start = m.start("v")
    if value.isdigit():
        if not bank_card(value):
            return False
        if context_before(m, start, CARD_WORDS, reach=40):
            return True
        return not number_is_code(m.string, start, m.end("v"))
    seps = set(re.findall(r"[ \-]", value))
    if len(seps) != 1:
        return False
    groups = re.split(r"[ \-]", value)
    # Longest prefix of the groups that is a card layout and a valid number.
    for k in range(len(groups), 2, -1):
        shape = tuple(len(g) for g in groups[:k])
        if shape in _CARD_SHAPES and bank_card("".join(groups[:k])):
            length = sum(shape) + k - 1
            return start, start + length
    return False


def _iban(value: str, m: re.Match[str]) -> bool | tuple[int, int]:
    want = IBAN_LENGTHS.get(value[:2])
    if want is None:
        return False
    start = m.start("v")
    count = 0
    for i, ch in enumerate(value):
        if ch != " ":
            count += 1
        if count == want:
            end = i + 1
            if end < len(value) and value[end] != " ":
                return False
            return (start, start + end) if iban_mod97(value[:end]) else False
    return False


# A phone number written the way people write one: an optional country code,
# then groups of digits separated by single spaces, dots, dashes or an area
# code in parentheses.
_PHONE_SHAPE = re.compile(
    r"(?:\+|00)?[0-9]{1,4}(?:[ .\-]?\([0-9]{1,4}\)|[ .\-]?[0-9]{1,5}){1,6}|\([0-9]{2,5}\)[ .\-]?[0-9]{2,5}(?:[ .\-]?[0-9]{2,5}){0,3}"
)
_DATE_OR_IP = re.compile(r"[0-9]{4}[\-./][0-9]{1,2}[\-./][0-9]{1,2}|[0-9]{1,2}[\-./][0-9]{1,2}[\-./][0-9]{4}|"
                         r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9]+(?:\.[0-9]+){1,2}")


def _phone(value: str, m: re.Match[str]) -> bool:
    """A phone number next to a phone label (same line, or the CSV column's
    header): the label is what makes a run of digits personal data."""
    digits = re.sub(r"[^0-9]", "", value)
    intl = value.startswith(("+", "00"))
    if not 7 <= len(digits) <= 15 or len(set(digits)) < 3:
        return False
    if _DATE_OR_IP.fullmatch(value):
        return False  # 2024-05-01, 10.0.0.1, 1.2.3: not a phone
    if value.isdigit() and len(digits) == 11 and digits[0] == "1":
        return False  # a PRC-shaped number: cn_mobile decides (its prefixes)
    if is_placeholder_digits(digits):
        return False
    if not (intl or not value.isdigit() or len(digits) >= 8):
        return False
    return _phone_label(m)


# Between a phone word and its number: the rest of a key name ("Number",
# "_e164"), a closing quote and a separator -- not more text.
_LABEL_TAIL = re.compile(r"[A-Za-z_\-. ]{0,24}?[\"'\]]?[ \t]*(?:[:=：#]|=>|->)?[ \t]*[\"'(]?[ \t]*")


def _phone_label(m: re.Match[str]) -> bool:
    """The number is the value of a phone label on its line, or sits in a
    CSV/TSV column whose header is one."""
    text = m.string
    start = m.start("v")
    line_start = text.rfind("\n", 0, start) + 1
    for w in PHONE_WORDS.finditer(text, max(line_start, start - 48), start):
        if _LABEL_TAIL.fullmatch(text, w.end(), start):
            return True
    return _column_header_matches(text, line_start, start, PHONE_WORDS)


def is_placeholder_digits(digits: str) -> bool:
    return bool(re.search(r"(\d)\1{5}", digits)) or any(s in digits for s in ("1234567", "0123456", "9876543"))


def _ssn(value: str, m: re.Match[str]) -> bool:
    if not us_ssn(value):
        return False
    if "-" in value:
        return True
    return context_before(m, m.start(0), SSN_WORDS, reach=40) or bool(SSN_WORDS.search(m.group(0)))


def _passport(value: str, m: re.Match[str]) -> bool:
    v = value.upper()
    ok = bool(
        re.fullmatch(r"E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}|[DSP][0-9]{7,8}|[DSP]E[0-9]{7}", v)  # PRC
        or re.fullmatch(r"[0-9]{9}|[A-Z][0-9]{8}", v)  # US (book / next-generation), UK, ...
        or re.fullmatch(r"[A-Z]{2}[0-9]{7}", v)  # CA, JP, KR and others
    )
    if not ok or len(set(v)) < 4:
        return False
    if context_before(m, m.start("v"), PASSPORT_WORDS, reach=48):
        return True
    # The PRC ordinary passport format is distinctive enough on its own when
    # it stands as a whole field (a CSV cell, a quoted value, a log value).
    return bool(re.fullmatch(r"E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}", value)) and _standalone(m)


_FIELD_EDGE = " \t,;|\"'=:：\r\n"


def _standalone(m: re.Match[str]) -> bool:
    text = m.string
    s, e = m.span("v")
    before = text[s - 1] if s > 0 else "\n"
    after = text[e] if e < len(text) else "\n"
    return before in _FIELD_EDGE and (after in _FIELD_EDGE or after == ".")


def _email(value: str, m: re.Match[str]) -> bool:
    if not email_is_personal(value):
        return False
    return not email_is_attribution(m.string, m.start("v"), m.end("v"))


def build() -> list[Rule]:
    return [
        Rule(
            id="cn_resident_id",
            title="PRC resident identity card number (GB 11643)",
            pattern=(
                r"(?<![0-9A-Za-z])(?P<v>[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])"
                r"(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx])(?![0-9A-Za-z])"
            ),
            patterns=(r"[0-9]{17}[0-9Xx]",),
            check=_cn_id,
            label=LABEL_PII,
            priority=PRIORITY_PII + 2,
            confidence=0.95,
            before=2,
            after=4,
        ),
        Rule(
            id="cn_mobile",
            title="PRC mobile phone number",
            pattern=(
                r"(?<![0-9A-Za-z+.])(?P<v>(?:(?:\+|00)86[ \-]?)?1[3-9][0-9](?:[ \-]?[0-9]{4}){2})(?![0-9A-Za-z]|\.[0-9])"
            ),
            patterns=(r"1[3-9][0-9]{9}", r"1[3-9][0-9][ \-][0-9]{4}[ \-][0-9]{4}"),
            check=_cn_mobile,
            label=LABEL_PII,
            priority=PRIORITY_PII,
            confidence=0.8,
            before=8,
            after=4,
        ),
        Rule(
            id="bank_card",
            title="Payment card number (Luhn-valid, known issuer range; UnionPay included)",
            pattern=(r"(?<![0-9A-Za-z\-.])(?P<v>[0-9]{4}(?:[ \-]?[0-9]){9,18})(?![0-9A-Za-z]|\.[0-9])"),
            patterns=(r"[0-9]{13}", r"[0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4}", r"[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4}"),
            check=_card,
            label=LABEL_PII,
            priority=PRIORITY_PII,
            confidence=0.9,
            before=24,
            after=8,
        ),
        Rule(
            id="iban",
            title="International Bank Account Number (ISO 13616, mod 97)",
            pattern=(r"(?<![A-Za-z0-9])(?P<v>[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30})(?![a-z0-9])"),
            patterns=(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{4}", r"[A-Z]{2}[0-9]{2} [A-Z0-9]{4}"),
            check=_iban,
            cased=True,
            label=LABEL_PII,
            priority=PRIORITY_PII,
            confidence=0.95,
            before=2,
            after=48,
        ),
        Rule(
            id="us_ssn",
            title="US Social Security number",
            pattern=(
                r"(?<![0-9A-Za-z\-])(?P<v>[0-9]{3}-[0-9]{2}-[0-9]{4})(?![0-9A-Za-z\-])"
                r"|(?i:ssn|social[ _\-.]?security(?:[ _\-.]?(?:number|num|no))?|社会安全号码?)"
                r"[^0-9A-Za-z\n]{1,12}(?P<v2>[0-9]{3} ?[0-9]{2} ?[0-9]{4})(?![0-9A-Za-z])"
            ),
            patterns=(r"[0-9]{3}-[0-9]{2}-[0-9]{4}",),
            keywords=("ssn", "social security", "social_security", "socialsecurity", "social-security",
                      "社会安全"),
            check=_ssn,
            label=LABEL_PII,
            priority=PRIORITY_PII,
            confidence=0.8,
            before=4,
            after=64,
        ),
        Rule(
            id="phone_number",
            title="Phone number next to a phone label (international and national formats)",
            pattern=(
                r"(?<![0-9A-Za-z+\-.@/#])(?P<v>" + _PHONE_SHAPE.pattern + r")(?![0-9A-Za-z@]|[.\-/][0-9])"
            ),
            # "tel" and "fax" only followed by a separator: as bare substrings
            # they are everywhere in code (intel, hotel, telemetry).
            keywords=("phone", "mobile", "msisdn", "whatsapp", "电话", "手机", "telefon", "téléphone",
                      "teléfono", "móvil", "tel:", "tel=", "tel ", "tel.", "tel\"", "tel'", "tel_", "tel\t",
                      "fax:", "fax=", "fax ", "fax\"", "fax_"),
            patterns=(r"\+[0-9]{7}", r"\+[0-9] [0-9]", r"\+[0-9]{2} [0-9]", r"\+[0-9]{3} [0-9]", r"[0-9]{3}-[0-9]{3}-[0-9]{4}",
                      r"\([0-9]{3}\) [0-9]{3}", r"\([0-9]{3}\)[0-9]{3}", r"[0-9]{3}\.[0-9]{3}\.[0-9]{4}",
                      r"[0-9]{3} [0-9]{3} [0-9]{4}", r"[0-9]{2} [0-9]{4} [0-9]{4}"),
            check=_phone,
            label=LABEL_PII,
            priority=PRIORITY_PII - 3,
            confidence=0.75,
            before=48,
            after=48,
        ),
        Rule(
            id="email",
            title="Personal e-mail address",
            pattern=(
                r"(?<![A-Za-z0-9._%+\-])(?P<v>[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@"
                r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})(?![A-Za-z0-9\-@])"
            ),
            keywords=("@",),
            check=_email,
            label=LABEL_PII,
            priority=PRIORITY_PII - 5,
            confidence=0.85,
            before=66,
            after=260,
        ),
        Rule(
            id="passport_number",
            title="Passport number (PRC E/G/D/S/P, US, UK, ...) next to a passport label",
            pattern=(
                r"(?<![A-Za-z0-9])(?P<v>[A-Za-z]{1,2}[0-9]{7,8}|[0-9]{9})(?![A-Za-z0-9])"
            ),
            patterns=(r"[A-Z][0-9]{8}", r"[A-Z]{2}[0-9]{7}", r"[DSP][0-9]{7}"),
            keywords=("passport", "护照", "passeport", "pasaporte", "reisepass", "passaporto", "旅行证件"),
            check=_passport,
            label=LABEL_PII,
            priority=PRIORITY_PII - 2,
            confidence=0.85,
            before=4,
            after=64,
        ),
    ]
