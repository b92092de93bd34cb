"""Four-letter names, where typosquats concentrate: a popular five-letter name
with an inner letter dropped and no vowel left is suspect (``flsk``); short
words with a vowel and the popular short names themselves pass."""

from __future__ import annotations

import pytest

from stockade.deps.popular import index


@pytest.mark.parametrize(("name", "target"), [
    ("flsk", "flask"), ("blck", "black"), ("clck", "click"), ("nmpy", "numpy"),
    ("Flsk", "flask"),  # names are compared normalised
])
def test_a_popular_name_missing_its_vowel_is_flagged(name: str, target: str) -> None:
    idx = index("pypi")
    assert idx is not None
    m = idx.check(name)
    assert m is not None and m.target == target and m.how == "one-edit"


@pytest.mark.parametrize("name", [
    # popular short names themselves
    "attrs", "black", "click", "flask", "six", "tox", "nose", "toml", "tqdm", "lxml", "nltk",
    "boto", "wand", "cbor",
    # near misses that are plausible packages: a vowel is left, or too short to tell
    "flak", "back", "hack", "toll", "atrs", "sex", "tmol", "fla",
])
def test_near_misses_that_must_pass(name: str) -> None:
    idx = index("pypi")
    assert idx is not None
    assert idx.check(name) is None, name
