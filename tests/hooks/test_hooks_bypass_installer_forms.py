"""Bypass class: install commands the dependency check did not see.

`pip3.11 install X` (every venv has a versioned pip), `npm update X`,
`npm it`, `yarn global add X`, `yarn up X`, `corepack yarn add X`,
`uv sync`, `uv pip sync req.txt`, `poetry install`, `python -m uv pip install X`
and `easy_install X` all install packages, and all were allowed without the
dependency check being asked (found by the session-3 review)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hooks_fixtures import make_policy

from stockade.hooks.commands import analyse
from stockade.hooks.depcheck import InstallVerdict
from stockade.hooks.shellrules import check_command

FORMS = [
    ("pip3.11 install evilpkg", "pypi", ("evilpkg",)),
    ("pip3.12 install -r req.txt", "pypi", ("--requirement=req.txt",)),
    ("python3 -m pip3.11 install evilpkg", "pypi", ("evilpkg",)),
    ("python -m uv pip install evilpkg", "pypi", ("evilpkg",)),
    ("uv pip sync req.txt", "pypi", ("--requirement=req.txt",)),
    ("uv sync", "pypi", ()),
    ("poetry install", "pypi", ()),
    ("pdm sync", "pypi", ()),
    ("easy_install evilpkg", "pypi", ("evilpkg",)),
    ("npm update evilpkg", "npm", ("evilpkg",)),
    ("npm it", "npm", ()),
    ("npm install-test evilpkg", "npm", ("evilpkg",)),
    ("yarn global add evilpkg", "npm", ("evilpkg",)),
    ("yarn up evilpkg", "npm", ("evilpkg",)),
    ("corepack yarn add evilpkg", "npm", ("evilpkg",)),
    # options before the subcommand, a versioned corepack tool, `-mpip` joined
    # (found by the session-4 review)
    ("npm --prefix /tmp install evilpkg", "npm", ("evilpkg",)),
    ("yarn --cwd /tmp add evilpkg", "npm", ("evilpkg",)),
    ("pnpm --dir sub add evilpkg", "npm", ("evilpkg",)),
    ("corepack pnpm@8.15.0 add evilpkg", "npm", ("evilpkg",)),
    ("python -mpip install evilpkg", "pypi", ("evilpkg",)),
]


@pytest.mark.parametrize(("cmd", "eco", "pkgs"), FORMS)
def test_each_install_form_is_checked(cmd: str, eco: str, pkgs: tuple[str, ...],
                                      tmp_path: Path) -> None:
    home, ws = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    seen: list[tuple[str, tuple[str, ...]]] = []

    def checker(e: str, p: tuple[str, ...]) -> InstallVerdict:
        seen.append((e, p))
        return InstallVerdict("ask", "checked", "deps.test")

    a = analyse(cmd, cwd=str(ws), home=str(home), env={})
    vs = check_command(a, make_policy(home, ws), install_check=checker)
    assert seen == [(eco, pkgs)]
    assert any(v.rule_id == "deps.test" for v in vs)


@pytest.mark.parametrize("cmd", ["pip3.11 list", "npm test", "yarn run build", "uv run x.py",
                                 "poetry run pytest", "corepack enable"])
def test_what_installs_nothing_is_not_asked_about(cmd: str, tmp_path: Path) -> None:
    home, ws = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    seen: list[object] = []
    a = analyse(cmd, cwd=str(ws), home=str(home), env={})
    check_command(a, make_policy(home, ws),
                  install_check=lambda e, p: seen.append(p) or InstallVerdict("allow"))
    assert seen == []
