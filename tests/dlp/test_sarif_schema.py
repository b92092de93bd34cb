"""SARIF output checked against the parts of the 2.1.0 schema GitHub code scanning reads."""

from __future__ import annotations

import json
import re
from typing import Any

from stockade.dlp.sarif import to_sarif
from stockade.dlp.scanfiles import FileFinding, ScanReport
from stockade.dlp.walk import Skipped
from stockade.model import Finding

LEVELS = {"none", "note", "warning", "error"}
SUPPRESSION_KINDS = {"inSource", "external"}
COLUMN_KINDS = {"utf16CodeUnits", "unicodeCodePoints"}


def validate(log: dict[str, Any]) -> None:
    """The schema's required properties, enums and minimums for what we emit."""
    assert log["version"] == "2.1.0"
    assert isinstance(log["$schema"], str) and "sarif" in log["$schema"]
    assert isinstance(log["runs"], list) and log["runs"]
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        rules = driver.get("rules", [])
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids)), "rule ids must be unique"
        for r in rules:
            assert isinstance(r["id"], str) and r["id"]
            assert isinstance(r["shortDescription"]["text"], str) and r["shortDescription"]["text"]
            assert r["defaultConfiguration"]["level"] in LEVELS
        assert run.get("columnKind", "unicodeCodePoints") in COLUMN_KINDS
        for res in run["results"]:
            assert isinstance(res["message"]["text"], str) and res["message"]["text"]
            assert res["ruleId"] in ids
            assert ids[res["ruleIndex"]] == res["ruleId"]
            assert res["level"] in LEVELS
            assert res["locations"], "GitHub requires a location"
            for loc in res["locations"]:
                art = loc["physicalLocation"]["artifactLocation"]
                uri = art["uri"]
                assert not uri.startswith("/") and not re.match(r"^[a-z]+:", uri), uri
                assert " " not in uri
                region = loc["physicalLocation"]["region"]
                assert region["startLine"] >= 1 and region["startColumn"] >= 1
                assert region["endLine"] >= region["startLine"]
                assert region["endColumn"] >= 1
            fps = res["partialFingerprints"]
            assert fps and all(isinstance(k, str) and isinstance(v, str) for k, v in fps.items())
            for s in res.get("suppressions", []):
                assert s["kind"] in SUPPRESSION_KINDS
        for inv in run.get("invocations", []):
            assert isinstance(inv["executionSuccessful"], bool)
            for note in inv.get("toolExecutionNotifications", []):
                assert note["message"]["text"]
                assert note["level"] in LEVELS


def f(rule: str, label: str, line: int, *, suppressed: str | None = None) -> Finding:
    return Finding(rule, label, 10, 50, line, 5, line, 45, 0.95, "ghp_****Zq", suppressed_by=suppressed)


def report() -> ScanReport:
    r = ScanReport()
    r.findings = [
        FileFinding("src/my app/config.py", f("github_pat_classic", "secret", 3)),
        FileFinding("src/my app/config.py", f("github_pat_classic", "secret", 9)),
        FileFinding("data/users.csv", f("cn-resident-id", "pii", 2)),
    ]
    r.suppressed = [
        FileFinding("tests/fixture.py", f("github_pat_classic", "secret", 1, suppressed="inline")),
        FileFinding("old.env", f("aws-access-key-id", "secret", 1, suppressed="baseline")),
    ]
    r.skipped = [Skipped("logo.png", "binary (NUL byte)")]
    return r


def test_sarif_is_valid_for_code_scanning() -> None:
    log = json.loads(json.dumps(to_sarif(report())))
    validate(log)
    run = log["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        "github_pat_classic",
        "cn-resident-id",
        "aws-access-key-id",
    }
    assert len(run["results"]) == 5
    levels = {res["ruleId"]: res["level"] for res in run["results"]}
    assert levels["github_pat_classic"] == "error" and levels["cn-resident-id"] == "warning"
    uris = {res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for res in run["results"]}
    assert "src/my%20app/config.py" in uris


def test_suppressed_results_say_why() -> None:
    run = to_sarif(report())["runs"][0]
    kinds = sorted(s["kind"] for res in run["results"] for s in res.get("suppressions", []))
    assert kinds == ["external", "inSource"]


def test_messages_do_not_carry_even_the_preview() -> None:
    run = to_sarif(report())["runs"][0]
    for res in run["results"]:
        assert "ghp_" not in res["message"]["text"]


def test_fingerprints_distinguish_repeats_and_survive_line_moves() -> None:
    results = to_sarif(report())["runs"][0]["results"]
    fps = [res["partialFingerprints"]["stockadeFinding/v1"] for res in results]
    assert len(set(fps)) == len(fps)
    moved = report()
    moved.findings[2] = FileFinding("data/users.csv", f("cn-resident-id", "pii", 40))
    moved_fps = [res["partialFingerprints"]["stockadeFinding/v1"] for res in to_sarif(moved)["runs"][0]["results"]]
    assert moved_fps == fps


def test_empty_report_is_valid() -> None:
    log = to_sarif(ScanReport())
    validate(log)
    assert log["runs"][0]["results"] == []


def test_allowlist_suppression_is_not_called_an_inline_comment() -> None:
    """Regression: every non-baseline suppression was labelled an inline comment."""
    r = ScanReport()
    by = "allowlist: rotated in March"  # what Engine sets for an allowlist entry
    r.suppressed = [FileFinding("ci.env", f("github_pat_classic", "secret", 1, suppressed=by))]
    (res,) = to_sarif(r)["runs"][0]["results"]
    (sup,) = res["suppressions"]
    assert sup["kind"] == "external"
    assert "allowlist" in sup["justification"] and "rotated in March" in sup["justification"]
    assert "inline" not in sup["justification"] and "comment" not in sup["justification"]
