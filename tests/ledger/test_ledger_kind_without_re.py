"""Event kinds are checked with string code, not a regular expression: the
ledger's write path (every hook call, the sandbox's recorder) does without
re.  These cases hold the string code to the expression it replaces."""

from __future__ import annotations

import random
import re

import pytest

from stockade.errors import UsageError
from stockade.ledger import event

KIND = re.compile(r"[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+")


def test_kinds_are_judged_as_the_regular_expression_judges_them() -> None:
    rng = random.Random(9)
    alphabet = "az09_-..A\u0131\u212a \n"
    cases = ["", ".", "a.", ".a", "a.b", "a..b", "a.b.", "a-b.c_d", "1a.b", "a.1b", "a.b\n",
             "llm.request", "A.b", "a.\u0131", "_a.b", "a._b"]
    for _ in range(20000):
        cases.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))))
    for kind in cases:
        assert event._dotted_kind(kind) == (KIND.fullmatch(kind) is not None), repr(kind)


@pytest.mark.parametrize("kind", ["nodot", "Bad.kind", "a..b", "a.b\n"])
def test_an_undotted_kind_is_refused(kind: str) -> None:
    with pytest.raises(UsageError, match="dotted lowercase"):
        event.validate_kind(kind)
