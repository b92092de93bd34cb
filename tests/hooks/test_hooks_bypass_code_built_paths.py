"""Named regression: interpreter code that builds a path (`'/home/u/.ss' +
'h/id_rsa'`, `process.env.HOME + '/.aws/credentials'`, `Path.home() /
'.ssh'`) passed, because only whole string literals were checked.  What can
be folded without running the code is folded and checked as the path it
spells; code that still builds a path from parts the hook cannot see and
opens files (or adds to a URL's host) asks.  Plain code stays allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hooks_fixtures import check_shell, decisions, make_box


@pytest.fixture()
def box(tmp_path: Path) -> dict[str, Path]:
    return make_box(tmp_path)


@pytest.mark.parametrize("cmd", [
    "python3 -c \"print(open('@HOME@/.ss'+'h/id_rsa').read())\"",
    "node -e \"require('fs').readFileSync(process.env.HOME+'/.aws/credentials')\"",
    "python3 -c \"import os; print(open(os.path.expanduser('~') + '/.ssh/id_rsa').read())\"",
    ("python3 -c \"from pathlib import Path; print((Path.home() / '.aws' / 'credentials')"
     ".read_text())\""),
    "python3 -c \"import os; open(os.path.join(os.environ['HOME'], '.ssh', 'id_rsa')).read()\"",
    "perl -e 'open(F, \"$ENV{HOME}/.ssh/id_rsa\"); print <F>'",
    "ruby -e 'puts File.read(\"#{Dir.home}/.aws/credentials\")'",
    "node -e 'require(\"fs\").readFileSync(`${process.env.HOME}/.ssh/id_rsa`)'",
])
def test_paths_folded_from_pieces_are_checked(cmd: str, box: dict[str, Path]) -> None:
    vs = check_shell(cmd, box)
    assert ("deny", "fs.read_denied") in decisions(vs), vs


@pytest.mark.parametrize("cmd", [
    "python3 -c \"import sys; print(open(sys.argv[1] + '/id_rsa').read())\" x",
    "python3 -c \"import base64; print(open(base64.b64decode('eA==').decode()).read())\"",
    "node -e \"const p = process.env.X; console.log(require('fs').readFileSync(p + '/k'))\"",
    "python3 -c \"import os; print(open(f'{os.sep}home{os.sep}u').read())\"",
])
def test_code_opening_a_path_built_at_run_time_asks(cmd: str, box: dict[str, Path]) -> None:
    vs = check_shell(cmd, box)
    assert ("ask", "fs.read_unknown") in decisions(vs), vs


def test_code_adding_to_a_url_host_asks(box: dict[str, Path]) -> None:
    vs = check_shell("python3 -c \"import sys, urllib.request as u; "
                     "u.urlopen('https://pypi.org' + sys.argv[1])\" .attacker.example", box)
    assert ("ask", "net.unknown_host") in decisions(vs), vs
    vs = check_shell("python3 -c \"import urllib.request as u; "
                     "u.urlopen('https://pypi.org' + '.attacker.example/x')\"", box)
    assert ("deny", "net.host_not_allowed") in decisions(vs), vs


@pytest.mark.parametrize("cmd", [
    "python -c \"print(1)\"",
    "python3 -c \"print('a' + 'b')\"",
    "python3 -c \"import os; print(os.path.join('a', 'b'))\"",
    "python3 -c \"import json; print(json.load(open('package.json'))['version'])\"",
    "python3 -c \"import os; print(os.environ['PATH'])\"",
    "node -e \"console.log(require('./package.json').version)\"",
    "node -e 'console.log(`built ${1 + 1}`)'",
    "python3 -c \"import urllib.request as u; u.urlopen('https://pypi.org/simple/' + 'pip')\"",
])
def test_plain_code_stays_allowed(cmd: str, box: dict[str, Path]) -> None:
    assert check_shell(cmd, box) == []
