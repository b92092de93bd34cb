"""Check digits and structural checks from the formats' published specifications.

Every function is pure and total: it takes the candidate value and answers
``True`` (the value is well formed) or ``False``; none of them raises.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import math
import re
import zlib
from collections import Counter

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(n: int, width: int) -> str:
    """``n`` in base 62 (0-9A-Za-z), left-padded with '0' to ``width``."""
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(BASE62[r])
    return "".join(reversed(out)).rjust(width, "0")


def crc32_base62_tail(body: str, tail: str) -> bool:
    """GitHub (ghp_/gho_/ghu_/ghs_/ghr_) and npm tokens end in the CRC32 of the
    random part, written as 6 base62 digits."""
    return base62(zlib.crc32(body.encode("ascii", "replace")), 6) == tail


def luhn(digits: str) -> bool:
    """ISO/IEC 7812 check digit (payment cards)."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ISO 13616 IBAN lengths per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30,
    "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_mod97(value: str) -> bool:
    """ISO 13616: known country, registered length, mod-97 remainder 1."""
    s = value.replace(" ", "").replace("-", "").upper()
    if len(s) < 15 or not s.isalnum() or not s.isascii():
        return False
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit():
        return False
    if s[2:4] in ("00", "01", "99"):
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


# GB/T 2260 province-level codes (first two digits of a resident ID).
CN_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83".split()
)
_GB_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB_CHECK = "10X98765432"


def gb11643(value: str) -> bool:
    """PRC resident identity number (GB 11643-1999): province prefix, a real
    birth date no later than today and not before 1900, ISO 7064 MOD 11-2."""
    v = value.upper()
    if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return False
    if v[:2] not in CN_PROVINCES or v[2:6] == "0000":
        return False
    try:
        born = _dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > _dt.date.today():
        return False
    total = sum(int(c) * w for c, w in zip(v[:17], _GB_WEIGHTS))
    return _GB_CHECK[total % 11] == v[17]


def us_ssn(value: str) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000;
    and not one of the numbers famously used in advertising."""
    d = value.replace("-", "").replace(" ", "")
    if len(d) != 9 or not d.isdigit():
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    if d in ("078051120", "219099999", "123456789"):
        return False
    return len(set(d)) > 3


def card_iin(digits: str) -> bool:
    """Issuer ranges (ISO/IEC 7812 IIN) for the major networks with their lengths."""
    n = len(digits)
    p2 = int(digits[:2])
    p4 = int(digits[:4])
    p6 = int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # Amex
    if p2 == 62 or p2 == 81:
        return 16 <= n <= 19  # UnionPay
    if p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649 or 622126 <= p6 <= 622925:
        return 16 <= n <= 19  # Discover
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19  # JCB
    if p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return 14 <= n <= 19  # Diners
    if p4 in (5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763):
        return 12 <= n <= 19  # Maestro
    if 2200 <= p4 <= 2204:
        return n == 16  # Mir
    return False


# Card numbers published by the networks for testing; never real accounts.
TEST_CARDS = frozenset(
    {
        "4111111111111111", "4242424242424242", "4012888888881881", "4222222222222",
        "5555555555554444", "5105105105105100", "5454545454545454", "2223003122003222",
        "378282246310005", "371449635398431", "378734493671000", "6011111111111117",
        "6011000990139424", "3530111333300000", "3566002020360505", "30569309025904",
        "38520000023237", "6200000000000005", "4000056655665556", "5200828282828210",
        "4000000000000002", "4000000000009995", "6250941006528599", "6011000000000004",
    }
)


def bank_card(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    if digits in TEST_CARDS or len(set(digits)) < 4:
        return False
    return card_iin(digits) and luhn(digits) and not _filler_account(digits[6:-1])


def _filler_account(account: str) -> bool:
    """The account part (after the 6-digit issuer, before the check digit) of
    the networks' and processors' test numbers is filler (4111111111111111,
    4009348888881881, 4117101010101010); in a random account part six equal
    digits in a row, two distinct digits or a short repeating pattern are
    rarer than one in ten thousand."""
    if _SIX_SAME.search(account):
        return True
    return len(account) >= 8 and (len(set(account)) <= 2 or _PERIODIC.fullmatch(account) is not None)


_SIX_SAME = re.compile(r"(\d)\1{5}")
_PERIODIC = re.compile(r"(\d{1,3})\1{2,}\d{0,2}")


def b64url_decode(part: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def jwt(value: str) -> bool:
    """Three base64url parts; the header is a JSON object naming an ``alg``
    and the payload decodes to JSON; an unsigned token (alg none) has no secret."""
    parts = value.split(".")
    if len(parts) != 3 or len(parts[2]) < 16:
        return False
    head = b64url_decode(parts[0])
    body = b64url_decode(parts[1])
    if head is None or body is None:
        return False
    try:
        h = json.loads(head)
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(h, dict) and isinstance(h.get("alg"), str) and h["alg"].lower() != "none"


def shannon(value: str) -> float:
    """Bits of entropy per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT = frozenset("0123456789")


def char_classes(value: str) -> int:
    """How many of lower / upper / digit / other the value uses (ASCII view)."""
    chars = set(value)
    lower = not chars.isdisjoint(_LOWER)
    upper = not chars.isdisjoint(_UPPER)
    digit = not chars.isdisjoint(_DIGIT)
    other = bool(chars - _LOWER - _UPPER - _DIGIT)
    return lower + upper + digit + other


def b64_len_ok(value: str, raw_bytes: int) -> bool:
    """``value`` is standard base64 of exactly ``raw_bytes`` bytes."""
    try:
        return len(base64.b64decode(value, validate=True)) == raw_bytes
    except (binascii.Error, ValueError):
        return False


def base64_decodes(value: str) -> bytes | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


VALIDATORS = {
    "none": lambda v: True,
    "luhn": lambda v: luhn(v.replace(" ", "").replace("-", "")),
    "mod97": iban_mod97,
    "gb11643": gb11643,
}
