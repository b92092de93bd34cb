"""The walker sees what git sees: .gitignore semantics, exclude file, no .git, no links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stockade.dlp.walk import Entry, Skipped, parse_gitignore, walk


def files(root: Path, **kw: bool) -> list[str]:
    return [e.rel for e in walk(root, **kw) if isinstance(e, Entry)]


def skipped(root: Path) -> dict[str, str]:
    return {s.rel: s.reason for s in walk(root) if isinstance(s, Skipped)}


def make(root: Path, *paths: str) -> None:
    for p in paths:
        f = root / p
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x\n")


def ignored(patterns: str, path: str, *, is_dir: bool = False) -> bool:
    result = False
    for pat in parse_gitignore(patterns):
        if pat.dir_only and not is_dir:
            continue
        if pat.regex.match(path):
            result = not pat.negate
    return result


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "expected"),
    [
        ("*.log", "a/b/debug.log", False, True),
        ("*.log", "a/b/debug.logx", False, False),
        ("/build", "build", True, True),
        ("/build", "src/build", True, False),  # anchored at the .gitignore's directory
        ("build", "src/build", True, True),  # unanchored: any depth
        ("doc/frotz", "doc/frotz", False, True),
        ("doc/frotz", "a/doc/frotz", False, False),  # a middle slash anchors too
        ("out/", "out", False, False),  # dir-only does not match a file
        ("out/", "out", True, True),
        ("**/logs", "x/y/logs", True, True),
        ("**/logs/debug.log", "logs/debug.log", False, True),
        ("abc/**", "abc/x/y", False, True),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("a/*/b", "a/x/y/b", False, False),  # * never crosses a slash
        ("?.txt", "a.txt", False, True),
        ("?.txt", "ab.txt", False, False),
        ("[abc].c", "b.c", False, True),
        ("[!abc].c", "d.c", False, True),
        ("[!abc].c", "a.c", False, False),
        ("\\#notes", "#notes", False, True),
        ("# comment", "# comment", False, False),
        ("\\!important", "!important", False, True),
        ("name\\ ", "name ", False, True),  # escaped trailing space is kept
        ("name  ", "name", False, True),  # unescaped trailing spaces are not
        ("*.env\n!keep.env", "keep.env", False, False),  # negation: last match wins
        ("*.env\n!keep.env", "other.env", False, True),
    ],
)
def test_gitignore_patterns(patterns: str, path: str, is_dir: bool, expected: bool) -> None:
    assert ignored(patterns, path, is_dir=is_dir) is expected


def test_nested_gitignore_negation_and_exclude(tmp_path: Path) -> None:
    make(
        tmp_path,
        "keep.py",
        "debug.log",
        "sub/important.log",
        "sub/other.log",
        "sub/deeper/x.tmp",
        "build/out.js",
        "src/build/keep.js",
        "secret.local",
        ".git/config",
        ".git/objects/ab/cdef",
    )
    (tmp_path / ".gitignore").write_text("*.log\n/build/\n*.tmp\n")
    (tmp_path / "sub" / ".gitignore").write_text("!important.log\n")
    (tmp_path / "sub" / "deeper" / ".gitignore").write_text("!*.tmp\n")
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("*.local\n")
    got = files(tmp_path)
    assert sorted(got) == [
        ".gitignore",
        "keep.py",
        "src/build/keep.js",
        "sub/.gitignore",
        "sub/deeper/.gitignore",
        "sub/deeper/x.tmp",
        "sub/important.log",
    ]
    assert not any(p.startswith(".git/") for p in files(tmp_path, respect_gitignore=False))
    everything = files(tmp_path, respect_gitignore=False)
    assert "debug.log" in everything and "build/out.js" in everything and "secret.local" in everything


def test_excluded_directory_cannot_be_reincluded(tmp_path: Path) -> None:
    make(tmp_path, "vendor/lib/a.py")
    (tmp_path / ".gitignore").write_text("vendor/\n!vendor/lib/a.py\n")
    assert "vendor/lib/a.py" not in files(tmp_path)


def test_scanning_a_subdirectory_honours_the_repository_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(tmp_path, "pkg/mod.py", "pkg/mod.pyc", "pkg/gen/x.py")
    (tmp_path / ".gitignore").write_text("*.pyc\n/pkg/gen/\n")
    assert files(tmp_path / "pkg") == ["mod.py"]


def test_symlink_loops_are_not_followed(tmp_path: Path) -> None:
    make(tmp_path, "a/file.txt")
    os.symlink("..", tmp_path / "a" / "loop")
    os.symlink("file.txt", tmp_path / "a" / "alias.txt")
    got = files(tmp_path)
    assert got == ["a/file.txt"]
    skips = skipped(tmp_path)
    assert skips["a/loop"].startswith("symbolic link")
    assert skips["a/alias.txt"].startswith("symbolic link")


def test_fifo_is_reported_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    assert skipped(tmp_path) == {"pipe": "not a regular file"}
