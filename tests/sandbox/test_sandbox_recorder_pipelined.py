"""The launcher sends the recorder work without waiting for each answer: the
ledger's opening as soon as the policy is loaded (answered before the go),
and the session's end with its checkpoint together.  A failure must still
be where it belongs: an early opening's stops the session, whatever was
asked in between; an end that is not recorded raises; a checkpoint that
cannot be signed is said, and the end stays recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stockade.errors import EnvironmentProblem
from stockade.sandbox.recorder import ForkedRecorder


class _Ledger:
    def __init__(self, log: Path) -> None:
        self.log = log

    def append(self, kind: str, **_: Any) -> None:
        if kind == "session.refused":
            raise EnvironmentProblem("the disk is full")
        with self.log.open("a") as f:
            f.write(f"append {kind}\n")

    def checkpoint(self) -> None:
        if (self.log.parent / "tampered").exists():
            raise EnvironmentProblem("the ledger's tail was cut; refusing to sign")
        with self.log.open("a") as f:
            f.write("checkpoint\n")

    def close(self) -> None:
        pass


def _seam(log: Path, *, fail: bool) -> Any:
    def open_recorder(_settings: Any) -> _Ledger:
        with log.open("a") as f:
            f.write("open\n")
        if fail:
            raise EnvironmentProblem("the ledger at /nowhere cannot be opened")
        return _Ledger(log)
    return open_recorder


def test_a_failed_early_open_is_raised_at_the_start_even_after_other_questions(
        tmp_path: Path) -> None:
    log = tmp_path / "log"
    rec = ForkedRecorder.start(_seam(log, fail=True))
    try:
        rec.begin_open(None)
        with pytest.raises(EnvironmentProblem, match="not open"):
            rec.append("net.connect", details={})  # answered after the opening's failure
        rec.begin_open_and_append(None, "session.start", details={}, session="s-1",
                                  decision="allow")
        with pytest.raises(EnvironmentProblem, match="cannot be opened"):
            rec.end_open_and_append()
    finally:
        rec.close()
    assert log.read_text() == "open\n"  # asked once; nothing appended


def test_the_ledger_is_opened_once_however_the_opening_is_asked_for(tmp_path: Path) -> None:
    log = tmp_path / "log"
    rec = ForkedRecorder.start(_seam(log, fail=False))
    try:
        rec.begin_open(None)
        rec.begin_open(None)
        rec.begin_open_and_append(None, "session.start", details={}, session="s-1",
                                  decision="allow")
        rec.end_open_and_append()
        rec.open(None)  # already open: waits for nothing, sends nothing
        rec.append("session.end", details={}, session="s-1")
    finally:
        rec.close()
    assert log.read_text() == "open\nappend session.start\nappend session.end\n"


@pytest.mark.parametrize("tampered", [False, True])
def test_the_end_and_its_checkpoint_go_together(tmp_path: Path, tampered: bool) -> None:
    log = tmp_path / "log"
    if tampered:
        (tmp_path / "tampered").touch()
    rec = ForkedRecorder.start(_seam(log, fail=False))
    try:
        rec.open(None)
        failed = rec.append_then_checkpoint_later("session.end", details={}, session="s-1")
        with pytest.raises(EnvironmentProblem, match="disk is full"):
            rec.append_then_checkpoint_later("session.refused", details={}, session="s-1")
    finally:
        rec.close()
    if tampered:
        assert failed is not None and "refusing to sign" in str(failed.message)
    else:
        assert failed is None
    signed = [] if tampered else ["checkpoint"]
    assert log.read_text().split("\n")[:-1] == ["open", "append session.end", *signed, *signed]
