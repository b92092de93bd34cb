"""SARIF details code scanning relies on."""

from __future__ import annotations

from stockade.deps.model import Finding, Result, Spec
from stockade.deps.report import to_sarif


def test_sarif_locations_are_uri_references() -> None:
    """Regression: a manifest path with a space or `#` went into
    artifactLocation.uri unescaped (not a valid URI reference), and a spec
    with no line had no location at all."""
    f = Finding("typosquat", "block", "x")
    results = [Result(Spec("pypi", "colourama", None, "my dir/#1/requirements.txt", 3), (f,)),
               Result(Spec("pypi", "colourama", None, "pyproject.toml", None), (f,)),
               Result(Spec("pypi", "colourama", None, "command", None), (f,))]
    out = to_sarif(results)["runs"][0]["results"]
    first = out[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "my%20dir/%231/requirements.txt"
    assert first["region"] == {"startLine": 3}
    assert out[1]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "pyproject.toml"}}
    assert "locations" not in out[2]  # an install command is no file


def test_every_result_names_a_rule_and_a_valid_level() -> None:
    results = [Result(Spec("npm", f"p{k}", None, "package.json", k + 1),
                      (Finding(check, action, "r"),))
               for k, (check, action) in enumerate([("nonexistent", "block"), ("new", "warn"),
                                                    ("vulnerable", "ask"), ("new", "allow")])]
    run = to_sarif(results)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == 3  # an allow is no result
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
