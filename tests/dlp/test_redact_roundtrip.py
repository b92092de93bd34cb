"""Redaction: placeholders out, values back, in whole text, streams and JSON."""

from __future__ import annotations

import copy
import json
import pickle
import random
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockade.dlp.redact import PREFIX, Vault, VaultError, redact, restore
from stockade.model import Finding

PLACEHOLDER = re.compile(r"STOCKADE_REDACTED_[A-Z0-9_]+_\d+_[a-z0-9]{12}")


def finding(start: int, end: int, *, rule: str = "aws-access-key-id", label: str = "secret") -> Finding:
    return Finding(rule, label, start, end, 1, start + 1, 1, end + 1, 0.9, "****")


def fake_key() -> str:
    return "AKIA" + "".join(random.choice(string.ascii_uppercase + "234567") for _ in range(16))


@st.composite
def text_and_findings(draw: st.DrawFn) -> tuple[str, list[Finding]]:
    text = draw(st.text(max_size=300))
    n = len(text)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=10)))
    findings = []
    for a, b in zip(cuts[::2], cuts[1::2]):
        if a < b:
            rule = draw(st.sampled_from(["aws-access-key-id", "email", "PEM private key", "x"]))
            label = draw(st.sampled_from(["secret", "pii", "regulated", "weird label!"]))
            findings.append(finding(a, b, rule=rule, label=label))
    return text, findings


@st.composite
def chunking(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=20))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def stream(vault: Vault, chunks: list[str], *, json_string: bool = False) -> str:
    r = vault.restorer(json_string=json_string)
    return "".join(r.feed(c) for c in chunks) + r.flush()


@settings(max_examples=300, deadline=None)
@given(text_and_findings(), st.data())
def test_round_trip_whole_and_streamed(tf: tuple[str, list[Finding]], data: st.DataObject) -> None:
    text, findings = tf
    redacted, vault = redact(text, findings)
    assert restore(redacted, vault) == text
    chunks = data.draw(chunking(redacted))
    assert stream(vault, chunks) == text


@settings(max_examples=200, deadline=None)
@given(text_and_findings(), st.data(), st.booleans())
def test_json_mode_round_trip(tf: tuple[str, list[Finding]], data: st.DataObject, ascii_: bool) -> None:
    text, findings = tf
    redacted, vault = redact(text, findings)
    doc = json.dumps({"command": redacted, "n": 1}, ensure_ascii=ascii_)
    chunks = data.draw(chunking(doc))
    restored = stream(vault, chunks, json_string=True)
    assert json.loads(restored) == {"command": text, "n": 1}
    assert json.loads(restore(doc, vault, json_string=True))["command"] == text


def test_placeholder_shape_names_the_kind_and_hides_the_value() -> None:
    key = fake_key()
    text = f"aws_access_key_id = {key}\n"
    start = text.index(key)
    redacted, vault = redact(text, [finding(start, start + len(key))])
    assert key not in redacted
    (ph,) = PLACEHOLDER.findall(redacted)
    assert ph.startswith(PREFIX + "SECRET_AWS_ACCESS_KEY_ID_1_")
    assert ph.endswith(vault.nonce)
    assert re.fullmatch(r"\w+", ph, re.ASCII)
    # JSON escaping leaves it untouched, so it survives the trip through a request body.
    assert json.dumps(ph) == f'"{ph}"'


def test_same_value_same_placeholder_across_calls() -> None:
    key = fake_key()
    text = f"{key} and again {key}"
    f1 = finding(0, len(key))
    f2 = finding(text.rindex(key), len(text))
    redacted, vault = redact(text, [f1, f2])
    phs = PLACEHOLDER.findall(redacted)
    assert len(phs) == 2 and phs[0] == phs[1]
    # A later request in the same conversation gets the same placeholder.
    again, same_vault = redact(key, [finding(0, len(key))], vault=vault)
    assert same_vault is vault and again == phs[0]
    assert len(vault) == 1


def test_other_vault_placeholders_are_left_alone() -> None:
    key = fake_key()
    redacted, vault = redact(key, [finding(0, len(key))])
    _, other = redact("x", [])
    assert restore(redacted, other) == redacted
    assert restore(redacted, vault) == key


def test_overlapping_findings_never_leak_a_part() -> None:
    key = fake_key()
    text = f"pre {key} post"
    s = text.index(key)
    redacted, vault = redact(text, [finding(s, s + 10), finding(s + 5, s + len(key))])
    assert key[:5] not in redacted and key[-5:] not in redacted
    assert restore(redacted, vault) == text


def test_streaming_holds_back_only_a_placeholder_prefix() -> None:
    key = fake_key()
    redacted, vault = redact(f"a {key} b", [finding(2, 2 + len(key))])
    ph = PLACEHOLDER.findall(redacted)[0]
    r = vault.restorer()
    # Text that cannot start a placeholder is released at once, including an 'S'.
    assert r.feed("Hello STOCKS ") == "Hello STOCKS "
    assert r.feed("see " + ph[:20]) == "see "
    assert r.feed(ph[20:-3]) == ""
    assert r.feed(ph[-3:] + " done S") == key + " done "
    assert r.flush() == "S"


def test_json_mode_escapes_a_multiline_key() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\n" + "".join(random.choices(string.ascii_letters, k=64)) + "\n-----END PRIVATE KEY-----"
    text = f'key "{pem}"'
    s = text.index(pem)
    redacted, vault = redact(text, [finding(s, s + len(pem), rule="pem-private-key")])
    args = json.dumps({"file_path": "/tmp/k", "content": redacted})
    # Split inside the placeholder, as input_json_delta fragments are.
    mid = args.index(PREFIX) + 7
    out = stream(vault, [args[:mid], args[mid:]], json_string=True)
    assert "\\n" in out
    assert json.loads(out)["content"] == text


def test_vault_never_shows_values() -> None:
    key = fake_key()
    _, vault = redact(key, [finding(0, len(key))])
    assert key not in repr(vault) and key not in str(vault)
    assert repr(vault) == "Vault(placeholders=1)"
    assert key not in repr(vault.restorer())
    with pytest.raises(VaultError):
        pickle.dumps(vault)
    with pytest.raises(VaultError):
        copy.deepcopy(vault)


def test_explicit_export_round_trip() -> None:
    key = fake_key()
    redacted, vault = redact(key, [finding(0, len(key))])
    exported = json.loads(json.dumps(vault.unsafe_export()))
    again = Vault.unsafe_import(exported)
    assert restore(redacted, again) == key
    with pytest.raises(VaultError):
        Vault.unsafe_import({"version": 2})


def test_no_findings_is_identity() -> None:
    text = "nothing here " + PREFIX + "SECRET_1_abcdefghijkl"
    redacted, vault = redact(text, [])
    assert redacted == text and restore(text, vault) == text


def test_redacted_text_scans_clean_with_the_real_engine() -> None:
    """The gateway may scan a text twice: a placeholder must not look like a secret."""
    from stockade.dlp import Engine

    key = fake_key()
    pw = "".join(random.choice(string.ascii_letters) + random.choice(string.digits) for _ in range(8))
    text = f"AWS_ACCESS_KEY_ID={key}\nREDIS_PASSWORD={pw}\npassword: \"{pw}\"\n"
    engine = Engine.default()
    findings = engine.scan(text)
    assert findings, "the engine should flag the planted values"
    redacted, vault = redact(text, findings)
    assert key not in redacted and pw not in redacted
    assert engine.scan(redacted) == []
    assert restore(redacted, vault) == text
