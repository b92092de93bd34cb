"""Regression: a project custom rule could relabel a stronger finding away.

A custom rule (priority 60) overlapping a generic password (40) or a managed
dictionary term (30) used to win the overlap, so the value was reported only
under the project's label, e.g. one its policy allows.  Now a policy rule's
finding never displaces a built-in finding nor one of another label: both
are reported (the strictest action applies) and redaction covers both.

Also here: the cost guards on custom regexes (keywords or a literal prefix,
no nested unbounded quantifiers, bounded windows).
"""

from __future__ import annotations

import random

import pytest

from stockade.dlp import Engine
from stockade.dlp.fakes import sample
from stockade.dlp.redact import redact, restore
from stockade.dlp.spec import CustomRule, Dictionary
from stockade.errors import PolicyError
from stockade.model import LABEL_SECRET

# What a project layer would add to make a value look harmless.
RELABEL = CustomRule(id="proj-config-value", label="public", regex=r"[A-Za-z_]+=\S+",
                     keywords=("=",))


@pytest.mark.parametrize("accelerate", [None, False])
def test_project_rule_cannot_relabel_a_generic_password(accelerate: bool | None) -> None:
    s = sample("generic_password", random.Random())
    engine = Engine(custom_rules=[RELABEL], accelerate=accelerate)
    found = engine.scan(s.text)
    labels = {(f.rule_id, f.label) for f in found}
    assert ("generic_password", LABEL_SECRET) in labels
    assert ("proj-config-value", "public") in labels  # reported too, not instead
    (pw,) = [f for f in found if f.rule_id == "generic_password"]
    assert s.text[pw.start:pw.end] == s.value
    assert [f.start for f in found] == sorted(f.start for f in found)


@pytest.mark.parametrize("accelerate", [None, False])
def test_project_rule_cannot_relabel_a_managed_dictionary_term(accelerate: bool | None) -> None:
    managed = Dictionary(label="regulated", terms=("Project Kestrel",), id="managed-codenames")
    project = CustomRule(id="proj-public-names", label="public", regex=r"Project \w+",
                         keywords=("project",))
    engine = Engine(dictionaries=[managed], custom_rules=[project], accelerate=accelerate)
    found = engine.scan("release notes for Project Kestrel, due soon")
    assert sorted((f.rule_id, f.label) for f in found) == [
        ("managed-codenames", "regulated"), ("proj-public-names", "public")]


def test_same_label_overlap_is_reported_once() -> None:
    a = Dictionary(label="regulated", terms=("Kestrel",), id="short-names")
    b = Dictionary(label="regulated", terms=("Project Kestrel",), id="long-names")
    found = Engine(dictionaries=[a, b]).scan("see Project Kestrel")
    assert [(f.rule_id, f.start, f.end) for f in found] == [("long-names", 4, 19)]


def test_policy_rule_shorter_than_builtin_does_not_shrink_it() -> None:
    """A same-label custom match on part of a secret must not replace the whole."""
    s = sample("generic_password", random.Random())
    prefix = CustomRule(id="proj-pw-head", label=LABEL_SECRET, regex=r"PASSWORD=(?P<v>\w{4})",
                        keywords=("password",))
    found = Engine(custom_rules=[prefix]).scan(s.text)
    # The built-in finding keeps its whole span; the custom one, inside it
    # with the same label, adds nothing and is dropped.
    assert [(f.rule_id, s.text[f.start:f.end]) for f in found] == [("generic_password", s.value)]


def test_redaction_of_overlapping_findings_hides_both_and_restores() -> None:
    s = sample("generic_password", random.Random())
    text = f"config: {s.text} end"
    found = Engine(custom_rules=[RELABEL]).scan(text)
    assert len(found) == 2 and found[0].end > found[1].start  # they overlap
    redacted, vault = redact(text, found)
    assert s.value not in redacted and "REDIS_PASSWORD" not in redacted
    assert redacted.startswith("config: STOCKADE_REDACTED_") and redacted.endswith(" end")
    assert restore(redacted, vault) == text


@pytest.mark.parametrize("regex", [r"ACME-(\d+)+x", r"ACME-(?:\w+\s?)*;", r"ACME-((a|b)*c)+"])
def test_nested_unbounded_quantifier_is_refused(regex: str) -> None:
    with pytest.raises(PolicyError) as exc:
        Engine(custom_rules=[CustomRule(id="slow", label="l", regex=regex, keywords=("acme",))])
    assert "possessive" in (exc.value.hint or "")


def test_possessive_rewrite_is_accepted_and_finds() -> None:
    rule = CustomRule(id="fast", label="l", regex=r"ACME-(?:\w++\s?)+;", keywords=("acme",))
    (f,) = Engine(custom_rules=[rule]).scan("x ACME-ab cd; y")
    assert (f.rule_id, f.start, f.end) == ("fast", 2, 13)


def test_rule_without_keywords_or_literal_prefix_is_refused() -> None:
    with pytest.raises(PolicyError) as exc:
        Engine(custom_rules=[CustomRule(id="anything", label="l", regex=r"\S{12}")])
    assert "keywords" in exc.value.message


@pytest.mark.parametrize("regex", [r"TCK-\d{6}", r"\b(?P<v>TCK-\d{6})\b", r"TCK-\d{6}|REQ-\d{6}"])
def test_literal_prefix_stands_in_for_keywords(regex: str) -> None:
    e = Engine(custom_rules=[CustomRule(id="ticket", label="internal", regex=regex)])
    assert [f.rule_id for f in e.scan("fixes TCK-123456 today")] == ["ticket"]
    assert e.scan("nothing like it: TCX-123456") == []


@pytest.mark.parametrize("accelerate", [None, False])
def test_dense_keywords_in_long_text_windows_still_find_everything(accelerate: bool | None) -> None:
    """Windows near dense keywords are cut into pieces; no match is lost or cut."""
    rng = random.Random()
    ids = [f"{rng.randrange(10**7, 10**8)}" for _ in range(400)]
    text = " ".join(f"ref ref ACME-{i} ref" for i in ids)  # a keyword every few characters
    rule = CustomRule(id="acme", label="regulated", regex=r"ACME-(?P<v>\d{8})", keywords=("ref",))
    found = Engine(custom_rules=[rule], accelerate=accelerate).scan(text)
    assert [text[f.start:f.end] for f in found] == ids
