"""`--since 0d` means today's sessions (since local midnight), `0h` is refused
with a hint, the header shows whole timestamps, and install verdicts use the
words of `stockade deps` (block, not the hook's deny)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stockade.commands.history import parse_since
from stockade.errors import UsageError
from stockade.history.audit import Report, audit
from stockade.history.records import Session
from stockade.history.render import write_table


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


@pytest.mark.parametrize("value", ["0d", "0D", "today", " Today "])
def test_zero_days_is_since_local_midnight(value: str, berlin: None) -> None:
    now = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)  # 10:30 in Berlin
    assert parse_since(value, now=now) == "2026-11-20T23:00:00Z"


def test_a_session_from_this_morning_is_in_0d(berlin: None) -> None:
    now = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert "2026-11-21T08:00:00.000Z" >= parse_since("0d", now=now)  # type: ignore[operator]


@pytest.mark.parametrize("value", ["0h", "0w"])
def test_other_zero_ages_are_refused_with_a_hint(value: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_since(value)
    assert exc.value.hint and "0d" in exc.value.hint


def test_nonzero_ages_are_unchanged() -> None:
    now = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert parse_since("1d", now=now) == "2026-11-20T09:30:00Z"
    assert parse_since("48h", now=now) == "2026-11-19T09:30:00Z"


def test_header_shows_whole_timestamps() -> None:
    rep = Report(sessions=[Session("s1", "claude-code", "f", start="2026-11-21T08:30:00.123Z",
                                   end="2026-11-21T09:45:10.999Z")])
    out = io.StringIO()
    write_table(rep, out)
    head = out.getvalue().splitlines()[0]
    assert "2026-11-21T08:30:00 to 2026-11-21T09:45:10" in head
    assert "..." not in head


def test_install_verdicts_use_the_deps_words(tmp_path: Path) -> None:
    from stockade.history.discover import Source

    log = tmp_path / ".claude" / "projects" / "-p" / "s.jsonl"
    log.parent.mkdir(parents=True)
    log.write_text('{"type":"assistant","sessionId":"s","timestamp":"2026-11-21T08:00:00Z",'
                   '"message":{"role":"assistant","content":[{"type":"tool_use","id":"t",'
                   '"name":"Bash","input":{"command":"pip install evil-one"}}]}}\n')
    from stockade.history import runtime

    class V:
        action = "deny"
        reason = "x (deps.typosquat)"
        rule_id = "deps.typosquat"

    def check(eco: str, pkgs: tuple[str, ...]) -> Any:
        return V()

    src = Source(str(log), "claude-code", str(tmp_path), None, log.stat().st_size)
    rep = audit([src], engine=runtime.engine(None), check_install=check)
    pkgs = [a for a in rep.actions if a.kind == "package"]
    assert pkgs and {a.verdict for a in pkgs} == {"block"}
    assert rep.package_verdicts == {"block": 1}
    assert rep.package_rules == {"deps.typosquat": 1}
