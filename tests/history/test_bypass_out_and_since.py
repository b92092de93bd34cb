"""`--out` and `--since` with bad values: a clear error with a hint and exit
2 (3 for the ledger), nothing half-written, and never a device replaced by
a report file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from historyworld import World, run_cli


def _history(world: World, env: dict[str, str], *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("history", "--home", str(world.alice), "--format", "json", *extra, env=env)


@pytest.mark.parametrize("since", ["1000000000d", "99999999999999w", "800000d", "9999999999999999999999h"])
def test_an_age_too_large_for_a_date_is_a_usage_error(since: str, cli_env) -> None:
    r = run_cli("history", "--since", since, env=cli_env)
    assert r.returncode == 2, r.stderr
    assert "--since" in r.stderr and "hint:" in r.stderr and "internal error" not in r.stderr


def test_a_since_date_before_year_1000_still_compares_as_a_date(world: World, cli_env) -> None:
    import json

    r = _history(world, cli_env, "--since", "0033-01-01")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["stats"]["since"] == "0033-01-01T00:00:00Z"
    assert data["sessions"]  # every session is newer than year 33


def test_out_to_a_directory_is_refused_and_leaves_nothing(world: World, cli_env, tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.mkdir()
    r = _history(world, cli_env, "--out", str(target))
    assert r.returncode == 2 and "directory" in r.stderr and "hint:" in r.stderr
    assert list(target.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_out_to_a_missing_folder_is_refused_before_reading(world: World, cli_env, tmp_path: Path) -> None:
    r = _history(world, cli_env, "--out", str(tmp_path / "no" / "such" / "report.json"))
    assert r.returncode == 2 and "cannot write" in r.stderr and "hint:" in r.stderr
    assert not (tmp_path / "state").exists() or not list((tmp_path / "state").rglob("ledger.db"))


def test_a_run_that_fails_after_opening_out_leaves_no_file(world: World, cli_env, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    env = dict(cli_env, STOCKADE_LEDGER="sqlite:////dev/null/ledger.db")  # the ledger cannot record
    r = _history(world, env, "--out", str(out))
    assert r.returncode == 3, r.stderr
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.json")]


def test_out_to_a_fifo_writes_through_it_and_keeps_it_a_fifo(world: World, cli_env, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def drain() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    r = _history(world, cli_env, "--out", str(fifo))
    t.join(30)
    assert r.returncode == 1, r.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # not replaced by a regular file
    assert got and got[0].lstrip().startswith(b"{")
