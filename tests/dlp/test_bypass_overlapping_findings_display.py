"""Regression: the display maskers (scan paths, history commands and paths,
repos routing globs) skipped a finding that overlapped the one before it, so
the tail of the second value was printed in clear.  Policy rules may overlap
built-in findings: overlaps are merged before masking."""

from __future__ import annotations

from dataclasses import dataclass

from stockade.model import Finding

TAIL = "TAILVALUE123456"
TEXT = "dir/x" + "A" * 10 + "B" * 5 + TAIL  # [5,15) and [10,35) overlap


def _finding(start: int, end: int) -> Finding:
    return Finding(rule_id="r", label="secret", start=start, end=end, line=1, column=start + 1,
                   end_line=1, end_column=end + 1, confidence=1.0, preview="***")


@dataclass
class _Engine:
    def scan(self, text: str, *, path: str | None = None) -> list[Finding]:
        return [_finding(5, 15), _finding(10, len(text))] if text == TEXT else []


def test_scan_path_masking_merges_overlaps() -> None:
    from stockade.commands.scan import mask_path

    out = mask_path(_Engine(), TEXT)
    assert TAIL not in out and out.startswith("dir/x")


def test_history_masking_merges_overlaps() -> None:
    from stockade.history.worker import masked

    assert TAIL not in masked(_Engine(), TEXT)


def test_repos_route_glob_merges_overlaps() -> None:
    from stockade.repos.classify import route_glob

    assert route_glob(_Engine(), TEXT) == "dir/x*"
