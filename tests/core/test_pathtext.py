"""stockade.pathtext gives pathlib's answers, as text, for the paths the state
directory and the ledger use (it exists so that appending does not import
pathlib)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stockade import pathtext
from stockade.state import StateDir, default_root

PATHS = ["", ".", "./", "/", "//", "///", "////a", "//a", "//a/", "/a/./b//c/", "a/../b",
         "../x", "a//b/", "./a/.", "/.", "/./", "a/.hidden", "...", "/a/b c/ü/%20"]


@pytest.mark.parametrize("path", PATHS)
def test_normpath_and_absolute_are_pathlibs(path: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    assert pathtext.normpath(path) == str(Path(path))
    monkeypatch.chdir(tmp_path)
    assert pathtext.absolute(path) == str(Path(path).absolute())


@pytest.mark.parametrize("home", ["/", "/home/someone", "/home/someone/", "//srv/home", ""])
@pytest.mark.parametrize("path", ["~", "~/", "~/a", "~//a/./b", "a/~", "/~", "~root/x"])
def test_expanduser_is_pathlibs(home: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", home)
    assert str(Path(pathtext.expanduser(path))) == str(Path(path).expanduser())


def test_an_unknown_user_is_the_same_error(monkeypatch: pytest.MonkeyPatch) -> None:
    path = "~no-such-user-" + os.urandom(4).hex() + "/x"
    with pytest.raises(RuntimeError) as theirs:
        Path(path).expanduser()
    with pytest.raises(RuntimeError) as ours:
        pathtext.expanduser(path)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("base", ["/", "//", ".", "a", "/a/b", "//a"])
def test_join_is_pathlibs(base: str) -> None:
    assert pathtext.join(base, "keys") == str(Path(base) / "keys")
    assert pathtext.join(base, "keys", "k.pem") == str(Path(base).joinpath("keys", "k.pem"))


def test_exists_is_pathlibs(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for name in ("file", "missing", "file/under", "loop", "nul\0byte", ""):
        path = tmp_path / name if name else tmp_path
        assert pathtext.exists(str(path)) == path.exists(), name


def test_mkdir_is_pathlibs(tmp_path: Path) -> None:
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    for base in (theirs, ours):
        base.mkdir()
        (base / "file").write_text("x")
    (theirs / "a" / "b").mkdir(parents=True, exist_ok=True, mode=0o700)
    pathtext.mkdir(str(ours / "a" / "b"), parents=True, mode=0o700)
    for sub in ("a", "a/b"):
        assert (theirs / sub).stat().st_mode == (ours / sub).stat().st_mode, sub
    pathtext.mkdir(str(ours / "a" / "b"), parents=True)  # there already: fine, as exist_ok
    for base, make in ((theirs, lambda p, **kw: p.mkdir(exist_ok=True, **kw)),
                       (ours, lambda p, **kw: pathtext.mkdir(str(p), **kw))):
        with pytest.raises(FileExistsError):
            make(base / "file")  # a file in the way
        with pytest.raises(FileNotFoundError):
            make(base / "x" / "y")  # no parents asked for
        with pytest.raises(NotADirectoryError):
            make(base / "file" / "y", parents=True)


def _pathlib_default_root() -> Path:
    """default_root() as it was written with pathlib."""
    home = os.environ.get("STOCKADE_HOME")
    if home:
        return Path(home).expanduser().absolute()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return (base / "stockade").absolute()


@pytest.mark.parametrize("variables", [
    {"STOCKADE_HOME": "/tmp/sh"}, {"STOCKADE_HOME": "rel/./sh/"}, {"STOCKADE_HOME": "~/sh"},
    {"STOCKADE_HOME": "/a/../b//c"}, {"XDG_DATA_HOME": "/xdg"}, {"XDG_DATA_HOME": "x/../y"},
    {"XDG_DATA_HOME": "~/d"}, {"HOME": "/"}, {"HOME": "/home/u/"}, {},
])
def test_the_default_state_directory_is_unchanged(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path,
                                                  variables: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("STOCKADE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    want = _pathlib_default_root()
    assert default_root() == want
    state = StateDir.default()
    assert state.root == want and state == StateDir(want)
    assert state.ledger_url == f"sqlite:///{want / 'ledger.db'}"
    assert state.keys_file("k") == str(want / "keys" / "k")
