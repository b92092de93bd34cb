"""Bypass class: a complete private key block the key-block rules missed.

The block body was a lazy ``[\\s\\S]`` run to the END line and any ``...``
rejected it, so four shapes reached the vendor in clear:

* a decoy BEGIN line mentioned earlier in the text: the body swallowed the
  real BEGIN, the match was rejected and the scan resumed after the END;
* a duplicated BEGIN line (same thing);
* a ``...`` line or an RFC 1421 / 7468 header (``Comment:``, ``Proc-Type:``,
  ``DEK-Info:``) inside the block;
* no END line at all, as when a tool printed the first lines of the file.

Short, elided documentation examples must stay unreported."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import B64, rand

LABELS = {
    "rsa_private_key": "RSA PRIVATE KEY",
    "pkcs8_private_key": "PRIVATE KEY",
    "ec_private_key": "EC PRIVATE KEY",
    "openssh_private_key": "OPENSSH PRIVATE KEY",
}
ENGINES = {"hyperscan": Engine.default(), "python": Engine(accelerate=False)}


def _begin(label: str) -> str:
    return "-----BEGIN " + label + "-----"


def _end(label: str) -> str:
    return "-----END " + label + "-----"


def _lines(seed: int, n: int = 16) -> list[str]:
    rng = random.Random(seed)
    return [rand(rng, B64, 64) for _ in range(n)] + [rand(rng, B64, 28) + "=="]


def _found(text: str, lines: list[str], rule_id: str) -> None:
    """Every engine reports ``rule_id`` once, over every line of key material."""
    for name, engine in ENGINES.items():
        hits = [f for f in engine.scan(text) if f.rule_id == rule_id]
        assert len(hits) == 1, (name, [(f.rule_id, f.line) for f in engine.scan(text)])
        covered = text[hits[0].start : hits[0].end]
        assert all(line in covered for line in lines), name


def _not_found(text: str) -> None:
    for name, engine in ENGINES.items():
        assert [(f.rule_id, f.line) for f in engine.scan(text)] == [], name


@pytest.mark.parametrize("rule_id", sorted(LABELS))
def test_a_decoy_begin_line_earlier_in_the_text_does_not_hide_the_block(rule_id: str) -> None:
    label = LABELS[rule_id]
    lines = _lines(1)
    text = (
        f"A key file starts with {_begin(label)} and ends with the matching END line.\n"
        "Here is the one from the server:\n\n"
        + _begin(label) + "\n" + "\n".join(lines) + "\n" + _end(label) + "\n"
    )
    _found(text, lines, rule_id)


@pytest.mark.parametrize("rule_id", sorted(LABELS))
def test_a_duplicated_begin_line_does_not_hide_the_block(rule_id: str) -> None:
    label = LABELS[rule_id]
    lines = _lines(2)
    text = _begin(label) + "\n" + _begin(label) + "\n" + "\n".join(lines) + "\n" + _end(label) + "\n"
    _found(text, lines, rule_id)


def test_an_ellipsis_line_inside_a_full_body_is_not_an_elided_example() -> None:
    label = LABELS["rsa_private_key"]
    lines = _lines(3)
    body = "\n".join(lines[:8]) + "\n...\n" + "\n".join(lines[8:])
    _found(_begin(label) + "\n" + body + "\n" + _end(label), lines, "rsa_private_key")


def test_a_unicode_ellipsis_line_inside_a_full_body_is_not_an_elided_example() -> None:
    label = LABELS["pkcs8_private_key"]
    lines = _lines(4)
    body = "\n".join(lines[:8]) + "\n\u2026\n" + "\n".join(lines[8:])
    _found(_begin(label) + "\n" + body + "\n" + _end(label), lines, "pkcs8_private_key")


@pytest.mark.parametrize(
    "headers",
    [
        'Comment: "imported-openssh-key ... rotated 2024"\n',
        "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,5A1E3B0C9F2D4E6A8B7C1D0E2F3A4B5C\n\n",
    ],
    ids=["comment", "proc-type"],
)
def test_armor_headers_inside_the_block_do_not_hide_it(headers: str) -> None:
    label = LABELS["rsa_private_key"]
    lines = _lines(5)
    text = _begin(label) + "\n" + headers + "\n".join(lines) + "\n" + _end(label) + "\n"
    _found(text, lines, "rsa_private_key")


@pytest.mark.parametrize("rule_id", sorted(LABELS))
def test_a_block_cut_before_its_end_line_is_found(rule_id: str) -> None:
    label = LABELS[rule_id]
    lines = _lines(6)[:8]  # `head -n 9 key.pem`: BEGIN and eight full lines
    text = "$ head -n 9 deploy.pem\n" + _begin(label) + "\n" + "\n".join(lines) + "\n$ ls\n"
    _found(text, lines, rule_id)


def test_a_cut_block_in_a_json_tool_result_is_found() -> None:
    label = LABELS["openssh_private_key"]
    lines = _lines(7)[:6]
    text = '{"type": "tool_result", "content": "' + _begin(label) + "\\n" + "\\n".join(lines) + '\\n"}'
    _found(text, lines, "openssh_private_key")


def test_a_cut_block_with_headers_is_found() -> None:
    label = LABELS["rsa_private_key"]
    lines = _lines(8)[:6]
    text = (_begin(label) + "\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n"
            + "\n".join(lines) + "\n")
    _found(text, lines, "rsa_private_key")


def test_a_cut_block_finding_ends_at_the_last_base64_line() -> None:
    label = LABELS["rsa_private_key"]
    lines = _lines(9)[:5]
    text = _begin(label) + "\n" + "\n".join(lines) + "\nThe rest of the file was not shown.\n"
    (f,) = ENGINES["python"].scan(text)
    assert text[f.start : f.end] == _begin(label) + "\n" + "\n".join(lines)


# Documentation examples: short, elided bodies stay unreported.

def test_guard_an_elided_documentation_example_is_not_a_key() -> None:
    label = LABELS["rsa_private_key"]
    _not_found(_begin(label) + "\nMIIEowIBAAKCAQEA...\n" + _end(label))
    _not_found(_begin(label) + "\n" + _lines(10)[0] + "\n...\n" + _end(label))


def test_guard_a_begin_line_followed_by_one_line_is_not_a_key() -> None:
    label = LABELS["rsa_private_key"]
    _not_found("Paste it here:\n" + _begin(label) + "\n" + _lines(11)[0] + "\n")


def test_guard_prose_about_the_format_is_not_a_key() -> None:
    label = LABELS["pkcs8_private_key"]
    _not_found(f"The file begins with {_begin(label)} and the\nbody that follows is base64\nencoded DER.\n")
