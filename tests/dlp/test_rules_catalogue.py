"""Every built-in rule finds its own kind, generated fresh (nothing secret is
committed), at the exact span, on both engine paths."""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import GENERATORS, sample
from stockade.model import LABEL_PII, LABEL_SECRET

ENGINE = Engine.default()
PLAIN = Engine(accelerate=False)
RULE_IDS = ENGINE.rule_ids()


def test_catalogue_covers_at_least_sixty_credential_kinds() -> None:
    secret_ids = [r for r in RULE_IDS if ENGINE.describe(r).label == LABEL_SECRET]
    pii_ids = [r for r in RULE_IDS if ENGINE.describe(r).label == LABEL_PII]
    assert len(secret_ids) >= 60
    assert {"cn_resident_id", "cn_mobile", "bank_card", "iban", "us_ssn", "email", "passport_number"} <= set(pii_ids)
    assert len(set(RULE_IDS)) == len(RULE_IDS)


def test_every_rule_has_a_generator_and_a_description() -> None:
    assert set(GENERATORS) == set(RULE_IDS)
    for rid in RULE_IDS:
        info = ENGINE.describe(rid)
        assert info.id == rid and info.title and info.description


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_flags_generated_value_exactly(rule_id: str) -> None:
    rng = random.Random(f"flag-{rule_id}")
    for _ in range(5):
        s = sample(rule_id, rng)
        found = ENGINE.scan(s.text)
        assert [(f.rule_id, s.text[f.start:f.end]) for f in found] == [(rule_id, s.value)], s.rule_id
        assert [f.to_dict() for f in PLAIN.scan(s.text)] == [f.to_dict() for f in found]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_preview_never_shows_the_value(rule_id: str) -> None:
    s = sample(rule_id, random.Random(f"mask-{rule_id}"))
    (f,) = ENGINE.scan(s.text)
    shown = f.preview.replace("*", "")
    assert len(shown) <= max(2, len(s.value) // 4)
    assert s.value not in repr(f) and s.value not in str(f.to_dict())


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_found_inside_escaped_json_and_long_lines(rule_id: str) -> None:
    """Agent requests carry values inside JSON strings, on one long line."""
    s = sample(rule_id, random.Random(f"ctx-{rule_id}"))
    filler = "lorem ipsum dolor sit amet " * 40
    text = filler + "\n" + s.text + "\n" + filler
    found = ENGINE.scan(text)
    assert [(f.rule_id, text[f.start:f.end]) for f in found] == [(rule_id, s.value)]
