"""The engine's public contract: findings, masking, fingerprints, allowlists,
custom rules and dictionaries, ordering, errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from stockade.dlp import MAX_SPAN, Engine
from stockade.dlp.fakes import sample
from stockade.dlp.spec import AllowEntry, CustomRule, Dictionary
from stockade.errors import PolicyError
from stockade.state import keyed_hash

RNG = random.Random(11)
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "agents" / "examples"


def test_default_engine_is_shared() -> None:
    assert Engine.default() is Engine.default()


def test_finding_location_is_one_based_and_end_exclusive() -> None:
    s = sample("github_pat_classic", RNG)
    text = "line one\n  " + s.text + "\n"
    (f,) = Engine.default().scan(text)
    assert (f.line, f.end_line) == (2, 2)
    line2 = text.split("\n")[1]
    assert line2[f.column - 1:f.end_column - 1] == s.value
    assert f.preview.startswith("ghp_") and f.preview.endswith(s.value[-2:])
    assert f.label == "secret" and 0 < f.confidence <= 1 and f.fingerprint is None


def test_multiline_key_block_span() -> None:
    s = sample("rsa_private_key", RNG)
    (f,) = Engine.default().scan(s.text)
    assert f.end_line - f.line == s.value.count("\n")
    assert s.text[f.start:f.end] == s.value


def test_fingerprint_is_keyed_hash_of_value() -> None:
    key = b"k" * 32
    s = sample("stripe_secret_key", RNG)
    (f,) = Engine(fingerprint_key=key).scan(s.text)
    assert f.fingerprint == keyed_hash(s.value, key)
    assert s.value not in f.fingerprint


def test_findings_sorted_and_disjoint_most_specific_wins() -> None:
    parts = [sample(r, RNG) for r in ("aws_access_key_id", "email", "postgres_url", "generic_password")]
    text = "\n".join(p.text for p in parts)
    found = Engine.default().scan(text)
    assert [f.rule_id for f in found] == [p.rule_id for p in parts]
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    # A vendor key assigned to a secret-named variable is reported once, by the vendor rule.
    s = sample("stripe_secret_key", RNG)
    assert [f.rule_id for f in Engine.default().scan(f'api_secret = "{s.value}"')] == ["stripe_secret_key"]


def test_allowlist_marks_findings_suppressed_but_still_reports_them() -> None:
    s = sample("slack_bot_token", RNG)
    e = Engine(allowlist=[AllowEntry(reason="rotated 2024", rule="slack_*", path="fixtures/*")])
    (f,) = e.scan(s.text, path="fixtures/a.env")
    assert f.suppressed_by == "allowlist: rotated 2024"
    (g,) = e.scan(s.text, path="src/a.env")
    assert g.suppressed_by is None
    by_value = Engine(allowlist=[AllowEntry(reason="test", value_regex=r"^xoxb-")])
    assert by_value.scan(s.text)[0].suppressed_by == "allowlist: test"


def test_custom_rule_with_keywords_and_validator() -> None:
    rule = CustomRule(id="acme_contract", label="regulated", regex=r"CT-(?P<v>\d{16})",
                      keywords=("contract",), validator="luhn")
    from stockade.dlp.fakes import luhn_complete
    good = luhn_complete(RNG, "4", 16)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    e = Engine(custom_rules=[rule])
    found = e.scan(f"contract CT-{good} and contract CT-{bad}")
    assert [(f.rule_id, f.label) for f in found if f.rule_id == "acme_contract"] == [("acme_contract", "regulated")]
    assert all(f.rule_id != "acme_contract" for f in e.scan(f"CT-{good} without the key word"))
    assert e.describe("acme_contract").label == "regulated"


def test_custom_rule_without_keywords_runs_where_its_literal_prefix_occurs() -> None:
    e = Engine(custom_rules=[CustomRule(id="ticket", label="internal", regex=r"TKT-\d{6}")])
    (f,) = e.scan("see TKT-123456 today")
    assert (f.rule_id, f.preview) == ("ticket", "*" * 10)


def test_dictionary_terms_whole_words_and_case() -> None:
    d = Dictionary(label="proprietary", terms=("Project Falcon", "蓝鲸"), id="codenames")
    e = Engine(dictionaries=[d])
    found = e.scan("the project falcon launch; falconry; 蓝鲸计划")
    assert [(f.rule_id, f.label) for f in found] == [("codenames", "proprietary")] * 2
    cs = Engine(dictionaries=[Dictionary(label="p", terms=("Falcon",), id="cs", case_sensitive=True)])
    assert len(cs.scan("Falcon falcon")) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"custom_rules": [CustomRule(id="x", label="l", regex="(")]},
        {"custom_rules": [CustomRule(id="x", label="l", regex="a*")]},
        {"custom_rules": [CustomRule(id="x", label="l", regex="a", validator="nope")]},
        {"custom_rules": [CustomRule(id="email", label="l", regex="a")]},
        {"dictionaries": [Dictionary(label="l", terms=())]},
        {"allowlist": [AllowEntry(reason="r", value_regex="(")]},
    ],
)
def test_bad_policy_input_raises_policy_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        Engine(**kwargs)  # type: ignore[arg-type]


def test_unknown_rule_describe_raises() -> None:
    with pytest.raises(KeyError):
        Engine.default().describe("no_such_rule")


def test_max_span_covers_largest_rule() -> None:
    s = sample("pgp_private_key", RNG)
    assert len(s.value) < MAX_SPAN


@pytest.mark.skipif(not EXAMPLES.exists(), reason="shared agent examples not present")
@pytest.mark.parametrize("name", ["claude_request_turn1.json", "claude_request_turn2.json",
                                  "codex_request_turn1.json", "claude_transcript_sample.jsonl",
                                  "codex_rollout_sample.jsonl"])
@pytest.mark.parametrize("accelerate", [None, False])
def test_agent_cli_traffic_has_no_findings(name: str, accelerate: bool | None) -> None:
    """System prompts and tool descriptions carry vendor addresses and docs examples."""
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    assert Engine(accelerate=accelerate).scan(text) == []
