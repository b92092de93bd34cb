"""Bypass class: an AWS secret access key written next to its access key id,
with no key name.

The AWS console's CSV download (``Access key ID,Secret access key`` then
``<id>,<secret>``) and pairs such as ``<id> <secret>``, ``<id>:<secret>``,
``| <id> | <secret> |`` had the id reported and the secret left in clear: the
secret rule needed a key name before it.  The secret is now reported on its
own span, so redaction rewrites just it."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import B64, HEX, rand, varied

ENGINES = {"hyperscan": Engine.default(), "python": Engine(accelerate=False)}
RNG = random.Random(20240917)
KEY_ID = "AK" + "IA" + rand(RNG, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
SESSION_ID = "AS" + "IA" + rand(RNG, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
SECRET = varied(RNG, B64, 40)
HEADER = "Access key ID," + "Secret access key"

PAIRS = {
    "console csv": HEADER + "\n" + KEY_ID + "," + SECRET + "\n",
    "console csv crlf": HEADER + "\r\n" + KEY_ID + "," + SECRET + "\r\n",
    "console csv with user columns": "User name,Password," + HEADER + ",Console login link\n"
    "deploy,," + KEY_ID + "," + SECRET + ",https://123456789012.signin.aws.amazon.com/console\n",
    "space": "keys: " + KEY_ID + " " + SECRET + "\n",
    "tab": KEY_ID + "\t" + SECRET,
    "colon": KEY_ID + ":" + SECRET,
    "pipe": "| prod | " + KEY_ID + " | " + SECRET + " |",
    "double quoted": '["' + KEY_ID + '", "' + SECRET + '"]',
    "single quoted": "('" + KEY_ID + "','" + SECRET + "')",
    "next line": KEY_ID + "\n" + SECRET + "\n",
    "session key id": SESSION_ID + " " + SECRET,
}


def _secrets(text: str, engine: Engine) -> list[str]:
    return [text[f.start : f.end] for f in engine.scan(text) if f.rule_id == "aws_secret_access_key"]


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_a_secret_next_to_its_key_id_is_found_on_its_own_span(name: str, engine: str) -> None:
    text = PAIRS[name]
    assert _secrets(text, ENGINES[engine]) == [SECRET]


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_csv_with_the_secret_column_first_is_found(engine: str) -> None:
    text = '"Secret access key","Access key ID"\n"' + SECRET + '","' + KEY_ID + '"\n'
    assert _secrets(text, ENGINES[engine]) == [SECRET]


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_the_key_id_is_still_its_own_finding(engine: str) -> None:
    text = PAIRS["console csv"]
    found = [(f.rule_id, text[f.start : f.end]) for f in ENGINES[engine].scan(text)]
    assert found == [("aws_access_key_id", KEY_ID), ("aws_secret_access_key", SECRET)]


# Guards: what follows a key id but is not a secret stays unreported.

@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_guard_a_git_sha_after_a_key_id_is_not_a_secret(engine: str) -> None:
    sha = varied(RNG, HEX, 40)
    for text in (KEY_ID + " " + sha, KEY_ID + "," + sha.upper()):
        assert _secrets(text, ENGINES[engine]) == []


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_guard_the_documented_example_pair_is_not_a_secret(engine: str) -> None:
    text = HEADER + "\nAKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    assert ENGINES[engine].scan(text) == []


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_guard_a_csv_header_over_other_data_is_not_a_secret(engine: str) -> None:
    text = HEADER + "\n" + KEY_ID + ",(rotated)\n"
    assert _secrets(text, ENGINES[engine]) == []
