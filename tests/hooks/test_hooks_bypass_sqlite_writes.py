"""Regression: `sqlite3 DB "delete from events"` was read as a read of DB,
so stockade's own ledger and caches (SQLite files) could be rewritten while
`rm` of the same file was refused."""

from __future__ import annotations

from pathlib import Path

from hooks_fixtures import check_shell, decisions, make_box


def test_sqlite3_on_a_protected_file_is_a_write(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    (box["home"] / "state" / "ledger.db").write_text("")
    got = decisions(check_shell('sqlite3 @HOME@/state/ledger.db "delete from events"', box))
    assert any(action == "deny" for action, _ in got), got


def test_sqlite3_on_the_projects_own_database_is_allowed(tmp_path: Path) -> None:
    box = make_box(tmp_path)
    assert decisions(check_shell('sqlite3 app.db "select 1"', box)) == set()
    assert decisions(check_shell("sqlite3 -readonly @WS@/app.db .tables", box)) == set()
