"""An allow that was not a full check (no OSV database, a registry down) says
so: in the ledger event and in the hook's reason, not only in the CLI
report.  And a verdict action nobody knows is a deny, never an allow."""

from __future__ import annotations

from stockade.deps.model import Result, Spec
from stockade.deps.service import decision, event_details
from stockade.hooks.depcheck import verdict_of

NOTE = "the OSV database is not installed: malicious packages are not checked"


def result() -> Result:
    return Result(Spec("pypi", "left-pad-py", None, "", None, "left-pad-py"), notes=(NOTE,))


def test_the_ledger_event_keeps_the_notes() -> None:
    assert event_details(result(), via="pip install")["notes"] == [NOTE]


def test_the_hook_reason_says_what_was_not_checked() -> None:
    v = verdict_of([result()])
    assert v.action == "allow" and NOTE in v.reason


def test_an_unknown_action_is_a_deny() -> None:
    assert decision("block") == "deny" and decision("allow") == "allow"
    assert decision("quarantine") == "deny"
