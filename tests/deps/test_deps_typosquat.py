"""Typosquat detection: a table of names that must be flagged (with the
popular package they imitate and how) and near-misses that must pass."""

from __future__ import annotations

import pytest

from stockade.deps.popular import Index, damerau, index, skeleton

FLAG = [
    # (ecosystem, name, imitated, how)
    ("pypi", "reqeusts", "requests", "one-edit"),  # swapped letters
    ("pypi", "requets", "requests", "one-edit"),  # dropped letter
    ("pypi", "colourama", "colorama", "one-edit"),  # inserted letter (a real 2018 squat)
    ("pypi", "nunpy", "numpy", "one-edit"),  # substituted letter
    ("pypi", "jeIlyfish", "jellyfish", "confusable"),  # capital I for l (a real 2019 squat)
    ("pypi", "djang0", "django", "confusable"),  # zero for o
    ("pypi", "reque5ts", "requests", "confusable"),  # five for s
    ("pypi", "nurnpy", "numpy", "confusable"),  # rn for m
    ("pypi", "rеquests", "requests", "confusable"),  # Cyrillic е
    ("pypi", "typingextensions", "typing_extensions", "confusable"),  # separator dropped
    ("pypi", "requests-async2", "requests", "affix"),
    ("pypi", "python-requests", "requests", "affix"),
    ("pypi", "requests-py", "requests", "affix"),
    ("pypi", "python3-dateutil", "python-dateutil", "one-edit"),  # a real 2019 squat
    ("pypi", "numpy-official", "numpy", "affix"),
    ("npm", "crossenv", "cross-env", "confusable"),  # a real 2017 squat
    ("npm", "electorn", "electron", "one-edit"),  # a real 2017 squat
    ("npm", "@typ3s/node", "@types/node", "confusable"),
    ("npm", "@tpyes/node", "@types/node", "one-edit"),
    ("npm", "lodahs", "lodash", "one-edit"),
    ("npm", "expres", "express", "one-edit"),
    ("npm", "nodemailer-js", "nodemailer", "affix"),
    ("npm", "@bable/core", "@babel/core", "one-edit"),
    ("npm", "@typesx/react", "@types/react", "one-edit"),
    ("npm", "@typ3s/some-private-thing", "@types/some-private-thing", "scope"),
]

PASS = [
    # the near-misses of the issue, and popular names close to other popular names
    ("pypi", "requests"), ("pypi", "python-dateutil"), ("pypi", "Python_DateUtil"),
    ("pypi", "typing_extensions"), ("pypi", "typing-extensions"), ("pypi", "six"),
    ("pypi", "boto3"), ("pypi", "botocore"), ("pypi", "pyyaml"), ("pypi", "pytest-asyncio"),
    ("pypi", "requests-toolbelt"), ("pypi", "opencv-python"), ("pypi", "aiohttp"),
    # not popular and not like anything popular
    ("pypi", "stockade-internal-tool"), ("pypi", "zq"), ("pypi", "my-company-lib"),
    ("npm", "@types/node"), ("npm", "@types/react"), ("npm", "cross-env"), ("npm", "electron"),
    ("npm", "react"), ("npm", "react-dom"), ("npm", "lodash"), ("npm", "express"),
    ("npm", "@babel/core"), ("npm", "@mycorp/widgets"), ("npm", "ab"),
    # inside a popular scope: only its owner publishes there
    ("npm", "@types/react-vis"), ("npm", "@babel/some-new-plugin"),
    # another organisation one edit from a popular scope
    ("npm", "@remotion/fonts"),
]


@pytest.mark.parametrize(("eco", "name", "target", "how"), FLAG)
def test_imitations_of_popular_packages_are_flagged(eco: str, name: str, target: str,
                                                    how: str) -> None:
    idx = index(eco)
    assert idx is not None
    m = idx.check(name)
    assert m is not None, f"{name} should imitate {target}"
    assert m.target.lower().replace("_", "-") == target.lower().replace("_", "-")
    assert m.how == how
    assert name in m.describe(name) and m.target in m.describe(name)


@pytest.mark.parametrize(("eco", "name"), PASS)
def test_near_misses_and_popular_names_pass(eco: str, name: str) -> None:
    idx = index(eco)
    assert idx is not None
    assert idx.check(name) is None


def test_a_popular_name_is_never_its_own_typosquat() -> None:
    # every bundled name passes, whatever else is one edit away from it
    for eco in ("pypi", "npm"):
        idx = index(eco)
        assert idx is not None
        flagged = [n for n in list(idx.names.values()) if idx.check(n) is not None]
        assert flagged == []


def test_the_bundled_lists_hold_the_most_popular_packages() -> None:
    pypi, npm = index("pypi"), index("npm")
    assert pypi is not None and npm is not None
    assert len(pypi.names) >= 1000 and len(npm.names) >= 1000
    assert {"requests", "numpy", "python-dateutil"} <= set(pypi.names)
    assert {"@types/node", "react", "lodash"} <= set(npm.names)
    assert index("go") is None  # no list: only the registry checks apply


def test_short_names_skip_the_edit_distance_check() -> None:
    idx = Index("pypi", ["attrs", "six"])
    assert idx.check("sex") is None  # one edit from `six`, but short names are dense
    assert idx.check("attrz") is not None


def test_the_most_popular_target_wins() -> None:
    idx = Index("npm", ["react", "reacts"])
    m = idx.check("reactt")
    assert m is not None and m.target == "react"


@pytest.mark.parametrize(("a", "b", "d"), [
    ("requests", "reqeusts", 1), ("abc", "abc", 0), ("abc", "abd", 1), ("abc", "ab", 1),
    ("abc", "cab", 2), ("kitten", "sitting", 3),
])
def test_damerau_distance(a: str, b: str, d: int) -> None:
    assert damerau(a, b, 3) == d


def test_skeleton_folds_what_readers_cannot_tell_apart() -> None:
    assert skeleton("jeIlyfish") == skeleton("jellyfish")
    assert skeleton("cross-env") == skeleton("crossenv")
    assert skeleton("rnodule") == skeleton("module")
    assert skeleton("ｒｅｑｕｅｓｔｓ") == skeleton("requests")  # full-width
    assert skeleton("requests") != skeleton("request")
