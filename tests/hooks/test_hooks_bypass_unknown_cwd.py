"""Named regression: after `cd` to a directory known only at run time
(`cd $X`, `cd "$(...)"`, `pushd $X`), relative paths were not checked at
all, so `cd $(echo ~) && cat .ssh/id_rsa` read a denied key.  A path under
an unknown directory is now matched on what it spells out, as a glob is:
naming the end of a denied path denies; a recursive read of an unknown
directory asks; an ordinary relative read stays allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hooks_fixtures import check_shell, decisions, make_box


@pytest.fixture()
def box(tmp_path: Path) -> dict[str, Path]:
    return make_box(tmp_path)


@pytest.mark.parametrize("cmd", [
    "cd $(echo ~) && cat .ssh/id_rsa",
    'cd "$(dirname "$0")" && cat .aws/credentials',
    "cd $X && cat .ssh/id_rsa",
    "pushd $X && cat .aws/credentials",
    "cd $X; cat ../.ssh/id_rsa",
    "cd `echo ~` && head -n1 < .ssh/id_rsa",
    "cd $X && cat .s*/id_rsa",
    "cat $X/.ssh/id_rsa",
    "cd $X && python3 -c \"print(open('.ssh/id_rsa').read())\"",
])
def test_relative_path_after_unknown_cd_naming_a_secret_is_denied(
        cmd: str, box: dict[str, Path]) -> None:
    vs = check_shell(cmd, box)
    assert ("deny", "fs.read_denied") in decisions(vs), vs
    assert any("only known at run time" in v.reason for v in vs), vs


@pytest.mark.parametrize("cmd", ["cd $X && grep -r PRIVATE src", "cd $X && rg BEGIN",
                                 'grep -r PRIVATE "$DIR"'])
def test_recursive_read_of_an_unknown_directory_asks(cmd: str, box: dict[str, Path]) -> None:
    vs = check_shell(cmd, box)
    assert decisions(vs) == {("ask", "fs.read_unknown")}, vs


@pytest.mark.parametrize("cmd", [
    "cd $X && cat README.md",
    "cd $X && ls",
    "cat $X/README.md",
    "cd build && cat README.md",
    'cd "$(git rev-parse --show-toplevel)" && grep -rn TODO src',
    "cd $HOME/proj && cat .ssh/config",
])
def test_ordinary_reads_after_cd_stay_allowed(cmd: str, box: dict[str, Path]) -> None:
    assert check_shell(cmd, box) == []


def test_cd_to_a_known_home_is_still_followed(box: dict[str, Path]) -> None:
    vs = check_shell("cd ~ && cat .aws/credentials", box)
    assert ("deny", "fs.read_denied") in decisions(vs)
